//! The audit trail (`--audit-log FILE`): who opened which object version under which key, and
//! how many bytes they read before closing it.
//!
//! One JSON object per line, appended: an `opened` line when a file is opened and a `closed`
//! line, with the bytes read, when it is released. Lines are written only at open and close
//! (one `write` each, on a file opened for appending, so a killed process loses nothing
//! already opened or closed); reads are counted in memory, with no system call per read.
//! `mezzfs get` writes the same two lines for itself ([`AuditLog`]); a mount keeps its open
//! handles in a [`MountAudit`].

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use mezz_format::Manifest;
use mezz_object::{LockedObject, ObjectReader};
use serde::Serialize;

/// The object version behind an audited open, and the key that protects it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditObject {
    /// The object's name in its store (for a mount, the source as given).
    pub object: String,
    /// The object version (its id): what the object was when it was opened.
    pub version: String,
    /// The key provider (`local-file`, `aws-kms`) and key id its data key is wrapped under.
    pub key_provider: String,
    pub key_id: String,
}

impl AuditObject {
    /// `reader`'s object, named `source`.
    pub fn of(source: &str, reader: &ObjectReader) -> AuditObject {
        AuditObject::from_manifest(source, reader.manifest())
    }

    /// `object`'s version and key as its manifest names them, named `source`. Written to the
    /// log only once an open has unwrapped the key, which authenticates the same manifest.
    pub fn locked(source: &str, object: &LockedObject) -> AuditObject {
        AuditObject::from_manifest(source, object.unverified_manifest())
    }

    fn from_manifest(source: &str, m: &Manifest) -> AuditObject {
        AuditObject {
            object: source.to_owned(),
            version: m.object_id.clone(),
            key_provider: m.key.provider.clone(),
            key_id: m.key.key_id.clone(),
        }
    }
}

/// The process that opened: user, process id and command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Who {
    pub uid: u32,
    pub pid: u32,
    /// `/proc/PID/cmdline`, arguments joined by spaces; empty when the process is gone.
    pub command: String,
}

impl Who {
    /// Process `pid` of user `uid` (as the kernel reported them with a request).
    pub fn process(uid: u32, pid: u32) -> Who {
        Who {
            uid,
            pid,
            command: command_line(&format!("/proc/{pid}/cmdline")),
        }
    }

    /// This process.
    pub fn this_process() -> Who {
        Who {
            uid: crate::session::process_owner().0,
            pid: std::process::id(),
            command: command_line("/proc/self/cmdline"),
        }
    }
}

fn command_line(path: &str) -> String {
    std::fs::read(path)
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(String::from_utf8_lossy)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

#[derive(Serialize)]
struct Line<'a> {
    time_unix_ms: u64,
    event: &'static str,
    #[serde(flatten)]
    who: &'a Who,
    /// The file opened in a mount; absent for `get`.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(flatten)]
    object: &'a AuditObject,
    handle: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_read: Option<u64>,
}

/// Why an audit line could not be written.
#[derive(Debug, thiserror::Error)]
#[error("audit log {}: {cause}", path.display())]
pub struct AuditError {
    pub path: PathBuf,
    #[source]
    pub cause: std::io::Error,
}

