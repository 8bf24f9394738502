//! The `Mount` builder in-process: a real FUSE mount of objects in a local store, with a disk
//! cache and a replay, read through the kernel, ended by the shutdown future or from outside.

use std::path::Path;
use std::sync::Arc;

use mezz_format::LocalKeyFile;
use mezz_mount::spec::{MountSpec, ObjectFile, RangeFile};
use mezz_mount::{Connect, ConnectError, Ended, Mount, MountOptions, OpenError};
use mezz_object::{PutOptions, put_object};
use mezz_store::{DiskCacheConfig, LocalStore, ObjectStore, StoreUrl};
use mezz_testkit::random_bytes;

const SIZE: usize = 3 << 20;

fn keys() -> Arc<LocalKeyFile> {
    Arc::new(LocalKeyFile::from_parts("assemble", [4; 32]))
}

/// Opens local directories only; the default store is `dir`.
#[derive(Debug)]
struct LocalConnect(std::path::PathBuf);

#[async_trait::async_trait]
impl Connect for LocalConnect {
    async fn connect(
        &self,
        url: Option<&StoreUrl>,
        _endpoint: Option<&str>,
    ) -> Result<Arc<dyn ObjectStore>, ConnectError> {
        match url {
            None => Ok(Arc::new(LocalStore::open(&self.0)?)),
            Some(StoreUrl::Local(dir)) => Ok(Arc::new(LocalStore::open(dir)?)),
            Some(other) => Err(format!("{other} is not a local store").into()),
        }
    }
}

async fn stored(dir: &Path, name: &str, data: &[u8]) {
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir).expect("store"));
    let opts = PutOptions {
        part_size: 1 << 20,
        segment_size: 16384,
        ..PutOptions::default()
    };
    put_object(
        store,
        keys().as_ref(),
        name,
        Box::new(std::io::Cursor::new(data.to_vec())),
        &opts,
        Arc::default(),
    )
    .await
    .expect("put");
}

fn spec() -> MountSpec {
    MountSpec {
        objects: vec![ObjectFile {
            file: "movie.y4m".into(),
            source: "movie".into(),
        }],
        ranges: vec![RangeFile {
            file: "scenes/two.y4m".into(),
            source: "movie".into(),
            offset: 1 << 20,
            len: 1 << 20,
        }],
    }
}

fn fuse_available() -> bool {
    mezz_mount::session::preflight(Path::new("/"))
        .is_err_and(|e| matches!(e, mezz_mount::MountError::AlreadyMounted(_)))
}

/// A directory with a store holding `data` as object "movie" and an empty mount point, and
/// a runtime; `None` (the test is skipped) where FUSE is not usable.
struct Setup {
    dir: tempfile::TempDir,
    store: std::path::PathBuf,
    mountpoint: std::path::PathBuf,
    rt: tokio::runtime::Runtime,
}

fn setup(data: &[u8]) -> Option<Setup> {
    if !fuse_available() {
        eprintln!("skipped: FUSE is not usable here");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let mountpoint = dir.path().join("mnt");
    std::fs::create_dir_all(&mountpoint).expect("mountpoint");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(stored(&store, "movie", data));
    Some(Setup {
        dir,
        store,
        mountpoint,
        rt,
    })
}

#[test]
fn a_built_mount_serves_exact_bytes_and_ends_on_shutdown() {
    let data = random_bytes(SIZE, 3);
    let Some(Setup {
        dir,
        store,
        mountpoint,
        rt,
    }) = setup(&data)
    else {
        return;
    };
    let replay = dir.path().join("run.mzr");

    let mount = Mount::new(spec(), Arc::new(LocalConnect(store.clone())), keys())
        .disk_cache(DiskCacheConfig::new(dir.path().join("cache")))
        .record(replay.clone(), serde_json::Map::new());
    let opened = rt.block_on(mount.open()).expect("open");
    assert_eq!(opened.files().len(), 2);
    assert_eq!(opened.objects().len(), 1);
    let running = opened
        .mount(&mountpoint, MountOptions::default(), rt.handle().clone())
        .expect("mount");

    let whole = std::fs::read(mountpoint.join("movie.y4m")).expect("read whole");
    assert!(whole == data, "the whole object differs");
    let scene = std::fs::read(mountpoint.join("scenes/two.y4m")).expect("read range");
    assert!(
        scene[..] == data[1 << 20..2 << 20],
        "the range file differs"
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    stop.send(()).expect("send");
    let served = rt
        .block_on(running.serve(async {
            let _ = stopped.await;
        }))
        .expect("serve");
    assert_eq!(served.ended, Ended::Shutdown);
    assert!(served.stats.reads > 0 && served.stats.bytes_read >= SIZE as u64);
    assert!(
        served.stats.store.disk_cache.is_some(),
        "the disk cache's counters reach the stats"
    );
    assert_eq!(served.replay.as_deref(), Some(replay.as_path()));
    let decoded = mezz_replays::decode(&std::fs::read(&replay).expect("replay")).expect("decode");
    assert!(decoded.meta().is_some_and(|m| m.files.len() == 2));
    assert!(!mezz_mount::session::is_mount_point(&mountpoint));
}

#[test]
fn a_mount_unmounted_from_outside_ends_its_serve() {
    let Some(Setup {
        dir: _dir,
        store,
        mountpoint,
        rt,
    }) = setup(&random_bytes(100_000, 5))
    else {
        return;
    };
    let mount = Mount::new(spec_of_whole(), Arc::new(LocalConnect(store)), keys());
    let running = rt
        .block_on(mount.open())
        .expect("open")
        .mount(&mountpoint, MountOptions::default(), rt.handle().clone())
        .expect("mount");
    mezz_mount::session::unmount_path(&mountpoint, false).expect("unmount from outside");
    let served = rt
        .block_on(running.serve(std::future::pending()))
        .expect("serve");
    assert_eq!(served.ended, Ended::UnmountedOutside);
}

fn spec_of_whole() -> MountSpec {
    MountSpec {
        objects: vec![ObjectFile {
            file: "movie".into(),
            source: "movie".into(),
        }],
        ranges: Vec::new(),
    }
}

#[test]
fn a_range_past_the_end_and_a_missing_object_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(stored(&store, "movie", &random_bytes(100_000, 6)));

    let past = MountSpec {
        objects: Vec::new(),
        ranges: vec![RangeFile {
            file: "tail".into(),
            source: "movie".into(),
            offset: 90_000,
            len: 20_000,
        }],
    };
    let err = rt
        .block_on(Mount::new(past, Arc::new(LocalConnect(store.clone())), keys()).open())
        .expect_err("range past the end");
    assert!(
        matches!(
            &err,
            OpenError::RangePastEnd {
                end: 110_000,
                size: 100_000,
                ..
            }
        ),
        "{err}"
    );

    let missing = MountSpec {
        objects: vec![ObjectFile {
            file: "x".into(),
            source: "nothing-here".into(),
        }],
        ranges: Vec::new(),
    };
    let err = rt
        .block_on(Mount::new(missing, Arc::new(LocalConnect(store)), keys()).open())
        .expect_err("missing object");
    assert!(
        err.to_string().contains("opening object 'nothing-here'"),
        "{err}"
    );
}
