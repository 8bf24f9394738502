//! The mount point's state before and after a mount: refusing to hide files already in the
//! directory, recognising a dead mount (its process died and nothing unmounted it), clearing
//! it, and a guard process that clears the mount if this process dies without unmounting.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::session::{MountError, is_mount_point};

/// Refuses a mount point that holds files: mounting over them would hide them.
pub fn refuse_nonempty(mountpoint: &Path) -> Result<(), MountError> {
    let mut entries = std::fs::read_dir(mountpoint).map_err(|cause| MountError::Mount {
        path: mountpoint.to_path_buf(),
        cause,
    })?;
    match entries.next() {
        None => Ok(()),
        Some(entry) => Err(MountError::NotEmpty {
            path: mountpoint.to_path_buf(),
            example: entry
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .unwrap_or_default(),
        }),
    }
}

/// Whether `path` is a mount point whose connection is gone: listing it fails with
/// "Transport endpoint is not connected" (or "connection aborted").
pub fn is_dead_mount(path: &Path) -> bool {
    // Listing needs a request to the filesystem; a stat may be answered from cached attributes.
    let dead = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::NotConnected | io::ErrorKind::ConnectionAborted
        )
    };
    match std::fs::read_dir(path) {
        Err(e) => dead(&e) && is_mount_point_lenient(path),
        Ok(_) => false,
    }
}

/// [`is_mount_point`] without canonicalising through the dead mount itself.
fn is_mount_point_lenient(path: &Path) -> bool {
    if is_mount_point(path) {
        return true;
    }
    let abs = match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            match std::fs::canonicalize(parent) {
                Ok(p) => p.join(name),
                Err(_) => return false,
            }
        }
        _ => return false,
    };
    std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|info| {
        info.lines()
            .filter_map(|l| l.split(' ').nth(4))
            .any(|mp| Path::new(&crate::session::unescape_mountinfo(mp)) == abs)
    })
}

/// Detaches a dead mount at `mountpoint` (lazily, so nothing holding it blocks). Returns
/// whether there was one.
pub fn clear_dead_mount(mountpoint: &Path) -> Result<bool, MountError> {
    if !is_dead_mount(mountpoint) {
        return Ok(false);
    }
    let err = |cause| MountError::Unmount {
        path: mountpoint.to_path_buf(),
        cause,
    };
    let out = Command::new("fusermount3")
        .args(["-u", "-z", "--"])
        .arg(mountpoint)
        .output()
        .map_err(err)?;
    if !out.status.success() {
        return Err(err(io::Error::other(format!(
            "a dead mount is left there and fusermount3 could not detach it: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))));
    }
    Ok(true)
}

/// A process that outlives this one and, when this one dies without unmounting (even by
/// SIGKILL), detaches the mount if it is dead. fusermount3's auto-unmount does the same when
/// it is allowed (root, or user_allow_other); the guard covers the other cases and the helper
/// itself being killed.
#[derive(Debug)]
pub struct Guard {
    child: Child,
    /// Never written: its closing (this process ending) wakes the guard.
    pipe: Option<ChildStdin>,
}

/// Starts the guard for `mountpoint`. Call it before mounting, so the guard holds no file of
/// the mount (it must not keep the FUSE connection alive).
pub fn spawn_guard(mountpoint: &Path) -> io::Result<Guard> {
    use std::os::unix::process::CommandExt;
    let mountpoint: PathBuf = std::path::absolute(mountpoint)?;
    // `ls` needs a request to the filesystem, so it fails only on a dead mount (or a missing
    // directory, where fusermount3 then fails quietly); a live mount made since is left alone.
    let script =
        r#"cat >/dev/null; ls -- "$0" >/dev/null 2>&1 || exec fusermount3 -u -z -q -- "$0""#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&mountpoint)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a signal to this one's group (Ctrl-C, kill -- -PGID) must
        // leave the guard running.
        .process_group(0)
        .spawn()?;
    let pipe = child.stdin.take();
    Ok(Guard { child, pipe })
}

impl Guard {
    /// Ends the guard after a clean unmount (it finds the directory live and exits).
    pub fn release(mut self) {
        self.pipe = None;
        let _ = self.child.wait();
    }
}
