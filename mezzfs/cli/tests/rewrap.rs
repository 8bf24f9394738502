//! `mezzfs key rewrap` (issue 21, rotation) end to end: the real binary, the S3 test server
//! and moto's KMS on 127.0.0.1. 100 small objects move from a key file to KMS and on to a new
//! key file; parts are never touched; once rewrapped, every object reads without the old key;
//! a rewrap killed half way resumes and every manifest stays valid throughout.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use mezz_testkit::{Moto, random_bytes};

const OBJECTS: usize = 100;

fn name(i: usize) -> String {
    format!("r/o{i:03}")
}

/// mezzfs with KMS at `kms` and the key file `key`.
fn cmd(w: &World, kms: &str, key: &PathBuf, args: &[&str]) -> Command {
    let mut c = w.command();
    c.env("AWS_ENDPOINT_URL_KMS", kms)
        .env("MEZZFS_KEY_FILE", key)
        .args(args);
    c
}

fn ok(out: Output, what: &str) -> Output {
    assert!(out.status.success(), "{what}: {}", stderr(&out));
    out
}

/// Puts `OBJECTS` small objects (a few processes at a time) and returns their bytes.
fn put_objects(w: &World) -> Vec<Vec<u8>> {
    let data: Vec<Vec<u8>> = (0..OBJECTS)
        .map(|i| random_bytes(1000 + i * 37, 100 + i as u64))
        .collect();
    for (i, d) in data.iter().enumerate() {
        write(&w.path(&format!("src{i}")), d);
    }
    let idx: Vec<usize> = (0..OBJECTS).collect();
    std::thread::scope(|s| {
        for chunk in idx.chunks(OBJECTS / 4) {
            s.spawn(move || {
                for &i in chunk {
                    let src = w.path(&format!("src{i}"));
                    w.ok(&["put", src.to_str().expect("utf-8"), &name(i)]);
                }
            });
        }
    });
    data
}

/// Gets every object (a few processes at a time) and checks its bytes.
fn every_object_reads(w: &World, kms: &str, key: &PathBuf, data: &[Vec<u8>]) {
    let idx: Vec<usize> = (0..OBJECTS).collect();
    std::thread::scope(|s| {
        for chunk in idx.chunks(OBJECTS / 4) {
            s.spawn(move || {
                for &i in chunk {
                    let out = w.path(&format!("out{i}"));
                    ok(
                        cmd(
                            w,
                            kms,
                            key,
                            &["get", &name(i), "-o", out.to_str().expect("utf-8")],
                        )
                        .output()
                        .expect("get runs"),
                        &format!("get {}", name(i)),
                    );
                    assert!(
                        std::fs::read(&out).expect("output") == data[i],
                        "{} read back wrong",
                        name(i)
                    );
                    std::fs::remove_file(&out).expect("rm");
                }
            });
        }
    });
}

/// How many manifests name provider `provider` (the body is JSON in the clear).
fn wrapped_by(w: &World, provider: &str) -> usize {
    let needle = format!("\"provider\":\"{provider}\"");
    (0..OBJECTS)
        .filter(|&i| {
            std::fs::read(w.stored_path(&format!("{}.mezz/manifest", name(i))))
                .is_ok_and(|b| String::from_utf8_lossy(&b).contains(&needle))
        })
        .count()
}

/// Every part file with its length and modification time.
fn parts(w: &World) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    (0..OBJECTS)
        .flat_map(|i| w.part_paths(&name(i)))
        .map(|p| {
            let m = std::fs::metadata(&p).expect("part");
            (p, (m.len(), m.modified().expect("mtime")))
        })
        .collect()
}

