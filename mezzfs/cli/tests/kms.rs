//! Data keys from AWS KMS (issue 21), end to end: the real `mezzfs` binary, the S3 test
//! server and moto's KMS on 127.0.0.1. KMS objects read back with no key file at all; one
//! store holds KMS and key-file objects side by side; a manifest moved onto another object's
//! name is refused by KMS (the name is in the encryption context); a KMS that cannot be
//! reached, or a key that does not exist, is a clear error naming the object (a mount still
//! mounts; the open answers EIO), leaves nothing on disk, and a put that cannot wrap leaves
//! no object behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;
use mezz_testkit::{Moto, random_bytes};

/// Runs mezzfs in `w` with KMS at `kms_endpoint` and the key file at `key_file`.
fn run(w: &World, kms_endpoint: &str, key_file: &str, args: &[&str]) -> Output {
    w.command()
        .env("AWS_ENDPOINT_URL_KMS", kms_endpoint)
        .env("MEZZFS_KEY_FILE", key_file)
        .args(args)
        .output()
        .expect("run mezzfs")
}

fn ok(out: Output, what: &str) -> Output {
    assert!(out.status.success(), "{what}: {}", stderr(&out));
    out
}

#[test]
fn kms_objects_read_without_a_key_file_beside_key_file_objects() {
    let w = World::new(Kind::S3);
    let moto = Moto::start(w.dir.path());
    moto.create_kms_key("alias/mezz-test");
    let key_file = w.key.to_str().expect("utf-8").to_owned();
    let no_key = w.path("no-such-key").display().to_string();

    let a = random_bytes(3 << 20, 21);
    let b = random_bytes(1 << 20, 22);
    write(&w.path("a.bin"), &a);
    write(&w.path("b.bin"), &b);
    let a_src = w.path("a.bin").display().to_string();
    let b_src = w.path("b.bin").display().to_string();
    // A wrapped by KMS, with no key file anywhere; B by the key file.
    let m = moto.endpoint();
    ok(
        run(
            &w,
            m,
            &no_key,
            &[
                "put",
                &a_src,
                "clips/a",
                "--kms-key-id",
                "alias/mezz-test",
                "--part-size",
                "1MiB",
            ],
        ),
        "put with KMS",
    );
    ok(
        run(&w, m, &key_file, &["put", &b_src, "clips/b"]),
        "put with the key file",
    );

    let a_out = w.path("a.out").display().to_string();
    ok(
        run(&w, m, &no_key, &["get", "clips/a", "-o", &a_out]),
        "get of the KMS object",
    );
    assert!(
        std::fs::read(&a_out).expect("output") == a,
        "KMS object read back wrong"
    );
    ok(
        run(&w, m, &no_key, &["verify", "clips/a"]),
        "verify of the KMS object",
    );

    // The key-file object needs the key file, and says so; with it, both read.
    let out = run(
        &w,
        m,
        &no_key,
        &[
            "get",
            "clips/b",
            "-o",
            &w.path("b.out").display().to_string(),
        ],
    );
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(
        msg.contains("clips/b") && msg.contains("mezzfs key generate"),
        "{msg}"
    );
    let b_out = w.path("b2.out").display().to_string();
    ok(
        run(&w, m, &key_file, &["get", "clips/b", "-o", &b_out]),
        "get with the key file",
    );
    assert!(
        std::fs::read(&b_out).expect("output") == b,
        "key-file object read back wrong"
    );
    let a_out2 = w.path("a2.out").display().to_string();
    ok(
        run(&w, m, &key_file, &["get", "clips/a", "-o", &a_out2]),
        "KMS object with a key file present",
    );
    assert!(std::fs::read(&a_out2).expect("output") == a);
}

