//! Real FUSE mounts of objects in a real S3-compatible server on loopback: exact bytes through
//! every way of reading (read, pread from many threads, readv, mmap), range files and several
//! objects, objects replaced or tampered with underneath (EIO, never wrong bytes), and the
//! mount's lifecycle (unmount while reading, signals, kill -9, bad arguments).
//!
//! Needs /dev/fuse and fusermount3 (scripts/test.sh installs Debian's fuse3).

#![allow(unsafe_code)] // mmap of a mounted file

mod common;

use std::fs::File;
use std::io::{IoSliceMut, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::process::Command;
use std::time::Duration;

use common::{Kind, Mount, World, is_mounted, put, stderr, write};
use mezz_testkit::{XorShift, random_bytes};

/// Makes the next reads of mounted files reach the mount instead of the kernel's page cache
/// (which the mount keeps across opens). Needs root, as FUSE mounting does here.
fn drop_page_cache() {
    std::fs::write("/proc/sys/vm/drop_caches", "1").expect("dropping the page cache needs root");
}

const SIZE: usize = 40 << 20;

#[test]
fn exact_bytes_through_every_way_of_reading() {
    let w = World::new(Kind::S3);
    let movie = random_bytes(SIZE, 11);
    let extra = random_bytes(3 << 20, 12);
    put(&w, &movie, "films/movie", "8MiB");
    put(&w, &extra, "extra", "1MiB");
    let spec = w.path("spec.json");
    write(
        &spec,
        br#"{"ranges":[{"file":"scenes/s2","source":"films/movie","offset":9000000,"len":7000000}]}"#,
    );
    let m = Mount::start(
        &w,
        "mnt",
        &[
            "--object",
            "movie.bin=films/movie",
            "--object",
            "extra",
            "--range",
            "scenes/s1=films/movie:1000+5MiB",
            "--range",
            "tail=films/movie:39MiB..40MiB",
            "--spec",
            spec.to_str().expect("utf-8"),
        ],
    );

    let mut names: Vec<String> = std::fs::read_dir(&m.dir)
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [".mezzfs-stats", "extra", "movie.bin", "scenes", "tail"]
    );
    assert_eq!(
        std::fs::metadata(m.file("movie.bin")).expect("stat").len(),
        SIZE as u64
    );

    // Whole files, sequentially.
    assert!(
        std::fs::read(m.file("movie.bin")).expect("read") == movie,
        "movie differs"
    );
    assert!(
        std::fs::read(m.file("extra")).expect("read") == extra,
        "extra differs"
    );
    assert!(std::fs::read(m.file("scenes/s1")).expect("read") == movie[1000..1000 + (5 << 20)]);
    assert!(std::fs::read(m.file("scenes/s2")).expect("read") == movie[9_000_000..16_000_000]);
    assert!(std::fs::read(m.file("tail")).expect("read") == movie[39 << 20..]);

    // pread at random offsets and sizes from 8 threads, on a cold page cache.
    drop_page_cache();
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (path, movie) = (m.file("movie.bin"), &movie);
            s.spawn(move || {
                let f = File::open(path).expect("open");
                let mut rng = XorShift::new(100 + t);
                for _ in 0..150 {
                    let len = 1 + (rng.next_u64() % (600 << 10)) as usize;
                    let off = (rng.next_u64() % (SIZE - len) as u64) as usize;
                    let mut buf = vec![0u8; len];
                    f.read_exact_at(&mut buf, off as u64).expect("pread");
                    assert!(
                        buf == movie[off..off + len],
                        "thread {t}: {len} bytes at {off}"
                    );
                }
            });
        }
    });

    // A range file reads like a file of its own: EOF at its end, not the object's.
    {
        let f = File::open(m.file("scenes/s1")).expect("open");
        let mut buf = vec![0u8; 4096];
        let n = f
            .read_at(&mut buf, (5 << 20) - 100)
            .expect("pread near end");
        assert_eq!(n, 100);
        assert!(buf[..100] == movie[1000 + (5 << 20) - 100..1000 + (5 << 20)]);
        assert_eq!(f.read_at(&mut buf, 5 << 20).expect("pread at end"), 0);
    }

    // readv into three buffers.
    drop_page_cache();
    let mut f = File::open(m.file("movie.bin")).expect("open");
    f.seek(SeekFrom::Start(12_345_678)).expect("seek");
    let (mut a, mut b, mut c) = (vec![0u8; 1000], vec![0u8; 70_000], vec![0u8; 5]);
    let mut total = 0;
    {
        let mut bufs = [
            IoSliceMut::new(&mut a),
            IoSliceMut::new(&mut b),
            IoSliceMut::new(&mut c),
        ];
        total += f.read_vectored(&mut bufs).expect("readv");
    }
    assert!(total > 0);
    let joined: Vec<u8> = [a, b, c].concat();
    assert!(
        joined[..total] == movie[12_345_678..12_345_678 + total],
        "readv bytes"
    );
    drop(f);

    // mmap, touched at random pages.
    drop_page_cache();
    let f = File::open(m.file("movie.bin")).expect("open");
    let map = unsafe { memmap2::Mmap::map(&f) }.expect("mmap");
    let mut rng = XorShift::new(5);
    for _ in 0..200 {
        let off = (rng.next_u64() % (SIZE as u64 - 64)) as usize;
        assert!(map[off..off + 64] == movie[off..off + 64], "mmap at {off}");
    }
    assert!(map[..] == movie[..], "whole mmap");
    drop(map);
    drop(f);

    // Read-only, and the statistics add up.
    let err = std::fs::OpenOptions::new()
        .write(true)
        .open(m.file("movie.bin"))
        .expect_err("writes must fail");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    let stats = m.stats();
    assert!(stats["bytes_read"].as_u64().expect("bytes_read") >= SIZE as u64);
    assert!(stats["bytes_fetched"].as_u64().expect("bytes_fetched") > 0);
    assert_eq!(stats["read_errors"], 0, "{stats}");
    assert_eq!(stats["objects"], 2);
    let text = w.ok(&["stats", m.dir.to_str().expect("utf-8")]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("amplification"));

    // A clean unmount: the process ends and prints its summary to the log.
    w.ok(&["unmount", m.dir.to_str().expect("utf-8")]);
    assert!(
        m.wait_gone(Duration::from_secs(10)),
        "mount process still running"
    );
    let log = m.log();
    assert!(
        log.contains("unmounted from outside") && log.contains("amplification"),
        "{log}"
    );
}

