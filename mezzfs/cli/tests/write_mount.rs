//! Writing through the mount (`--write-dir NAME=PREFIX`), against the real S3 test server and a
//! real FUSE mount: files written in order become objects at close, equal to what was written
//! and readable by `mezzfs get` and by another mount; writes out of order, existing names,
//! deletes without permission, a store that goes away and a killed mount all leave no object,
//! and `mezzfs gc` finds and aborts the uploads left behind. Objects stored before the mount
//! show in its writable directory.
//!
//! Needs /dev/fuse, fusermount3 and ffmpeg (scripts/test.sh installs them), and root.

#![allow(unsafe_code)] // close(2) itself: the commit's result is what close returns

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Kind, Mount, World, get, listed, put, stderr};
use mezz_testkit::random_bytes;

fn write_mount(w: &World, name: &str, extra: &[&str]) -> Mount {
    let mut args = vec!["--write-dir", "out=encodes/"];
    if !extra.contains(&"--read-timeout") {
        args.extend(["--read-timeout", "12s"]);
    }
    args.extend_from_slice(extra);
    Mount::start(w, name, &args)
}

/// Unfinished uploads `mezzfs gc --dry-run` reports (one line each).
fn unfinished(w: &World) -> Vec<String> {
    let out = w.ok(&["gc", "encodes/", "--older-than", "0s", "--dry-run"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// Waits (up to 30 s) until `mezzfs gc --dry-run` sees an unfinished upload, and insists
/// on one.
fn wait_for_an_upload(w: &World) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && unfinished(w).is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!unfinished(w).is_empty(), "an upload is under way");
}

fn sh(script: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .expect("sh")
}

#[test]
fn dd_of_256_mib_equals_get_and_a_second_mount_reads_it() {
    let w = World::new(Kind::S3);
    let data = random_bytes(256 << 20, 18);
    let src = w.path("src.bin");
    common::write(&src, &data);
    let m = write_mount(&w, "mnt", &["--memory", "64MiB"]);
    let dst = m.file("out/scenes/big.bin");
    std::fs::create_dir(m.file("out/scenes")).expect("mkdir in the writable directory");
    let out = sh(&format!(
        "dd if={} of={} bs=1M status=none",
        src.display(),
        dst.display()
    ));
    assert!(out.status.success(), "dd: {}", stderr(&out));
    assert_eq!(
        std::fs::metadata(&dst).expect("written file").len(),
        data.len() as u64
    );
    assert!(get(&w, "encodes/scenes/big.bin") == data, "get differs");

    let r = Mount::start(&w, "mnt2", &["--object", "big=encodes/scenes/big.bin"]);
    let back = std::fs::read(r.file("big")).expect("read back");
    assert!(back == data, "a second mount reads other bytes");
    assert!(
        unfinished(&w).is_empty(),
        "a committed write leaves no upload"
    );
}

#[test]
fn a_write_out_of_order_is_einval_and_nothing_is_stored() {
    let w = World::new(Kind::S3);
    let m = write_mount(&w, "mnt", &[]);
    let path = m.file("out/seek.bin");
    let f = File::create(&path).expect("create");
    f.write_all_at(&[1; 4096], 0).expect("first write");
    f.write_all_at(&[2; 4096], 4096).expect("in order");
    let e = f.write_all_at(&[3; 10], 100).expect_err("a backward write");
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}");
    let e = f
        .write_all_at(&[3; 10], 1 << 20)
        .expect_err("a forward gap");
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}");
    let closed = close(f);
    assert!(closed.is_err(), "close of a refused file fails");
    let log = m.log();
    assert!(
        log.contains("encodes/seek.bin") && log.contains("offset 100") && log.contains("8192"),
        "the log names the file and offsets: {log}"
    );
    assert!(!listed(&w, "encodes/").contains("seek.bin"));
    assert!(!path.exists(), "the file is gone from the directory");
    let stats = m.stats();
    assert!(stats["write_errors"].as_u64() >= Some(1), "{stats}");
    assert_eq!(stats["objects_stored"], 0, "{stats}");
}