#[test]
fn kms_out_of_reach_is_a_clear_error_and_leaves_no_object() {
    let w = World::new(Kind::S3);
    let moto = Moto::start(w.dir.path());
    moto.create_kms_key("alias/mezz-test");
    let key_file = w.key.to_str().expect("utf-8").to_owned();
    let data = random_bytes(1 << 20, 23);
    write(&w.path("a.bin"), &data);
    let src = w.path("a.bin").display().to_string();
    ok(
        run(
            &w,
            moto.endpoint(),
            &key_file,
            &["put", &src, "clips/a", "--kms-key-id", "alias/mezz-test"],
        ),
        "put with KMS",
    );
    // Nothing listens on a port we just bound and released.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let started = Instant::now();
    let out = run(
        &w,
        &dead,
        &key_file,
        &["get", "clips/a", "-o", &w.path("x").display().to_string()],
    );
    assert!(!out.status.success(), "get without KMS must fail");
    let msg = stderr(&out);
    assert!(
        msg.contains("clips/a") && msg.contains("key service"),
        "{msg}"
    );
    assert!(!msg.contains("panicked"), "{msg}");
    assert!(!w.path("x").exists(), "no partial output");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );

    // A put that cannot wrap fails and leaves no object; an unknown key is named.
    let out = run(
        &w,
        &dead,
        &key_file,
        &["put", &src, "clips/c", "--kms-key-id", "alias/mezz-test"],
    );
    assert!(!out.status.success(), "put without KMS must fail");
    let out = run(
        &w,
        moto.endpoint(),
        &key_file,
        &["put", &src, "clips/d", "--kms-key-id", "alias/none"],
    );
    assert!(!out.status.success(), "put under an unknown key must fail");
    assert!(stderr(&out).contains("alias/none"), "{}", stderr(&out));
    let listing = String::from_utf8_lossy(&ok(w.mezzfs(&["ls"]), "ls").stdout).into_owned();
    assert!(listing.contains("clips/a"), "{listing}");
    assert!(
        !listing.contains("clips/c") && !listing.contains("clips/d"),
        "{listing}"
    );
}

/// A KMS-wrapped object put as `name` from `data`.
fn put_kms(w: &World, moto: &Moto, name: &str, data: &[u8]) {
    let src = w.path(&format!("{}.src", name.replace('/', "_")));
    write(&src, data);
    let no_key = w.path("no-such-key").display().to_string();
    ok(
        run(
            w,
            moto.endpoint(),
            &no_key,
            &[
                "put",
                src.to_str().expect("utf-8"),
                name,
                "--kms-key-id",
                "alias/mezz-test",
            ],
        ),
        "put with KMS",
    );
}

#[test]
fn a_manifest_moved_onto_another_object_s_name_is_refused_by_kms() {
    let w = World::new(Kind::S3);
    let moto = Moto::start(w.dir.path());
    moto.create_kms_key("alias/mezz-test");
    let a = random_bytes(100_000, 24);
    put_kms(&w, &moto, "clips/a", &a);
    put_kms(&w, &moto, "clips/b", &random_bytes(50_000, 25));
    let no_key = w.path("no-such-key").display().to_string();
    // Someone with write access to the bucket copies a's manifest over b's.
    std::fs::copy(
        w.stored_path("clips/a.mezz/manifest"),
        w.stored_path("clips/b.mezz/manifest"),
    )
    .expect("copy manifest");
    for cmd in [
        vec!["get", "clips/b", "-o", "/dev/null"],
        vec!["verify", "clips/b"],
    ] {
        let out = run(&w, moto.endpoint(), &no_key, &cmd);
        assert!(
            !out.status.success(),
            "{cmd:?} of a moved manifest must fail"
        );
        let msg = stderr(&out);
        assert!(
            msg.contains("not bound to object 'clips/b'")
                && msg.contains("moved here from another object"),
            "{cmd:?}: {msg}"
        );
    }
    // The original still reads.
    let out = w.path("a.out").display().to_string();
    ok(
        run(
            &w,
            moto.endpoint(),
            &no_key,
            &["get", "clips/a", "-o", &out],
        ),
        "get of the original",
    );
    assert!(std::fs::read(&out).expect("output") == a);
}

