//! The mezzfs mount (work in progress: the mount issue is open).
//!
//! - [`BlockCache`]: decrypted segments in memory, keyed by object version and segment,
//!   bounded in bytes, least recently used evicted first.
//!
//! Still to come here: the read path (serve from the cache, join an in-flight fetch, or fetch
//! what the read-ahead plan asks for) and the thin FUSE adapter over it.

mod block_cache;

pub use block_cache::{BlockCache, BlockKey, CacheCounters};
