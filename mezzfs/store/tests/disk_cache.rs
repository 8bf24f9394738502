//! The disk cache over real stores: a local directory and the S3 test server on loopback.
//! Inner requests are counted by a wrapper around the real store.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};
use mezz_store::{
    CacheFileId, CachedStore, DiskCache, DiskCacheConfig, LocalStore, ObjectMeta, ObjectStore,
    ReadStore, StoreError, parse_cache_file,
};
use mezz_store_s3::{S3Options, S3Store};
use mezz_testkit::{FaultConfig, FaultyStore, XorShift, random_bytes};

const BLOCK: u64 = 64 << 10;

/// Passes every call to the real store and counts reads.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn ObjectStore>,
    ranges: AtomicU64,
    heads: AtomicU64,
    gets: AtomicU64,
}

impl Counting {
    fn new(inner: Arc<dyn ObjectStore>) -> Arc<Counting> {
        Arc::new(Counting {
            inner,
            ranges: AtomicU64::new(0),
            heads: AtomicU64::new(0),
            gets: AtomicU64::new(0),
        })
    }
    fn requests(&self) -> (u64, u64) {
        (
            self.ranges.load(Ordering::SeqCst),
            self.heads.load(Ordering::SeqCst),
        )
    }
}

#[async_trait::async_trait]
impl ReadStore for Counting {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        self.ranges.fetch_add(1, Ordering::SeqCst);
        self.inner.get_range(key, range).await
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key).await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.heads.fetch_add(1, Ordering::SeqCst);
        self.inner.head(key).await
    }
}

fn config(dir: &Path) -> DiskCacheConfig {
    DiskCacheConfig {
        dir: dir.to_path_buf(),
        max_bytes: 64 << 20,
        min_free_bytes: 0,
        block_bytes: BLOCK,
    }
}

/// Objects of awkward sizes: smaller than a block, a whole number of blocks, and ragged.
fn objects() -> Vec<(String, Vec<u8>)> {
    [
        (1000usize, 1u64),
        (4 * BLOCK as usize, 2),
        (5 * BLOCK as usize + 12_345, 3),
    ]
    .into_iter()
    .map(|(n, seed)| (format!("obj.mezz/v{seed}/000000"), random_bytes(n, seed)))
    .collect()
}

async fn fill(store: &dyn ObjectStore) -> Vec<(String, Vec<u8>)> {
    let objs = objects();
    for (key, body) in &objs {
        store
            .put(key, Bytes::from(body.clone()))
            .await
            .expect("put");
    }
    objs
}

fn local(dir: &Path) -> Arc<dyn ObjectStore> {
    Arc::new(LocalStore::open(&dir.join("bucket")).expect("local store"))
}

async fn s3(dir: &Path) -> (S3TestServer, Arc<dyn ObjectStore>) {
    let server = S3TestServer::start(&dir.join("s3"), &["media"]).expect("server");
    let options = S3Options {
        endpoint_url: Some(server.endpoint()),
        region: Some(REGION.into()),
        static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        ..S3Options::default()
    };
    let store = S3Store::connect("media", "cache-test/", &options)
        .await
        .expect("s3");
    (server, Arc::new(store))
}

fn random_range(rng: &mut XorShift, size: u64) -> Range<u64> {
    let a = rng.next_u64() % size;
    let len = 1 + rng.next_u64() % (3 * BLOCK).min(size - a);
    a..a + len
}

fn block_file(dir: &Path, key: &str, block: u64) -> PathBuf {
    let id = CacheFileId {
        key: CacheFileId::key_id(key, BLOCK),
        block,
    };
    dir.join(id.file_name())
}

fn cache_files(dir: &Path) -> Vec<(String, u64)> {
    std::fs::read_dir(dir)
        .expect("readdir")
        .map(|e| e.expect("entry"))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, e.metadata().expect("meta").len())
        })
        .collect()
}

