//! `--audit-log` (issue 21) on a real FUSE mount and on `get`: each open is listed with the
//! reading process, the object, its version and the key id its data key is wrapped under, and
//! each close with the bytes read. Objects wrapped by KMS (moto on 127.0.0.1) and by the key
//! file are mounted side by side.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use mezz_testkit::{Moto, random_bytes};

/// The JSON body of object `name`'s stored manifest (after the 16-byte header).
fn manifest(w: &World, name: &str) -> serde_json::Value {
    let raw = std::fs::read(w.stored_path(&format!("{name}.mezz/manifest"))).expect("manifest");
    let len = u32::from_be_bytes(raw[12..16].try_into().expect("4 bytes")) as usize;
    serde_json::from_slice(&raw[16..16 + len]).expect("manifest JSON")
}

fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn a_mount_s_audit_log_lists_each_open_with_object_version_and_key_id() {
    let w = World::new(Kind::S3);
    let moto = Moto::start(w.dir.path());
    moto.create_kms_key("alias/audit");
    let a = random_bytes(300_000, 31);
    let b = random_bytes(200_000, 32);
    write(&w.path("a.src"), &a);
    write(&w.path("b.src"), &b);
    let kms = ["--kms-endpoint-url", moto.endpoint()];
    w.ok(&[
        &kms[..],
        &[
            "put",
            w.path("a.src").to_str().expect("utf-8"),
            "clips/a",
            "--kms-key-id",
            "alias/audit",
        ],
    ]
    .concat());
    w.ok(&["put", w.path("b.src").to_str().expect("utf-8"), "clips/b"]);
    let (ma, mb) = (manifest(&w, "clips/a"), manifest(&w, "clips/b"));
    assert_eq!(ma["key"]["provider"], "aws-kms");

    let log = w.path("audit.jsonl");
    let log_s = log.to_str().expect("utf-8").to_owned();
    let m = Mount::start(
        &w,
        "mnt",
        &[
            &kms[..],
            &[
                "--object",
                "a=clips/a",
                "--object",
                "b=clips/b",
                "--audit-log",
                &log_s,
            ],
        ]
        .concat(),
    );
    assert!(lines(&log).is_empty(), "nothing logged before an open");
    // Two readers of a (cat, then head), one of b.
    let cat = Command::new("cat").arg(m.file("a")).output().expect("cat");
    assert!(cat.stdout == a, "a read back wrong");
    let head = Command::new("head")
        .args(["-c", "1000"])
        .arg(m.file("b"))
        .output()
        .expect("head");
    assert_eq!(head.stdout, b[..1000]);
    let again = std::fs::read(m.file("a")).expect("read a again");
    assert!(again == a);
    // The kernel sends a release after close returns: wait (bounded) for the three.
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines(&log)
        .iter()
        .filter(|x| x["event"] == "closed")
        .count()
        < 3
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(m);

    let l = lines(&log);
    let opened: Vec<_> = l.iter().filter(|x| x["event"] == "opened").collect();
    let closed: Vec<_> = l.iter().filter(|x| x["event"] == "closed").collect();
    assert_eq!(opened.len(), 3, "{l:#?}");
    assert_eq!(closed.len(), 3, "{l:#?}");
    let me = my_uid();
    for o in &opened {
        let (file, m) = if o["file"] == "a" {
            ("a", &ma)
        } else {
            ("b", &mb)
        };
        assert_eq!(o["file"], file);
        assert_eq!(o["object"], if file == "a" { "clips/a" } else { "clips/b" });
        assert_eq!(o["version"], m["object_id"], "{o}");
        assert_eq!(o["key_id"], m["key"]["key_id"], "{o}");
        assert_eq!(o["key_provider"], m["key"]["provider"], "{o}");
        assert_eq!(o["uid"], me);
        assert!(o["pid"].as_u64().is_some_and(|p| p > 0), "{o}");
        // Each close matches its open's handle and process.
        let c = closed
            .iter()
            .find(|c| c["handle"] == o["handle"])
            .unwrap_or_else(|| panic!("no close for {o}"));
        assert_eq!(c["pid"], o["pid"]);
        assert_eq!(c["version"], o["version"]);
    }
    assert!(
        opened
            .iter()
            .any(|o| o["file"] == "a"
                && o["command"].as_str().is_some_and(|c| c.starts_with("cat "))),
        "{l:#?}"
    );
    assert!(
        opened.iter().any(|o| o["file"] == "b"
            && o["command"]
                .as_str()
                .is_some_and(|c| c.starts_with("head -c 1000"))),
        "{l:#?}"
    );
    // The kernel may read ahead of head's 1000 bytes, never beyond the file; a is read whole
    // by cat (the second read may come from the page cache).
    let bytes = |f: &str| -> Vec<u64> {
        closed
            .iter()
            .filter(|c| c["file"] == f)
            .map(|c| c["bytes_read"].as_u64().expect("bytes_read"))
            .collect()
    };
    assert!(bytes("a").contains(&(a.len() as u64)), "{:?}", bytes("a"));
    assert!(bytes("a").iter().all(|&n| n <= a.len() as u64));
    assert!(
        bytes("b")
            .iter()
            .all(|&n| (1000..=b.len() as u64).contains(&n)),
        "{:?}",
        bytes("b")
    );

    // get writes the same two lines for itself.
    let get_log = w.path("get.jsonl");
    w.ok(&[
        &kms[..],
        &[
            "get",
            "clips/a",
            "-o",
            "/dev/null",
            "--audit-log",
            get_log.to_str().expect("utf-8"),
        ],
    ]
    .concat());
    let g = lines(&get_log);
    assert_eq!(g.len(), 2, "{g:#?}");
    assert_eq!(g[0]["event"], "opened");
    assert_eq!(g[1]["event"], "closed");
    assert_eq!(g[1]["bytes_read"], a.len() as u64);
    assert_eq!(g[0]["key_id"], ma["key"]["key_id"]);
    assert!(
        g[0]["command"]
            .as_str()
            .is_some_and(|c| c.contains("mezzfs") && c.contains("get clips/a")),
        "{g:#?}"
    );
}

/// This test process's uid (owner of /proc/self).
fn my_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").expect("/proc/self").uid()
}
