//! Data keys of a KMS mount (issue 21): a real FUSE mount (`mezzfs mount`) and moto's KMS on
//! 127.0.0.1, recording every request so the test counts the `Decrypt` calls KMS served. The
//! mount makes none at start-up, one at the first open of an object (shared by a second
//! handle opened meanwhile), none per read and none for an object never opened; the key is
//! dropped after the last close and the grace period, so the next open calls KMS again.
//! KMS killed before the first open: the mount still serves its sizes, the open answers EIO
//! and the log names the object; the audit log lists only the opens that happened. A file
//! renamed in a KMS mount's writable directory reads under its new name through KMS.

mod common;

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use mezz_testkit::{Moto, random_bytes};

const DECRYPT: &str = "TrentService.Decrypt";

fn audit_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Puts `data` as `name`, its data key from KMS.
fn put_kms(w: &World, moto: &Moto, name: &str, data: &[u8]) {
    let src = w.path(&format!("{}.src", name.replace('/', "_")));
    write(&src, data);
    w.ok(&[
        "--kms-endpoint-url",
        moto.endpoint(),
        "put",
        src.to_str().expect("utf-8"),
        name,
        "--kms-key-id",
        "alias/lazy",
        "--part-size",
        "256KiB",
    ]);
}

/// Waits (bounded) until `cond` holds; false if it never did.
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

#[test]
fn a_kms_mount_calls_decrypt_once_per_object_opened_and_never_at_start() {
    let w = World::new(Kind::S3);
    let moto = Moto::start_recording(w.dir.path());
    moto.create_kms_key("alias/lazy");
    let a = random_bytes(700_000, 41);
    put_kms(&w, &moto, "clips/a", &a);
    put_kms(&w, &moto, "clips/b", &random_bytes(300_000, 42));
    let before = moto.calls(DECRYPT);
    let audit = w.path("audit.jsonl");
    let m = Mount::start(
        &w,
        "mnt",
        &[
            "--kms-endpoint-url",
            moto.endpoint(),
            "--object",
            "a=clips/a",
            "--object",
            "b=clips/b",
            "--audit-log",
            audit.to_str().expect("utf-8"),
            "--key-grace",
            "500ms",
        ],
    );
    assert_eq!(moto.calls(DECRYPT), before, "no Decrypt at start-up");
    // Sizes come from the manifests alone.
    assert_eq!(
        std::fs::metadata(m.file("b")).expect("stat b").len(),
        300_000
    );
    assert_eq!(moto.calls(DECRYPT), before, "no Decrypt for a stat");

    // Two handles on a, read in small pieces: one Decrypt in all.
    let mut first = std::fs::File::open(m.file("a")).expect("open a");
    assert_eq!(
        moto.calls(DECRYPT),
        before + 1,
        "one Decrypt at the first open"
    );
    let mut second = std::fs::File::open(m.file("a")).expect("open a again");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let n = first.read(&mut buf).expect("read a");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == a, "a read back wrong");
    let mut head = vec![0u8; 1000];
    second
        .read_exact(&mut head)
        .expect("read a through the second handle");
    assert!(head == a[..1000]);
    assert_eq!(
        moto.calls(DECRYPT),
        before + 1,
        "no Decrypt per read or per further open while the key is held"
    );
    drop(first);
    drop(second);

    assert_eq!(m.stats()["key_unwraps"], 1);
    // After the last close and the grace period the key is gone: the next open unwraps again.
    assert!(
        eventually(Duration::from_secs(10), || m.stats()["keys_held"] == 0),
        "the key was not dropped after the last close: {}",
        m.stats()
    );
    let again = Command::new("cat").arg(m.file("a")).output().expect("cat");
    assert!(again.status.success() && again.stdout == a);
    assert_eq!(
        moto.calls(DECRYPT),
        before + 2,
        "one Decrypt for the reopen"
    );
    assert_eq!(
        m.stats()["key_unwraps"],
        2,
        "b was never opened: no unwrap for it"
    );

    // The audit log has the three opens and closes of a, none of b.
    assert!(eventually(Duration::from_secs(5), || {
        audit_lines(&audit)
            .iter()
            .filter(|l| l["event"] == "closed")
            .count()
            == 3
    }));
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(lines.iter().all(|l| {
        l["object"] == "clips/a"
            && l["key_provider"] == "aws-kms"
            && l["key_id"]
                .as_str()
                .is_some_and(|k| k.starts_with("arn:aws:kms"))
    }));
}

#[test]
fn kms_killed_before_the_first_open_leaves_the_mount_up_and_the_open_answers_eio() {
    let w = World::new(Kind::S3);
    let mut moto = Moto::start_recording(w.dir.path());
    moto.create_kms_key("alias/lazy");
    put_kms(&w, &moto, "clips/a", &random_bytes(200_000, 43));
    let audit = w.path("audit.jsonl");
    let m = Mount::start(
        &w,
        "mnt",
        &[
            "--kms-endpoint-url",
            moto.endpoint(),
            "--object",
            "a=clips/a",
            "--audit-log",
            audit.to_str().expect("utf-8"),
        ],
    );
    moto.stop();
    assert_eq!(
        std::fs::metadata(m.file("a")).expect("stat a").len(),
        200_000,
        "the mount shows the file without KMS"
    );
    let started = Instant::now();
    let out = Command::new("cat").arg(m.file("a")).output().expect("cat");
    assert!(!out.status.success(), "a read without KMS must fail");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Input/output error"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the failed open took {:?}",
        started.elapsed()
    );
    assert!(is_mounted(&m.dir), "the mount is still up");
    let log = m.log();
    assert!(
        log.contains("answering EIO") && log.contains("clips/a") && log.contains("key service"),
        "the log names the object and the key service: {log}"
    );
    assert!(
        audit_lines(&audit).is_empty(),
        "an open that failed is not audited as opened"
    );
}

/// A rename through a KMS mount re-wraps the data key for the new name (KMS binds keys to
/// names in the encryption context): the object then reads under its new name only, through
/// KMS, and nothing is left under the old one.
#[test]
fn a_rename_through_a_kms_mount_rewraps_for_the_new_name() {
    let w = World::new(Kind::S3);
    let moto = Moto::start(w.dir.path());
    moto.create_kms_key("alias/lazy");
    let data = random_bytes(600_000, 31);
    let m = Mount::start(
        &w,
        "mnt",
        &[
            "--kms-endpoint-url",
            moto.endpoint(),
            "--kms-key-id",
            "alias/lazy",
            "--write-dir",
            "out=clips/",
        ],
    );
    std::fs::write(m.file("out/a.tmp"), &data).expect("write through the mount");
    std::fs::rename(m.file("out/a.tmp"), m.file("out/a.bin")).expect("rename");
    let got = w.path("a.got");
    let no_key = w.path("no-such-key");
    let out = w
        .command()
        .env("MEZZFS_KEY_FILE", &no_key)
        .args(["--kms-endpoint-url", moto.endpoint()])
        .args(["get", "clips/a.bin", "-o"])
        .arg(&got)
        .output()
        .expect("get");
    assert!(out.status.success(), "get through KMS: {}", stderr(&out));
    assert!(std::fs::read(&got).expect("got") == data, "get differs");
    let listing = String::from_utf8_lossy(&w.ok(&["ls", "clips/"]).stdout).into_owned();
    assert!(!listing.contains("a.tmp"), "{listing}");
}
