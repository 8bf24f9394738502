//! The one owner of retries in mezzfs: a store wrapper that retries what can succeed on a
//! second try, bounds every attempt and every read in time, spends a shared retry budget, and
//! counts what it did. Nothing below it retries (the S3 adapter turns the SDK's retries off).
//!
//! - Transient errors ([`StoreError::is_transient`]: 5xx, 503 SlowDown, connection failures,
//!   bodies cut short, timeouts) are retried after a "full jitter" backoff: a uniform random
//!   wait below `min(cap, base × 2^attempt)`, which spreads retries of many readers hit by the
//!   same outage instead of synchronising them (the AWS architecture blog's comparison of
//!   backoff schemes found full jitter the cheapest in total work).
//! - At most `max_attempts` attempts per operation, and each retry takes tokens from a
//!   [`RetryBudget`] shared by all the stores of a mount: when a bucket throttles everything,
//!   the mount stops retrying once the budget is spent instead of multiplying its load.
//! - Every read attempt has its own timeout. Dropping a timed-out attempt drops its
//!   connection, so a read stuck on a dead connection is retried on a new one; the timeout
//!   covers the body, which the SDK's timeouts do not.
//! - Every read has a deadline: when the next attempt could not finish before it, the last
//!   error is returned, so a reader gets an error (EIO through FUSE), never a hang.
//!
//! Writes (puts, pieces of multipart uploads, deletes) are retried the same way but without
//! our timeouts: their bodies can be large, and the S3 adapter bounds each attempt.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;

use crate::budget::{RETRY_COST, RetryBudget, SUCCESS_REWARD, TIMEOUT_COST};
use crate::{ObjectMeta, ObjectStore, PendingUpload, PieceTag, ReadStore, StoreError, UploadId};

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
    /// Retries not made because the retry budget was spent.
    pub budget_refusals: AtomicU64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetrySnapshot {
    pub retries: u64,
    pub timeouts: u64,
    pub gave_up: u64,
    pub budget_refusals: u64,
}

impl RetryCounters {
    pub fn snapshot(&self) -> RetrySnapshot {
        RetrySnapshot {
            retries: self.retries.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            gave_up: self.gave_up.load(Ordering::Relaxed),
            budget_refusals: self.budget_refusals.load(Ordering::Relaxed),
        }
    }
}

/// Retries around any store: `RetryStore<dyn ObjectStore>` (the default) retries reads and
/// writes, `RetryStore<dyn ReadStore>` reads only.
#[derive(Debug)]
pub struct RetryStore<S: ?Sized = dyn ObjectStore> {
    inner: Arc<S>,
    config: RetryConfig,
    budget: Arc<RetryBudget>,
    counters: Arc<RetryCounters>,
}

/// Whether an operation's attempts are bounded by our timeouts (reads) or only counted
/// (writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bounds {
    Timed,
    Counted,
}

impl<S: ?Sized> RetryStore<S> {
    /// A retrying store with a budget of its own.
    pub fn new(inner: Arc<S>, config: RetryConfig) -> RetryStore<S> {
        RetryStore::with_budget(inner, config, Arc::default())
    }

    /// A retrying store spending `budget`, shared with other stores (those of one mount).
    pub fn with_budget(
        inner: Arc<S>,
        config: RetryConfig,
        budget: Arc<RetryBudget>,
    ) -> RetryStore<S> {
        RetryStore {
            inner,
            config,
            budget,
            counters: Arc::default(),
        }
    }

    pub fn counters(&self) -> Arc<RetryCounters> {
        self.counters.clone()
    }

