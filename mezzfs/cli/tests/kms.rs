//! Data keys wrapped by AWS KMS (issue 21), end to end: the real `mezzfs` binary, the S3
//! test server and moto's KMS on 127.0.0.1. KMS objects read back with no key file at all;
//! one store holds KMS and key-file objects side by side; a KMS that cannot be reached is a
//! clear error naming the object, and a put that cannot wrap leaves no object behind.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::*;
use mezz_testkit::{Moto, random_bytes};

/// A symmetric KMS key in moto with `alias`, made with the AWS SDK.
fn create_key(moto: &Moto, alias: &str) -> String {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(moto.endpoint())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load()
            .await;
        let kms = aws_sdk_kms::Client::new(&config);
        let key = kms.create_key().send().await.expect("CreateKey");
        let id = key.key_metadata.expect("key metadata").key_id.to_string();
        kms.create_alias()
            .alias_name(alias)
            .target_key_id(&id)
            .send()
            .await
            .expect("CreateAlias");
        id
    })
}

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
    create_key(&moto, "alias/mezz-test");
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
    create_key(&moto, "alias/mezz-test");
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