#[test]
fn a_scene_reader_fetches_only_its_scene() {
    let w = World::new(Kind::S3);
    let movie = random_bytes(SIZE, 21);
    put(&w, &movie, "movie", "8MiB");
    let m = Mount::start(&w, "mnt", &["--range", "scene=movie:10MiB+6MiB"]);
    assert!(std::fs::read(m.file("scene")).expect("read") == movie[10 << 20..16 << 20]);
    let stats = m.stats();
    let fetched = stats["bytes_fetched"].as_u64().expect("bytes_fetched");
    // Sealed segments carry a 16-byte tag per 16 KiB, and the range's ends round out to
    // whole segments: a little over 6 MiB, nowhere near the 40 MiB object.
    assert!(
        ((6 << 20)..(6 << 20) + (64 << 10)).contains(&fetched),
        "fetched {fetched} bytes for a 6 MiB scene"
    );
}

#[test]
fn sparse_reads_fetch_about_what_they_read() {
    let w = World::new(Kind::S3);
    let movie = random_bytes(SIZE, 31);
    put(&w, &movie, "movie", "8MiB");
    let m = Mount::start(&w, "mnt", &["--object", "movie"]);
    let f = File::open(m.file("movie")).expect("open");
    let mut rng = XorShift::new(9);
    let mut buf = vec![0u8; 64 << 10];
    for _ in 0..64 {
        let off = (rng.next_u64() % ((SIZE as u64 - (64 << 10)) / 4096)) * 4096;
        f.read_exact_at(&mut buf, off).expect("pread");
        assert!(buf[..] == movie[off as usize..off as usize + (64 << 10)]);
    }
    let stats = m.stats();
    let (read, fetched) = (
        stats["bytes_read"].as_u64().expect("read"),
        stats["bytes_fetched"].as_u64().expect("fetched"),
    );
    // The kernel itself reads ahead a little around each random read; the mount must not
    // add megabytes to that.
    assert!(
        fetched as f64 <= 1.5 * read as f64,
        "read {read}, fetched {fetched}"
    );
    // A few reads overlap pages the kernel already holds; most must have reached the mount.
    assert!(read >= 48 * (64 << 10), "read {read}, fetched {fetched}");
}

