//! Renaming in a writable mount (`--write-dir`), against the real S3 test server and a real
//! FUSE mount: the write-to-a-temporary-then-rename pattern tools use lands the object under
//! its final name only (parts copied inside the store, nothing downloaded); a file renamed
//! while still open is stored under its new name; an existing destination is EEXIST unless
//! `--allow-overwrite`; a rename into another writable directory moves the object to its prefix,
//! and one out of them is EXDEV.
//!
//! Needs /dev/fuse and fusermount3 (scripts/test.sh installs them), and root.

#![allow(unsafe_code)] // renameat2(2) itself, for RENAME_NOREPLACE

mod common;

use std::io::Write;

use common::{Kind, Mount, World, get, listed, put};
use mezz_testkit::random_bytes;

fn write_mount(w: &World, name: &str, extra: &[&str]) -> Mount {
    let mut args = vec![
        "--write-dir",
        "out=encodes/",
        "--write-dir",
        "logs=logs/",
        "--read-timeout",
        "12s",
    ];
    args.extend_from_slice(extra);
    Mount::start(w, name, &args)
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Files (objects, parts) the file-backed store keeps under `dir` (emptied folders may stay).
fn files_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                files_under(&e.path())
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn write_a_temporary_close_rename_lands_under_the_final_name_only() {
    let w = World::new(Kind::S3);
    let data = random_bytes(3 << 20, 7);
    let m = write_mount(&w, "mnt", &[]);
    std::fs::create_dir(m.file("out/scenes")).expect("mkdir");
    let tmp = m.file("out/scenes/.movie.ivf.tmp4242");
    std::fs::write(&tmp, &data).expect("write the temporary");
    std::fs::rename(&tmp, m.file("out/scenes/movie.ivf")).expect("rename into place");
    assert_eq!(names_in(&m.file("out/scenes")), ["movie.ivf"]);
    assert_eq!(
        std::fs::metadata(m.file("out/scenes/movie.ivf"))
            .expect("stat")
            .len(),
        data.len() as u64
    );
    assert!(get(&w, "encodes/scenes/movie.ivf") == data, "get differs");
    let ls = listed(&w, "encodes/");
    assert!(ls.contains("movie.ivf") && !ls.contains("tmp4242"), "{ls}");
    assert_eq!(
        files_under(&w.stored_path("encodes/scenes/.movie.ivf.tmp4242.mezz")),
        0,
        "nothing of the temporary is left in the store"
    );

    // Renamed while still open: stored under the new name, never under the old one.
    let mut f = std::fs::File::create(m.file("out/open.tmp")).expect("create");
    f.write_all(&data[..1 << 20]).expect("first half");
    std::fs::rename(m.file("out/open.tmp"), m.file("out/open.bin")).expect("rename while open");
    f.write_all(&data[1 << 20..]).expect("second half");
    drop(f);
    assert!(get(&w, "encodes/open.bin") == data, "get differs");
    assert!(!listed(&w, "encodes/").contains("open.tmp"));
    assert_eq!(files_under(&w.stored_path("encodes/open.tmp.mezz")), 0);

    let r = Mount::start(&w, "mnt2", &["--object", "m=encodes/scenes/movie.ivf"]);
    assert!(
        std::fs::read(r.file("m")).expect("read back") == data,
        "a second mount reads other bytes"
    );
}

#[test]
fn rename_onto_an_existing_name_is_eexist_out_of_the_write_dirs_exdev_and_across_them_moves() {
    let w = World::new(Kind::S3);
    put(&w, b"stored before", "encodes/theirs.bin", "1MiB");
    let m = write_mount(&w, "mnt", &[]);
    std::fs::write(m.file("out/a.bin"), b"aaa").expect("write a");
    std::fs::write(m.file("out/b.bin"), b"bbb").expect("write b");
    for (to, what) in [
        ("out/b.bin", "a file this mount wrote"),
        ("out/theirs.bin", "an object stored before the mount"),
    ] {
        let e = std::fs::rename(m.file("out/a.bin"), m.file(to)).expect_err(what);
        assert_eq!(e.raw_os_error(), Some(libc::EEXIST), "{what}: {e}");
    }
    assert_eq!(get(&w, "encodes/a.bin"), b"aaa");
    assert_eq!(get(&w, "encodes/b.bin"), b"bbb");
    assert_eq!(get(&w, "encodes/theirs.bin"), b"stored before");
    // Out of the writable directories: EXDEV (tools then copy, and reading fails).
    let e = std::fs::rename(m.file("out/a.bin"), m.file("a.bin")).expect_err("read-only tree");
    assert_eq!(e.raw_os_error(), Some(libc::EXDEV), "{e}");
    assert_eq!(get(&w, "encodes/a.bin"), b"aaa");
    // Into another writable directory: the object moves to that directory's prefix.
    std::fs::rename(m.file("out/a.bin"), m.file("logs/a.bin")).expect("across writable dirs");
    assert_eq!(get(&w, "logs/a.bin"), b"aaa");
    assert!(!listed(&w, "encodes/").contains("a.bin"));
    assert!(m.file("logs/a.bin").exists() && !m.file("out/a.bin").exists());
    drop(m);

    let m = write_mount(&w, "mnt2", &["--allow-overwrite"]);
    std::fs::write(m.file("out/c.bin"), b"ccc").expect("write c");
    // `mv --no-clobber` (RENAME_NOREPLACE) is refused even with --allow-overwrite.
    let e = rename_noreplace(&m.file("out/c.bin"), &m.file("out/theirs.bin"))
        .expect_err("RENAME_NOREPLACE");
    assert_eq!(e.raw_os_error(), Some(libc::EEXIST), "{e}");
    assert_eq!(get(&w, "encodes/theirs.bin"), b"stored before");
    std::fs::rename(m.file("out/c.bin"), m.file("out/theirs.bin")).expect("overwrite allowed");
    assert_eq!(get(&w, "encodes/theirs.bin"), b"ccc");
    assert!(!listed(&w, "encodes/").contains("c.bin"));
}

/// renameat2(2) with RENAME_NOREPLACE.
fn rename_noreplace(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &std::path::Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes()).expect("no NUL in a test path")
    };
    let (f, t) = (c(from), c(to));
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
