//! One direction of a proxied connection: read chunks, stamp each with its release time,
//! queue them (bounded in bytes, so a slow reader on the far side pushes back), and write
//! each one out when its time comes.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;

use crate::shaper::Schedule;

/// Largest single read.
pub const CHUNK: usize = 64 << 10;

/// A chunk waiting for its release time. An empty chunk means end of stream.
#[derive(Debug)]
struct Pending {
    release: Instant,
    data: Vec<u8>,
    /// Returns the chunk's bytes to the queue budget when dropped, after the write.
    _budget: Option<OwnedSemaphorePermit>,
}

/// Copies `from` to `to` through `schedule`, holding at most `queue_bytes` bytes (at least
/// `CHUNK`). Returns the number of bytes copied, after shutting down `to`'s write side.
pub async fn forward<R, W>(
    mut from: R,
    mut to: W,
    mut schedule: Schedule,
    queue_bytes: usize,
    epoch: Instant,
) -> anyhow::Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let budget = Arc::new(Semaphore::new(queue_bytes.max(CHUNK)));
    let (tx, mut rx) = mpsc::unbounded_channel::<Pending>();

    let reader = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = from.read(&mut buf).await.context("read")?;
            let permit = match n {
                0 => None,
                n => Some(
                    Arc::clone(&budget)
                        .acquire_many_owned(u32::try_from(n)?)
                        .await?,
                ),
            };
            // The chunk enters the link once there is room for it in the queue.
            let now = Instant::now();
            let release = epoch + schedule.release(now - epoch, n);
            let item = Pending {
                release,
                data: buf[..n].to_vec(),
                _budget: permit,
            };
            if tx.send(item).is_err() || n == 0 {
                return anyhow::Ok(());
            }
        }
    };

    let writer = async move {
        let mut copied = 0u64;
        while let Some(item) = rx.recv().await {
            // Tokio's timer rounds up to whole milliseconds: only sleep when the chunk is
            // really early, so an undelayed or late chunk goes out at once.
            if item.release > Instant::now() {
                tokio::time::sleep_until(item.release).await;
            }
            if item.data.is_empty() {
                break;
            }
            to.write_all(&item.data).await.context("write")?;
            copied += item.data.len() as u64;
        }
        to.shutdown().await.context("shutdown")?;
        anyhow::Ok(copied)
    };

    let ((), copied) = tokio::try_join!(reader, writer)?;
    Ok(copied)
}
