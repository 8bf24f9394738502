//! A scratch world for CLI tests: a key, and a store that is either a local directory or a
//! bucket on a real S3-compatible server on loopback.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
