//! Logs for log shippers and log files (issue 20): `--log-format json` writes one JSON object
//! per line with the fields ts, level, target, message and fields, nothing else; text logs
//! written to a file carry no colour codes even when the program runs on a terminal.

mod common;

use common::{Kind, World, put};
use mezz_testkit::random_bytes;

#[test]
fn a_json_mount_log_is_one_object_per_line() {
    let w = World::new(Kind::Local);
    put(&w, &random_bytes(1 << 20, 3), "clip", "1MiB");
    let dir = w.path("mnt");
    std::fs::create_dir_all(&dir).expect("dir");
    let log = w.path("mount.log");
    let out = w
        .command()
        .env("MEZZFS_LOG", "debug")
        .args(["--log-format", "json", "mount"])
        .arg(&dir)
        .arg("--log-file")
        .arg(&log)
        .args(["--object", "clip"])
        .output()
        .expect("mount runs");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let read = std::fs::read(dir.join("clip")).map(|b| b.len());
    let unmount = w.mezzfs(&["unmount", dir.to_str().expect("utf-8")]);
    assert_eq!(read.ok(), Some(1 << 20));
    assert!(unmount.status.success(), "{}", common::stderr(&unmount));

    // The summary is written once the mount process has seen the unmount.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut text = std::fs::read_to_string(&log).expect("log");
    while !text.contains("read 1.0 MiB") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        text = std::fs::read_to_string(&log).expect("log");
    }
    let mut messages = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
        let o = v.as_object().expect("an object");
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["fields", "level", "message", "target", "ts"],
            "{line}"
        );
        assert!(o["fields"].is_object(), "{line}");
        assert!(o["ts"].as_str().is_some_and(|t| t.ends_with('Z')), "{line}");
        messages.push(o["message"].as_str().unwrap_or_default().to_string());
    }
    // The status lines (mounted, the final statistics) are JSON lines too.
    assert!(
        messages.iter().any(|m| m.starts_with("mezzfs: mounted")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("read 1.0 MiB")),
        "{messages:?}"
    );
}

/// `script` gives the program a terminal on stdin and stdout while stderr goes to a file:
/// colour is decided by stderr alone.
#[test]
fn text_logs_to_a_file_have_no_colour_even_from_a_terminal() {
    let w = World::new(Kind::S3);
    put(&w, &random_bytes(1 << 20, 4), "clip", "1MiB");
    let log = w.path("get.log");
    let endpoint = w.server.as_ref().expect("server").endpoint();
    let cmd = format!(
        "{} --quiet --endpoint-url {endpoint} get clip -o {} 2>{}",
        env!("CARGO_BIN_EXE_mezzfs"),
        w.path("out").display(),
        log.display()
    );
    let status = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("MEZZFS_LOG", "debug")
        .env("MEZZFS_KEY_FILE", &w.key)
        .env("MEZZFS_STORE", w.store_url())
        .env("AWS_ACCESS_KEY_ID", mezz_s3_server::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", mezz_s3_server::SECRET_KEY)
        .env("AWS_REGION", mezz_s3_server::REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TERM", "xterm-256color")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("script runs");
    assert!(status.success(), "mezzfs get under a terminal failed");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.is_empty(), "debug logging wrote nothing");
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in the log file: {text:?}"
    );
}
