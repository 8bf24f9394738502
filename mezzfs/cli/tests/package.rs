//! The Debian package (issue 20), built by scripts/build-deb.sh from the binaries this test
//! run already built (no second build), unpacked into a scratch root with `dpkg -x`: its
//! binaries run, `man NAME` shows each binary's page, each binary has bash, zsh and fish
//! completions, and an fstab entry mounts an object of the S3 test server through its
//! /sbin/mount.mezzfs. `man` and the mount run in a private mount namespace where the
//! package's /usr is laid over the system's (a read-only overlay), so nothing is installed on
//! the machine and /etc/fstab is not touched.
//!
//! Each test builds its own package in a temporary directory (~100 MB with the unpacked
//! files) and removes it when it ends; when a test fails, the directory is kept for a look at
//! the package, and the failure output says where.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Kind, World, put, stderr};
use mezz_testkit::random_bytes;

const BINARIES: [&str; 4] = ["mezzfs", "segment-encode", "abr-sim", "replay-viz"];

/// A package built and unpacked for one test.
struct Package {
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
}

impl Package {
    fn build() -> Package {
        let bins = Path::new(env!("CARGO_BIN_EXE_mezzfs"))
            .parent()
            .expect("bin dir")
            .to_path_buf();
        for b in BINARIES {
            assert!(
                bins.join(b).is_file(),
                "{} is not built: run `cargo test --workspace` (it builds every binary) or \
                 `cargo build --workspace --bins` first",
                bins.join(b).display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("mezz-package-test-")
            .tempdir()
            .expect("tempdir");
        let package = Package {
            root: dir.path().join("root"),
            dir: Some(dir),
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-deb.sh");
        let out = Command::new("bash")
            .arg(script)
            .arg(&bins)
            .arg(package.path("out"))
            .output()
            .expect("build-deb.sh runs");
        assert!(out.status.success(), "build-deb.sh: {}", stderr(&out));
        let deb = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(deb.ends_with(".deb"), "no package path: {deb}");
        let x = Command::new("dpkg")
            .args(["-x", &deb])
            .arg(&package.root)
            .output()
            .expect("dpkg -x runs");
        assert!(x.status.success(), "dpkg -x: {}", stderr(&x));
        package
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.parent().expect("scratch dir").join(name)
    }

    /// Runs `script` with `sh` in a private mount namespace where the package's /usr is laid
    /// over the system's.
    fn installed(&self, script: &str) -> Command {
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount -t overlay overlay -o lowerdir={}/usr:/usr /usr && {script}",
                self.root.display()
            ));
        c
    }
}

impl Drop for Package {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            eprintln!(
                "package test failed: the package and its unpacked files are kept in {} \
                 (out/*.deb, root/); remove it when done",
                dir.keep().display()
            );
        }
    }
}

#[test]
fn the_package_holds_working_binaries_man_pages_and_completions() {
    let p = Package::build();
    let root = &p.root;
    for b in BINARIES {
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
    // `man NAME` as after `apt install`: each page found by name on the system's man path,
    // each naming its command and an option of its own.
    let pages = [
        ("mezzfs", "doctor"),
        ("mezzfs-mount", "--metrics-listen"),
        ("mezzfs-doctor", "--store"),
        ("segment-encode", "worker"),
        ("segment-encode-worker", "--metrics-listen"),
        ("segment-encode-encode", "--quantizer"),
        ("abr-sim", "compare"),
        ("abr-sim-run", "--algo"),
        ("replay-viz", "--snapshot-at"),
    ];
    for (page, option) in pages {
        let out = p
            .installed(&format!("man -P cat {page}"))
            .env("MANWIDTH", "100")
            .output()
            .expect("unshare runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "man {page}: {}", stderr(&out));
        assert!(
            text.contains(page) && text.contains(option),
            "man {page} lacks '{option}':\n{text}"
        );
        assert!(!text.contains("generate-assets"), "man {page}:\n{text}");
    }
    for b in BINARIES {
        for (f, says) in [
            (
                format!("usr/share/bash-completion/completions/{b}"),
                "complete -F",
            ),
            (format!("usr/share/zsh/vendor-completions/_{b}"), "#compdef"),
            (
                format!("usr/share/fish/vendor_completions.d/{b}.fish"),
                "complete -c",
            ),
        ] {
            let text = std::fs::read_to_string(root.join(&f))
                .unwrap_or_else(|e| panic!("{f} missing from the package: {e}"));
            assert!(text.contains(says) && text.contains(b), "{f}:\n{text}");
            assert!(
                !text.contains("generate-assets"),
                "{f} offers --generate-assets"
            );
        }
    }
    assert!(
        root.join("usr/share/doc/mezz/examples/mezzfs-mount@.service")
            .is_file(),
        "the example unit is missing from the package"
    );
}

#[test]
fn an_fstab_entry_mounts_an_object_through_mount_mezzfs() {
    let p = Package::build();
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
    // mount(8) finds the package's /sbin/mount.mezzfs. The file is compared and unmounted
    // before the namespace ends.
    let script = format!(
        "set -e
         mount -T {fstab} {mnt}
         cmp {mnt}/movies/movie.y4m {src}
         grep -q ' {mnt} fuse.mezzfs ' /proc/self/mounts
         umount {mnt}",
        fstab = fstab.display(),
        mnt = mnt.display(),
        src = src.display(),
    );
    let out = p
        .installed(&script)
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
    let script = format!("mount -T {} {}", fstab.display(), mnt.display());
    let out = p.installed(&script).output().expect("unshare runs");
    assert!(!out.status.success(), "mounted with an unknown option");
    let msg = stderr(&out);
    assert!(msg.contains("mount.mezzfs: unknown option 'stor'"), "{msg}");
}
