//! The store stack under a mount's object readers, built once per distinct store: the origin
//! (opened by the caller's [`Connect`], so this crate never compiles the AWS SDK), an optional
//! shape, the retry owner, the regional cache bucket and the disk cache, outermost last.

use std::sync::Arc;

use mezz_store::{
    CachedStore, DiskCache, ObjectStore, RegionalConfig, RegionalStore, RetryBudget, RetryConfig,
    RetryStore, Shape, ShapedStore, StoreCounters, StoreUrl,
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
#[derive(Debug)]
pub(crate) struct StoreStack {
    pub shape: Option<Shape>,
    pub retry: RetryConfig,
    /// Spent by the retries of every store of the mount.
    pub budget: Arc<RetryBudget>,
    /// The near bucket and the endpoint to reach it.
    pub regional: Option<(StoreUrl, Option<String>)>,
    pub disk: Option<Arc<DiskCache>>,
}

impl Default for StoreStack {
    fn default() -> Self {
        StoreStack {
            shape: None,
            retry: RetryConfig::default(),
            budget: Arc::default(),
            regional: None,
            disk: None,
        }
    }
}

impl StoreStack {
    /// `origin` with the mount's wrappers around it; their counters are added to `counters`.
    pub async fn wrap(
        &self,
        connect: &dyn Connect,
        origin: Arc<dyn ObjectStore>,
        counters: &mut StoreCounters,
    ) -> Result<Arc<dyn ObjectStore>, RegionalError> {
        let mut store = origin;
        if let Some(shape) = self.shape {
            store = Arc::new(ShapedStore::new(store, shape));
        }
        let retry = |s: Arc<dyn ObjectStore>, counters: &mut StoreCounters| {
            let r = RetryStore::with_budget(s, self.retry, self.budget.clone());
            counters.retry.push(r.counters());
            Arc::new(r) as Arc<dyn ObjectStore>
        };
        store = retry(store, counters);
        if let Some((url, endpoint)) = &self.regional {
            let near_url = mezz_store::near_store_url(url, store.as_ref());
            let near = connect
                .connect(Some(&near_url), endpoint.as_deref())
                .await
                .map_err(|cause| RegionalError {
                    url: near_url.clone(),
                    cause,
                })?;
            let near = retry(near, counters);
            let r = RegionalStore::new(near, store, RegionalConfig::default());
            counters.regional.push(r.counters());
            store = Arc::new(r);
        }
        if let Some(cache) = &self.disk {
            counters.disk = Some(cache.stats());
            store = Arc::new(CachedStore::new(store, cache.clone()));
        }
        Ok(store)
    }
}
