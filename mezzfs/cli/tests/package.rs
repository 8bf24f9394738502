//! The Debian package (issue 20), built by scripts/build-deb.sh from the binaries this test
//! run already built (no second build), unpacked into a scratch root with `dpkg -x`: its
//! binaries run, its man page reads with `man -l`, and an fstab entry mounts an object of the
//! S3 test server through its /sbin/mount.mezzfs. The mount runs in a private mount namespace
//! where the package's /usr is laid over the system's (a read-only overlay), so nothing is
//! installed on the machine and /etc/fstab is not touched.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{Kind, World, put, stderr};
use mezz_testkit::random_bytes;

/// The package's files, unpacked once for both tests.
fn unpacked() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let bins = Path::new(env!("CARGO_BIN_EXE_mezzfs"))
            .parent()
            .expect("bin dir")
            .to_path_buf();
        for b in ["segment-encode", "abr-sim", "replay-viz"] {
            assert!(
                bins.join(b).is_file(),
                "{} is not built: run `cargo test --workspace` (it builds every binary) or \
                 `cargo build --workspace --bins` first",
                bins.join(b).display()
            );
        }
        // Kept for the whole test run (both tests use it); removed with the process's tmp.
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-deb.sh");
        let out = Command::new("bash")
            .arg(script)
            .arg(&bins)
            .arg(dir.join("out"))
            .output()
            .expect("build-deb.sh runs");
        assert!(out.status.success(), "build-deb.sh: {}", stderr(&out));
        let deb = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(deb.ends_with(".deb"), "no package path: {deb}");
        let root = dir.join("root");
        let x = Command::new("dpkg")
            .args(["-x", &deb])
            .arg(&root)
            .output()
            .expect("dpkg -x runs");
        assert!(x.status.success(), "dpkg -x: {}", stderr(&x));
        root
    })
}

#[test]
fn the_package_holds_working_binaries_man_pages_and_completions() {
    let root = unpacked();
    for b in ["mezzfs", "segment-encode", "abr-sim", "replay-viz"] {
        let out = Command::new(root.join("usr/bin").join(b))
            .arg("--help")
            .output()
            .expect("runs");
        assert!(out.status.success(), "{b} --help: {}", stderr(&out));
    }
    let helper = root.join("usr/sbin/mount.mezzfs");
    assert_eq!(
        std::fs::read_link(&helper).expect("mount.mezzfs is a link"),
        Path::new("../bin/mezzfs")
    );
    let man = Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(root.join("usr/share/man/man1/mezzfs-mount.1.gz"))
        .env("MANWIDTH", "100")
        .output()
        .expect("man runs");
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(man.status.success(), "man -l: {}", stderr(&man));
    assert!(page.contains("mezzfs-mount"), "{page}");
    assert!(page.contains("--metrics-listen"), "{page}");
    for f in [
        "usr/share/man/man1/mezzfs.1.gz",
        "usr/share/man/man1/mezzfs-doctor.1.gz",
        "usr/share/bash-completion/completions/mezzfs",
        "usr/share/zsh/vendor-completions/_mezzfs",
        "usr/share/fish/vendor_completions.d/mezzfs.fish",
        "usr/share/doc/mezz/examples/mezzfs-mount@.service",
    ] {
        assert!(root.join(f).is_file(), "{f} missing from the package");
    }
}

#[test]
fn an_fstab_entry_mounts_an_object_through_mount_mezzfs() {
    let root = unpacked();
    let w = World::new(Kind::S3);
    let data = random_bytes(3 << 20, 9);
    put(&w, &data, "movies/movie.y4m", "1MiB");
    let src = w.path("movies_movie.y4m.src");
    let mnt = w.path("mnt");
    std::fs::create_dir_all(&mnt).expect("mountpoint");
    let server = w.server.as_ref().expect("server");
    let fstab = w.path("fstab");
    std::fs::write(
        &fstab,
        format!(
            "# mezzfs test\nmovies/movie.y4m {} mezzfs _netdev,ro,store={},key-file={},endpoint-url={},region={} 0 0\n",
            mnt.display(),
            w.store_url(),
            w.key.display(),
            server.endpoint(),
            mezz_s3_server::REGION
        ),
    )
    .expect("fstab");
    // The package's /usr over the system's, in this namespace only; mount(8) finds
    // /sbin/mount.mezzfs there. The file is compared and unmounted before the namespace ends.
    let script = format!(
        "set -e
         mount -t overlay overlay -o lowerdir={root}/usr:/usr /usr
         mount -T {fstab} {mnt}
         cmp {mnt}/movies/movie.y4m {src}
         grep -q ' {mnt} fuse.mezzfs ' /proc/self/mounts
         umount {mnt}",
        root = root.display(),
        fstab = fstab.display(),
        mnt = mnt.display(),
        src = src.display(),
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("AWS_ACCESS_KEY_ID", mezz_s3_server::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", mezz_s3_server::SECRET_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("XDG_STATE_HOME", w.path("state"))
        .output()
        .expect("unshare runs");
    assert!(
        out.status.success(),
        "mount -T fstab: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    assert_eq!(std::fs::read(&src).expect("source").len(), data.len());

    // An unknown option is refused by the helper, clearly, before anything is mounted.
    std::fs::write(
        &fstab,
        format!(
            "movies/movie.y4m {} mezzfs ro,stor=s3://media 0 0\n",
            mnt.display()
        ),
    )
    .expect("fstab");
    let script = format!(
        "mount -t overlay overlay -o lowerdir={}/usr:/usr /usr && mount -T {} {}",
        root.display(),
        fstab.display(),
        mnt.display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare runs");
    assert!(!out.status.success(), "mounted with an unknown option");
    let msg = stderr(&out);
    assert!(msg.contains("mount.mezzfs: unknown option 'stor'"), "{msg}");
}