/// Each `ls -l` line whose size is '?' (a manifest that does not open).
fn unopenable(w: &World, kms: &str, key: &PathBuf) -> Vec<String> {
    let out = ok(
        cmd(w, kms, key, &["ls", "-l", "r/"])
            .output()
            .expect("ls runs"),
        "ls -l",
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(text.lines().count(), OBJECTS + 1, "{text}");
    text.lines()
        .filter(|l| l.trim_start().starts_with('?'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn rewrap_100_objects_from_a_key_file_to_kms_and_on_to_a_new_key_file() {
    let w = World::new(Kind::S3);
    let moto = Moto::start(w.dir.path());
    moto.create_kms_key("alias/rot");
    let data = put_objects(&w);
    let before = parts(&w);
    assert_eq!(before.len(), OBJECTS);

    let out = ok(
        cmd(
            &w,
            moto.endpoint(),
            &w.key,
            &["key", "rewrap", "--to-kms-key-id", "alias/rot"],
        )
        .arg("--quiet")
        .output()
        .expect("rewrap runs"),
        "rewrap to KMS",
    );
    assert!(stderr(&out).is_empty(), "-q is quiet: {}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "rewrapped {OBJECTS} objects, 0 were already under the new key"
        )),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(wrapped_by(&w, "aws-kms"), OBJECTS);
    assert_eq!(parts(&w), before, "no part was rewritten");

    // The old key file is gone: every object reads through KMS alone.
    let old = w.path("old-key");
    std::fs::rename(&w.key, &old).expect("retire the key file");
    every_object_reads(&w, moto.endpoint(), &w.key, &data);

    // Run again: nothing to do, and it says so.
    let again = ok(
        cmd(
            &w,
            moto.endpoint(),
            &w.key,
            &["key", "rewrap", "--to-kms-key-id", "alias/rot"],
        )
        .output()
        .expect("rewrap runs"),
        "rewrap again",
    );
    assert!(
        String::from_utf8_lossy(&again.stdout).contains(&format!(
            "rewrapped 0 objects, {OBJECTS} were already under the new key"
        )),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );

    // On to a new key file; then KMS goes away and the new file alone reads everything.
    let new_key = w.path("new-key");
    w.ok(&["key", "generate", new_key.to_str().expect("utf-8")]);
    ok(
        cmd(
            &w,
            moto.endpoint(),
            &w.key,
            &["key", "rewrap", "--to-key-file"],
        )
        .arg(&new_key)
        .output()
        .expect("rewrap runs"),
        "rewrap to the new key file",
    );
    assert_eq!(wrapped_by(&w, "local-file"), OBJECTS);
    assert_eq!(parts(&w), before, "no part was rewritten");
    // KMS is gone: the new key file alone reads everything.
    let dead = moto.endpoint().to_owned();
    drop(moto);
    every_object_reads(&w, &dead, &new_key, &data);
    // The old key file cannot read them any more.
    std::fs::rename(&old, &w.key).expect("restore");
    let out = cmd(&w, &dead, &w.key, &["get", &name(0), "-o", "/dev/null"])
        .output()
        .expect("get runs");
    assert!(!out.status.success(), "the retired key still reads");
}

#[test]
fn a_rewrap_killed_half_way_resumes_and_every_manifest_stays_valid() {
    let w = World::new(Kind::S3);
    let moto = Moto::start(w.dir.path());
    moto.create_kms_key("alias/rot");
    let data = put_objects(&w);
    let mut child = cmd(
        &w,
        moto.endpoint(),
        &w.key,
        &[
            "key",
            "rewrap",
            "--to-kms-key-id",
            "alias/rot",
            "--concurrency",
            "1",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("rewrap starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while wrapped_by(&w, "aws-kms") < OBJECTS / 10 {
        assert!(Instant::now() < deadline, "the rewrap made no progress");
        assert!(
            child.try_wait().expect("wait").is_none(),
            "rewrap ended early"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill");
    child.wait().expect("reap");
    let done = wrapped_by(&w, "aws-kms");
    assert!(
        done < OBJECTS,
        "the rewrap finished before it was killed; the test proves nothing"
    );
    assert_eq!(
        wrapped_by(&w, "local-file"),
        OBJECTS - done,
        "every manifest is one or the other"
    );
    assert!(
        unopenable(&w, moto.endpoint(), &w.key).is_empty(),
        "a manifest was left broken"
    );

    let out = ok(
        cmd(
            &w,
            moto.endpoint(),
            &w.key,
            &["key", "rewrap", "--to-kms-key-id", "alias/rot"],
        )
        .output()
        .expect("rewrap runs"),
        "resumed rewrap",
    );
    let msg = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        msg.contains(&format!(
            "rewrapped {} objects, {done} were already",
            OBJECTS - done
        )),
        "{msg}"
    );
    assert_eq!(wrapped_by(&w, "aws-kms"), OBJECTS);
    std::fs::remove_file(&w.key).expect("delete the old key");
    every_object_reads(&w, moto.endpoint(), &w.key, &data);
}