#[test]
fn an_object_replaced_or_tampered_with_gives_eio_never_wrong_bytes() {
    let w = World::new(Kind::S3);
    let movie = random_bytes(SIZE, 41);
    put(&w, &movie, "movie", "8MiB");
    put(&w, &random_bytes(SIZE, 42), "victim", "8MiB");
    let m = Mount::start(&w, "mnt", &["--object", "movie", "--object", "victim"]);

    // Tamper with one byte of victim's part 2: reads of that segment fail with EIO and the log
    // names object, part and segment; the rest of the object still reads.
    let part = w.part_paths("victim")[2].clone();
    let mut bytes = std::fs::read(&part).expect("part");
    bytes[100_000] ^= 0x40;
    write(&part, &bytes);
    let f = File::open(m.file("victim")).expect("open");
    let mut buf = vec![0u8; 4096];
    let err = f
        .read_exact_at(&mut buf, (16 << 20) + 100_000)
        .expect_err("tampered segment must not read");
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    f.read_exact_at(&mut buf, 1 << 20)
        .expect("an intact part reads");
    let log = m.log();
    assert!(
        log.contains("victim") && log.contains("part 2") && log.contains("failed authentication"),
        "{log}"
    );

    // Replace movie with a new version (the old parts are deleted): unread bytes give EIO.
    // Read-ahead only runs forward (and fetches a header only for reads at the start), so
    // bytes before the one read are surely unread, however far read-ahead got.
    let read_at = 20usize << 20;
    let first = {
        let mut b = vec![0u8; 1 << 20];
        File::open(m.file("movie"))
            .expect("open")
            .read_exact_at(&mut b, read_at as u64)
            .expect("read");
        b
    };
    assert!(first == movie[read_at..read_at + (1 << 20)]);
    put(&w, &random_bytes(SIZE, 43), "movie", "8MiB");
    drop_page_cache();
    let f = File::open(m.file("movie")).expect("open");
    let err = f
        .read_exact_at(&mut buf, 10 << 20)
        .expect_err("the mounted version is gone");
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    assert!(m.stats()["read_errors"].as_u64().expect("read_errors") >= 2);
}

