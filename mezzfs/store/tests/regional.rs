//! The regional cache against two real S3-compatible servers on loopback: an origin ("far")
//! and a near bucket, each its own server process-equivalent with its own port and directory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};
use mezz_store::{
    CachedStore, Lease, ObjectStore, ReadStore, RegionalCache, RegionalConfig, RegionalCounters,
    Shape, ShapedStore, StoreError,
};
use mezz_store_s3::{S3Options, S3Store};

struct Region {
    _dir: tempfile::TempDir,
    server: S3TestServer,
}

impl Region {
    fn start() -> Region {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = S3TestServer::start(dir.path(), &["media"]).expect("S3 test server");
        Region { _dir: dir, server }
    }

    async fn store(&self) -> Arc<dyn ObjectStore> {
        let opts = S3Options {
            endpoint_url: Some(self.server.endpoint()),
            region: Some(REGION.into()),
            static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
            ..S3Options::default()
        };
        Arc::new(
            S3Store::connect("media", "cache/", &opts)
                .await
                .expect("connect"),
        )
    }
}

fn pattern(n: usize, seed: u8) -> Bytes {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 12) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// A worker's view of an origin: read through a regional cache bucket in front of it.
struct Worker {
    cache: Arc<RegionalCache>,
    store: CachedStore,
}

impl Worker {
    fn new(near: Arc<dyn ObjectStore>, origin: Arc<dyn ReadStore>) -> Worker {
        let cache = Arc::new(RegionalCache::new(near, config()));
        let store = CachedStore::new(origin, cache.clone());
        Worker { cache, store }
    }

    async fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Bytes, StoreError> {
        self.store.get_range(key, range).await
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.store.get(key).await
    }

    fn counters(&self) -> Arc<RegionalCounters> {
        self.cache.counters()
    }

    async fn settle(&self, limit: Duration) {
        self.cache.settle(limit).await;
    }
}

/// The origin as seen from far away: 20 ms to first byte, 400 MB/s per response.
fn far(origin: Arc<dyn ObjectStore>) -> Arc<dyn ReadStore> {
    Arc::new(ShapedStore::new(
        origin,
        Shape {
            latency: Duration::from_millis(20),
            per_request_rate: Some(400e6),
            link_rate: Some(400e6),
        },
    ))
}

/// Shows the store's warnings (a failed copy says why) in the test's output.
fn log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("mezz_store=debug")
        .with_test_writer()
        .try_init();
}

