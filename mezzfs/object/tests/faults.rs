//! Reads through a store that fails, stalls, cuts short and corrupts: every read returns the
//! right bytes or an error, never a wrong byte.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use mezz_format::LocalKeyFile;
use mezz_object::{ObjectReader, PutOptions, PutProgress, put_object};
use mezz_store::{LocalStore, ObjectStore};
use mezz_testkit::{FaultConfig, FaultyStore, XorShift, random_bytes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_store_never_yields_a_wrong_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir.path()).expect("open"));
    let keys = LocalKeyFile::from_parts("faults", [3; 32]);
    let src = random_bytes(3_000_000, 11);
    let opts = PutOptions {
        part_size: 1 << 20,
        segment_size: 16384,
        ..PutOptions::default()
    };
    put_object(
        local.clone(),
        &keys,
        "obj",
        Box::new(std::io::Cursor::new(src.clone())),
        &opts,
        Arc::default(),
    )
    .await
    .expect("put");

    let faulty = Arc::new(FaultyStore::new(
        local,
        FaultConfig {
            seed: 42,
            error_rate: 0.05,
            delay_rate: 0.01,
            delay: Duration::from_millis(5),
            short_read_rate: 0.05,
            corrupt_rate: 0.05,
            fail_writes: false,
        },
    ));
    let counts = faulty.counts();
    let reader = loop {
        // The manifest read itself may be hit by a fault; a caller retries.
        if let Ok(r) = ObjectReader::open(faulty.clone(), &keys, "obj").await {
            break r;
        }
    };
    let (mut ok, mut failed) = (0u32, 0u32);
    let mut rng = XorShift::new(99);
    for _ in 0..3000 {
        let x = rng.next_u64();
        let len = 1 + x % 200_000;
        let start = (x >> 20) % (src.len() as u64 - len);
        match reader.read_range(start..start + len, 4).await {
            Ok(got) => {
                assert!(
                    got[..] == src[start as usize..(start + len) as usize],
                    "wrong bytes at {start}+{len}"
                );
                ok += 1;
            }
            Err(_) => failed += 1,
        }
    }
    assert!(ok > 1000 && failed > 100, "ok {ok}, failed {failed}");
    assert!(counts.corruptions.load(Ordering::Relaxed) > 50);
    assert!(counts.short_reads.load(Ordering::Relaxed) > 50);
    assert!(counts.errors.load(Ordering::Relaxed) > 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_that_fails_midway_leaves_the_old_version_readable_and_the_next_put_cleans_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir.path()).expect("open"));
    let keys = LocalKeyFile::from_parts("faults", [3; 32]);
    let old = random_bytes(100_000, 1);
    let opts = PutOptions {
        part_size: 65536,
        segment_size: 4096,
        chunk_size: 65536,
        concurrency: 4,
    };
    put_object(
        local.clone(),
        &keys,
        "obj",
        Box::new(std::io::Cursor::new(old.clone())),
        &opts,
        Arc::default(),
    )
    .await
    .expect("put");
    let manifest_before = local.get("obj.mezz/manifest").await.expect("manifest");

    let failing: Arc<dyn ObjectStore> = Arc::new(FaultyStore::new(
        local.clone(),
        FaultConfig {
            seed: 1,
            error_rate: 0.5,
            fail_writes: true,
            ..FaultConfig::default()
        },
    ));
    let new = random_bytes(2_000_000, 2);
    let r = put_object(
        failing,
        &keys,
        "obj",
        Box::new(std::io::Cursor::new(new)),
        &opts,
        Arc::new(PutProgress::default()),
    )
    .await;
    assert!(r.is_err(), "half the writes fail: the put must fail");

    assert_eq!(
        local.get("obj.mezz/manifest").await.expect("manifest"),
        manifest_before
    );
    let reader = ObjectReader::open(local.clone(), &keys, "obj")
        .await
        .expect("open");
    assert!(reader.read_range(0..100_000, 4).await.expect("read")[..] == old[..]);

    // Whatever the failed put's clean-up could not delete, the next good put removes.
    let newer = random_bytes(70_000, 3);
    put_object(
        local.clone(),
        &keys,
        "obj",
        Box::new(std::io::Cursor::new(newer)),
        &opts,
        Arc::default(),
    )
    .await
    .expect("put");
    let id = ObjectReader::open(local.clone(), &keys, "obj")
        .await
        .expect("open")
        .manifest()
        .object_id
        .clone();
    let keys_now: Vec<_> = local
        .list("")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(
        keys_now,
        [
            format!("obj.mezz/{id}/000000"),
            format!("obj.mezz/{id}/000001"),
            "obj.mezz/manifest".into()
        ]
    );
}
