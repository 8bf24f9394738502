//! Mounting and unmounting: the checks that turn kernel-level failures into clear errors, the
//! mount options, and a handle that unmounts exactly once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fuser::{BackgroundSession, Config, MountOption, SessionACL, SessionUnmounter};

use crate::fs::{MAX_READ, MezzFs};

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error(
        "/dev/fuse is missing: load the fuse kernel module (modprobe fuse) or, in a container, pass the device through (--device /dev/fuse)"
    )]
    NoFuseDevice,
    #[error(
        "/dev/fuse cannot be opened ({0}); FUSE needs read-write access to it (in a container: --cap-add SYS_ADMIN --device /dev/fuse)"
    )]
    FuseDeviceAccess(std::io::Error),
    #[error(
        "fusermount3 was not found in PATH; install Debian's fuse3 package (apt-get install fuse3)"
    )]
    NoFusermount,
    #[error("mount point {0} does not exist")]
    NoMountpoint(PathBuf),
    #[error("mount point {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("{0} is already a mount point; unmount it first (mezzfs unmount {0})")]
    AlreadyMounted(PathBuf),
    #[error(
        "mount point {} is not empty (it holds '{example}'); mounting would hide its files: use an empty directory, or pass --nonempty to mount over them", path.display()
    )]
    NotEmpty { path: PathBuf, example: String },
    #[error("mounting at {path}: {cause}")]
    Mount {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("unmounting {path}: {cause}")]
    Unmount {
        path: PathBuf,
        cause: std::io::Error,
    },
}

#[derive(Clone, Debug)]
pub struct MountOptions {
    /// Let other users (not only the mounting one) read the files.
    pub allow_other: bool,
    /// Threads receiving kernel requests (reads themselves run on the async runtime).
    pub threads: usize,
    /// Shown as the mount's source in /proc/mounts.
    pub fsname: String,
    /// Mount even over a directory holding files (they are hidden until unmounted).
    pub nonempty: bool,
    /// Mounted read-write (the mount has writable directories); read-only otherwise.
    pub writable: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            allow_other: false,
            threads: 2,
            fsname: "mezzfs".into(),
            nonempty: false,
            writable: false,
        }
    }
}

/// Checks what the kernel side needs before anything is fetched, so the error is the cause
/// and not a bare errno from the mount call.
pub fn preflight(mountpoint: &Path) -> Result<(), MountError> {
    let dev = Path::new("/dev/fuse");
    if !dev.exists() {
        return Err(MountError::NoFuseDevice);
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dev)
        .map_err(MountError::FuseDeviceAccess)?;
    if find_in_path("fusermount3").is_none() {
        return Err(MountError::NoFusermount);
    }
    let meta = std::fs::metadata(mountpoint)
        .map_err(|_| MountError::NoMountpoint(mountpoint.to_path_buf()))?;
    if !meta.is_dir() {
        return Err(MountError::NotADirectory(mountpoint.to_path_buf()));
    }
    if is_mount_point(mountpoint) {
        return Err(MountError::AlreadyMounted(mountpoint.to_path_buf()));
    }
    Ok(())
}

pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether `path` is listed as a mount point in /proc/self/mountinfo.
pub fn is_mount_point(path: &Path) -> bool {
    let Ok(canonical) = std::fs::canonicalize(path) else {
        return false;
    };
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mp| Path::new(&unescape_mountinfo(mp)) == canonical)
}

/// Mountinfo escapes space, tab, newline and backslash as octal.
pub(crate) fn unescape_mountinfo(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's effective user and group, read off /proc/self (owned by them), so no
/// unsafe libc call is needed.
pub fn process_owner() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or((u32::MAX, u32::MAX), |m| (m.uid(), m.gid()))
}

/// Whether this user may mount with allow_root/allow_other: root always, others when
/// /etc/fuse.conf says user_allow_other.
fn may_allow_root() -> bool {
    process_owner().0 == 0
        || std::fs::read_to_string("/etc/fuse.conf")
            .is_ok_and(|c| c.lines().any(|l| l.trim() == "user_allow_other"))
}

/// A live mount. Dropping it unmounts.
#[derive(Debug)]
pub struct Mounted {
    mountpoint: PathBuf,
    /// The mount's device number: names its FUSE connection in sysfs after it is detached.
    dev: Option<u64>,
    unmounter: SessionUnmounter,
    session: Option<BackgroundSession>,
    /// Clears the mount should this process die without unmounting.
    guard: Option<crate::mountpoint::Guard>,
}

