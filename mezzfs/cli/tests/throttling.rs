//! A bucket that asks the mount to slow down (503 SlowDown from the real S3 test server's
//! fault hook), through real FUSE mounts: one retry owner decides how many GETs a read makes.
//!
//! - Every part GET throttled: each fetch makes exactly `--max-attempts` GETs, then the read
//!   fails with EIO well within `--read-timeout`.
//! - Half the part GETs throttled: every read succeeds, and the GETs stay within a stated
//!   bound of the fetches the mount made.

mod common;

use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use common::{Kind, Mount, World, put};
use mezz_testkit::random_bytes;

const SIZE: usize = 8 << 20;
const EIO: i32 = 5;

fn n(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn throttle(w: &World) -> &mezz_s3_server::Throttle {
    w.server.as_ref().expect("S3 world").throttle()
}

#[test]
fn slowdown_to_every_get_gives_exact_attempts_per_fetch_and_eio_within_the_read_timeout() {
    let w = World::new(Kind::S3);
    let movie = random_bytes(SIZE, 71);
    put(&w, &movie, "movie", "2MiB");
    let attempts = 4;
    let read_timeout = Duration::from_secs(10);
    let m = Mount::start(
        &w,
        "mnt",
        &[
            "--object",
            "movie",
            "--max-attempts",
            &attempts.to_string(),
            "--request-timeout",
            "2s",
            "--read-timeout",
            "10s",
        ],
    );
    // The manifest was read at mount time; from now on every GET of a part is refused.
    throttle(&w).set("movie.mezz/", 1.0, 1);
    let f = std::fs::File::open(m.file("movie")).expect("open");
    let mut buf = vec![0u8; 64 << 10];
    let started = Instant::now();
    let err = f
        .read_exact_at(&mut buf, 0)
        .expect_err("a bucket that throttles everything: the read fails");
    let took = started.elapsed();
    assert_eq!(err.raw_os_error(), Some(EIO), "{err}");
    assert!(took < read_timeout, "EIO after {took:?}");

    let stats = m.stats();
    let fetches = n(&stats, "fetches");
    let gets = throttle(&w).counts();
    eprintln!(
        "one 64 KiB read: {} GETs ({fetches} fetches, {attempts} attempts each) in {took:?}",
        gets.gets
    );
    assert!(fetches >= 1, "{stats}");
    assert_eq!(gets.throttled, gets.gets);
    assert_eq!(
        gets.gets,
        fetches * attempts,
        "exactly --max-attempts GETs per fetch: {stats}"
    );
    assert_eq!(n(&stats["store"], "gave_up"), fetches, "{stats}");
}

#[test]
fn half_the_gets_throttled_every_read_succeeds_within_a_bound_of_requests() {
    let w = World::new(Kind::S3);
    let movie = random_bytes(SIZE, 72);
    put(&w, &movie, "movie", "2MiB");
    // With 20 attempts a fetch fails only if 20 GETs in a row are throttled (p = 2^-20).
    let m = Mount::start(&w, "mnt", &["--object", "movie", "--max-attempts", "20"]);
    throttle(&w).set("movie.mezz/", 0.5, 7);
    let got = std::fs::read(m.file("movie")).expect("every read succeeds");
    assert!(got == movie, "the right bytes");
    let f = std::fs::File::open(m.file("movie")).expect("open");
    let mut buf = vec![0u8; 100_000];
    for i in 0..16u64 {
        let at = (i * 499_979) % (SIZE as u64 - 100_000);
        f.read_exact_at(&mut buf, at).expect("sparse read succeeds");
        assert!(buf[..] == movie[at as usize..at as usize + 100_000]);
    }

    let stats = m.stats();
    let fetches = n(&stats, "fetches");
    let gets = throttle(&w).counts();
    eprintln!(
        "50% throttled: {} GETs ({} refused) for {fetches} fetches",
        gets.gets, gets.throttled
    );
    assert_eq!(n(&stats, "fetch_errors"), 0, "{stats}");
    assert!(gets.throttled > 0, "the hook throttled some");
    // Each fetch needs 2 GETs on average at a 50% refusal rate; 4 per fetch is a bound a
    // retry layer stacked on another (the SDK's attempts times ours) would break.
    assert!(
        gets.gets >= fetches && gets.gets <= 4 * fetches,
        "{} GETs for {fetches} fetches",
        gets.gets
    );
    assert_eq!(
        gets.gets - gets.throttled,
        fetches,
        "one successful GET per fetch"
    );
}