    async fn run<T, F, Fut>(&self, key: &str, bounds: Bounds, op: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let cfg = &self.config;
        let started = Instant::now();
        let deadline = started + cfg.deadline;
        let mut attempt = 0u32;
        // Tokens the last retry took, given back if the operation then succeeds.
        let mut last_cost = 0u32;
        loop {
            let outcome = match bounds {
                Bounds::Timed => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let limit = cfg.attempt_timeout.min(left);
                    match tokio::time::timeout(limit, op()).await {
                        Ok(r) => r,
                        Err(_) => {
                            self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                            Err(StoreError::TimedOut {
                                key: key.into(),
                                after: limit,
                            })
                        }
                    }
                }
                Bounds::Counted => op().await,
            };
            let err = match outcome {
                Ok(v) => {
                    self.budget.give_back(if attempt == 0 {
                        SUCCESS_REWARD
                    } else {
                        last_cost
                    });
                    return Ok(v);
                }
                Err(e) if !e.is_transient() => return Err(e),
                Err(e) => e,
            };
            attempt += 1;
            let wait = backoff(cfg, attempt - 1, random());
            let out_of_time = bounds == Bounds::Timed
                && Instant::now() + wait + Duration::from_millis(1) >= deadline;
            let give_up = |why: &str| {
                self.counters.gave_up.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %err, attempts = attempt, elapsed_ms = started.elapsed().as_millis() as u64, "giving up: {why}");
            };
            if attempt >= cfg.max_attempts {
                give_up("last attempt");
                return Err(err);
            }
            if out_of_time {
                give_up("deadline");
                return Err(err);
            }
            last_cost = match err {
                StoreError::TimedOut { .. } => TIMEOUT_COST,
                _ => RETRY_COST,
            };
            if !self.budget.try_take(last_cost) {
                self.counters
                    .budget_refusals
                    .fetch_add(1, Ordering::Relaxed);
                give_up("retry budget spent");
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
impl<S: ReadStore + ?Sized> ReadStore for RetryStore<S> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        self.run(key, Bounds::Timed, || {
            self.inner.get_range(key, range.clone())
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.run(key, Bounds::Timed, || self.inner.get(key)).await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.run(key, Bounds::Timed, || self.inner.head(key)).await
    }
}

#[async_trait::async_trait]
impl<S: ObjectStore + ?Sized> ObjectStore for RetryStore<S> {
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.run(prefix, Bounds::Timed, || self.inner.list(prefix))
            .await
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        self.run(key, Bounds::Counted, || self.inner.put(key, body.clone()))
            .await
    }

    async fn get_tagged(&self, key: &str) -> Result<(Bytes, String), StoreError> {
        self.run(key, Bounds::Timed, || self.inner.get_tagged(key))
            .await
    }

    /// A retried attempt whose first try did land finds the object changed (by itself) and
    /// answers `PreconditionFailed`: the caller reads that as "replaced meanwhile", which is
    /// safe (nothing is overwritten) and a rerun finds the object already done.
    async fn put_if_match(&self, key: &str, body: Bytes, tag: &str) -> Result<(), StoreError> {
        self.run(key, Bounds::Counted, || {
            self.inner.put_if_match(key, body.clone(), tag)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.run(key, Bounds::Counted, || self.inner.delete(key))
            .await
    }

    /// A copy repeated after a lost answer copies the same bytes again: idempotent.
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.run(to, Bounds::Counted, || self.inner.copy(from, to))
            .await
    }

    async fn create_upload(&self, key: &str) -> Result<UploadId, StoreError> {
        self.run(key, Bounds::Counted, || self.inner.create_upload(key))
            .await
    }

    async fn upload_piece(
        &self,
        key: &str,
        upload: &UploadId,
        number: u32,
        body: Bytes,
    ) -> Result<PieceTag, StoreError> {
        self.run(key, Bounds::Counted, || {
            self.inner.upload_piece(key, upload, number, body.clone())
        })
        .await
    }

    async fn complete_upload(
        &self,
        key: &str,
        upload: &UploadId,
        pieces: Vec<PieceTag>,
    ) -> Result<(), StoreError> {
        self.run(key, Bounds::Counted, || {
            self.inner.complete_upload(key, upload, pieces.clone())
        })
        .await
    }

    async fn abort_upload(&self, key: &str, upload: &UploadId) -> Result<(), StoreError> {
        self.run(key, Bounds::Counted, || {
            self.inner.abort_upload(key, upload)
        })
        .await
    }

    async fn list_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>, StoreError> {
        self.run(prefix, Bounds::Timed, || self.inner.list_uploads(prefix))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