/// Every file under `dir`, skipping the S3 server's bucket and moto's log.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.ends_with("s3") || p.ends_with("moto.log") {
                continue;
            }
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

#[test]
fn kms_out_of_reach_or_an_unknown_key_fails_the_open_and_get_and_writes_nothing() {
    let w = World::new(Kind::S3);
    let moto = Moto::start(w.dir.path());
    moto.create_kms_key("alias/mezz-test");
    put_kms(&w, &moto, "clips/a", &random_bytes(100_000, 26));
    let no_key = w.path("no-such-key").display().to_string();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    // HOME and the XDG directories point into the world: anything cached would show up.
    let home = w.path("home");
    std::fs::create_dir_all(&home).expect("home");
    let logs = w.path("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    for (i, endpoint) in [dead.as_str(), moto.endpoint()].into_iter().enumerate() {
        let mnt = w.path(&format!("mnt{i}"));
        std::fs::create_dir_all(&mnt).expect("mount dir");
        let before = files_under(w.dir.path());
        let log = logs.join(format!("mount{i}.log"));
        let mut c = w.command();
        c.env("AWS_ENDPOINT_URL_KMS", endpoint)
            .env("MEZZFS_KEY_FILE", &no_key)
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_STATE_HOME", home.join("state"));
        if endpoint == moto.endpoint() {
            // Reachable, but the manifest names a key KMS does not have.
            let path = w.stored_path("clips/a.mezz/manifest");
            let mut raw = std::fs::read(&path).expect("manifest");
            let start = raw
                .windows(11)
                .position(|x| x == b"arn:aws:kms")
                .expect("an ARN in the manifest");
            let len = raw[start..]
                .iter()
                .position(|&b| b == b'"')
                .expect("end of ARN");
            // Same length keeps the header valid: the key id's last 12 hex digits zeroed.
            raw[start + len - 12..start + len].copy_from_slice(b"000000000000");
            write(&path, &raw);
        }
        // The mount needs no key to mount: sizes come from the manifest.
        let out = c
            .args([
                "mount",
                mnt.to_str().expect("utf-8"),
                "--object",
                "a=clips/a",
                "--log-file",
                log.to_str().expect("utf-8"),
            ])
            .output()
            .expect("mount runs");
        let msg = stderr(&out);
        assert!(out.status.success(), "mount ({endpoint}): {msg}");
        let pid = msg
            .split("(pid ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no pid in: {msg}"));
        let m = Mount {
            dir: mnt.clone(),
            log: log.clone(),
            pid,
        };
        assert_eq!(std::fs::metadata(m.file("a")).expect("stat").len(), 100_000);
        let cat = std::process::Command::new("cat")
            .arg(m.file("a"))
            .output()
            .expect("cat");
        assert!(!cat.status.success(), "read must fail ({endpoint})");
        assert!(
            String::from_utf8_lossy(&cat.stderr).contains("Input/output error"),
            "{}",
            String::from_utf8_lossy(&cat.stderr)
        );
        let text = m.log();
        assert!(
            text.contains("clips/a") && text.contains("key service") && text.contains("EIO"),
            "mount log ({endpoint}): {text}"
        );
        drop(m);
        let out = run(
            &w,
            endpoint,
            &no_key,
            &["get", "clips/a", "-o", &w.path("x").display().to_string()],
        );
        assert!(!out.status.success(), "get must fail ({endpoint})");
        let msg = stderr(&out);
        assert!(
            msg.contains("clips/a") && msg.contains("key service"),
            "get ({endpoint}): {msg}"
        );
        assert!(!msg.contains("panicked"), "{msg}");
        let mut after = files_under(w.dir.path());
        after.retain(|p| !p.starts_with(&logs) && !p.ends_with("manifest"));
        let mut before = before;
        before.retain(|p| !p.starts_with(&logs) && !p.ends_with("manifest"));
        assert_eq!(
            before, after,
            "nothing written to disk by the failed opens and gets ({endpoint})"
        );
    }
}