/// The audit log file, appended to (created with mode 0600: it names who read what).
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|cause| AuditError {
                path: path.to_owned(),
                cause,
            })?;
        Ok(AuditLog {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    /// An `opened` line.
    pub fn opened(
        &self,
        handle: u64,
        who: &Who,
        file: Option<&str>,
        object: &AuditObject,
    ) -> Result<(), AuditError> {
        self.write(&Line {
            time_unix_ms: now_ms(),
            event: "opened",
            who,
            file,
            object,
            handle,
            bytes_read: None,
        })
    }

    /// A `closed` line with the bytes read since the open.
    pub fn closed(
        &self,
        handle: u64,
        who: &Who,
        file: Option<&str>,
        object: &AuditObject,
        bytes_read: u64,
    ) -> Result<(), AuditError> {
        self.write(&Line {
            time_unix_ms: now_ms(),
            event: "closed",
            who,
            file,
            object,
            handle,
            bytes_read: Some(bytes_read),
        })
    }

    fn write(&self, line: &Line<'_>) -> Result<(), AuditError> {
        // A struct of strings and integers always serialises.
        let mut text = serde_json::to_vec(line).unwrap_or_default();
        text.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&text).map_err(|cause| AuditError {
            path: self.path.clone(),
            cause,
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

struct OpenFile {
    who: Who,
    file: usize,
    object: usize,
    bytes: u64,
}

/// A mount's audit: its objects and files, and the handles open now with their byte counts.
#[derive(Debug)]
pub struct MountAudit {
    log: AuditLog,
    objects: Vec<AuditObject>,
    files: Vec<String>,
    open: Mutex<HashMap<u64, OpenFile>>,
}

impl std::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenFile")
            .field("file", &self.file)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl MountAudit {
    /// `objects` indexed as the read path's objects, `files` as the mount's file entries.
    pub fn new(log: AuditLog, objects: Vec<AuditObject>, files: Vec<String>) -> MountAudit {
        MountAudit {
            log,
            objects,
            files,
            open: Mutex::default(),
        }
    }

    /// Records the open of file `file` (showing object `object`) as `handle`. An open that
    /// cannot be recorded is an error: the caller refuses it.
    pub fn open(
        &self,
        handle: u64,
        who: Who,
        file: usize,
        object: usize,
    ) -> Result<(), AuditError> {
        let (Some(name), Some(obj)) = (self.files.get(file), self.objects.get(object)) else {
            return Ok(());
        };
        self.log.opened(handle, &who, Some(name), obj)?;
        self.lock().insert(
            handle,
            OpenFile {
                who,
                file,
                object,
                bytes: 0,
            },
        );
        Ok(())
    }

    /// Counts `n` bytes read through `handle` (memory only).
    pub fn read(&self, handle: u64, n: u64) {
        if let Some(f) = self.lock().get_mut(&handle) {
            f.bytes += n;
        }
    }

    /// Records the close of `handle` with its byte count.
    pub fn close(&self, handle: u64) {
        let Some(f) = self.lock().remove(&handle) else {
            return;
        };
        if let Err(e) = self.log.closed(
            handle,
            &f.who,
            Some(&self.files[f.file]),
            &self.objects[f.object],
            f.bytes,
        ) {
            tracing::error!(error = %e, handle, "could not write the audit line of a close");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, OpenFile>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> AuditObject {
        AuditObject {
            object: "clips/a".into(),
            version: "00112233445566778899aabbccddeeff".into(),
            key_provider: "aws-kms".into(),
            key_id: "arn:aws:kms:us-east-1:1:key/k".into(),
        }
    }

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .expect("log")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    #[test]
    fn a_mount_s_open_reads_and_close_make_two_lines_with_the_byte_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let audit = MountAudit::new(
            AuditLog::open(&path).expect("open"),
            vec![object()],
            vec!["a.y4m".into()],
        );
        let who = Who {
            uid: 1000,
            pid: 42,
            command: "cat a.y4m".into(),
        };
        audit.open(7, who, 0, 0).expect("open line");
        audit.read(7, 4096);
        audit.read(7, 100);
        audit.read(8, 1 << 20); // not open: not counted anywhere
        assert_eq!(lines(&path).len(), 1, "nothing written per read");
        audit.close(7);
        audit.close(7); // twice: one line
        let l = lines(&path);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0]["event"], "opened");
        assert_eq!(l[1]["event"], "closed");
        for line in &l {
            assert_eq!(line["uid"], 1000);
            assert_eq!(line["pid"], 42);
            assert_eq!(line["command"], "cat a.y4m");
            assert_eq!(line["file"], "a.y4m");
            assert_eq!(line["object"], "clips/a");
            assert_eq!(line["version"], "00112233445566778899aabbccddeeff");
            assert_eq!(line["key_id"], "arn:aws:kms:us-east-1:1:key/k");
            assert_eq!(line["handle"], 7);
        }
        assert_eq!(l[1]["bytes_read"], 4196);
        assert!(l[0].get("bytes_read").is_none());
    }

    #[test]
    fn this_process_names_its_command() {
        let who = Who::this_process();
        assert_eq!(who.pid, std::process::id());
        assert!(!who.command.is_empty());
        assert!(
            Who::process(0, u32::MAX).command.is_empty(),
            "a gone process"
        );
    }
}
