//! A response body that streams one byte range of a file with positional reads.
//!
//! Each chunk (at most [`CHUNK_SIZE`] bytes) is read with `pread` on tokio's blocking pool.
//! As soon as a chunk arrives the next read is started, so disk (or page-cache) reads overlap
//! with socket writes, while at most two chunks per stream are held in memory.

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use s3s::stream::{ByteStream, RemainingLength};
use s3s::{StdError, dto::StreamingBlob};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Largest single read, and so the largest `Bytes` the stream yields.
pub(crate) const CHUNK_SIZE: u64 = 1024 * 1024;

/// Streams `len` bytes of `file` starting at `offset`.
#[derive(Debug)]
pub(crate) struct FileRangeStream {
    file: Arc<File>,
    runtime: Handle,
    /// Offset of the first byte not yet asked for.
    next_read: u64,
    /// Offset one past the last byte to send.
    end: u64,
    /// Bytes not yet yielded (including those of the read in flight).
    unsent: u64,
    in_flight: Option<JoinHandle<io::Result<Bytes>>>,
}

impl FileRangeStream {
    /// Must be called from within a tokio runtime (the reads go to its blocking pool).
    pub(crate) fn new(file: File, offset: u64, len: u64) -> Self {
        let mut stream = Self {
            file: Arc::new(file),
            runtime: Handle::current(),
            next_read: offset,
            end: offset.saturating_add(len),
            unsent: len,
            in_flight: None,
        };
        stream.start_next_read();
        stream
    }

    /// Wraps the stream as the body type `s3s` responses carry.
    pub(crate) fn into_blob(self) -> StreamingBlob {
        StreamingBlob::new(self)
    }

    fn start_next_read(&mut self) {
        if self.next_read >= self.end {
            return;
        }
        let len = (self.end - self.next_read).min(CHUNK_SIZE);
        let offset = self.next_read;
        self.next_read += len;
        let file = Arc::clone(&self.file);
        self.in_flight = Some(
            self.runtime
                .spawn_blocking(move || read_chunk(&file, offset, len)),
        );
    }

    /// After an error nothing more is read or yielded.
    fn stop(&mut self) {
        self.next_read = self.end;
        self.unsent = 0;
        self.in_flight = None;
    }
}

fn read_chunk(file: &File, offset: u64, len: u64) -> io::Result<Bytes> {
    let len = usize::try_from(len).map_err(io::Error::other)?;
    let mut buf = vec![0u8; len];
    // A short file (truncated while being served) surfaces as UnexpectedEof.
    file.read_exact_at(&mut buf, offset)?;
    Ok(Bytes::from(buf))
}

impl Stream for FileRangeStream {
    type Item = Result<Bytes, StdError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(in_flight) = this.in_flight.as_mut() else {
            return Poll::Ready(None);
        };
        let result = match Pin::new(in_flight).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        this.in_flight = None;
        match result {
            Ok(Ok(chunk)) => {
                this.unsent = this.unsent.saturating_sub(chunk.len() as u64);
                this.start_next_read();
                Poll::Ready(Some(Ok(chunk)))
            }
            Ok(Err(err)) => {
                this.stop();
                Poll::Ready(Some(Err(Box::new(err))))
            }
            Err(join_err) => {
                this.stop();
                Poll::Ready(Some(Err(Box::new(io::Error::other(join_err)))))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let chunks = self.unsent.div_ceil(CHUNK_SIZE);
        let chunks = usize::try_from(chunks).unwrap_or(usize::MAX);
        (chunks, Some(chunks))
    }
}

impl ByteStream for FileRangeStream {
    fn remaining_length(&self) -> RemainingLength {
        match usize::try_from(self.unsent) {
            Ok(n) => RemainingLength::new_exact(n),
            Err(_) => RemainingLength::unknown(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    async fn collect(file: File, offset: u64, len: u64) -> Result<(Vec<u8>, usize), StdError> {
        let mut stream = FileRangeStream::new(file, offset, len);
        assert_eq!(stream.remaining_length().exact(), usize::try_from(len).ok());
        let mut out = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            assert!(chunk.len() as u64 <= CHUNK_SIZE);
            out.extend_from_slice(&chunk);
            chunks += 1;
        }
        assert_eq!(stream.remaining_length().exact(), Some(0));
        Ok((out, chunks))
    }

    #[tokio::test]
    async fn streams_the_requested_span_in_chunks() -> Result<(), StdError> {
        let data = bytes(2 * 1024 * 1024 + 100);
        let mut tmp = tempfile::tempfile()?;
        std::io::Write::write_all(&mut tmp, &data)?;

        let (out, chunks) = collect(tmp.try_clone()?, 0, data.len() as u64).await?;
        assert!(out == data);
        assert_eq!(chunks, 3);

        let (out, chunks) = collect(tmp.try_clone()?, 1000, 1024 * 1024).await?;
        assert!(out[..] == data[1000..1000 + 1024 * 1024]);
        assert_eq!(chunks, 1);

        let (out, chunks) = collect(tmp, 5, 0).await?;
        assert!(out.is_empty());
        assert_eq!(chunks, 0);
        Ok(())
    }

    #[tokio::test]
    async fn a_short_file_is_an_error_not_a_short_body() -> Result<(), StdError> {
        let mut tmp = tempfile::tempfile()?;
        std::io::Write::write_all(&mut tmp, &bytes(100))?;
        let mut stream = FileRangeStream::new(tmp, 50, 100);
        let first = stream.next().await;
        assert!(matches!(first, Some(Err(_))));
        assert!(stream.next().await.is_none());
        Ok(())
    }
}
