//! Storing an object: read the source in chunks, seal them, upload parts in parallel, then
//! publish the manifest.
//!
//! Memory is bounded by `concurrency` chunks in flight (plus one being read and one waiting),
//! whatever the object's size: a blocking thread reads the source into chunks that never cross
//! a part boundary, and each chunk holds a semaphore permit from before it is read until its
//! upload finishes. A part that fits in one chunk is one PUT; a bigger part is a multipart
//! upload whose pieces are the chunks, completed by whichever piece finishes last.
//!
//! Nothing is visible until the manifest is written; a failed put aborts its uploads and
//! deletes its parts, leaving any previous version of the object untouched.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use mezz_format::{KeyProvider, Manifest};
use mezz_store::ObjectStore;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::ObjectError;
use crate::chunking::{Chunk, ChunkGeometry};
use crate::upload::{self, Uploads};

/// How to cut and upload an object.
#[derive(Clone, Debug)]
pub struct PutOptions {
    pub part_size: u64,
    pub segment_size: u32,
    /// Plaintext bytes per upload request (and multipart piece).
    pub chunk_size: u64,
    /// Chunks read, sealed or uploading at once.
    pub concurrency: usize,
}

impl Default for PutOptions {
    fn default() -> Self {
        PutOptions {
            part_size: mezz_format::DEFAULT_PART_SIZE,
            segment_size: mezz_format::DEFAULT_SEGMENT_SIZE,
            chunk_size: 8 << 20,
            concurrency: 8,
        }
    }
}

/// Counters a caller can watch while a put runs.
#[derive(Debug, Default)]
pub struct PutProgress {
    pub read: AtomicU64,
    pub uploaded: AtomicU64,
}

/// Reads up to `buf.len()` bytes, fewer only at end of input.
fn read_full(src: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Cuts the source into chunks where [`ChunkGeometry`] says, holding one back to learn
/// whether it is the last.
fn read_chunks(
    mut src: Box<dyn Read + Send>,
    geometry: ChunkGeometry,
    permits: Arc<Semaphore>,
    tx: mpsc::Sender<(Chunk, OwnedSemaphorePermit)>,
    progress: Arc<PutProgress>,
) -> Result<u64, ObjectError> {
    let mut offset = 0u64;
    let mut pending: Option<(Chunk, OwnedSemaphorePermit)> = None;
    loop {
        let Ok(permit) =
            tokio::runtime::Handle::current().block_on(permits.clone().acquire_owned())
        else {
            return Err(ObjectError::Other("upload pipeline closed".into()));
        };
        let want = geometry.max_len_at(offset);
        // Room for the tags too: the chunk is sealed where it lies.
        let mut data = Vec::with_capacity(geometry.sealed_capacity(want));
        data.resize(want as usize, 0);
        let n = read_full(&mut *src, &mut data).map_err(ObjectError::Source)?;
        data.truncate(n);
        upload::count_read(&progress, n);
        if let Some((mut prev, prev_permit)) = pending.take() {
            if n == 0 {
                prev.place.mark_last();
            }
            if tx.blocking_send((prev, prev_permit)).is_err() {
                // The uploader stopped: it reports its own error.
                return Ok(offset);
            }
        }
        if n == 0 {
            return Ok(offset);
        }
        pending = Some((
            Chunk {
                place: geometry.place(offset, n as u64, false),
                data,
            },
            permit,
        ));
        offset += n as u64;
    }
}

/// Stores `source` as object `name` and returns its manifest.
pub async fn put_object(
    store: Arc<dyn ObjectStore>,
    keys: &dyn KeyProvider,
    name: &str,
    source: Box<dyn Read + Send>,
    opts: &PutOptions,
    progress: Arc<PutProgress>,
) -> Result<Manifest, ObjectError> {
    let mut uploads = Uploads::begin(
        store,
        keys,
        name,
        opts.part_size,
        opts.segment_size,
        progress.clone(),
    )
    .await?;
    let geometry = ChunkGeometry::new(opts.part_size, opts.segment_size, opts.chunk_size);
    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let (tx, mut rx) = mpsc::channel(1);
    let reader = {
        let (permits, progress) = (permits.clone(), progress.clone());
        tokio::task::spawn_blocking(move || read_chunks(source, geometry, permits, tx, progress))
    };
    while let Some((chunk, permit)) = rx.recv().await {
        uploads.spawn(chunk, permit);
        if uploads.failed().is_some() {
            break;
        }
    }
    drop(rx);
    let read = reader
        .await
        .map_err(|e| ObjectError::Other(format!("source reader failed: {e}")));
    let (size, source_error) = match read {
        Ok(Ok(size)) => (size, None),
        Ok(Err(e)) | Err(e) => (0, Some(e)),
    };
    uploads.publish(size, source_error, false).await
}
