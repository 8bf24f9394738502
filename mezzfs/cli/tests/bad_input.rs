//! Every kind of bad input gets a clear error naming the object, part and segment, and never
//! a wrong byte: each case on a local store and on S3.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Kind, World, write};
use mezz_testkit::random_bytes;

const NAME: &str = "clips/bad.y4m";

/// An object of 3 parts of 64 KiB (4 segments of 16 KiB each), plus one byte.
fn world_with_object(kind: Kind) -> World {
    let w = World::new(kind);
    write(&w.path("src"), &random_bytes(3 * 65536 + 1, 7));
    w.ok(&[
        "put",
        w.path("src").to_str().expect("utf-8"),
        NAME,
        "--part-size",
        "64KiB",
    ]);
    w
}

fn manifest_path(w: &World) -> std::path::PathBuf {
    w.stored_path(&format!("{NAME}.mezz/manifest"))
}

/// get and verify both fail with all of `needles` in the message, and no output file appears.
fn both_fail(w: &World, needles: &[&str]) {
    let out = w.path("out");
    for args in [
        vec!["verify", NAME],
        vec!["get", NAME, "-o", out.to_str().expect("utf-8")],
    ] {
        let msg = w.fails(&args);
        for n in needles {
            assert!(msg.contains(n), "{args:?}: '{msg}' lacks '{n}'");
        }
    }
    assert!(!out.exists(), "a failed get must not leave an output file");
}

fn cases(kind: Kind) {
    // Corrupted segment: one bit in segment 2 of part 1 (global segment 6).
    let w = world_with_object(kind);
    let part1 = &w.part_paths(NAME)[1];
    let mut bytes = std::fs::read(part1).expect("part");
    bytes[2 * (16384 + 16) + 100] ^= 0x04;
    write(part1, &bytes);
    both_fail(
        &w,
        &[
            "clips/bad.y4m",
            "segment 6",
            "part 1",
            "failed authentication",
        ],
    );
    // Bytes before the bad segment are still served.
    assert!(w.ok(&["get", NAME, "--range", "0+65536"]).stdout.len() == 65536);

    // Truncated part: the last part loses its final bytes.
    let w = world_with_object(kind);
    let last = w.part_paths(NAME)[3].clone();
    let len = std::fs::metadata(&last).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .expect("open")
        .set_len(len - 1)
        .expect("truncate");
    both_fail(&w, &["clips/bad.y4m", "part 3"]);

    // Truncated at a segment boundary: part 2 loses its last whole segment.
    let w = world_with_object(kind);
    let p2 = w.part_paths(NAME)[2].clone();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p2)
        .expect("open")
        .set_len(3 * (16384 + 16))
        .expect("truncate");
    both_fail(&w, &["clips/bad.y4m", "part 2", "truncated"]);

    // Missing part.
    let w = world_with_object(kind);
    std::fs::remove_file(&w.part_paths(NAME)[1]).expect("rm");
    both_fail(&w, &["clips/bad.y4m", "part 1 is missing"]);

    // Manifest from a newer format version.
    let w = world_with_object(kind);
    let mut m = std::fs::read(manifest_path(&w)).expect("manifest");
    m[9] = 2;
    write(&manifest_path(&w), &m);
    both_fail(
        &w,
        &[
            "clips/bad.y4m",
            "format version 2 is newer",
            "upgrade mezzfs",
        ],
    );

    // A flipped bit anywhere in the manifest body.
    let w = world_with_object(kind);
    let mut m = std::fs::read(manifest_path(&w)).expect("manifest");
    let at = m.len() - 40;
    m[at] ^= 1;
    write(&manifest_path(&w), &m);
    both_fail(&w, &["clips/bad.y4m"]);

    // Object swap: another object's (valid) manifest put in this object's place.
    let w = world_with_object(kind);
    w.ok(&[
        "put",
        w.path("src").to_str().expect("utf-8"),
        "clips/other.y4m",
    ]);
    let other = std::fs::read(w.stored_path("clips/other.y4m.mezz/manifest")).expect("manifest");
    write(&manifest_path(&w), &other);
    both_fail(
        &w,
        &[
            "clips/bad.y4m",
            "for object 'clips/other.y4m'",
            "may not be swapped",
        ],
    );

    // Object id mismatch: parts of another object version (same key, same geometry, same
    // plaintext) copied over this version's parts.
    let w = world_with_object(kind);
    w.ok(&[
        "put",
        w.path("src").to_str().expect("utf-8"),
        "clips/twin.y4m",
        "--part-size",
        "64KiB",
    ]);
    for (mine, theirs) in w
        .part_paths(NAME)
        .iter()
        .zip(w.part_paths("clips/twin.y4m"))
    {
        std::fs::copy(theirs, mine).expect("copy part");
    }
    both_fail(
        &w,
        &[
            "clips/bad.y4m",
            "segment 0",
            "part 0",
            "failed authentication",
        ],
    );

    // Wrong key file: another key id.
    let w = world_with_object(kind);
    let other_key = w.path("other-key");
    w.ok(&["key", "generate", other_key.to_str().expect("utf-8")]);
    let msg = w.fails(&[
        "get",
        NAME,
        "--key-file",
        other_key.to_str().expect("utf-8"),
    ]);
    assert!(
        msg.contains("clips/bad.y4m") && msg.contains("encrypted under key id"),
        "{msg}"
    );

    // Wrong key with the right id.
    let text = std::fs::read_to_string(&w.key).expect("key");
    let id_line = text
        .lines()
        .find(|l| l.starts_with("id="))
        .expect("id line");
    let forged = w.path("forged-key");
    write(
        &forged,
        format!("mezzfs-kek-v1\n{id_line}\nkey={}\n", "11".repeat(32)).as_bytes(),
    );
    std::fs::set_permissions(&forged, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let msg = w.fails(&["get", NAME, "--key-file", forged.to_str().expect("utf-8")]);
    assert!(
        msg.contains("clips/bad.y4m") && msg.contains("cannot unwrap"),
        "{msg}"
    );

    // Missing key file, and an object that does not exist.
    let msg = w.fails(&["get", NAME, "--key-file", "/nonexistent/key"]);
    assert!(msg.contains("mezzfs key generate"), "{msg}");
    let msg = w.fails(&["get", "clips/none"]);
    assert!(msg.contains("'clips/none' not found"), "{msg}");

    // Disk full while writing the output.
    let msg = w.fails(&["get", NAME, "-o", "/dev/full"]);
    assert!(
        msg.contains("No space left") && msg.contains("clips/bad.y4m"),
        "{msg}"
    );
}

