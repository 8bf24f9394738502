//! A store wrapper that retries what can succeed on a second try, bounds every attempt and
//! every operation in time, and counts what it did.
//!
//! - Transient errors ([`StoreError::is_transient`]: 5xx, 503 SlowDown, connection failures,
//!   bodies cut short, timeouts) are retried after a "full jitter" backoff: a uniform random
//!   wait below `min(cap, base × 2^attempt)`, which spreads retries of many readers hit by the
//!   same outage instead of synchronising them (the AWS architecture blog's comparison of
//!   backoff schemes found full jitter the cheapest in total work).
//! - Every attempt has its own timeout. Dropping a timed-out attempt drops its connection, so
//!   a read stuck on a dead connection is retried on a new one. The SDK's own timeouts stop at
//!   the response headers; this one also covers the body.
//! - Every operation has a deadline: when the next attempt could not finish before it, the
//!   last error is returned, so a reader gets an error (EIO through FUSE), never a hang.
//!
//! Only reads are retried here (ranged gets, gets, heads, lists); writes pass through, since
//! their callers (uploads) have their own retry and idempotency rules.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;

use crate::{ObjectMeta, ObjectStore, PieceTag, StoreError, UploadId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts per operation, the first included.
    pub max_attempts: u32,
    /// First backoff ceiling; doubles per attempt up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Longest one attempt may take, body included.
    pub attempt_timeout: Duration,
    /// Longest one operation may take, all attempts and waits included.
    pub deadline: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 10,
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            // An 8 MiB request at 10 Mbit/s takes 6.7 s; slower links need a larger value.
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
        }
    }
}

/// The wait before retry number `attempt` (0 for the first retry), given a uniform random
/// `r`: full jitter below `min(max, base × 2^attempt)`.
pub fn backoff(cfg: &RetryConfig, attempt: u32, r: u64) -> Duration {
    let ceiling = cfg
        .base_backoff
        .saturating_mul(1u32 << attempt.min(20))
        .min(cfg.max_backoff);
    let nanos = ceiling.as_nanos() as u64;
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(r % nanos)
}

/// What the wrapper did, for the mount's statistics.
#[derive(Debug, Default)]
pub struct RetryCounters {
    pub retries: AtomicU64,
    pub timeouts: AtomicU64,
    /// Operations that failed after their last attempt or at their deadline.
    pub gave_up: AtomicU64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetrySnapshot {
    pub retries: u64,
    pub timeouts: u64,
    pub gave_up: u64,
}

impl RetryCounters {
    pub fn snapshot(&self) -> RetrySnapshot {
        RetrySnapshot {
            retries: self.retries.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            gave_up: self.gave_up.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug)]
pub struct RetryStore {
    inner: Arc<dyn ObjectStore>,
    config: RetryConfig,
    counters: Arc<RetryCounters>,
}

impl RetryStore {
    pub fn new(inner: Arc<dyn ObjectStore>, config: RetryConfig) -> RetryStore {
        RetryStore {
            inner,
            config,
            counters: Arc::default(),
        }
    }

    pub fn counters(&self) -> Arc<RetryCounters> {
        self.counters.clone()
    }

    async fn run<T, F, Fut>(&self, key: &str, op: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let cfg = &self.config;
        let started = Instant::now();
        let deadline = started + cfg.deadline;
        let mut attempt = 0u32;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let limit = cfg.attempt_timeout.min(left);
            let err = match tokio::time::timeout(limit, op()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) if !e.is_transient() => return Err(e),
                Ok(Err(e)) => e,
                Err(_) => {
                    self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    StoreError::TimedOut {
                        key: key.into(),
                        after: limit,
                    }
                }
            };
            attempt += 1;
            let wait = backoff(cfg, attempt - 1, random());
            let out_of_time = Instant::now() + wait + Duration::from_millis(1) >= deadline;
            if attempt >= cfg.max_attempts || out_of_time {
                self.counters.gave_up.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %err, attempts = attempt, elapsed_ms = started.elapsed().as_millis() as u64, "giving up");
                return Err(err);
            }
            tracing::debug!(error = %err, attempt, wait_ms = wait.as_millis() as u64, "retrying");
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }
}