#[test]
fn existing_names_overwrite_and_delete_need_their_flags() {
    let w = World::new(Kind::S3);
    put(&w, b"old bytes", "encodes/taken.bin", "1MiB");
    let m = write_mount(&w, "mnt", &[]);
    let e = File::create(m.file("out/taken.bin")).expect_err("an existing object");
    assert_eq!(e.raw_os_error(), Some(libc::EEXIST), "EEXIST: {e}");
    std::fs::write(m.file("out/new.bin"), b"new").expect("a new name");
    let e = File::create(m.file("out/new.bin")).expect_err("written once already");
    assert_eq!(e.raw_os_error(), Some(libc::EEXIST), "EEXIST: {e}");
    let e = std::fs::remove_file(m.file("out/new.bin")).expect_err("no --allow-delete");
    assert_eq!(e.raw_os_error(), Some(libc::EPERM), "EPERM: {e}");
    assert_eq!(get(&w, "encodes/new.bin"), b"new");
    drop(m);

    // A reader holding the old version open keeps reading it after an overwrite.
    let r = Mount::start(&w, "reader", &["--object", "t=encodes/taken.bin"]);
    let mut old = File::open(r.file("t")).expect("open the old version");
    let m = write_mount(&w, "mnt3", &["--allow-overwrite", "--allow-delete"]);
    std::fs::write(m.file("out/taken.bin"), b"newer bytes").expect("overwrite");
    assert_eq!(get(&w, "encodes/taken.bin"), b"newer bytes");
    let mut text = String::new();
    old.read_to_string(&mut text)
        .expect("the old version still reads");
    assert_eq!(text, "old bytes");
    std::fs::remove_file(m.file("out/taken.bin")).expect("delete allowed");
    assert!(!listed(&w, "encodes/").contains("taken.bin"));
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn objects_stored_before_the_mount_show_in_its_writable_directory() {
    let w = World::new(Kind::S3);
    put(&w, &random_bytes(300_000, 11), "encodes/old.bin", "1MiB");
    put(&w, b"scene one", "encodes/scenes/s1.ivf", "1MiB");
    put(&w, b"not here", "elsewhere/x.bin", "1MiB");
    let m = write_mount(&w, "mnt", &["--allow-delete"]);
    // Found by name (stat), with the object's size, before any listing...
    let meta = std::fs::metadata(m.file("out/old.bin")).expect("stat a stored object");
    assert_eq!(meta.len(), 300_000);
    let e = std::fs::metadata(m.file("out/missing.bin")).expect_err("no such object");
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}");
    // ...and listed, directories included.
    assert_eq!(names(&m.file("out")), ["old.bin", "scenes"]);
    assert_eq!(names(&m.file("out/scenes")), ["s1.ivf"]);
    // Writing over a stored object still needs --allow-overwrite.
    let e = std::fs::write(m.file("out/old.bin"), b"x").expect_err("exists");
    assert_eq!(e.raw_os_error(), Some(libc::EEXIST), "EEXIST: {e}");
    // rm of an object stored before the mount deletes it.
    std::fs::remove_file(m.file("out/scenes/s1.ivf")).expect("rm a stored object");
    assert!(!listed(&w, "encodes/").contains("s1.ivf"));
    assert_eq!(get(&w, "encodes/old.bin").len(), 300_000);
}

#[test]
fn two_writers_and_a_reader_at_once() {
    let w = World::new(Kind::S3);
    let movie = random_bytes(24 << 20, 5);
    put(&w, &movie, "movie", "8MiB");
    let m = write_mount(&w, "mnt", &["--object", "movie", "--memory", "32MiB"]);
    let a = random_bytes(20 << 20, 6);
    let b = random_bytes(9 << 20, 7);
    let writers: Vec<_> = [("a.bin", a.clone()), ("b.bin", b.clone())]
        .into_iter()
        .map(|(name, data)| {
            let path = m.file(&format!("out/{name}"));
            std::thread::spawn(move || {
                let mut f = File::create(&path).expect("create");
                for piece in data.chunks(100_000) {
                    f.write_all(piece).expect("write");
                }
                close(f).expect("close commits");
            })
        })
        .collect();
    let read = std::fs::read(m.file("movie")).expect("read the existing object");
    for t in writers {
        t.join().expect("writer");
    }
    assert!(read == movie, "the reader is unaffected");
    assert!(get(&w, "encodes/a.bin") == a);
    assert!(get(&w, "encodes/b.bin") == b);
    // The mount's statistics count the writes and the stored files.
    let stats = m.stats();
    assert_eq!(stats["bytes_written"], 29u64 << 20, "{stats}");
    assert_eq!(stats["objects_stored"], 2, "{stats}");
    assert_eq!(stats["write_errors"], 0, "{stats}");
}

