//! Encoding through mezzfs: the mezzanine is an encrypted object in a real S3-compatible
//! server on loopback, mounted with one range file per scene from the scene list's spec. A
//! worker encoding one scene fetches about that scene's bytes, not the object; encoding every
//! scene through the mount gives the same file as encoding the local Y4M.
//!
//! Needs the `mezzfs` binary of this workspace (built here if missing), FUSE and root, as the
//! mezzfs mount tests do.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};
use segment_encode::SceneList;

const FAST: [&str; 6] = ["--speed", "10", "--quantizer", "100", "--tiles", "1"];

/// `target/<profile>/mezzfs`, built with this cargo if it is not there yet.
fn mezzfs_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join("mezzfs");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "mezzfs", "--bin", "mezzfs"])
            .env(
                "CARGO_TARGET_DIR",
                profile_dir.parent().expect("target dir"),
            )
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building mezzfs failed");
    }
    bin
}

struct Mezzfs {
    bin: PathBuf,
    key: PathBuf,
    endpoint: String,
}

impl Mezzfs {
    fn run(&self, args: &[&std::ffi::OsStr]) -> String {
        let out = Command::new(&self.bin)
            .env("MEZZFS_KEY_FILE", &self.key)
            .env("MEZZFS_STORE", "s3://media/movies")
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .args(["--quiet", "--endpoint-url", &self.endpoint])
            .args(args)
            .output()
            .expect("mezzfs runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "mezzfs {args:?}: {stderr}");
        stderr
    }
}

/// Unmounts on drop, whatever happened.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("fusermount3")
            .arg("-u")
            .arg("-z")
            .arg(&self.0)
            .status();
    }
}

/// An S3 test server with a `media` bucket under `d`, and mezzfs with a fresh key for it.
fn store_with_key(d: &Path) -> (S3TestServer, Mezzfs) {
    let server = S3TestServer::start(&d.join("s3"), &["media"]).expect("S3 test server");
    let m = Mezzfs {
        bin: mezzfs_binary(),
        key: d.join("key"),
        endpoint: server.endpoint(),
    };
    m.run(&["key".as_ref(), "generate".as_ref(), m.key.as_os_str()]);
    (server, m)
}

fn fetched(mount: &Path) -> u64 {
    let text = std::fs::read_to_string(mount.join(".mezzfs-stats")).expect("mount stats");
    let stats: serde_json::Value = serde_json::from_str(&text).expect("stats JSON");
    stats["bytes_fetched"].as_u64().expect("bytes_fetched")
}

#[test]
fn encoding_through_a_mount_fetches_only_the_scenes_and_matches_the_local_encode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (_server, m) = store_with_key(d);
    let clip = y4m(d, "clip.y4m", 250, "yuv420p");
    let object_len = std::fs::metadata(&clip).expect("stat").len();
    m.run(&[
        "put".as_ref(),
        clip.as_os_str(),
        "bikes.y4m".as_ref(),
        "--part-size".as_ref(),
        "4MiB".as_ref(),
    ]);

    let (list_path, spec) = (d.join("scenes.json"), d.join("spec.json"));
    ok(&run(&a![
        "scenes",
        &clip,
        "-o",
        &list_path,
        "--mezzfs-spec",
        &spec,
        "--mezzfs-source",
        "bikes.y4m"
    ]));
    let (list, _) =
        SceneList::parse(&std::fs::read_to_string(&list_path).expect("read")).expect("scene list");

    let mnt = d.join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir");
    m.run(&[
        "mount".as_ref(),
        mnt.as_os_str(),
        "--spec".as_ref(),
        spec.as_os_str(),
    ]);
    let _guard = Mounted(mnt.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !mnt.join("scene-0001.y4m").exists() {
        assert!(
            Instant::now() < deadline,
            "the mount did not show the scenes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // One worker's share: scene 1 only. It fetches that scene's bytes (sealed segments add a
    // 16-byte tag per 16 KiB and the range rounds out to whole segments), not the object.
    let out = d.join("out.ivf");
    let work = d.join("work");
    let mut args = a![
        "encode",
        "-o",
        &out,
        "--scenes",
        &list_path,
        "--scene-dir",
        &mnt,
        "--work-dir",
        &work
    ]
    .to_vec();
    args.extend(FAST.iter().map(Into::into));
    let mut share = args.clone();
    share.extend(a!["--only", "1"]);
    ok(&run(&share));
    let scene = list.scenes[1].len;
    let after_share = fetched(&mnt);
    assert!(
        (scene..scene + scene / 100 + (64 << 10)).contains(&after_share),
        "fetched {after_share} bytes for a scene of {scene} bytes (object {object_len})"
    );
    assert!(after_share < object_len / 2);
    assert!(!out.exists());

    // The other scenes, then the join: the same stream as from the local file.
    let log = ok(&run(&args));
    assert!(log.contains("resumed: 1 scenes"), "{log}");
    let local = d.join("local.ivf");
    let mut local_args = a!["encode", &clip, "-o", &local, "--scenes", &list_path].to_vec();
    local_args.extend(FAST.iter().map(Into::into));
    ok(&run(&local_args));
    assert!(
        std::fs::read(&out).ok() == std::fs::read(&local).ok(),
        "mount and local encodes differ"
    );
    let scenes_bytes: u64 = list.scenes.iter().map(|s| s.len).sum();
    let total = fetched(&mnt);
    assert!(
        (scenes_bytes..scenes_bytes + scenes_bytes / 100 + (256 << 10)).contains(&total),
        "fetched {total} bytes for {scenes_bytes} bytes of scenes"
    );
    assert_eq!(dav1d_frames(&out, &d.join("decoded.y4m")), 250);
}

/// The end-to-end case for writable mounts: `encode -o MOUNT/out/x.ivf` writes its
/// output beside the target under a temporary name and renames it into place, all through
/// the mount; the object lands under the final name and decodes to every frame.
#[test]
fn encode_writes_its_output_through_a_writable_mount() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (_server, m) = store_with_key(d);
    let frames = 40;
    let clip = y4m(d, "clip.y4m", frames, "yuv420p");
    let mnt = d.join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir");
    m.run(&[
        "mount".as_ref(),
        mnt.as_os_str(),
        "--write-dir".as_ref(),
        "out=encodes/".as_ref(),
    ]);
    let _guard = Mounted(mnt.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !mnt.join("out").is_dir() {
        assert!(
            Instant::now() < deadline,
            "the mount did not show the writable directory"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let out = mnt.join("out/x.ivf");
    let mut args = a!["encode", &clip, "-o", &out, "--work-dir", d.join("work")].to_vec();
    args.extend(FAST.iter().map(Into::into));
    ok(&run(&args));
    let names: Vec<String> = std::fs::read_dir(mnt.join("out"))
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["x.ivf"], "only the final name is left in the mount");

    let got = d.join("got.ivf");
    m.run(&[
        "get".as_ref(),
        "encodes/x.ivf".as_ref(),
        "-o".as_ref(),
        got.as_os_str(),
    ]);
    assert_eq!(
        dav1d_frames(&got, &d.join("decoded.y4m")),
        u64::from(frames)
    );
    let listed = Command::new(&m.bin)
        .env("MEZZFS_STORE", "s3://media/movies")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["--quiet", "--endpoint-url", &m.endpoint, "ls", "encodes/"])
        .output()
        .expect("mezzfs ls");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("encodes/x.ivf") && !listed.contains("partial"),
        "the store holds the final name only: {listed}"
    );
}
