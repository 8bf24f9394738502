//! The mezzfs mount (work in progress: the mount issue is open).
//!
//! - [`ReadPath`]: serves reads of mounted objects from the block cache, by joining an
//!   in-flight fetch, or by fetching what the read-ahead plan asks for; no FUSE in it, so it is
//!   tested with plain async calls.
//! - [`BlockCache`]: decrypted segments in memory, keyed by object version and segment,
//!   bounded in bytes, least recently used evicted first.
//! - [`Metrics`]: counters of reads, fetches and bytes.
//!
//! Still to come: the thin FUSE adapter over the read path.

mod block_cache;
mod metrics;
mod read_path;

pub use block_cache::{BlockCache, BlockKey, CacheCounters};
pub use metrics::{Metrics, MetricsSnapshot};
pub use read_path::{ReadError, ReadPath, ReadPathConfig};
