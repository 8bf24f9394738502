//! The store stack under a mount's object readers, built once per distinct store: the origin
//! (opened by the caller's [`Connect`], so this crate never compiles the AWS SDK), an optional
//! shape, the retry owner, then the caches (the regional cache bucket, the disk cache), each a
//! [`RangeCache`] put in front of what is below it by a [`CachedStore`]. Only the read side
//! of the stores is used here; the writable directories write through their own
//! `RetryStore` (see `write_path.rs`).

use std::sync::Arc;

use mezz_store::{
    CachedStore, DiskCache, ObjectStore, RangeCache, ReadStore, RegionalCache, RegionalConfig,
    RetryBudget, RetryConfig, RetryStore, Shape, ShapedStore, StoreCounters, StoreUrl,
};

/// An error from the caller's side of opening a store (S3 configuration, a missing default
/// store); shown as it is, with its causes.
pub type ConnectError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Opens the stores a mount reads from. The mount adds retries and caches itself, so every
/// call of the store returned must be one request.
#[async_trait::async_trait]
pub trait Connect: Send + Sync {
    /// The store `url` names, or the mount's default store when `url` is `None`, reached
    /// through `endpoint` instead of the default endpoint when given.
    async fn connect(
        &self,
        url: Option<&StoreUrl>,
        endpoint: Option<&str>,
    ) -> Result<Arc<dyn ObjectStore>, ConnectError>;
}

/// Why a store stack could not be built.
#[derive(Debug, thiserror::Error)]
#[error("opening the regional cache {url}")]
pub struct RegionalError {
    url: StoreUrl,
    #[source]
    cause: ConnectError,
}

/// The wrappers put around every store a mount reads from.
#[derive(Debug, Default)]
pub(crate) struct StoreStack {
    pub shape: Option<Shape>,
    pub retry: RetryConfig,
    /// Spent by the retries of every store of the mount.
    pub budget: Arc<RetryBudget>,
    /// The near bucket and the endpoint to reach it.
    pub regional: Option<(StoreUrl, Option<String>)>,
    pub disk: Option<Arc<DiskCache>>,
}

impl StoreStack {
    /// The read side of `origin` with the mount's wrappers around it. Their counters are
    /// added to `counters`, the caches made for it to `caches` (to drain at the end).
    pub async fn wrap(
        &self,
        connect: &dyn Connect,
        origin: Arc<dyn ObjectStore>,
        counters: &mut StoreCounters,
        caches: &mut Vec<Arc<dyn RangeCache>>,
    ) -> Result<Arc<dyn ReadStore>, RegionalError> {
        let mut store: Arc<dyn ReadStore> = origin;
        if let Some(shape) = self.shape {
            store = Arc::new(ShapedStore::new(store, shape));
        }
        let retry = RetryStore::with_budget(store, self.retry, self.budget.clone());
        counters.retry.push(retry.counters());
        store = Arc::new(retry);
        if let Some((url, endpoint)) = &self.regional {
            let near_url = mezz_store::near_store_url(url, store.as_ref());
            let near = connect
                .connect(Some(&near_url), endpoint.as_deref())
                .await
                .map_err(|cause| RegionalError {
                    url: near_url.clone(),
                    cause,
                })?;
            // The near bucket is written to (copies, leases): its retries cover writes too.
            let near = RetryStore::with_budget(near, self.retry, self.budget.clone());
            counters.retry.push(near.counters());
            let cache = Arc::new(RegionalCache::new(
                Arc::new(near),
                RegionalConfig::default(),
            ));
            counters.regional.push(cache.counters());
            caches.push(cache.clone());
            store = Arc::new(CachedStore::new(store, cache));
        }
        if let Some(cache) = &self.disk {
            counters.disk = Some(cache.stats());
            store = Arc::new(CachedStore::new(store, cache.clone()));
        }
        Ok(store)
    }
}
