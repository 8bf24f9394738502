//! The mount's lifecycle under crashes and scripts: `kill -9` in either mode, with or without
//! a reader holding a file open, leaves no mount; a dead mount left behind is cleared by the
//! next `mezzfs mount`; `mezzfs unmount` returns only once the replay is complete; a
//! non-empty mount point is refused; `mezzfs stats` and `replay info` measure read latency
//! alike.
//!
//! Needs /dev/fuse and fusermount3 (scripts/test.sh installs Debian's fuse3), and root.

mod common;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Kind, Mount, World, is_mounted, put, stderr};
use mezz_testkit::random_bytes;

const SIZE: usize = 8 << 20;

fn world() -> World {
    let w = World::new(Kind::Local);
    put(&w, &random_bytes(SIZE, 71), "movie", "1MiB");
    w
}

fn kill9(pid: u32) {
    Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status()
        .expect("kill");
}

/// The processes whose parent is `pid`, with their command names.
fn children(pid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let (Some(open), Some((_, rest))) = (stat.find('('), stat.rsplit_once(") ")) else {
            continue;
        };
        let comm = stat[open + 1..stat.len() - rest.len() - 2].to_string();
        if rest.split(' ').nth(1) == Some(&pid.to_string()) {
            out.push((child, comm));
        }
    }
    out
}

fn descendants(pid: u32) -> Vec<(u32, String)> {
    let mut all = children(pid);
    let mut i = 0;
    while i < all.len() {
        let more = children(all[i].0);
        all.extend(more);
        i += 1;
    }
    all
}