fn config() -> RegionalConfig {
    RegionalConfig {
        lease_ttl: Duration::from_secs(2),
        poll: Duration::from_millis(20),
        copies: 2,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_worker_reads_nothing_from_the_origin() {
    log();
    let (origin, near) = (Region::start(), Region::start());
    let (o, n) = (origin.store().await, near.store().await);
    let big = pattern(40 << 20, 1); // copied in 16 MiB pieces (multipart)
    let small = pattern(300_000, 2); // copied in one put
    o.put("movie/part-1", big.clone()).await.expect("put");
    o.put("movie/part-2", small.clone()).await.expect("put");

    let first = Worker::new(n.clone(), far(o.clone()));
    for (key, body) in [("movie/part-1", &big), ("movie/part-2", &small)] {
        let got = first.get_range(key, 1000..5000).await.expect("read");
        assert_eq!(got, body.slice(1000..5000));
    }
    first.settle(Duration::from_secs(20)).await;
    let c1 = first.counters().snapshot();
    assert_eq!(c1.copies_done, 2, "{c1:?}");
    assert_eq!(
        c1.origin_bytes,
        2 * 4000 + big.len() as u64 + small.len() as u64
    );
    // The copies are byte for byte the origin's.
    assert_eq!(n.get("movie/part-1").await.expect("near copy"), big);
    assert_eq!(n.get("movie/part-2").await.expect("near copy"), small);
    assert!(
        n.list(".mezzfs-leases/").await.expect("list").is_empty(),
        "leases removed"
    );

    let second = Worker::new(n.clone(), far(o.clone()));
    for start in (0..big.len() as u64 - 70_000).step_by(3_000_001) {
        let got = second
            .get_range("movie/part-1", start..start + 65_536)
            .await
            .expect("read");
        assert_eq!(got, big.slice(start as usize..start as usize + 65_536));
    }
    let c2 = second.counters().snapshot();
    assert_eq!(c2.origin_bytes, 0, "{c2:?}");
    assert!(c2.near_bytes > 0 && c2.near_misses == 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_wait_for_one_copy_instead_of_all_pulling_the_origin() {
    log();
    let (origin, near) = (Region::start(), Region::start());
    let (o, n) = (origin.store().await, near.store().await);
    let body = pattern(48 << 20, 3);
    o.put("scene/part", body.clone()).await.expect("put");
    // A slow origin (100 MB/s link) so the copy takes about half a second.
    let slow: Arc<dyn ReadStore> = Arc::new(ShapedStore::new(
        o.clone(),
        Shape {
            latency: Duration::from_millis(20),
            per_request_rate: Some(100e6),
            link_rate: Some(100e6),
        },
    ));
    let a = Worker::new(n.clone(), slow.clone());
    let b = Worker::new(n.clone(), slow.clone());
    assert_eq!(
        a.get_range("scene/part", 0..4096).await.expect("a"),
        body.slice(0..4096)
    );
    // b misses while a's copy is under way: it waits for the copy and reads it nearby.
    let got = b
        .get_range("scene/part", 10 << 20..(10 << 20) + 4096)
        .await
        .expect("b");
    assert_eq!(got, body.slice(10 << 20..(10 << 20) + 4096));
    let cb = b.counters().snapshot();
    assert_eq!((cb.waited, cb.origin_bytes), (1, 0), "{cb:?}");
    a.settle(Duration::from_secs(20)).await;
    assert_eq!(a.counters().snapshot().copies_done, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_holder_blocks_no_one_past_its_lease() {
    log();
    let (origin, near) = (Region::start(), Region::start());
    let (o, n) = (origin.store().await, near.store().await);
    let body = pattern(1 << 20, 4);
    o.put("x/part", body.clone()).await.expect("put");
    // A worker that took the lease and died: it expires in 600 ms and is never renewed.
    let dead = Lease {
        holder: "crashed-worker".into(),
        expires_unix_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64
            + 600,
    };
    n.put(
        ".mezzfs-leases/x/part",
        serde_json::to_vec(&dead).expect("json").into(),
    )
    .await
    .expect("lease");
    let w = Worker::new(n.clone(), o.clone());
    let started = Instant::now();
    let got = w.get_range("x/part", 5..50).await.expect("read");
    let waited = started.elapsed();
    assert_eq!(got, body.slice(5..50));
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    w.settle(Duration::from_secs(10)).await;
    assert_eq!(
        n.get("x/part").await.expect("copied after the takeover"),
        body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_come_from_the_origin_and_a_dead_near_bucket_only_costs_speed() {
    log();
    let (origin, near) = (Region::start(), Region::start());
    let (o, n) = (origin.store().await, near.store().await);
    o.put("m/manifest", Bytes::from_static(b"new"))
        .await
        .expect("put");
    n.put("m/manifest", Bytes::from_static(b"stale"))
        .await
        .expect("put");
    o.put("m/part", pattern(100_000, 5)).await.expect("put");
    let w = Worker::new(n.clone(), o.clone());
    assert_eq!(
        w.get("m/manifest").await.expect("get"),
        Bytes::from_static(b"new")
    );
    near.server.shutdown();
    let got = w
        .get_range("m/part", 0..100)
        .await
        .expect("served by the origin");
    assert_eq!(got, pattern(100_000, 5).slice(0..100));
}