#[test]
fn bad_input_on_a_local_store() {
    cases(Kind::Local);
}

#[test]
fn bad_input_on_s3() {
    cases(Kind::S3);
}

#[test]
fn unreachable_store_missing_bucket_and_denied_access_are_named() {
    let w = World::new(Kind::S3);
    write(&w.path("src"), b"hello");
    let endpoint = w.server.as_ref().map(|s| s.endpoint()).expect("server");

    let msg = w.fails(&[
        "put",
        w.path("src").to_str().expect("utf-8"),
        "x",
        "--store",
        "s3://no-such-bucket/p",
    ]);
    assert!(
        msg.contains("no-such-bucket") && msg.contains("does not exist"),
        "{msg}"
    );
    assert!(
        msg.contains("object 'x', part 0"),
        "errors name the object, not a part key: {msg}"
    );

    let out = w
        .command()
        .env("AWS_SECRET_ACCESS_KEY", "wrong")
        .args(["put", w.path("src").to_str().expect("utf-8"), "x"])
        .output()
        .expect("run");
    let msg = common::stderr(&out);
    assert!(
        !out.status.success() && msg.contains("permission denied"),
        "{msg}"
    );

    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let closed = format!("http://127.0.0.1:{port}");
    let msg = w.fails(&["get", "x", "--endpoint-url", &closed, "--max-attempts", "2"]);
    assert!(
        msg.contains("cannot reach") && msg.contains(&closed),
        "{msg}"
    );
    assert_ne!(closed, endpoint);

    let msg = w.fails(&["ls", "--store", "gs://bucket/x"]);
    assert!(msg.contains("invalid store URL"), "{msg}");
    let msg = w.fails(&["put", w.path("src").to_str().expect("utf-8"), "../escape"]);
    assert!(msg.contains("invalid object name"), "{msg}");
    let msg = w.fails(&[
        "put",
        w.path("src").to_str().expect("utf-8"),
        "y",
        "--segment-size",
        "1000",
    ]);
    assert!(msg.contains("segment size"), "{msg}");
}
