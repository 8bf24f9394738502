//! Warm reads from the disk cache against the same bytes read from a `LocalStore` directly
//! (the "local-disk speed" peer). Both read 8 MiB ranges of a 64 MiB object whose files are
//! in the page cache, so the figures compare the per-request software cost.

use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mezz_store::{CachedStore, DiskCache, DiskCacheConfig, LocalStore, ObjectStore, ReadStore};

const OBJECT: u64 = 64 << 20;
const RANGE: u64 = 8 << 20;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let local: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(&dir.path().join("store")).expect("store"));
    let body = Bytes::from(mezz_testkit::random_bytes(OBJECT as usize, 7));
    rt.block_on(local.put("obj", body)).expect("put");
    let mut config = DiskCacheConfig::new(dir.path().join("cache"));
    config.min_free_bytes = 0;
    let cache = DiskCache::open(config).expect("cache");
    let cached = CachedStore::new(local.clone(), cache.clone());
    // Warm the cache with every block.
    rt.block_on(async {
        cached.get_range("obj", 0..OBJECT).await.expect("warm");
        cache.flush().await;
    });
    let mut g = c.benchmark_group("warm_read_8MiB");
    g.throughput(Throughput::Bytes(RANGE));
    let mut at = 0;
    g.bench_function("local_store", |b| {
        b.iter(|| {
            at = (at + RANGE) % OBJECT;
            rt.block_on(local.get_range("obj", at..at + RANGE))
                .expect("read")
        })
    });
    g.bench_function("disk_cache", |b| {
        b.iter(|| {
            at = (at + RANGE) % OBJECT;
            rt.block_on(cached.get_range("obj", at..at + RANGE))
                .expect("read")
        })
    });
    g.finish();
    assert_eq!(cache.stats().snapshot().misses, OBJECT / (1 << 20));
}

criterion_group!(benches, bench);
criterion_main!(benches);