/// Cold read: one head and one request per run; restart: a new cache on the same directory
/// answers every range with no inner request at all.
async fn cold_then_warm(inner: Arc<dyn ObjectStore>, dir: &Path) {
    let objs = fill(inner.as_ref()).await;
    {
        let counting = Counting::new(inner.clone());
        let cache = DiskCache::open(config(dir)).expect("open");
        let store = CachedStore::new(counting.clone(), cache.clone());
        for (key, body) in &objs {
            let got = store
                .get_range(key, 0..body.len() as u64)
                .await
                .expect("read");
            assert_eq!(&got[..], &body[..]);
        }
        assert_eq!(
            counting.requests(),
            (3, 3),
            "one range and one head per object"
        );
        cache.flush().await;
        let s = cache.stats().snapshot();
        assert_eq!(
            (s.hits, s.misses, s.corrupt_files, s.write_errors),
            (0, 1 + 4 + 6, 0, 0)
        );
    }
    let counting = Counting::new(inner.clone());
    let cache = DiskCache::open(config(dir)).expect("reopen");
    let store = CachedStore::new(counting.clone(), cache.clone());
    let mut rng = XorShift::new(11);
    for _ in 0..200 {
        let (key, body) = &objs[(rng.next_u64() % 3) as usize];
        let r = random_range(&mut rng, body.len() as u64);
        let got = store.get_range(key, r.clone()).await.expect("warm read");
        assert_eq!(
            &got[..],
            &body[r.start as usize..r.end as usize],
            "{key} {r:?}"
        );
    }
    assert_eq!(
        counting.requests(),
        (0, 0),
        "a warm restart needs no request"
    );
    assert_eq!(cache.stats().snapshot().misses, 0);
    // Manifests and whole-object reads are never cached.
    store.get(&objs[0].0).await.expect("get");
    store.get(&objs[0].0).await.expect("get");
    assert_eq!(counting.gets.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_then_warm_local() {
    let dir = tempfile::tempdir().expect("tempdir");
    cold_then_warm(local(dir.path()), &dir.path().join("cache")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_then_warm_s3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, store) = s3(dir.path()).await;
    cold_then_warm(store, &dir.path().join("cache")).await;
}

/// Random ranges through a cache too small for the data (so blocks come and go) equal the
/// store's bytes; the inner store sees one request per run of missing blocks.
async fn random_ranges(inner: Arc<dyn ObjectStore>, dir: &Path, seed: u64) {
    let objs = fill(inner.as_ref()).await;
    let counting = Counting::new(inner);
    let mut cfg = config(dir);
    cfg.max_bytes = 4 * BLOCK;
    let cache = DiskCache::open(cfg).expect("open");
    let store = CachedStore::new(counting.clone(), cache.clone());
    let mut rng = XorShift::new(seed);
    for i in 0..300 {
        let (key, body) = &objs[(rng.next_u64() % 3) as usize];
        let r = random_range(&mut rng, body.len() as u64);
        let before = counting.requests().0;
        let got = store.get_range(key, r.clone()).await.expect("read");
        assert_eq!(
            &got[..],
            &body[r.start as usize..r.end as usize],
            "{i}: {key} {r:?}"
        );
        let blocks = r.end.div_ceil(BLOCK) - r.start / BLOCK;
        // At most every other block missing: never more requests than ceil(blocks / 2).
        assert!(counting.requests().0 - before <= blocks.div_ceil(2));
        if i % 50 == 0 {
            cache.flush().await;
        }
    }
    cache.flush().await;
    let s = cache.stats().snapshot();
    assert!(s.hits > 0 && s.evictions > 0, "{s:?}");
    assert!(s.bytes_on_disk <= 4 * BLOCK, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_ranges_local() {
    let dir = tempfile::tempdir().expect("tempdir");
    random_ranges(local(dir.path()), &dir.path().join("cache"), 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_ranges_s3_through_faulty_wrapper() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, store) = s3(dir.path()).await;
    // The fault wrapper with no faults: the real S3 path, as the mount stacks it.
    let faulty: Arc<dyn ObjectStore> = Arc::new(FaultyStore::new(store, FaultConfig::default()));
    random_ranges(faulty, &dir.path().join("cache"), 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_blocks_are_fetched_as_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner = local(dir.path());
    let objs = fill(inner.as_ref()).await;
    let (key, body) = &objs[2];
    let counting = Counting::new(inner);
    let cache = DiskCache::open(config(&dir.path().join("cache"))).expect("open");
    let store = CachedStore::new(counting.clone(), cache.clone());
    for b in [1, 3] {
        store
            .get_range(key, b * BLOCK..b * BLOCK + 10)
            .await
            .expect("read");
    }
    cache.flush().await;
    assert_eq!(counting.requests(), (2, 1));
    let got = store
        .get_range(key, 0..body.len() as u64)
        .await
        .expect("read");
    assert_eq!(&got[..], &body[..]);
    // Blocks 0, 2 and 4..6 were missing: three runs, three requests.
    assert_eq!(counting.requests(), (5, 1));
}

/// A truncated, a bit-flipped and an emptied cache file are each refused, counted, replaced,
/// and the bytes returned are right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_files_are_misses_and_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cdir = dir.path().join("cache");
    let inner = local(dir.path());
    let objs = fill(inner.as_ref()).await;
    let (key, body) = &objs[2];
    let range = 0..body.len() as u64;
    let cache = DiskCache::open(config(&cdir)).expect("open");
    let store = CachedStore::new(inner.clone(), cache.clone());
    store.get_range(key, range.clone()).await.expect("cold");
    cache.flush().await;

    let truncated = block_file(&cdir, key, 1);
    let len = std::fs::metadata(&truncated).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .expect("open")
        .set_len(len - 100)
        .expect("truncate");
    let flipped = block_file(&cdir, key, 2);
    let mut bytes = std::fs::read(&flipped).expect("read");
    bytes[5000] ^= 0x04;
    std::fs::write(&flipped, bytes).expect("write");
    let emptied = block_file(&cdir, key, 3);
    std::fs::write(&emptied, b"").expect("write");

    let counting = Counting::new(inner);
    let store = CachedStore::new(counting.clone(), cache.clone());
    let got = store.get_range(key, range.clone()).await.expect("read");
    assert_eq!(&got[..], &body[..]);
    assert_eq!(cache.stats().snapshot().corrupt_files, 3);
    assert_eq!(
        counting.requests(),
        (1, 0),
        "blocks 1..4 refetched in one request"
    );
    cache.flush().await;
    for f in [&truncated, &flipped, &emptied] {
        let raw = std::fs::read(f).expect("replaced");
        assert!(
            parse_cache_file(&raw).is_ok(),
            "{} was replaced",
            f.display()
        );
    }
    let got = store.get_range(key, range).await.expect("warm");
    assert_eq!(&got[..], &body[..]);
    assert_eq!(counting.requests(), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_keeps_the_total_under_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cdir = dir.path().join("cache");
    let inner = local(dir.path());
    let body = random_bytes(40 * BLOCK as usize, 9);
    inner
        .put("big", Bytes::from(body.clone()))
        .await
        .expect("put");
    let mut cfg = config(&cdir);
    cfg.max_bytes = 10 * BLOCK;
    let cache = DiskCache::open(cfg.clone()).expect("open");
    let store = CachedStore::new(inner.clone(), cache.clone());
    for b in 0..40 {
        let got = store
            .get_range("big", b * BLOCK..(b + 1) * BLOCK)
            .await
            .expect("read");
        assert_eq!(
            &got[..],
            &body[(b * BLOCK) as usize..((b + 1) * BLOCK) as usize]
        );
        cache.flush().await;
        let on_disk: u64 = cache_files(&cdir).iter().map(|f| f.1).sum();
        assert!(
            on_disk <= cfg.max_bytes,
            "{on_disk} bytes on disk after block {b}"
        );
    }
    let s = cache.stats().snapshot();
    assert!(s.evictions >= 30, "{s:?}");
    // The most recent blocks stay, the oldest went.
    assert!(cache.holds("big", 39) && !cache.holds("big", 0));
    // Reopening with a smaller limit evicts at open.
    cfg.max_bytes = 3 * BLOCK;
    let cache = DiskCache::open(cfg.clone()).expect("reopen");
    let on_disk: u64 = cache_files(&cdir).iter().map(|f| f.1).sum();
    assert!(on_disk <= cfg.max_bytes && cache.stats().snapshot().bytes_on_disk == on_disk);
}

/// Two caches on one directory, each evicting the other's files, read concurrently: every
/// byte returned is right.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cdir = dir.path().join("cache");
    let inner = local(dir.path());
    let objs = Arc::new(fill(inner.as_ref()).await);
    let mut cfg = config(&cdir);
    cfg.max_bytes = 5 * BLOCK;
    let mut tasks = Vec::new();
    for instance in 0..2u64 {
        let cache = DiskCache::open(cfg.clone()).expect("open");
        let store = Arc::new(CachedStore::new(inner.clone(), cache.clone()));
        for worker in 0..2u64 {
            let (store, cache, objs) = (store.clone(), cache.clone(), objs.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = XorShift::new(100 + instance * 10 + worker);
                for _ in 0..250 {
                    let (key, body) = &objs[(rng.next_u64() % 3) as usize];
                    let r = random_range(&mut rng, body.len() as u64);
                    let got = store.get_range(key, r.clone()).await.expect("read");
                    assert_eq!(&got[..], &body[r.start as usize..r.end as usize]);
                }
                cache.flush().await;
                cache.stats().snapshot()
            }));
        }
    }
    let mut total = mezz_store::DiskCacheSnapshot::default();
    for t in tasks {
        let s = t.await.expect("task");
        total.hits += s.hits;
        total.corrupt_files += s.corrupt_files;
    }
    assert!(total.hits > 0);
    assert_eq!(total.corrupt_files, 0, "a reader never sees a partial file");
    assert!(
        cache_files(&cdir)
            .iter()
            .all(|(n, _)| !n.starts_with(".tmp"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temp_files_of_killed_writers_are_removed_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cdir = dir.path().join("cache");
    std::fs::create_dir_all(&cdir).expect("mkdir");
    // A writer that no longer exists (pid above any pid_max), and an old one of ours.
    let dead = cdir.join(".tmp.999999999.0.0000-0000.mzc");
    std::fs::write(&dead, b"half a block").expect("write");
    let old = cdir.join(format!(".tmp.{}.77.x.mzc", std::process::id()));
    let f = std::fs::File::create(&old).expect("create");
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .expect("mtime");
    drop(f);
    let fresh = cdir.join(format!(".tmp.{}.78.x.mzc", std::process::id()));
    std::fs::write(&fresh, b"being written").expect("write");
    let foreign = cdir.join("notes.txt");
    std::fs::write(&foreign, b"not ours").expect("write");
    let _cache = DiskCache::open(config(&cdir)).expect("open");
    assert!(!dead.exists() && !old.exists());
    assert!(fresh.exists(), "a live writer's temp file is left alone");
    assert!(foreign.exists(), "files that are not ours are left alone");
}

/// An unwritable cache directory (here: replaced by a plain file after open, which fails
/// writes even for root) and a disk "full" by the free-space floor both read through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_cache_dir_reads_through() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner = local(dir.path());
    let objs = fill(inner.as_ref()).await;
    let (key, body) = &objs[2];

    let cdir = dir.path().join("gone");
    let cache = DiskCache::open(config(&cdir)).expect("open");
    std::fs::remove_dir_all(&cdir).expect("rmdir");
    std::fs::write(&cdir, b"a file where the directory was").expect("file");
    let counting = Counting::new(inner.clone());
    let store = CachedStore::new(counting.clone(), cache.clone());
    for _ in 0..3 {
        let got = store
            .get_range(key, 0..body.len() as u64)
            .await
            .expect("read");
        assert_eq!(&got[..], &body[..]);
        cache.flush().await;
    }
    let s = cache.stats().snapshot();
    assert_eq!(s.write_errors, 1, "one error, then writes pause: {s:?}");
    assert!(s.writes_dropped > 0 && s.writes == 0);
    assert_eq!(counting.requests().0, 3);

    let mut cfg = config(&dir.path().join("full"));
    cfg.min_free_bytes = u64::MAX / 2;
    let cache = DiskCache::open(cfg.clone()).expect("open");
    let store = CachedStore::new(inner, cache.clone());
    let got = store
        .get_range(key, 0..body.len() as u64)
        .await
        .expect("read");
    assert_eq!(&got[..], &body[..]);
    cache.flush().await;
    let s = cache.stats().snapshot();
    assert!(s.writes == 0 && s.writes_dropped > 0, "{s:?}");
    assert!(cache_files(&cfg.dir).is_empty());
}

/// The cache has no write side; a key rewritten behind it with a longer body is noticed by
/// the first read past the size it remembers, which goes to the store and forgets the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_past_the_remembered_size_forgets_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner = local(dir.path());
    let cache = DiskCache::open(config(&dir.path().join("cache"))).expect("open");
    let store = CachedStore::new(inner.clone(), cache.clone());
    inner
        .put("k", Bytes::from(random_bytes(70_000, 1)))
        .await
        .expect("put");
    store.get_range("k", 0..70_000).await.expect("read");
    cache.flush().await;
    let new = random_bytes(100_000, 2);
    inner.put("k", Bytes::from(new.clone())).await.expect("put");
    let got = store.get_range("k", 0..100_000).await.expect("read");
    assert_eq!(&got[..], &new[..]);
    let got = store.get_range("k", 0..70_000).await.expect("read again");
    assert_eq!(&got[..], &new[..70_000], "the old blocks were forgotten");
}

#[test]
fn bad_block_size_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path());
    cfg.block_bytes = 100;
    assert!(DiskCache::open(cfg).is_err());
}