fn random() -> u64 {
    let mut b = [0u8; 8];
    // Without randomness the backoff is still bounded, only less spread.
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

#[async_trait::async_trait]
impl ObjectStore for RetryStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        self.run(key, || self.inner.get_range(key, range.clone()))
            .await
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.run(key, || self.inner.get(key)).await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.run(key, || self.inner.head(key)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.run(prefix, || self.inner.list(prefix)).await
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        self.inner.put(key, body).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn create_upload(&self, key: &str) -> Result<UploadId, StoreError> {
        self.inner.create_upload(key).await
    }

    async fn upload_piece(
        &self,
        key: &str,
        upload: &UploadId,
        number: u32,
        body: Bytes,
    ) -> Result<PieceTag, StoreError> {
        self.inner.upload_piece(key, upload, number, body).await
    }

    async fn complete_upload(
        &self,
        key: &str,
        upload: &UploadId,
        pieces: Vec<PieceTag>,
    ) -> Result<(), StoreError> {
        self.inner.complete_upload(key, upload, pieces).await
    }

    async fn abort_upload(&self, key: &str, upload: &UploadId) -> Result<(), StoreError> {
        self.inner.abort_upload(key, upload).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FaultConfig, FaultyStore, LocalStore};

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_capped_ceiling() {
        let cfg = RetryConfig::default();
        assert_eq!(backoff(&cfg, 0, 0), Duration::ZERO);
        assert!(backoff(&cfg, 0, u64::MAX) < Duration::from_millis(50));
        assert!(backoff(&cfg, 3, u64::MAX) < Duration::from_millis(400));
        assert!(backoff(&cfg, 30, u64::MAX) < cfg.max_backoff);
        let spread: std::collections::HashSet<Duration> = (0..100u64)
            .map(|r| backoff(&cfg, 2, r * 7_919_000))
            .collect();
        assert!(spread.len() > 50, "jitter spreads the waits");
    }

    fn store(dir: &std::path::Path, faults: FaultConfig, cfg: RetryConfig) -> RetryStore {
        let local: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir).expect("store"));
        RetryStore::new(Arc::new(FaultyStore::new(local, faults)), cfg)
    }

    #[tokio::test]
    async fn transient_faults_are_retried_until_the_bytes_arrive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body: Bytes = (0..4096u32).map(|i| i as u8).collect::<Vec<_>>().into();
        LocalStore::open(dir.path())
            .expect("store")
            .put("k", body.clone())
            .await
            .expect("put");
        let faults = FaultConfig {
            seed: 7,
            error_rate: 0.3,
            short_read_rate: 0.2,
            ..FaultConfig::default()
        };
        let cfg = RetryConfig {
            max_attempts: 30,
            base_backoff: Duration::from_millis(1),
            ..RetryConfig::default()
        };
        let s = store(dir.path(), faults, cfg);
        for i in 0..200u64 {
            let r = (i * 13) % 4000..(i * 13) % 4000 + 96;
            let got = s
                .get_range("k", r.clone())
                .await
                .expect("retried to success");
            assert_eq!(got, body.slice(r.start as usize..r.end as usize));
        }
        assert!(s.counters().snapshot().retries > 50);
        assert!(
            matches!(s.get("missing").await, Err(StoreError::NotFound { .. })),
            "not retried"
        );
    }

    #[tokio::test]
    async fn a_stuck_attempt_times_out_and_the_deadline_ends_the_operation() {
        let dir = tempfile::tempdir().expect("tempdir");
        LocalStore::open(dir.path())
            .expect("store")
            .put("k", Bytes::from_static(b"abc"))
            .await
            .expect("put");
        // Every request hangs for an hour.
        let faults = FaultConfig {
            delay_rate: 1.0,
            delay: Duration::from_secs(3600),
            ..FaultConfig::default()
        };
        let cfg = RetryConfig {
            attempt_timeout: Duration::from_millis(100),
            deadline: Duration::from_millis(450),
            base_backoff: Duration::from_millis(10),
            ..RetryConfig::default()
        };
        let s = store(dir.path(), faults, cfg);
        let started = Instant::now();
        let err = s.get_range("k", 0..3).await.expect_err("must give up");
        let took = started.elapsed();
        assert!(matches!(err, StoreError::TimedOut { .. }), "{err}");
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(2),
            "{took:?}"
        );
        let c = s.counters().snapshot();
        assert!(c.timeouts >= 3 && c.gave_up == 1, "{c:?}");
    }
}
