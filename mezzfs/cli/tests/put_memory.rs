//! `put` of a 4 GiB file holds its peak memory under 256 MiB.
//!
//! Alone in its test binary so that the peak RSS of waited-for children
//! (`getrusage(RUSAGE_CHILDREN)`) is the peak of this one `mezzfs put`.

#![allow(unsafe_code)]

mod common;

use common::{Kind, World};

fn children_max_rss_kib() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole rusage into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage failed");
    // SAFETY: initialised by the successful call above.
    unsafe { usage.assume_init() }.ru_maxrss
}

#[test]
fn put_of_4_gib_stays_under_256_mib() {
    let w = World::new(Kind::Local);
    let src = w.path("four-gib");
    let f = std::fs::File::create(&src).expect("create");
    f.set_len(4 << 30).expect("sparse 4 GiB");
    drop(f);
    let before = children_max_rss_kib();
    w.ok(&[
        "put",
        src.to_str().expect("utf-8"),
        "four-gib",
        "--part-size",
        "1GiB",
    ]);
    let peak_mib = children_max_rss_kib().max(before) / 1024;
    println!("mezzfs put of 4 GiB: peak RSS {peak_mib} MiB");
    assert!(peak_mib < 256, "peak RSS {peak_mib} MiB");
    let stat: serde_json::Value =
        serde_json::from_slice(&w.ok(&["stat", "four-gib", "--json"]).stdout).expect("json");
    assert_eq!(stat["plaintext_size"], 4u64 << 30);
}
