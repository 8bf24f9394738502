//! put / get / ls / stat / verify through the real binary, on a local store and on a real S3
//! server on loopback.

mod common;

use common::{Kind, World, write};
use mezz_testkit::random_bytes;

fn round_trip(kind: Kind) {
    let w = World::new(kind);
    // 3 parts of 12 MiB: multipart uploads of 5 MiB pieces, and a short last part.
    let src = random_bytes(30 << 20, 1);
    write(&w.path("src"), &src);
    w.ok(&[
        "put",
        w.path("src").to_str().expect("utf-8"),
        "movies/a.y4m",
        "--part-size",
        "12MiB",
        "--chunk-size",
        "5MiB",
    ]);

    let out = w.path("out");
    w.ok(&["get", "movies/a.y4m", "-o", out.to_str().expect("utf-8")]);
    assert!(
        std::fs::read(&out).expect("output") == src,
        "whole object differs"
    );

    for (start, len) in [
        (0usize, 1usize),
        (12 << 20, 100),
        ((12 << 20) - 7, 20),
        (src.len() - 5, 5),
        (777, 5 << 20),
    ] {
        let range = format!("{start}+{len}");
        let got = w.ok(&["get", "movies/a.y4m", "--range", &range]).stdout;
        assert!(got == src[start..start + len], "range {range} differs");
    }
    let msg = w.fails(&[
        "get",
        "movies/a.y4m",
        "--range",
        &format!("{}+2", src.len() - 1),
    ]);
    assert!(msg.contains("bytes long"), "{msg}");

    // stdin, and an empty object
    let mut child = w
        .command()
        .args(["put", "-", "from-stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&src[..1_000_003]).expect("write stdin");
    }
    assert!(child.wait().expect("wait").success());
    assert!(w.ok(&["get", "from-stdin"]).stdout == src[..1_000_003]);
    write(&w.path("empty"), b"");
    w.ok(&["put", w.path("empty").to_str().expect("utf-8"), "empty"]);
    assert!(w.ok(&["get", "empty"]).stdout.is_empty());

    let ls = String::from_utf8(w.ok(&["ls"]).stdout).expect("utf-8");
    assert_eq!(
        ls.lines().collect::<Vec<_>>(),
        ["empty", "from-stdin", "movies/a.y4m"]
    );
    let ls = String::from_utf8(w.ok(&["ls", "movies/"]).stdout).expect("utf-8");
    assert_eq!(ls.trim(), "movies/a.y4m");

    let stat: serde_json::Value =
        serde_json::from_slice(&w.ok(&["stat", "movies/a.y4m", "--json"]).stdout).expect("json");
    assert_eq!(stat["plaintext_size"], 30 << 20);
    assert_eq!(stat["part_count"], 3);
    assert_eq!(stat["segment_size"], 16384);

    let v = String::from_utf8(w.ok(&["verify", "movies/a.y4m"]).stdout).expect("utf-8");
    assert!(v.contains("OK"), "{v}");

    // Replacing an object leaves only the new version's parts behind.
    write(&w.path("src2"), &src[..5 << 20]);
    w.ok(&[
        "put",
        w.path("src2").to_str().expect("utf-8"),
        "movies/a.y4m",
        "--part-size",
        "12MiB",
    ]);
    assert_eq!(w.part_paths("movies/a.y4m").len(), 1);
    assert!(w.ok(&["get", "movies/a.y4m"]).stdout == src[..5 << 20]);
}

#[test]
fn round_trip_on_a_local_store() {
    round_trip(Kind::Local);
}

#[test]
fn round_trip_on_s3() {
    round_trip(Kind::S3);
}

#[test]
fn help_explains_every_command() {
    let w = World::new(Kind::Local);
    for cmd in ["put", "get", "ls", "stat", "verify", "key"] {
        let out = w.ok(&[cmd, "--help"]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{cmd} --help"
        );
    }
}
