//! The mount's caches and resilience end to end, through real FUSE mounts of objects in the
//! real S3 test server: the disk cache across remounts (and after kill -9 and damaged files),
//! the regional cache bucket on a second server, and a store that dies mid-read.

mod common;

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Kind, Mount, World, put};
use mezz_s3_server::S3TestServer;
use mezz_testkit::random_bytes;

const SIZE: usize = 24 << 20;

fn read_all(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn unmount(w: &World, m: &Mount) {
    w.ok(&["unmount", m.dir.to_str().expect("utf-8")]);
    assert!(
        m.wait_gone(Duration::from_secs(90)),
        "the mount process ends"
    );
}

fn cache_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read cache dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn n(v: &serde_json::Value, path: &[&str]) -> u64 {
    let mut v = v;
    for k in path {
        v = &v[*k];
    }
    v.as_u64().unwrap_or_else(|| panic!("{path:?} in {v}"))
}

#[test]
fn disk_cache_serves_a_remount_and_survives_kill_and_damage() {
    let w = World::new(Kind::S3);
    let movie = random_bytes(SIZE, 61);
    put(&w, &movie, "movie", "8MiB");
    let cache = w.path("cache");
    let cache_arg = cache.to_str().expect("utf-8");
    let args = [
        "--object",
        "movie",
        "--cache-dir",
        cache_arg,
        "--cache-size",
        "1GiB",
    ];

    let m = Mount::start(&w, "cold", &args);
    assert!(read_all(&m.file("movie")) == movie, "cold read");
    let cold = m.stats();
    assert!(n(&cold, &["store", "disk_cache", "bytes_from_inner"]) >= SIZE as u64);
    unmount(&w, &m);
    assert!(!cache_files(&cache).is_empty(), "blocks written to disk");

    // A new mount on the same directory reads everything from disk: nothing from the store.
    let m = Mount::start(&w, "warm", &args);
    assert!(read_all(&m.file("movie")) == movie, "warm read");
    let warm = m.stats();
    assert_eq!(
        n(&warm, &["store", "disk_cache", "bytes_from_inner"]),
        0,
        "{warm}"
    );
    assert!(n(&warm, &["store", "disk_cache", "hits"]) > 0);
    unmount(&w, &m);

    // Damage: one file truncated, one with a flipped byte, one emptied. Each is a miss that is
    // refetched; the bytes returned stay right.
    let files: Vec<_> = cache_files(&cache)
        .into_iter()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 4096))
        .collect();
    assert!(files.len() >= 3);
    let f = &files[0];
    let len = std::fs::metadata(f).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(f)
        .expect("open")
        .set_len(len / 2)
        .expect("truncate");
    let mut bytes = std::fs::read(&files[1]).expect("read");
    let at = bytes.len() - 100;
    bytes[at] ^= 0x40;
    std::fs::write(&files[1], &bytes).expect("write");
    std::fs::write(&files[2], b"").expect("empty");
    let m = Mount::start(&w, "damaged", &args);
    assert!(
        read_all(&m.file("movie")) == movie,
        "read over damaged cache files"
    );
    let s = m.stats();
    assert!(n(&s, &["store", "disk_cache", "corrupt_files"]) >= 2, "{s}");
    assert_eq!(n(&s, &["read_errors"]), 0);

    // kill -9 while reading (and writing the cache): the next mount uses or repairs the cache.
    let m2 = Mount::start(&w, "killed", &args);
    let f = std::fs::File::open(m2.file("movie")).expect("open");
    let mut buf = vec![0u8; 1 << 20];
    f.read_exact_at(&mut buf, 3 << 20)
        .expect("read before the kill");
    let _ = std::process::Command::new("kill")
        .args(["-9", &m2.pid.to_string()])
        .status();
    drop(f);
    drop(m2);
    unmount(&w, &m);
    let m = Mount::start(&w, "after-kill", &args);
    assert!(read_all(&m.file("movie")) == movie, "read after kill -9");
}

#[test]
fn regional_cache_second_worker_reads_nothing_from_the_origin() {
    let w = World::new(Kind::S3);
    let movie = random_bytes(SIZE, 62);
    put(&w, &movie, "movie", "8MiB");
    let near_dir = tempfile::tempdir().expect("tempdir");
    let near = S3TestServer::start(near_dir.path(), &["near"]).expect("near S3 server");
    let endpoint = near.endpoint();
    let args = [
        "--object",
        "movie",
        "--regional-cache",
        "s3://near/cache",
        "--regional-endpoint-url",
        &endpoint,
    ];

    let first = Mount::start(&w, "first", &args);
    assert!(read_all(&first.file("movie")) == movie, "first worker");
    let s1 = first.stats();
    assert!(
        n(&s1, &["store", "regional", "origin_bytes"]) >= SIZE as u64,
        "{s1}"
    );
    // Unmounting waits for the background copies.
    unmount(&w, &first);
    let copied: u64 = cache_files(&near_dir.path().join("near"))
        .iter()
        .filter(|p| !p.to_string_lossy().contains(".mezzfs-leases"))
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    assert!(
        copied >= SIZE as u64,
        "the parts are in the near bucket ({copied} bytes)"
    );

    let second = Mount::start(&w, "second", &args);
    assert!(read_all(&second.file("movie")) == movie, "second worker");
    let s2 = second.stats();
    assert_eq!(n(&s2, &["store", "regional", "origin_bytes"]), 0, "{s2}");
    assert!(n(&s2, &["store", "regional", "near_bytes"]) >= SIZE as u64);
    assert!(
        second.log().is_empty() || !second.log().contains("ERROR"),
        "{}",
        second.log()
    );
}

#[test]
fn a_dead_store_gives_eio_within_the_deadline_and_the_mount_recovers() {
    let mut w = World::new(Kind::S3);
    let movie = random_bytes(SIZE, 63);
    put(&w, &movie, "movie", "8MiB");
    let m = Mount::start(
        &w,
        "mnt",
        &[
            "--object",
            "movie",
            "--request-timeout",
            "1s",
            "--read-timeout",
            "4s",
            "--memory",
            "8MiB",
        ],
    );
    let f = std::fs::File::open(m.file("movie")).expect("open");
    let mut buf = vec![0u8; 64 << 10];
    f.read_exact_at(&mut buf, 0)
        .expect("read while the store is up");
    assert!(buf[..] == movie[..64 << 10]);

    let server = w.server.take().expect("server");
    let (addr, root) = (server.addr(), server.root().to_path_buf());
    server.shutdown();
    let started = Instant::now();
    let err = f
        .read_exact_at(&mut buf, 20 << 20)
        .expect_err("no store: the read fails");
    let took = started.elapsed();
    assert_eq!(err.raw_os_error(), Some(libc_eio()), "{err}");
    assert!(
        took < Duration::from_secs(15),
        "EIO after {took:?}, not a hang"
    );

    // The store comes back on the same address: reads work again on the same open file.
    w.server = Some(S3TestServer::start_on(addr, &root, &[common::BUCKET]).expect("restart"));
    f.read_exact_at(&mut buf, 20 << 20)
        .expect("read after the store is back");
    assert!(buf[..] == movie[20 << 20..(20 << 20) + (64 << 10)]);
    let s = m.stats();
    assert!(
        n(&s, &["store", "gave_up"]) > 0 && n(&s, &["read_errors"]) > 0,
        "{s}"
    );
    drop(f);
    unmount(&w, &m);
}

fn libc_eio() -> i32 {
    5
}