#[test]
fn unmount_while_reading_and_signals_end_the_mount_cleanly() {
    let w = World::new(Kind::S3);
    let movie = random_bytes(SIZE, 51);
    put(&w, &movie, "movie", "8MiB");

    // Unmount while a reader is mid-file: the reader gets bytes or an error, never a hang.
    let m = Mount::start(&w, "a", &["--object", "movie"]);
    let path = m.file("movie");
    let reader = std::thread::spawn(move || {
        let mut f = File::open(path).expect("open");
        let mut buf = vec![0u8; 256 << 10];
        let mut got = 0usize;
        for _ in 0..10_000 {
            match f.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        got
    });
    std::thread::sleep(Duration::from_millis(150));
    let out = Command::new("fusermount3")
        .arg("-u")
        .arg("-z")
        .arg(&m.dir)
        .output()
        .expect("fusermount3");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        m.wait_gone(Duration::from_secs(10)),
        "the mount process must end"
    );
    let got = reader.join().expect("reader thread");
    assert!(got <= SIZE);

    // SIGTERM and SIGINT unmount and exit.
    for (i, sig) in ["-TERM", "-INT"].iter().enumerate() {
        let m = Mount::start(&w, &format!("sig{i}"), &["--object", "movie"]);
        assert!(std::fs::read(m.file("movie")).expect("read")[..4096] == movie[..4096]);
        Command::new("kill")
            .arg(sig)
            .arg(m.pid.to_string())
            .status()
            .expect("kill");
        assert!(
            m.wait_gone(Duration::from_secs(10)),
            "{sig} must end the mount"
        );
        assert!(m.log().contains("amplification"), "{}", m.log());
    }

    // kill -9 leaves no dead mount behind (fusermount3 auto-unmounts).
    let m = Mount::start(&w, "k", &["--object", "movie"]);
    Command::new("kill")
        .arg("-9")
        .arg(m.pid.to_string())
        .status()
        .expect("kill");
    assert!(
        m.wait_gone(Duration::from_secs(10)),
        "kill -9 left a mount at {}",
        m.dir.display()
    );
}

#[test]
fn bad_mount_arguments_fail_clearly_and_leave_nothing_mounted() {
    let w = World::new(Kind::S3);
    put(&w, &random_bytes(1 << 20, 61), "movie", "1MiB");
    let dir = w.path("mnt");
    std::fs::create_dir_all(&dir).expect("dir");
    let d = dir.to_str().expect("utf-8");
    let cases: &[(&[&str], &str)] = &[
        (&["mount", d], "nothing to mount"),
        (&["mount", d, "--object", "nope"], "'nope' not found"),
        (
            &["mount", d, "--range", "r=movie:1MiB+1"],
            "end past the end",
        ),
        (
            &["mount", d, "--range", "r=movie:12"],
            "'12' is not a range (expected START+LENGTH or START..END",
        ),
        (
            &["mount", d, "--object", "a=movie", "--object", "a=movie"],
            "listed twice",
        ),
        (&["mount", d, "--object", "../x=movie"], "'..'"),
        (
            &["mount", d, "--object", "movie", "--memory", "1MiB"],
            "--memory",
        ),
        (
            &["mount", "/nonexistent/dir", "--object", "movie"],
            "does not exist",
        ),
        (
            &["mount", d, "--spec", "/nonexistent/spec.json"],
            "reading spec file",
        ),
        (&["unmount", d], "not a mount point"),
        (&["stats", d], "a mezzfs mount?"),
    ];
    for (args, want) in cases {
        let msg = w.fails(args);
        assert!(
            msg.contains(want),
            "mezzfs {args:?}: wanted '{want}' in: {msg}"
        );
        assert!(!is_mounted(&dir), "mezzfs {args:?} left a mount");
    }
    let spec = w.path("bad.json");
    write(
        &spec,
        b"{\"ranges\": [{\"file\": \"x\", \"source\": \"movie\", \"offset\": -1, \"len\": 2}]}",
    );
    let msg = w.fails(&["mount", d, "--spec", spec.to_str().expect("utf-8")]);
    assert!(msg.contains("line 1"), "{msg}");

    // Without fusermount3 the error says what to install.
    let out = w
        .command()
        .env("PATH", w.path("empty-path"))
        .args(["mount", d, "--object", "movie"])
        .output()
        .expect("run mezzfs");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("apt-get install fuse3"),
        "{}",
        stderr(&out)
    );

    // Mounting twice on one directory.
    let m = Mount::start(&w, "mnt", &["--object", "movie"]);
    let msg = w.fails(&["mount", d, "--object", "movie"]);
    assert!(msg.contains("already a mount point"), "{msg}");
    drop(m);
}
