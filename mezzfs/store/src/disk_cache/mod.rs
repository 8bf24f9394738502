//! A local disk cache of stored (ciphertext) bytes, in front of any [`ReadStore`]: a
//! [`RangeCache`] that a [`CachedStore`](crate::CachedStore) reads through.
//!
//! It serves `get_range` block by block: each object is cut into fixed blocks of
//! `block_bytes` (1 MiB by default; the last one shorter). Blocks present on disk are read
//! back and checked; missing ones are fetched from the inner store as contiguous runs (one
//! request per run, not per block), returned, and written to disk behind the read. Every other
//! read passes through unchanged: manifests are read with `get` and are never cached, so a
//! replaced object is always seen.
//!
//! # Why this is safe
//!
//! - **No stale versions.** mezzfs part keys carry the object's version id, so a replaced
//!   object never maps to cached blocks of the old one. Keys read through `get_range` are
//!   assumed immutable (the cache has no write side); a read past the size remembered for a
//!   key forgets the key.
//! - **No damaged bytes.** Each file carries a header (magic, key id, block index, length,
//!   xxh3 of the data and of the header; see `header.rs`). A file that fails any check is a
//!   miss: logged with its name, counted, deleted and refetched. The bytes stay ciphertext at
//!   rest and the reader's AES-GCM authentication remains the final guard.
//! - **No torn files.** Files are written to `.tmp.{pid}.{n}.{name}` in the same directory and
//!   renamed into place. Temp files of dead writers are deleted when the cache is opened (and
//!   on later rescans): a kill -9 mid-write leaves at most one temp file per block in flight.
//! - **Shared directories.** Two mounts (or processes) may share a directory: renames are
//!   atomic, a file that vanishes (evicted by the other) is a miss, a file the other wrote is
//!   found on disk and adopted into this instance's index. No state is shared in memory, so
//!   each instance enforces `max_bytes` over the files it knows: together they may overshoot
//!   until one of them rescans. An instance rescans the directory (at most once a minute) when
//!   it has seen evidence of another writer (a file vanished, or one appeared). The free-space
//!   floor is global (measured with statvfs before each write), so a shared disk is never
//!   filled.
//! - **Degrades, never fails.** An unwritable or full cache directory turns writes off for
//!   `WRITE_PAUSE` after an error (logged once per pause, counted); reads keep working from
//!   the inner store. Reads of cache files never fail a request: any error is a miss.
//!
//! # Numbers
//!
//! - `block_bytes` 1 MiB: mezzfs reads in ranges of 64 KiB to 8 MiB; a 1 MiB block keeps the
//!   cold-read overfetch at the edges of a range to under 2 MiB, the number of files per GiB
//!   at 1024 (a 100 GiB cache is 100k files in one directory, fine for ext4/xfs hashed
//!   directories), and the per-file overhead (open + 56-byte header + xxh3 at ~10 GB/s)
//!   small next to the transfer.
//! - `min_free_bytes` 1 GiB: room for the system and other writers; set it to e.g. 5% of the
//!   filesystem for large disks.
//! - `max_bytes` 10 GiB by default; the mount sets it from `--cache-size`.
//! - Write-behind is bounded by `WRITE_QUEUE_BYTES` (64 MiB) of fetched data waiting for the
//!   disk; beyond that blocks are not cached (counted as dropped) rather than queued.
//!
//! [`ReadStore`]: crate::ReadStore
//! [`RangeCache`]: crate::RangeCache

mod blocks;
mod cache;
mod files;
mod header;
mod index;
mod stats;
mod store;

use std::path::PathBuf;

pub use cache::DiskCache;
pub use header::{FileId as CacheFileId, HeaderError as CacheFileError};
pub use stats::{DiskCacheSnapshot, DiskCacheStats};

use crate::StoreError;

pub const DEFAULT_BLOCK_BYTES: u64 = 1 << 20;
pub const DEFAULT_MAX_BYTES: u64 = 10 << 30;
pub const DEFAULT_MIN_FREE_BYTES: u64 = 1 << 30;
/// Smallest block: below a page the per-file cost dominates.
pub const MIN_BLOCK_BYTES: u64 = 4 << 10;
/// Largest block: bounded by the header's length check (`MAX_DATA`).
pub const MAX_BLOCK_BYTES: u64 = header::MAX_DATA as u64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskCacheConfig {
    /// Created if missing. May be shared by several mounts.
    pub dir: PathBuf,
    /// Upper bound on the bytes of cache files (headers included) this instance keeps.
    pub max_bytes: u64,
    /// Free space to leave on the cache's filesystem; older files are evicted to keep it.
    pub min_free_bytes: u64,
    /// Size of a cached block, `MIN_BLOCK_BYTES..=MAX_BLOCK_BYTES`. Mounts sharing a
    /// directory with different block sizes do not see each other's blocks.
    pub block_bytes: u64,
}

impl DiskCacheConfig {
    /// The defaults (10 GiB, 1 GiB free, 1 MiB blocks) in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> DiskCacheConfig {
        DiskCacheConfig {
            dir: dir.into(),
            max_bytes: DEFAULT_MAX_BYTES,
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            block_bytes: DEFAULT_BLOCK_BYTES,
        }
    }
}

/// Why a disk cache could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiskCacheError {
    #[error("disk cache: block size {0} is outside {MIN_BLOCK_BYTES}..={MAX_BLOCK_BYTES} bytes")]
    BlockSize(u64),
    #[error("disk cache directory {dir}: {error}")]
    Dir { dir: PathBuf, error: std::io::Error },
}

impl From<DiskCacheError> for StoreError {
    fn from(e: DiskCacheError) -> StoreError {
        match e {
            DiskCacheError::Dir { dir, error } => StoreError::io(&dir.display().to_string(), error),
            other @ DiskCacheError::BlockSize(_) => StoreError::Io {
                key: "disk cache".into(),
                error: std::io::Error::new(std::io::ErrorKind::InvalidInput, other.to_string()),
            },
        }
    }
}

/// Checks any bytes as a cache file, for the fuzz target and tools: the file's identity and
/// verified data, or why it was refused. Never panics.
pub fn parse_cache_file(bytes: &[u8]) -> Result<(CacheFileId, &[u8]), CacheFileError> {
    header::parse(bytes).map(|p| (p.id, p.data))
}

/// Encodes a cache file (header + data), the inverse of [`parse_cache_file`] for data of at
/// most `MAX_BLOCK_BYTES`.
pub fn encode_cache_file(id: CacheFileId, data: &[u8]) -> Vec<u8> {
    let mut f = header::encode_header(id, data).to_vec();
    f.extend_from_slice(data);
    f
}