#[test]
fn ffmpeg_writes_fragmented_mp4_and_ivf_that_decode() {
    let w = World::new(Kind::S3);
    let m = write_mount(&w, "mnt", &[]);
    let frames = 48;
    for (file, args) in [
        ("clip.mp4", "-c:v mpeg4 -movflags +frag_keyframe+empty_moov"),
        ("clip.ivf", "-c:v libvpx -b:v 300k -seekable 0"),
    ] {
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
            .args(["-f", "lavfi", "-i"])
            .arg(format!(
                "testsrc=size=160x90:rate=24:duration={}",
                frames / 24
            ))
            .args(args.split(' '))
            .arg(m.file(&format!("out/{file}")))
            .output()
            .expect("ffmpeg");
        assert!(out.status.success(), "ffmpeg {file}: {}", stderr(&out));
        let local = w.path(file);
        std::fs::write(&local, get(&w, &format!("encodes/{file}"))).expect("local copy");
        assert_eq!(decoded_frames(&local), frames, "{file}");
    }
}

#[test]
fn a_store_that_goes_away_mid_write_fails_the_close_and_gc_aborts_the_upload() {
    let mut w = World::new(Kind::S3);
    let m = write_mount(
        &w,
        "mnt",
        &[
            "--request-timeout",
            "2s",
            "--read-timeout",
            "6s",
            "--max-attempts",
            "2",
        ],
    );
    let mut f = File::create(m.file("out/cut.bin")).expect("create");
    // Enough for several pieces of the part's multipart upload to be under way.
    f.write_all(&random_bytes(20 << 20, 9))
        .expect("writes before the store goes");
    // The mount uploads behind the writer: wait until the upload has begun, or the store
    // could go before there is anything to cut off.
    wait_for_an_upload(&w);
    let server = w.server.take().expect("server");
    let port = server.endpoint().rsplit(':').next().map(String::from);
    server.shutdown();
    let started = Instant::now();
    let _ = f.write_all(&random_bytes(1 << 20, 10));
    let closed = close(f);
    assert!(closed.is_err(), "close reports the failed upload");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "close answered within the read timeout (took {:?})",
        started.elapsed()
    );
    assert!(m.log().contains("not stored"), "log: {}", m.log());
    drop(m);
    let _ = port;
    w.server = Some(
        mezz_s3_server::S3TestServer::start(&w.dir.path().join("s3"), &[common::BUCKET])
            .expect("restart"),
    );
    assert!(!listed(&w, "encodes/").contains("cut.bin"), "no object");
    let left = unfinished(&w);
    assert!(!left.is_empty(), "the cut-off upload is found");
    w.ok(&["gc", "encodes/", "--older-than", "0s"]);
    assert!(unfinished(&w).is_empty(), "gc aborted it");
}

#[test]
fn kill_9_mid_write_leaves_no_object_and_the_next_mount_reports_the_upload() {
    let w = World::new(Kind::S3);
    let m = write_mount(&w, "mnt", &[]);
    let path = m.file("out/killed.bin");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "head -c 40000000 /dev/urandom > {}; sleep 30",
            path.display()
        ))
        .stdin(Stdio::null())
        .spawn()
        .expect("writer");
    // Wait until the writer has handed over enough for an upload to start.
    wait_for_an_upload(&w);
    Command::new("kill")
        .arg("-9")
        .arg(m.pid.to_string())
        .status()
        .expect("kill");
    assert!(m.wait_gone(Duration::from_secs(10)), "the mount is gone");
    let _ = child.kill();
    let _ = child.wait();
    assert!(!listed(&w, "encodes/").contains("killed.bin"), "no object");
    let next = write_mount(&w, "mnt2", &[]);
    assert!(
        next.log().contains("unfinished uploads") && next.log().contains("mezzfs gc"),
        "the next mount reports them: {}",
        next.log()
    );
    w.ok(&["gc", "encodes/", "--older-than", "0s"]);
    assert!(unfinished(&w).is_empty());
}

/// Closes `f` and returns what close(2) said (the commit's result).
fn close(f: File) -> std::io::Result<()> {
    use std::os::fd::IntoRawFd;
    let fd = f.into_raw_fd();
    // SAFETY: `fd` was just taken from a File, so it is open and owned here.
    let r = unsafe { libc::close(fd) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Frames ffmpeg decodes from `file`.
fn decoded_frames(file: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("ffprobe");
    assert!(out.status.success(), "ffprobe: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe said {:?}", String::from_utf8_lossy(&out.stdout)))
}
