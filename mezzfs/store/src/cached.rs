//! [`RangeCache`], the one trait of the caches in front of a store (the disk cache, the
//! regional cache bucket), and [`CachedStore`], the one place the read path meets a cache.
//!
//! A cache answers ranged reads; what it lacks it reads from the origin it is handed, and
//! keeps (on disk, or copied to the near bucket) as it sees fit. Whole-object reads
//! (manifests) never go through a cache, so a replaced object is always seen. Caches have no
//! write side: a mount never writes, and mezzfs part keys are never reused.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use crate::{ObjectMeta, ReadStore, StoreError};

/// A cache of stored (ciphertext) bytes in front of a read store.
#[async_trait::async_trait]
pub trait RangeCache: Send + Sync + std::fmt::Debug {
    /// What the cache is, for messages ("disk cache /var/cache/mezzfs").
    fn describe(&self) -> String;

    /// Bytes `range` of `key`: from the cache, or read from `origin` (and kept).
    async fn get_range(
        &self,
        origin: &Arc<dyn ReadStore>,
        key: &str,
        range: Range<u64>,
    ) -> Result<Bytes, StoreError>;

    /// The size of `key`; by default the origin's answer.
    async fn head(&self, origin: &Arc<dyn ReadStore>, key: &str) -> Result<ObjectMeta, StoreError> {
        origin.head(key).await
    }

    /// Waits, bounded in time, for work the cache still has under way (blocks queued for the
    /// disk, copies to the near bucket), so that it is not lost when a mount ends.
    async fn drain(&self) {}
}

/// A read store whose ranged reads go through a cache.
#[derive(Debug)]
pub struct CachedStore {
    origin: Arc<dyn ReadStore>,
    cache: Arc<dyn RangeCache>,
}

impl CachedStore {
    pub fn new(origin: Arc<dyn ReadStore>, cache: Arc<dyn RangeCache>) -> CachedStore {
        CachedStore { origin, cache }
    }
}

#[async_trait::async_trait]
impl ReadStore for CachedStore {
    fn describe(&self) -> String {
        format!("{} ({})", self.origin.describe(), self.cache.describe())
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        self.cache.get_range(&self.origin, key, range).await
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.origin.get(key).await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.cache.head(&self.origin, key).await
    }
}
