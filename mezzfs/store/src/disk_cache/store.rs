//! The disk cache as a [`RangeCache`]: ranged reads block by block, misses fetched from the
//! origin as runs and written behind the read.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::blocks::{block_span, blocks_of, blocks_span, missing_runs, slice_in_block};
use super::cache::{DiskCache, WRITE_PERMIT_BYTES, WRITE_PERMITS};
use super::header::{FileId, SIZE_RECORD};
use super::stats::add;
use crate::{RangeCache, ReadStore, StoreError};

/// Longest the end of a mount waits for blocks queued for the disk: they would be missing
/// at the next mount.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

impl DiskCache {
    /// The stored size of `key`: remembered, else from its size record on disk, else one
    /// `head` of the origin (then remembered in memory, and on disk with the first blocks
    /// written).
    async fn object_size(
        self: &Arc<Self>,
        origin: &dyn ReadStore,
        key: &str,
        kid: u128,
    ) -> Result<(u64, bool), StoreError> {
        if let Some(size) = self.known_size(kid) {
            return Ok((size, false));
        }
        let cache = self.clone();
        if let Ok(Some(size)) = tokio::task::spawn_blocking(move || cache.load_size(kid)).await {
            return Ok((size, false));
        }
        add(&self.stats().size_requests, 1);
        let size = origin.head(key).await?.size;
        self.remember_size(kid, size);
        Ok((size, true))
    }

    /// Queues the fetched blocks for the disk without delaying the read; when the bounded
    /// queue is full they are dropped, never queued without limit.
    fn write_behind(self: &Arc<Self>, batch: Vec<(FileId, Bytes)>) {
        if batch.is_empty() {
            return;
        }
        let bytes: u64 = batch.iter().map(|(_, b)| b.len() as u64).sum();
        // A fetch larger than the whole queue takes all of it rather than never fitting.
        let permits = u32::try_from(bytes.div_ceil(WRITE_PERMIT_BYTES))
            .unwrap_or(u32::MAX)
            .clamp(1, WRITE_PERMITS);
        match self.write_queue.clone().try_acquire_many_owned(permits) {
            Ok(permit) => {
                let cache = self.clone();
                tokio::task::spawn_blocking(move || {
                    cache.write_blocks(batch);
                    drop(permit);
                });
            }
            Err(_) => add(&self.stats().writes_dropped, batch.len() as u64),
        }
    }

    async fn forget_key(self: &Arc<Self>, key: &str) {
        let cache = self.clone();
        let kid = FileId::key_id(key, cache.block_bytes());
        // Best effort: a failed forget leaves files that a later read of the same key would
        // find only if keys were reused, which mezzfs never does for part keys.
        let _ = tokio::task::spawn_blocking(move || cache.forget(kid)).await;
    }

    async fn read_through(
        self: &Arc<Self>,
        origin: &dyn ReadStore,
        key: &str,
        range: Range<u64>,
    ) -> Result<Bytes, StoreError> {
        if range.start >= range.end {
            return origin.get_range(key, range).await;
        }
        let bb = self.block_bytes();
        let kid = FileId::key_id(key, bb);
        let (size, new_size) = self.object_size(origin, key, kid).await?;
        if range.end > size {
            // Out of range for the size we know: let the store answer (and forget the size in
            // case the key was rewritten behind our back).
            self.forget_key(key).await;
            return origin.get_range(key, range).await;
        }
        let blocks = blocks_of(&range, bb);
        let cache = self.clone();
        let wanted = blocks.clone();
        let mut got: Vec<Option<Bytes>> = tokio::task::spawn_blocking(move || {
            wanted
                .map(|i| {
                    let span = block_span(i, bb, size);
                    cache.read_block(FileId { key: kid, block: i }, span.end - span.start)
                })
                .collect()
        })
        .await
        .unwrap_or_else(|_| vec![None; (blocks.end - blocks.start) as usize]);
        let stats = self.stats();
        let hits = got.iter().flatten().count() as u64;
        add(&stats.hits, hits);
        add(
            &stats.bytes_from_disk,
            got.iter().flatten().map(|b| b.len() as u64).sum(),
        );
        add(&stats.misses, got.len() as u64 - hits);

        let missing: Vec<bool> = got.iter().map(Option::is_none).collect();
        let runs = missing_runs(blocks.start, &missing);
        let fetches = runs.iter().map(|run| {
            let span = blocks_span(run, bb, size);
            async move {
                let body = origin.get_range(key, span.clone()).await?;
                if body.len() as u64 != span.end - span.start {
                    return Err(StoreError::ShortRead {
                        key: key.into(),
                        expected: span.end - span.start,
                        got: body.len() as u64,
                    });
                }
                Ok::<_, StoreError>((span, body))
            }
        });
        let fetched = futures::future::try_join_all(fetches).await?;
        let mut batch = Vec::new();
        if new_size {
            batch.push((
                FileId {
                    key: kid,
                    block: SIZE_RECORD,
                },
                Bytes::copy_from_slice(&size.to_le_bytes()),
            ));
        }
        for (run, (span, body)) in runs.iter().zip(fetched) {
            add(&stats.bytes_from_inner, body.len() as u64);
            for i in run.clone() {
                let b = block_span(i, bb, size);
                let data =
                    body.slice((b.start - span.start) as usize..(b.end - span.start) as usize);
                got[(i - blocks.start) as usize] = Some(data.clone());
                batch.push((FileId { key: kid, block: i }, data));
            }
        }
        self.write_behind(batch);

        // Assemble the asked bytes; a range inside one block is a view, not a copy.
        let mut out = BytesMut::new();
        let mut single = None;
        for (i, block) in blocks.clone().zip(got) {
            let Some(block) = block else {
                // Every missing block was fetched above.
                return Err(StoreError::ShortRead {
                    key: key.into(),
                    expected: range.end - range.start,
                    got: out.len() as u64,
                });
            };
            let piece = slice_in_block(&block_span(i, bb, size), &range);
            if blocks.end - blocks.start == 1 {
                single = Some(block.slice(piece));
            } else {
                out.extend_from_slice(&block[piece]);
            }
        }
        Ok(single.unwrap_or_else(|| out.freeze()))
    }
}

#[async_trait::async_trait]
impl RangeCache for DiskCache {
    fn describe(&self) -> String {
        format!("disk cache {}", self.config().dir.display())
    }

    async fn get_range(
        &self,
        origin: &Arc<dyn ReadStore>,
        key: &str,
        range: Range<u64>,
    ) -> Result<Bytes, StoreError> {
        self.arc().read_through(origin.as_ref(), key, range).await
    }

    async fn drain(&self) {
        if tokio::time::timeout(DRAIN_LIMIT, self.flush())
            .await
            .is_err()
        {
            tracing::warn!("gave up waiting for the disk cache's writes after {DRAIN_LIMIT:?}");
        }
    }
}
