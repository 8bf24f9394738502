//! The retry owner against a fault-injecting store: transient faults retried to success,
//! stuck attempts timed out within the deadline, and the retry budget bounding attempts.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mezz_store::{
    LocalStore, ObjectStore, ReadStore, RetryBudget, RetryConfig, RetryStore, StoreError,
};
use mezz_testkit::{FaultConfig, FaultyStore};

/// Tokens one retry after an error takes from the budget (the AWS SDKs' figure).
const RETRY_COST: u32 = 5;

fn store(dir: &std::path::Path, faults: FaultConfig, cfg: RetryConfig) -> RetryStore {
    let local: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir).expect("store"));
    RetryStore::new(Arc::new(FaultyStore::new(local, faults)), cfg)
}

/// A directory store holding `body` under the key `k`.
async fn dir_holding_k(body: Bytes) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    LocalStore::open(dir.path())
        .expect("store")
        .put("k", body)
        .await
        .expect("put");
    dir
}

#[tokio::test]
async fn transient_faults_are_retried_until_the_bytes_arrive() {
    let body: Bytes = (0..4096u32).map(|i| i as u8).collect::<Vec<_>>().into();
    let dir = dir_holding_k(body.clone()).await;
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
    let dir = dir_holding_k(Bytes::from_static(b"abc")).await;
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

#[tokio::test]
async fn a_spent_budget_stops_retries_and_each_operation_makes_at_most_max_attempts() {
    let dir = dir_holding_k(Bytes::from_static(b"abc")).await;
    let faults = FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    };
    let local: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir.path()).expect("store"));
    let faulty = Arc::new(FaultyStore::new(local, faults));
    let errors = faulty.counts();
    let cfg = RetryConfig {
        max_attempts: 3,
        base_backoff: Duration::from_millis(1),
        ..RetryConfig::default()
    };
    // Room for five retries: two operations of three attempts, then one retry, then none.
    let budget = Arc::new(RetryBudget::new(5 * RETRY_COST));
    let s = RetryStore::with_budget(faulty, cfg, budget.clone());
    let attempts = || errors.errors.load(Ordering::Relaxed);
    let mut per_op = Vec::new();
    for _ in 0..5 {
        let before = attempts();
        assert!(s.get_range("k", 0..3).await.is_err());
        per_op.push(attempts() - before);
    }
    assert_eq!(per_op, [3, 3, 2, 1, 1]);
    let c = s.counters().snapshot();
    assert_eq!((c.retries, c.gave_up, c.budget_refusals), (5, 5, 3));
    assert_eq!(budget.available(), 0);
}
