//! A scratch world for CLI tests: a key, and a store that is either a local directory or a
//! bucket on a real S3-compatible server on loopback.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};

pub const BUCKET: &str = "media";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Local,
    S3,
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub server: Option<S3TestServer>,
    pub kind: Kind,
    pub key: PathBuf,
}

impl World {
    pub fn new(kind: Kind) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = (kind == Kind::S3).then(|| {
            S3TestServer::start(&dir.path().join("s3"), &[BUCKET])
                .unwrap_or_else(|e| panic!("the S3 test server must start: {e}"))
        });
        let key = dir.path().join("key");
        let w = World {
            dir,
            server,
            kind,
            key,
        };
        let out = w.mezzfs(&["key", "generate", w.key.to_str().expect("utf-8 path")]);
        assert!(out.status.success(), "key generate: {}", stderr(&out));
        w
    }

    pub fn store_url(&self) -> String {
        match self.kind {
            Kind::Local => self.dir.path().join("store").display().to_string(),
            Kind::S3 => format!("s3://{BUCKET}/prefix"),
        }
    }

    /// Where the store keeps the bytes of `key` on disk (both stores are file-backed here).
    pub fn stored_path(&self, key: &str) -> PathBuf {
        match self.kind {
            Kind::Local => self.dir.path().join("store").join(key),
            Kind::S3 => self
                .dir
                .path()
                .join("s3")
                .join(BUCKET)
                .join("prefix")
                .join(key),
        }
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mezzfs"));
        c.env("MEZZFS_KEY_FILE", &self.key)
            .env("MEZZFS_STORE", self.store_url())
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_CA_BUNDLE")
            .env_remove("AWS_ENDPOINT_URL")
            .arg("--quiet");
        if let Some(s) = &self.server {
            c.arg("--endpoint-url").arg(s.endpoint());
        }
        c
    }

    pub fn mezzfs(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run mezzfs")
    }

    /// Runs mezzfs and insists it succeeds.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.mezzfs(args);
        assert!(
            out.status.success(),
            "mezzfs {args:?} failed: {}",
            stderr(&out)
        );
        out
    }

    /// Runs mezzfs, insists it fails, and returns its error message.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.mezzfs(args);
        assert!(!out.status.success(), "mezzfs {args:?} should have failed");
        let msg = stderr(&out);
        assert!(!msg.contains("panicked"), "mezzfs {args:?} panicked: {msg}");
        msg
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The single version folder's part keys of object `name`, sorted.
    pub fn part_paths(&self, name: &str) -> Vec<PathBuf> {
        let folder = self.stored_path(&format!("{name}.mezz"));
        let mut parts = Vec::new();
        for v in std::fs::read_dir(&folder).expect("object folder").flatten() {
            if v.path().is_dir() {
                for p in std::fs::read_dir(v.path())
                    .expect("version folder")
                    .flatten()
                {
                    let n = p.file_name().to_string_lossy().into_owned();
                    if n.bytes().all(|b| b.is_ascii_digit()) {
                        parts.push(p.path());
                    }
                }
            }
        }
        parts.sort();
        parts
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Stores `data` as object `name` through `mezzfs put` (via a file beside the world's store).
pub fn put(w: &World, data: &[u8], name: &str, part_size: &str) {
    let src = w.path(&format!("{}.src", name.replace('/', "_")));
    write(&src, data);
    w.ok(&[
        "put",
        src.to_str().expect("utf-8"),
        name,
        "--part-size",
        part_size,
    ]);
}

/// `mezzfs get NAME` into a file of the world, returned as bytes.
pub fn get(w: &World, name: &str) -> Vec<u8> {
    let out = w.path(&format!("{}.got", name.replace('/', "_")));
    w.ok(&["get", name, "-o", out.to_str().expect("utf-8")]);
    std::fs::read(&out).expect("got file")
}

/// Object names under `prefix`, from `mezzfs ls`.
pub fn listed(w: &World, prefix: &str) -> String {
    String::from_utf8_lossy(&w.ok(&["ls", prefix]).stdout).into_owned()
}

/// Whether `dir` is a mount point now (from /proc/self/mountinfo).
pub fn is_mounted(dir: &Path) -> bool {
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return false;
    };
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(dir.to_str().expect("utf-8")))
}

/// A mount made by `mezzfs mount` (daemon mode), unmounted on drop whatever happened.
pub struct Mount {
    pub dir: PathBuf,
    pub log: PathBuf,
    pub pid: u32,
}

impl Mount {
    pub fn start(w: &World, name: &str, args: &[&str]) -> Mount {
        let dir = w.path(name);
        std::fs::create_dir_all(&dir).expect("mount dir");
        let log = w.path(&format!("{name}.log"));
        let mut full = vec![
            "mount",
            dir.to_str().expect("utf-8"),
            "--log-file",
            log.to_str().expect("utf-8"),
        ];
        full.extend_from_slice(args);
        let out = w.mezzfs(&full);
        let msg = stderr(&out);
        assert!(out.status.success(), "mount failed: {msg}");
        let pid = msg
            .split("(pid ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no pid in: {msg}"));
        Mount { dir, log, pid }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stats(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.file(".mezzfs-stats")).expect("stats file");
        serde_json::from_str(&text).expect("stats JSON")
    }

    fn process_alive(&self) -> bool {
        // A zombie (exited, not yet reaped: its parent was the short-lived daemonizer) is gone.
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .is_ok_and(|s| !s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')))
    }

    pub fn wait_gone(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if !self.process_alive() && !is_mounted(&self.dir) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if is_mounted(&self.dir) {
            let _ = Command::new("fusermount3")
                .arg("-u")
                .arg("-z")
                .arg(&self.dir)
                .status();
        }
        if !self.wait_gone(Duration::from_secs(10)) {
            let _ = Command::new("kill")
                .arg("-9")
                .arg(self.pid.to_string())
                .status();
        }
    }
}
