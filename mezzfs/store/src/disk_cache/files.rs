//! File operations of the cache directory (blocking; callers run them on tokio's blocking
//! pool): atomic writes, reads, the directory scan, temp-file cleanup, free space.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::header::{FileId, HEADER_LEN, encode_header};

/// Temp files are `.tmp.{pid}.{n}.{final name}`: the pid tells whether their writer is alive.
const TEMP_PREFIX: &str = ".tmp.";
/// A writer takes milliseconds to write one block; a temp file this old whose writer we cannot
/// prove alive is a leftover of a killed writer. Generous, because a slow disk is not a crash.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(120);

/// Names of temp files of this process never repeat.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// One cache file found by a scan.
#[derive(Debug)]
pub struct Found {
    pub id: FileId,
    pub bytes: u64,
    pub modified: SystemTime,
}

/// Writes header + `data` as `dir/{id}` so that no reader ever sees part of it: the bytes go
/// to a temp file in the same directory, which is then renamed over the final name. No fsync:
/// a file torn by a power loss fails its checksum and is refetched, and an fsync per block
/// would cost more than the refetch it saves. Returns the file's length.
pub fn write_atomic(dir: &Path, id: FileId, data: &[u8]) -> io::Result<u64> {
    let name = id.file_name();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!("{TEMP_PREFIX}{}.{n}.{name}", std::process::id()));
    let result = (|| {
        let mut f = File::create_new(&temp)?;
        f.write_all(&encode_header(id, data))?;
        f.write_all(data)?;
        drop(f);
        fs::rename(&temp, dir.join(&name))
    })();
    if result.is_err() {
        // Best effort: the temp file may not exist, or the directory may be gone.
        let _ = fs::remove_file(&temp);
    }
    result.map(|()| (HEADER_LEN + data.len()) as u64)
}

/// The whole file, and whether its modification time is older than `touch_after` (in which
/// case it is set to now, so the use order survives a restart and is seen by other mounts).
pub fn read_and_touch(path: &Path, touch_after: Duration) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let meta = f.metadata()?;
    let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    f.read_to_end(&mut buf)?;
    let now = SystemTime::now();
    let old = meta
        .modified()
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .is_some_and(|age| age > touch_after);
    if old {
        // Recency is a hint: failing to record it (read-only dir, file just evicted) is fine.
        let _ = f.set_modified(now);
    }
    Ok(buf)
}

/// Removes `path`; a file already gone (evicted by another mount) is not an error.
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Lists the cache files of `dir` and deletes temp files left by killed writers. Other names
/// are left alone: the directory may hold files that are not ours.
pub fn scan(dir: &Path) -> io::Result<(Vec<Found>, usize)> {
    let now = SystemTime::now();
    let mut found = Vec::new();
    let mut cleaned = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        // A file evicted by another mount between readdir and stat is simply skipped.
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().unwrap_or(now);
        if let Some(pid) = temp_writer(name) {
            let age = now.duration_since(modified).unwrap_or_default();
            if (age > STALE_TEMP_AGE || !process_alive(pid)) && remove(&entry.path()).is_ok() {
                cleaned += 1;
            }
            continue;
        }
        if let Some(id) = FileId::parse_name(name) {
            found.push(Found {
                id,
                bytes: meta.len(),
                modified,
            });
        }
    }
    Ok((found, cleaned))
}

/// The pid in a temp file's name, if it is one of ours.
fn temp_writer(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    rest.split('.').next()?.parse().ok()
}

/// Whether process `pid` runs on this machine. Without `/proc` we cannot tell, so only the
/// age rule applies. A mount in another PID namespace sharing the directory looks dead: its
/// in-flight write then fails its rename and that block is simply not cached.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() || !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Bytes an unprivileged writer can still use on the filesystem holding `dir`.
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    let st = rustix::fs::statvfs(dir)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Where file `id` lives.
pub fn path_of(dir: &Path, id: FileId) -> PathBuf {
    dir.join(id.file_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names() {
        assert_eq!(temp_writer(".tmp.123.4.x.mzc"), Some(123));
        assert_eq!(temp_writer(".tmp.x.4.x.mzc"), None);
        assert_eq!(temp_writer("abc.mzc"), None);
        assert!(process_alive(std::process::id()));
    }
}
