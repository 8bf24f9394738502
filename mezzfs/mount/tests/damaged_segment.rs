//! A segment damaged at rest costs only its own bytes (issue 17 item 5), through a real FUSE
//! mount (the `Mount` builder in-process) of an object in a local store whose every request
//! takes 100 ms: a read waiting on a fetch that also carries the bad segment gets its good
//! bytes, `cat` returns every byte before the bad segment, and reads beside it succeed.

use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use mezz_format::LocalKeyFile;
use mezz_mount::spec::{MountSpec, ObjectFile};
use mezz_mount::{Connect, ConnectError, Mount, MountOptions};
use mezz_object::{PutOptions, put_object};
use mezz_store::{LocalStore, ObjectStore, Shape, StoreUrl};
use mezz_testkit::random_bytes;

const SIZE: usize = 4 << 20;
const PART: u64 = 1 << 20;
const SEGMENT: u64 = 16 << 10;
/// A sealed segment carries a 16-byte tag.
const SEALED_SEGMENT: u64 = SEGMENT + 16;
const EIO: i32 = 5;
/// O_DIRECT reads reach the mount as they are asked, without the page cache's read-ahead.
const O_DIRECT: i32 = 0o40000;

fn keys() -> Arc<LocalKeyFile> {
    Arc::new(LocalKeyFile::from_parts("damaged", [7; 32]))
}

#[derive(Debug)]
struct LocalConnect(PathBuf);

#[async_trait::async_trait]
impl Connect for LocalConnect {
    async fn connect(
        &self,
        _url: Option<&StoreUrl>,
        _endpoint: Option<&str>,
    ) -> Result<Arc<dyn ObjectStore>, ConnectError> {
        Ok(Arc::new(LocalStore::open(&self.0)?))
    }
}

fn fuse_available() -> bool {
    mezz_mount::session::preflight(Path::new("/"))
        .is_err_and(|e| matches!(e, mezz_mount::MountError::AlreadyMounted(_)))
}

/// The stored file of part `part` of the only version of `name`.
fn part_file(store: &Path, name: &str, part: u64) -> PathBuf {
    let folder = store.join(format!("{name}.mezz"));
    std::fs::read_dir(&folder)
        .expect("object folder")
        .flatten()
        .map(|v| v.path())
        .find(|p| p.is_dir())
        .expect("version folder")
        .join(format!("{part:06}"))
}

/// `len` bytes at `offset` through O_DIRECT (the buffer aligned as it requires).
fn read_direct(path: &Path, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_DIRECT)
        .open(path)?;
    let mut raw = vec![0u8; len + 4096];
    let at = raw.as_ptr().align_offset(4096);
    f.read_exact_at(&mut raw[at..at + len], offset)?;
    Ok(raw[at..at + len].to_vec())
}

#[test]
fn a_damaged_segment_fails_only_the_reads_that_touch_it() {
    if !fuse_available() {
        eprintln!("skipped: FUSE is not usable here");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let mountpoint = dir.path().join("mnt");
    std::fs::create_dir_all(&mountpoint).expect("mountpoint");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let data = random_bytes(SIZE, 17);
    rt.block_on(async {
        let s: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(&store).expect("store"));
        let opts = PutOptions {
            part_size: PART,
            segment_size: SEGMENT as u32,
            ..PutOptions::default()
        };
        put_object(
            s,
            keys().as_ref(),
            "clip",
            Box::new(std::io::Cursor::new(data.clone())),
            &opts,
            Arc::default(),
        )
        .await
        .expect("put");
    });
    // One flipped byte in segment 16 of part 2.
    let in_part = 16;
    let bad = PART * 2 + in_part * SEGMENT..PART * 2 + (in_part + 1) * SEGMENT;
    let part = part_file(&store, "clip", 2);
    let mut sealed = std::fs::read(&part).expect("part");
    sealed[(in_part * SEALED_SEGMENT + 100) as usize] ^= 0x10;
    std::fs::write(&part, &sealed).expect("damage the part");

    let spec = MountSpec {
        objects: vec![ObjectFile {
            file: "clip".into(),
            source: "clip".into(),
        }],
        ranges: Vec::new(),
    };
    let mount =
        Mount::new(spec, Arc::new(LocalConnect(store.clone())), keys()).shape(Some(Shape {
            latency: Duration::from_millis(100),
            per_request_rate: None,
            link_rate: None,
        }));
    let running = rt
        .block_on(mount.open())
        .expect("open")
        .mount(&mountpoint, MountOptions::default(), rt.handle().clone())
        .expect("mount");
    let file = mountpoint.join("clip");

    // A read across the bad segment starts one fetch of four segments; a read of the good
    // segment before it, arriving while that fetch is in flight, joins it.
    let across = {
        let file = file.clone();
        std::thread::spawn(move || {
            read_direct(&file, bad.start - 2 * SEGMENT, 4 * SEGMENT as usize)
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    let before = read_direct(&file, bad.start - SEGMENT, SEGMENT as usize)
        .expect("the good segment beside the bad one reads, though its fetch carried the bad one");
    assert!(before[..] == data[(bad.start - SEGMENT) as usize..bad.start as usize]);
    let err = across
        .join()
        .expect("thread")
        .expect_err("a read into the bad segment fails");
    assert_eq!(err.raw_os_error(), Some(EIO), "{err}");

    // `cat` reads sequentially until the damaged segment: everything before it arrives.
    let out = dir.path().join("cat.out");
    let status = Command::new("cat")
        .arg(&file)
        .stdout(File::create(&out).expect("cat output"))
        .stderr(Stdio::null())
        .status()
        .expect("cat runs");
    assert!(!status.success(), "cat of a damaged object fails");
    let got = std::fs::read(&out).expect("cat output");
    assert_eq!(
        got.len() as u64,
        bad.start,
        "cat stops where the bad segment starts"
    );
    assert!(
        got[..] == data[..bad.start as usize],
        "with every byte before it right"
    );

    let after = read_direct(&file, bad.end, 1 << 20).expect("the bytes after the bad segment read");
    assert!(after[..] == data[bad.end as usize..bad.end as usize + (1 << 20)]);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    stop.send(()).expect("send");
    let served = rt
        .block_on(running.serve(async {
            let _ = stopped.await;
        }))
        .expect("serve");
    assert!(served.stats.read_errors >= 2, "{:?}", served.stats);
}
