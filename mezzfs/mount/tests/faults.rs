//! The read path under injected faults against the real S3 test server: 5% of requests fail,
//! 1% wait a second, 2% of bodies arrive cut short, 1% arrive with a flipped bit. Every read
//! must return the right bytes or an error, never a wrong byte.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mezz_format::LocalKeyFile;
use mezz_mount::{ReadPath, ReadPathConfig};
use mezz_object::{ObjectReader, PutOptions, put_object};
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};
use mezz_store::{ObjectStore, RetryConfig, RetryStore};
use mezz_store_s3::{S3Options, S3Store};
use mezz_testkit::{FaultConfig, FaultyStore, XorShift, random_bytes};

const OBJECT: usize = 8 << 20;
/// Many readers, so the second-long delays of one do not serialise the whole run.
const READERS: u64 = 128;
const PER_READER: u64 = 782;
const READS: u64 = READERS * PER_READER;

fn keys() -> LocalKeyFile {
    LocalKeyFile::from_parts("faults", [5; 32])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_wrong_byte_in_a_hundred_thousand_reads_under_faults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(dir.path(), &["media"]).expect("S3 test server must start");
    let opts = S3Options {
        endpoint_url: Some(server.endpoint()),
        region: Some(REGION.into()),
        static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        ..S3Options::default()
    };
    let s3: Arc<dyn ObjectStore> =
        Arc::new(S3Store::connect("media", "", &opts).await.expect("connect"));
    let put = PutOptions {
        part_size: 2 << 20,
        segment_size: 16384,
        ..PutOptions::default()
    };
    let data: Vec<Arc<Vec<u8>>> = (0..4)
        .map(|i| Arc::new(random_bytes(OBJECT, 40 + i)))
        .collect();
    for (i, d) in data.iter().enumerate() {
        put_object(
            s3.clone(),
            &keys(),
            &format!("obj{i}"),
            Box::new(std::io::Cursor::new(d.to_vec())),
            &put,
            Arc::default(),
        )
        .await
        .expect("put");
    }
    let faulty = Arc::new(FaultyStore::new(
        s3,
        FaultConfig {
            seed: 2026,
            error_rate: 0.05,
            delay_rate: 0.01,
            delay: Duration::from_secs(1),
            short_read_rate: 0.02,
            corrupt_rate: 0.01,
            fail_writes: false,
        },
    ));
    let counts = faulty.counts();
    let retry = Arc::new(RetryStore::new(
        faulty,
        RetryConfig {
            attempt_timeout: Duration::from_secs(3),
            deadline: Duration::from_secs(20),
            base_backoff: Duration::from_millis(5),
            ..RetryConfig::default()
        },
    ));
    let retries = retry.counters();
    let mut readers = Vec::new();
    for i in 0..data.len() {
        readers.push(
            ObjectReader::open(retry.clone(), &keys(), &format!("obj{i}"))
                .await
                .expect("open"),
        );
    }
    // A small cache, so that data is evicted and fetched again all the time.
    let config = ReadPathConfig::default().with_memory_budget(8 << 20);
    let path = ReadPath::new(readers, config);
    let (wrong, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..READERS {
        let (path, data, wrong, failed) =
            (path.clone(), data.clone(), wrong.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = XorShift::new(t + 1);
            let object = (t % 4) as usize;
            let dense = t % 4 != 3;
            let mut pos = rng.next_u64() % OBJECT as u64;
            for _ in 0..PER_READER {
                let (start, len) = if dense {
                    let len = 32 << 10;
                    if pos + len > OBJECT as u64 {
                        pos = 0;
                    }
                    let s = pos;
                    pos += len;
                    (s, len)
                } else {
                    let len = 4096 + rng.next_u64() % (60 << 10);
                    (rng.next_u64() % (OBJECT as u64 - len), len)
                };
                match path.read(object, start..start + len).await {
                    Ok(b) if b[..] == data[object][start as usize..(start + len) as usize] => {}
                    Ok(_) => {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("reader task");
    }
    let took = started.elapsed();
    let m = path.metrics();
    let r = retries.snapshot();
    let (wrong, failed) = (
        wrong.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    let p99 = m.latency.quantile_micros(0.99).unwrap_or(0);
    eprintln!(
        "{} reads in {took:.1?}: {wrong} wrong, {failed} failed; {} fetches; faults injected: {} errors, {} delays, {} short, {} corrupt; {} retries, {} timeouts, {} refetched after failed authentication; read latency p50 {} µs, p99 {p99} µs",
        m.reads,
        m.fetches,
        counts.errors.load(Ordering::Relaxed),
        counts.delays.load(Ordering::Relaxed),
        counts.short_reads.load(Ordering::Relaxed),
        counts.corruptions.load(Ordering::Relaxed),
        r.retries,
        r.timeouts,
        m.auth_retries,
        m.latency.quantile_micros(0.5).unwrap_or(0),
    );
    const { assert!(READS >= 100_000) };
    assert_eq!(wrong, 0, "a read returned wrong bytes");
    assert!(m.reads + failed >= READS, "every read answered");
    assert!(
        counts.corruptions.load(Ordering::Relaxed) > 10,
        "the test must flip bits"
    );
    assert!(
        counts.delays.load(Ordering::Relaxed) > 10,
        "the test must delay requests"
    );
    assert!(m.auth_retries > 0, "flipped bits were caught and refetched");
    // Faults are transient here: retries must turn (nearly) all of them into good reads. A
    // read can still fail when both fetches of a span get a flipped bit (about 1% of 1%).
    assert!(failed * 1000 <= READS, "{failed} reads failed");
}
