//! Counters of one disk cache, shared by its readers and writers.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Block counts are in cache blocks; byte counts in stored (ciphertext) bytes.
#[derive(Debug, Default)]
pub struct DiskCacheStats {
    /// Blocks served from a cache file that passed its checks.
    pub hits: AtomicU64,
    /// Blocks that had to be fetched from the inner store.
    pub misses: AtomicU64,
    pub bytes_from_disk: AtomicU64,
    pub bytes_from_inner: AtomicU64,
    /// `head` requests made to learn an object's size (once per key, then remembered).
    pub size_requests: AtomicU64,
    /// Cache files written.
    pub writes: AtomicU64,
    /// Blocks not written because the write queue was full, writes were paused after an
    /// error, or no space could be made.
    pub writes_dropped: AtomicU64,
    pub write_errors: AtomicU64,
    /// Files deleted to stay under the size limit or above the free-space floor.
    pub evictions: AtomicU64,
    /// Files that failed their checks (truncated, damaged, misnamed) and were deleted.
    pub corrupt_files: AtomicU64,
    /// Bytes of the cache files this instance knows of (a gauge, not a counter).
    pub bytes_on_disk: AtomicU64,
}

/// A copy of the counters at one moment, for the mount's statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiskCacheSnapshot {
    pub hits: u64,
    pub misses: u64,
    pub bytes_from_disk: u64,
    pub bytes_from_inner: u64,
    pub size_requests: u64,
    pub writes: u64,
    pub writes_dropped: u64,
    pub write_errors: u64,
    pub evictions: u64,
    pub corrupt_files: u64,
    pub bytes_on_disk: u64,
}

impl DiskCacheStats {
    pub fn snapshot(&self) -> DiskCacheSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        DiskCacheSnapshot {
            hits: g(&self.hits),
            misses: g(&self.misses),
            bytes_from_disk: g(&self.bytes_from_disk),
            bytes_from_inner: g(&self.bytes_from_inner),
            size_requests: g(&self.size_requests),
            writes: g(&self.writes),
            writes_dropped: g(&self.writes_dropped),
            write_errors: g(&self.write_errors),
            evictions: g(&self.evictions),
            corrupt_files: g(&self.corrupt_files),
            bytes_on_disk: g(&self.bytes_on_disk),
        }
    }
}

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}