/// Whether listing `dir` fails as a mount whose process died does.
fn is_dead(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_err_and(|e| e.raw_os_error() == Some(libc::ENOTCONN))
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// `mezzfs mount --foreground` as a child of the test, once its files are there.
fn start_foreground(w: &World, name: &str) -> (Child, PathBuf) {
    let dir = w.path(name);
    std::fs::create_dir_all(&dir).expect("mount dir");
    let child = w
        .command()
        .args(["mount", dir.to_str().expect("utf-8"), "--foreground"])
        .args(["--object", "movie"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mezzfs mount --foreground");
    assert!(
        wait_until(Duration::from_secs(20), || dir.join("movie").exists()),
        "the foreground mount did not come up"
    );
    (child, dir)
}

#[test]
fn kill_9_in_either_mode_with_or_without_a_reader_leaves_no_mount() {
    let w = world();
    for foreground in [false, true] {
        for reader in [false, true] {
            let case = format!("foreground {foreground}, reader {reader}");
            let name = format!("k-{foreground}-{reader}");
            let (pid, dir, mut child, _m) = if foreground {
                let (child, dir) = start_foreground(&w, &name);
                (child.id(), dir, Some(child), None)
            } else {
                let m = Mount::start(&w, &name, &["--object", "movie"]);
                (m.pid, m.dir.clone(), None, Some(m))
            };
            let open = reader.then(|| {
                let f = File::open(dir.join("movie")).expect("open");
                let mut buf = vec![0u8; 64 << 10];
                f.read_exact_at(&mut buf, 1 << 20)
                    .expect("read before the kill");
                f
            });
            kill9(pid);
            if let Some(c) = child.as_mut() {
                c.wait().expect("reap the killed mount");
            }
            assert!(
                wait_until(Duration::from_secs(10), || !is_mounted(&dir)),
                "{case}: kill -9 left a mount at {}",
                dir.display()
            );
            assert!(
                std::fs::read_dir(&dir).is_ok(),
                "{case}: directory unusable"
            );
            drop(open);
        }
    }

    // Even when fusermount3's auto-unmount helper dies with the mount, the guard clears it.
    let m = Mount::start(&w, "helper", &["--object", "movie"]);
    let helpers: Vec<u32> = children(m.pid)
        .into_iter()
        .filter(|(_, comm)| comm.starts_with("fusermount"))
        .map(|(pid, _)| pid)
        .collect();
    assert!(!helpers.is_empty(), "no fusermount3 auto-unmount helper");
    for pid in helpers {
        kill9(pid);
    }
    kill9(m.pid);
    assert!(
        wait_until(Duration::from_secs(10), || !is_mounted(&m.dir)),
        "kill -9 of the mount and its fusermount3 helper left a mount at {}",
        m.dir.display()
    );
}

#[test]
fn a_dead_mount_is_cleared_by_the_next_mount() {
    let w = world();
    let m = Mount::start(&w, "mnt", &["--object", "movie"]);
    // Everything that could unmount it dies with it (as when a cgroup is killed).
    for (pid, _) in descendants(m.pid) {
        kill9(pid);
    }
    kill9(m.pid);
    assert!(
        wait_until(Duration::from_secs(10), || is_dead(&m.dir)),
        "no dead mount to test with"
    );

    let d = m.dir.to_str().expect("utf-8");
    let log = w.path("again.log");
    let out = w.mezzfs(&[
        "mount",
        d,
        "--log-file",
        log.to_str().expect("utf-8"),
        "--object",
        "movie",
    ]);
    let msg = stderr(&out);
    assert!(
        out.status.success(),
        "mount over a dead mount failed: {msg}"
    );
    assert!(
        msg.contains("dead mount"),
        "nothing said about the dead mount: {msg}"
    );
    let pid = msg
        .split("(pid ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no pid in: {msg}"));
    let again = Mount {
        dir: m.dir.clone(),
        log,
        pid,
    };
    assert_eq!(
        std::fs::metadata(again.file("movie")).expect("stat").len(),
        SIZE as u64
    );
}

#[test]
fn unmount_returns_once_the_replay_is_complete() {
    let w = world();
    let replay = w.path("r.mezzreplay");
    let r = replay.to_str().expect("utf-8");
    for i in 0..3 {
        let m = Mount::start(&w, &format!("m{i}"), &["--object", "movie", "--replay", r]);
        assert_eq!(std::fs::read(m.file("movie")).expect("read").len(), SIZE);
        w.ok(&["unmount", m.dir.to_str().expect("utf-8")]);
        let out = w.ok(&["replay", "info", r, "--json"]);
        let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("info JSON");
        assert_eq!(
            info["clean_end"], true,
            "run {i}: right after unmount the replay did not end cleanly"
        );
        assert!(
            m.wait_gone(Duration::from_secs(1)),
            "the mount process is still running"
        );
    }
}

#[test]
fn a_nonempty_mount_point_is_refused_unless_nonempty() {
    let w = world();
    let dir = w.path("full");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("keep.txt"), b"mine").expect("write");
    let d = dir.to_str().expect("utf-8");
    let msg = w.fails(&["mount", d, "--object", "movie"]);
    assert!(
        msg.contains("not empty") && msg.contains("keep.txt") && msg.contains("--nonempty"),
        "{msg}"
    );
    assert!(!is_mounted(&dir));
    let msg = w.fails(&["mount", d, "--object", "movie", "--foreground"]);
    assert!(msg.contains("not empty"), "{msg}");

    let m = Mount::start(&w, "full", &["--object", "movie", "--nonempty"]);
    assert!(m.file("movie").exists() && !m.file("keep.txt").exists());
    w.ok(&["unmount", d]);
    assert_eq!(std::fs::read(dir.join("keep.txt")).expect("read"), b"mine");
}

#[test]
fn stats_and_replay_info_agree_on_read_latency() {
    let w = world();
    let replay = w.path("lat.mezzreplay");
    let r = replay.to_str().expect("utf-8");
    let m = Mount::start(
        &w,
        "lat",
        &["--object", "movie", "--replay", r, "--fuse-threads", "4"],
    );
    // Several readers at once, so reads queue for the mount's runtime.
    std::thread::scope(|s| {
        for t in 0..6u64 {
            let path = m.file("movie");
            s.spawn(move || {
                let f = File::open(path).expect("open");
                let mut buf = vec![0u8; 128 << 10];
                let mut off = (t * 1_300_000) % (SIZE as u64 - (128 << 10));
                for _ in 0..40 {
                    f.read_exact_at(&mut buf, off).expect("pread");
                    off = (off + 977 * 4096) % (SIZE as u64 - (128 << 10));
                }
            });
        }
    });
    let stats = m.stats();
    w.ok(&["unmount", m.dir.to_str().expect("utf-8")]);
    let out = w.ok(&["replay", "info", r, "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("info JSON");
    // The replay also holds any read the kernel still had in flight when stats were taken.
    assert!(
        info["reads"].as_u64() >= stats["reads"].as_u64(),
        "stats {stats}\ninfo {info}"
    );
    let edge = stats["latency_us_p50"].as_u64().expect("stats p50") as f64;
    let exact = info["read_latency_us_p50"].as_u64().expect("info p50") as f64;
    // The stats histogram reports the upper edge of a power-of-two bucket, the replay an
    // exact (6%-rounded) value: the same reads put the replay's p50 in [edge/2, edge], give
    // or take the rounding.
    assert!(
        exact >= edge / 2.0 * 0.9 && exact <= edge * 1.1,
        "stats p50 <= {edge} µs but replay info p50 {exact} µs"
    );
}
