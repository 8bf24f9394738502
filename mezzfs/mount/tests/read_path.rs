//! The read path against real stores: exact bytes for any read pattern, read-ahead that
//! fetches little for sparse reads and a lot ahead for dense ones, and no unauthenticated byte.

use std::sync::Arc;

use mezz_format::LocalKeyFile;
use mezz_mount::{ReadPath, ReadPathConfig};
use mezz_object::{ObjectReader, PutOptions, put_object};
use mezz_readahead::{Config as ReadaheadConfig, Strategy};
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};
use mezz_store::{LocalStore, ObjectStore};
use mezz_store_s3::{S3Options, S3Store};
use mezz_testkit::{XorShift, random_bytes};

const SIZE: usize = 24 << 20;

fn keys() -> LocalKeyFile {
    LocalKeyFile::from_parts("mount", [9; 32])
}

async fn stored(store: Arc<dyn ObjectStore>, data: &[u8]) -> ObjectReader {
    let opts = PutOptions {
        part_size: 4 << 20,
        segment_size: 16384,
        ..PutOptions::default()
    };
    put_object(
        store.clone(),
        &keys(),
        "obj",
        Box::new(std::io::Cursor::new(data.to_vec())),
        &opts,
        Arc::default(),
    )
    .await
    .expect("put");
    ObjectReader::open(store, &keys(), "obj")
        .await
        .expect("open")
}

fn config(strategy: Strategy) -> ReadPathConfig {
    ReadPathConfig {
        readahead: ReadaheadConfig {
            strategy,
            request_size: 1 << 20,
            ..ReadaheadConfig::default()
        },
        cache_bytes: 64 << 20,
        ..ReadPathConfig::default()
    }
}

async fn random_reads_are_exact(store: Arc<dyn ObjectStore>) {
    let data = random_bytes(SIZE, 1);
    let path = ReadPath::new(vec![stored(store, &data).await], config(Strategy::Adaptive));
    let mut rng = XorShift::new(7);
    for _ in 0..400 {
        let len = 1 + rng.next_u64() % (300 << 10);
        let start = rng.next_u64() % (SIZE as u64 - len);
        let got = path.read(0, start..start + len).await.expect("read");
        assert!(
            got[..] == data[start as usize..(start + len) as usize],
            "read {start}+{len}"
        );
    }
    // Reads past the end are clamped, as a file's are.
    let got = path
        .read(0, SIZE as u64 - 10..SIZE as u64 + 100)
        .await
        .expect("read");
    assert_eq!(&got[..], &data[SIZE - 10..]);
    assert!(
        path.read(0, SIZE as u64..SIZE as u64 + 5)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(path.read(3, 0..5).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_reads_are_exact_on_a_local_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    random_reads_are_exact(Arc::new(LocalStore::open(dir.path()).expect("open"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_reads_are_exact_on_s3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(dir.path(), &["media"]).expect("S3 test server must start");
    let opts = S3Options {
        endpoint_url: Some(server.endpoint()),
        region: Some(REGION.into()),
        static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        ..S3Options::default()
    };
    random_reads_are_exact(Arc::new(
        S3Store::connect("media", "", &opts).await.expect("connect"),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readers_share_fetches_and_get_exact_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = Arc::new(random_bytes(SIZE, 2));
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir.path()).expect("open"));
    let path = ReadPath::new(vec![stored(store, &data).await], config(Strategy::Adaptive));
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let (path, data) = (path.clone(), data.clone());
        tasks.push(tokio::spawn(async move {
            // Every task reads the same first 4 MiB, then its own region sequentially.
            for off in (0..4u64 << 20)
                .step_by(128 << 10)
                .chain(((t * 2 + 4) << 20..(t * 2 + 6) << 20).step_by(128 << 10))
            {
                let got = path.read(0, off..off + (128 << 10)).await.expect("read");
                assert!(
                    got[..] == data[off as usize..off as usize + (128 << 10)],
                    "task {t} at {off}"
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let m = path.metrics();
    // The shared 4 MiB is fetched once, not eight times.
    assert!(
        m.bytes_fetched < (4 + 16 + 6) << 20,
        "fetched {} bytes",
        m.bytes_fetched
    );
}

async fn amplification(strategy: Strategy, sequential: bool, reads: u64) -> (f64, u64, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = random_bytes(SIZE, 3);
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir.path()).expect("open"));
    let path = ReadPath::new(vec![stored(store, &data).await], config(strategy));
    let mut rng = XorShift::new(11);
    for i in 0..reads {
        let start = if sequential {
            i * 65536
        } else {
            (rng.next_u64() % (SIZE as u64 / 65536)) * 65536
        };
        let got = path.read(0, start..start + 65536).await.expect("read");
        assert!(got[..] == data[start as usize..start as usize + 65536]);
    }
    let m = path.metrics();
    (m.amplification(), m.fetches, m.reads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sparse_reads_fetch_what_they_read_and_dense_reads_fetch_ahead() {
    // 24 reads of 64 KiB scattered over 24 MiB: the seed's sparse pattern, scaled down.
    let (sparse, _, _) = amplification(Strategy::Adaptive, false, 24).await;
    // 24 random slots of 384 often land side by side; such a pair reads ahead a little (twice
    // its extent) before it could be told from the start of a stream.
    assert!(sparse <= 1.5, "adaptive sparse amplification {sparse}");
    let (fixed, _, _) = amplification(Strategy::Fixed(8 << 20), false, 24).await;
    assert!(fixed >= 8.0, "fixed-8MiB sparse amplification {fixed}");
    let (dense, fetches, reads) = amplification(Strategy::Adaptive, true, 256).await;
    println!(
        "amplification: adaptive sparse {sparse:.3}, fixed-8MiB sparse {fixed:.1}, adaptive dense {dense:.3} ({fetches} fetches for {reads} reads)"
    );
    // Everything read ahead lands inside the object; a window past the 16 MiB read is allowed.
    assert!(dense <= 1.6, "adaptive dense amplification {dense}");
    // Read-ahead goes out in requests (a dense stream's window in half the 1 MiB request
    // size), not one small fetch per read: at most the object's 24 MiB in half-size
    // requests, plus the warm-up reads.
    assert!(
        fetches <= 48 + 8,
        "{fetches} fetches for {reads} sequential reads"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_ciphertext_fails_the_read_and_never_returns_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = random_bytes(SIZE, 4);
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir.path()).expect("open"));
    let reader = stored(store, &data).await;
    let part = dir
        .path()
        .join(format!("obj.mezz/{}/000001", reader.manifest().object_id));
    let mut bytes = std::fs::read(&part).expect("part");
    bytes[100] ^= 1;
    std::fs::write(&part, bytes).expect("write");
    let path = ReadPath::new(vec![reader], config(Strategy::Adaptive));
    let err = path
        .read(0, (4 << 20) + 10..(4 << 20) + 20)
        .await
        .expect_err("tampered");
    let msg = err.to_string();
    assert!(
        msg.contains("'obj'") && msg.contains("part 1") && msg.contains("segment 256"),
        "{msg}"
    );
    // Other parts still read.
    assert!(path.read(0, 0..100).await.expect("read")[..] == data[..100]);
    assert!(path.metrics().errors >= 1);
}
