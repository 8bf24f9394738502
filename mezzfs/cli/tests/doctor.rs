//! `mezzfs doctor` (issue 20) against the real S3 test server, up and then down: one line per
//! check, the credential source named, the failing check saying what to fix, exit status 1.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Kind, World, stderr};

#[test]
fn doctor_checks_the_store_up_and_down_and_the_key_file() {
    let mut w = World::new(Kind::S3);
    std::fs::set_permissions(&w.key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let cache = w.path("cache");
    let out = w.mezzfs(&["doctor", "--cache-dir", cache.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("OK   /dev/fuse"), "{text}");
    assert!(lines[1].starts_with("OK   fusermount3"), "{text}");
    assert!(
        lines[2].starts_with("OK   key file") && lines[2].contains("mode 600"),
        "{text}"
    );
    assert!(
        lines[3].starts_with(
            "OK   store s3://media/prefix/: reachable with credentials from environment"
        ),
        "{text}"
    );
    assert!(lines[3].contains("EnvironmentVariable"), "{text}");
    assert!(
        lines[4].starts_with("OK   disk cache") && lines[4].contains("GiB free"),
        "{text}"
    );

    // A key file others can read fails (mezzfs refuses it) and says how to fix it.
    std::fs::set_permissions(&w.key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = w.mezzfs(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL key file") && text.contains("fix: chmod 600"),
        "{text}"
    );
    std::fs::set_permissions(&w.key, std::fs::Permissions::from_mode(0o600)).expect("chmod");

    // The server gone: the store check fails with what to fix, and the exit status says so.
    let endpoint = w.server.as_ref().expect("server").endpoint();
    drop(w.server.take());
    let out = w
        .command()
        .args(["--endpoint-url", &endpoint, "doctor"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let store = text
        .lines()
        .find(|l| l.contains("store s3://media/prefix/"))
        .unwrap_or_else(|| panic!("no store line: {text}"));
    assert!(store.starts_with("FAIL"), "{store}");
    assert!(store.contains("fix: check --endpoint-url"), "{store}");
    assert!(
        stderr(&out).contains("1 of 5 checks failed"),
        "{}",
        stderr(&out)
    );
}
