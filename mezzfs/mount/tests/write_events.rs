//! The write path tells its listeners each create, write, commit and rename once, from where
//! it happens (what a replay records): against a local store, without FUSE.

use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mezz_format::LocalKeyFile;
use mezz_mount::{MountEvents, WriteConfig, WriteDir, WritePath};
use mezz_store::{LocalStore, ObjectStore};

#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, s: String) {
        self.0.lock().expect("log").push(s);
    }
}

impl MountEvents for Log {
    fn created(&self, handle: u64, path: &str) {
        self.push(format!("create h{handle} {path}"));
    }
    fn wrote(&self, handle: u64, range: Range<u64>, _arrived: Instant, ok: bool) {
        self.push(format!("write h{handle} {range:?} {ok}"));
    }
    fn committed(
        &self,
        handle: u64,
        object: &str,
        bytes: u64,
        _began: Instant,
        error: Option<&str>,
    ) {
        let ok = match error {
            None => "stored".to_string(),
            Some(e) => format!("not stored: {e}"),
        };
        self.push(format!("commit h{handle} {object} {bytes} {ok}"));
    }
    fn renamed(&self, from: &str, to: &str, error: Option<&str>) {
        self.push(format!("rename {from} -> {to} {}", error.is_none()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_writes_commits_and_renames_are_told_once_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir.path()).expect("store"));
    let keys = Arc::new(LocalKeyFile::from_parts("events", [3; 32]));
    let log = Arc::new(Log::default());
    let dirs = vec![WriteDir::parse("out=encodes/").expect("dir")];
    let w = WritePath::new(WriteConfig::new(dirs, 64 << 20), store, keys).with_events(log.clone());
    let out = w.roots()[0].0;
    let pid = std::process::id();

    // Written, renamed while open, stored under the new name at close.
    w.create(out, "a.tmp", 1, pid).await.expect("create");
    w.write(1, 0, &[1; 10]).await.expect("write");
    w.write(1, 10, &[2; 10]).await.expect("write");
    w.rename(out, "a.tmp", out, "a.bin", false)
        .await
        .expect("rename");
    w.flush(1, pid).await.expect("commit");
    // A backward write is refused and the file is not stored.
    w.create(out, "c.bin", 2, pid).await.expect("create");
    w.write(2, 0, &[3; 10]).await.expect("write");
    w.write(2, 3, &[4; 1]).await.expect_err("backward");
    w.flush(2, pid).await.expect_err("not stored");
    // A rename onto a name being written is refused, and told as such.
    w.create(out, "d.bin", 3, pid).await.expect("create");
    w.rename(out, "a.bin", out, "d.bin", true)
        .await
        .expect_err("busy destination");

    let got = log.0.lock().expect("log").clone();
    let (head, tail) = got.split_at(8);
    assert_eq!(
        head,
        [
            "create h1 out/a.tmp",
            "write h1 0..10 true",
            "write h1 10..20 true",
            "rename out/a.tmp -> out/a.bin true",
            "commit h1 encodes/a.bin 20 stored",
            "create h2 out/c.bin",
            "write h2 0..10 true",
            "write h2 3..4 false",
        ],
        "{got:#?}"
    );
    assert!(
        tail[0].starts_with("commit h2 encodes/c.bin 10 not stored: ")
            && tail[0].contains("offset 3"),
        "{got:#?}"
    );
    assert_eq!(
        &tail[1..],
        ["create h3 out/d.bin", "rename out/a.bin -> out/d.bin false"]
    );
}