/// Mounts `fs` at `mountpoint` and serves it from background threads.
pub fn mount(fs: MezzFs, mountpoint: &Path, options: &MountOptions) -> Result<Mounted, MountError> {
    preflight(mountpoint)?;
    if !options.nonempty {
        crate::mountpoint::refuse_nonempty(mountpoint)?;
    }
    // Before mounting, so the guard holds no file of the mount.
    let guard = match crate::mountpoint::spawn_guard(mountpoint) {
        Ok(g) => Some(g),
        Err(e) => {
            tracing::warn!(error = %e, "no guard process: if this process is killed, run mezzfs unmount");
            None
        }
    };
    let mut config = Config::default();
    config.mount_options = vec![
        if options.writable {
            MountOption::RW
        } else {
            MountOption::RO
        },
        MountOption::NoDev,
        MountOption::NoSuid,
        MountOption::NoAtime,
        MountOption::FSName(options.fsname.clone()),
        MountOption::Subtype("mezzfs".into()),
    ];
    let auto_unmount = may_allow_root();
    if auto_unmount {
        // If this process dies (even by SIGKILL), fusermount3 unmounts instead of leaving a
        // dead mount that answers "Transport endpoint is not connected".
        config.mount_options.push(MountOption::AutoUnmount);
    } else {
        tracing::info!(
            "no auto-unmount (needs root or user_allow_other in /etc/fuse.conf): if this process is killed, run mezzfs unmount"
        );
    }
    config.acl = if options.allow_other {
        SessionACL::All
    } else if auto_unmount {
        // fusermount3's auto-unmount needs at least allow_root.
        SessionACL::RootAndOwner
    } else {
        SessionACL::Owner
    };
    config.n_threads = Some(options.threads.max(1));
    config.clone_fd = options.threads > 1;
    let err = |cause| MountError::Mount {
        path: mountpoint.to_path_buf(),
        cause,
    };
    let mut session = fuser::Session::new(fs, mountpoint, &config).map_err(err)?;
    let unmounter = session.unmount_callable();
    let session = session.spawn().map_err(err)?;
    let dev = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(mountpoint).ok().map(|m| m.dev())
    };
    let mounted = Mounted {
        mountpoint: mountpoint.to_path_buf(),
        dev,
        unmounter,
        session: Some(session),
        guard,
    };
    if let Some(dev) = dev {
        raise_kernel_readahead(dev);
    }
    Ok(mounted)
}

fn major_minor(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

/// The kernel reads ahead at most the backing device's `read_ahead_kb` (128 KiB by default
/// for FUSE), whatever the filesystem asked for at init. Raising it to the largest FUSE request
/// lets sequential readers get 1 MiB requests. Best effort: it needs root.
fn raise_kernel_readahead(dev: u64) {
    let (major, minor) = major_minor(dev);
    let file = format!("/sys/class/bdi/{major}:{minor}/read_ahead_kb");
    match std::fs::write(&file, format!("{}", MAX_READ / 1024)) {
        Ok(()) => tracing::debug!(%file, "kernel read-ahead raised"),
        Err(e) => tracing::debug!(%file, error = %e, "kernel read-ahead left at its default"),
    }
}

impl Mounted {
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Whether the session ended on its own (someone ran `mezzfs unmount` or `umount`).
    pub fn is_finished(&self) -> bool {
        self.session.as_ref().is_none_or(|s| s.guard.is_finished())
    }

    /// Unmounts (if still mounted) and waits for the FUSE threads to finish.
    pub fn unmount(mut self) -> Result<(), MountError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), MountError> {
        let err = |cause| MountError::Unmount {
            path: self.mountpoint.clone(),
            cause,
        };
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        let guard = self.guard.take();
        if !session.guard.is_finished() {
            // Detach the mount point at once (lazily: files still open keep being served
            // for a grace period), then make sure the FUSE threads end.
            if lazy_unmount(&self.mountpoint).is_err() {
                self.unmounter.unmount().map_err(err)?;
            }
            if !wait_finished(&session, UNMOUNT_GRACE) {
                // Someone still holds a file open: fail their requests (ENOTCONN) rather
                // than serve them forever.
                if let Some((_, minor)) = self.dev.map(major_minor) {
                    let abort = format!("/sys/fs/fuse/connections/{minor}/abort");
                    if let Err(e) = std::fs::write(&abort, "1") {
                        tracing::warn!(%abort, error = %e, "could not abort the FUSE connection");
                    }
                }
                if !wait_finished(&session, Duration::from_secs(2)) {
                    return Err(err(std::io::Error::other(
                        "the FUSE threads did not stop; files on the mount are still open",
                    )));
                }
            }
        }
        session.join().map_err(err)?;
        if let Some(g) = guard {
            g.release();
        }
        Ok(())
    }
}

/// How long files left open at unmount keep being served before their connection is aborted.
const UNMOUNT_GRACE: Duration = Duration::from_secs(5);

fn wait_finished(session: &BackgroundSession, limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while !session.guard.is_finished() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn lazy_unmount(mountpoint: &Path) -> std::io::Result<()> {
    let out = std::process::Command::new("fusermount3")
        .args(["-u", "-z", "-q", "--"])
        .arg(mountpoint)
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            tracing::warn!(error = %e, "unmount failed");
        }
    }
}

/// Unmounts a mezzfs mount made by another process (`mezzfs unmount`). `lazy` detaches it
/// even while files are open (they keep working until closed).
pub fn unmount_path(mountpoint: &Path, lazy: bool) -> Result<(), MountError> {
    if find_in_path("fusermount3").is_none() {
        return Err(MountError::NoFusermount);
    }
    if !is_mount_point(mountpoint) {
        return Err(MountError::Unmount {
            path: mountpoint.to_path_buf(),
            cause: std::io::Error::other("not a mount point"),
        });
    }
    let out = std::process::Command::new("fusermount3")
        .arg("-u")
        .args(lazy.then_some("-z"))
        .arg("--")
        .arg(mountpoint)
        .output()
        .map_err(|cause| MountError::Unmount {
            path: mountpoint.to_path_buf(),
            cause,
        })?;
    if !out.status.success() {
        let mut msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if msg.contains("busy") {
            msg.push_str(" (files on it are open; close them, or detach now with --lazy)");
        }
        return Err(MountError::Unmount {
            path: mountpoint.to_path_buf(),
            cause: std::io::Error::other(msg),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape_mountinfo("/x\\134y"), "/x\\y");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
        assert_eq!(unescape_mountinfo("/end\\04"), "/end\\04");
    }

    #[test]
    fn root_is_a_mount_point_and_a_fresh_dir_is_not() {
        assert!(is_mount_point(Path::new("/")));
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!is_mount_point(dir.path()));
    }
}
