//! The work directory: the only state of an encode, so that a killed run resumes and several
//! machines sharing the directory could split the scenes.
//!
//! ```text
//! WORK/job.json             what is being encoded (settings and scenes); a resume must match it
//! WORK/scene-0003.pkt       scene 3's packets (written to .tmp, then renamed)
//! WORK/done/scene-0003.json scene 3's stats, the SHA-256 of its packet file and the job's
//!                           identity (SHA-256 of job.json): its presence is the "done" mark
//! ```
//!
//! A scene counts as done only when its done mark belongs to this job and its packet file has
//! the recorded checksum and the right number of frames; anything else is encoded again, and
//! [`WorkDir::check`] says why, so a damaged scene is never joined silently. Both files are renamed
//! into place after an fsync, so `kill -9` at any moment leaves either nothing or a whole scene.
//! The packet file format is a pure codec ([`encode_packets`] / [`decode_packets`]).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Magic opening a packet file.
pub const PACKETS_MAGIC: &[u8; 8] = b"SEGPKT1\n";

/// One encoded temporal unit of the output stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Frame number in the whole clip (the presentation timestamp in frames).
    pub pts: u64,
    pub keyframe: bool,
    pub data: Vec<u8>,
}

/// What a worker records about a finished scene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneStats {
    pub index: usize,
    pub frames: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub tiles: usize,
    /// Mean PSNR of Y, U, V in dB, when asked for.
    pub psnr: Option<[f64; 3]>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkDirError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "work directory {dir} holds a different job (other input, scenes or settings); \
         use another directory or remove it"
    )]
    OtherJob { dir: PathBuf },
}

/// Serialises packets into the packet file format.
pub fn encode_packets(packets: &[Packet]) -> Vec<u8> {
    let total: usize = packets.iter().map(|p| 13 + p.data.len()).sum();
    let mut out = Vec::with_capacity(8 + total);
    out.extend_from_slice(PACKETS_MAGIC);
    for p in packets {
        out.extend_from_slice(&p.pts.to_le_bytes());
        out.push(u8::from(p.keyframe));
        out.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&p.data);
    }
    out
}

/// Reads a packet file's bytes back; any damage is an error naming the byte.
pub fn decode_packets(bytes: &[u8]) -> Result<Vec<Packet>, String> {
    let body = bytes
        .strip_prefix(PACKETS_MAGIC.as_slice())
        .ok_or("not a packet file (bad magic)")?;
    let mut packets = Vec::new();
    let mut at = 0usize;
    while at < body.len() {
        let head = body
            .get(at..at + 13)
            .ok_or_else(|| format!("packet header cut at byte {}", at + 8))?;
        let mut pts = [0u8; 8];
        pts.copy_from_slice(&head[..8]);
        let keyframe = match head[8] {
            0 => false,
            1 => true,
            other => return Err(format!("bad keyframe flag {other} at byte {}", at + 16)),
        };
        let len = u32::from_le_bytes([head[9], head[10], head[11], head[12]]) as usize;
        let data = body
            .get(at + 13..at + 13 + len)
            .ok_or_else(|| format!("packet data cut at byte {}", at + 8 + 13))?;
        packets.push(Packet {
            pts: u64::from_le_bytes(pts),
            keyframe,
            data: data.to_vec(),
        });
        at += 13 + len;
    }
    Ok(packets)
}

/// A work directory opened for one job.
#[derive(Debug, Clone)]
pub struct WorkDir {
    dir: PathBuf,
    /// SHA-256 (hex) of the job description, recorded in every done mark.
    job_id: String,
}

/// A scene's done mark: its stats, plus what proves its packet file is the one stored.
#[derive(Serialize, Deserialize)]
struct DoneMark {
    #[serde(flatten)]
    stats: SceneStats,
    job: String,
    packets_sha256: String,
}

/// What the work directory holds for a scene.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    /// Done and checked: these stats, and a packet file with the recorded checksum.
    Done(SceneStats),
    /// Not done (no done mark): encode it.
    Missing,
    /// A done mark whose scene cannot be used; encode it again. The reason names the file.
    Damaged(String),
}

impl WorkDir {
    /// Opens (creating if needed) `dir` for the job described by `job` (any JSON value that
    /// changes whenever the output would). A directory holding another job is refused.
    pub fn open(dir: &Path, job: &serde_json::Value) -> Result<Self, WorkDirError> {
        let done = dir.join("done");
        fs::create_dir_all(&done).map_err(|e| io(&done, e))?;
        let job_path = dir.join("job.json");
        let wanted = serde_json::to_string_pretty(job).unwrap_or_default();
        match fs::read_to_string(&job_path) {
            Ok(existing) if existing == wanted => {}
            Ok(_) => return Err(WorkDirError::OtherJob { dir: dir.into() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomic(&job_path, wanted.as_bytes())?;
            }
            Err(e) => return Err(io(&job_path, e)),
        }
        Ok(WorkDir {
            dir: dir.into(),
            job_id: sha256_hex(wanted.as_bytes()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// How many scenes have a done mark (not yet checked: see [`WorkDir::check`]).
    pub fn stored_scenes(&self) -> usize {
        fs::read_dir(self.dir.join("done")).map_or(0, |d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
    }

    pub fn packets_path(&self, scene: usize) -> PathBuf {
        self.dir.join(format!("scene-{scene:04}.pkt"))
    }

    pub fn stats_path(&self, scene: usize) -> PathBuf {
        self.dir.join("done").join(format!("scene-{scene:04}.json"))
    }

    /// The stats of a scene whose packets are stored and checked (`frames` of them), or `None`
    /// if the scene must be encoded (again).
    pub fn finished(&self, scene: usize, frames: u64) -> Option<SceneStats> {
        match self.check(scene, frames) {
            Stored::Done(stats) => Some(stats),
            Stored::Missing | Stored::Damaged(_) => None,
        }
    }

    /// Whether scene `scene` (of `frames` frames) is done: its done mark belongs to this job
    /// and its packet file has the recorded checksum and frame count.
    pub fn check(&self, scene: usize, frames: u64) -> Stored {
        let mark_path = self.stats_path(scene);
        let mark = match fs::read(&mark_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Stored::Missing,
            Err(e) => return Stored::Damaged(format!("{}: {e}", mark_path.display())),
        };
        let mark: DoneMark = match serde_json::from_slice(&mark) {
            Ok(m) => m,
            Err(e) => {
                return Stored::Damaged(format!(
                    "{}: not a done mark of this version ({e})",
                    mark_path.display()
                ));
            }
        };
        if mark.job != self.job_id {
            return Stored::Damaged(format!("{}: belongs to another job", mark_path.display()));
        }
        let path = self.packets_path(scene);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) => return Stored::Damaged(format!("{}: {e}", path.display())),
        };
        if sha256_hex(&bytes) != mark.packets_sha256 {
            return Stored::Damaged(format!(
                "{}: checksum mismatch (the file changed after it was stored)",
                path.display()
            ));
        }
        match decode_packets(&bytes) {
            Ok(p) if p.len() as u64 == frames && mark.stats.frames == frames => {
                Stored::Done(mark.stats)
            }
            Ok(p) => Stored::Damaged(format!(
                "{}: {} frames stored, the scene has {frames}",
                path.display(),
                p.len()
            )),
            Err(reason) => Stored::Damaged(format!("{}: {reason}", path.display())),
        }
    }

    /// Stores a finished scene: packets first, then the done mark with their checksum.
    pub fn store(&self, stats: &SceneStats, packets: &[Packet]) -> Result<(), WorkDirError> {
        let bytes = encode_packets(packets);
        write_atomic(&self.packets_path(stats.index), &bytes)?;
        let mark = DoneMark {
            stats: stats.clone(),
            job: self.job_id.clone(),
            packets_sha256: sha256_hex(&bytes),
        };
        let json = serde_json::to_vec_pretty(&mark).unwrap_or_default();
        write_atomic(&self.stats_path(stats.index), &json)
    }

    /// A stored scene's packets, checked against its done mark's checksum.
    pub fn read_packets(&self, scene: usize) -> Result<Vec<Packet>, WorkDirError> {
        let path = self.packets_path(scene);
        let bytes = fs::read(&path).map_err(|e| io(&path, e))?;
        let mark_path = self.stats_path(scene);
        let mark: DoneMark = fs::read(&mark_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| WorkDirError::Corrupt {
                path: mark_path.clone(),
                reason: "missing or unreadable done mark".into(),
            })?;
        if sha256_hex(&bytes) != mark.packets_sha256 || mark.job != self.job_id {
            return Err(WorkDirError::Corrupt {
                path,
                reason: "does not match its done mark's checksum".into(),
            });
        }
        decode_packets(&bytes).map_err(|reason| WorkDirError::Corrupt { path, reason })
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Writes `bytes` to `path` so that readers see either the old file or the whole new one.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WorkDirError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut f = fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io(&tmp, e))?;
    f.sync_all().map_err(|e| io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn io(path: &Path, error: std::io::Error) -> WorkDirError {
    WorkDirError::Io {
        path: path.into(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packets(n: u64) -> Vec<Packet> {
        (0..n)
            .map(|i| Packet {
                pts: 100 + i,
                keyframe: i == 0,
                data: vec![i as u8; i as usize * 3],
            })
            .collect()
    }

    #[test]
    fn store_then_finished() {
        let dir = tempfile::tempdir().expect("tempdir");
        let job = serde_json::json!({"q": 100});
        let wd = WorkDir::open(dir.path(), &job).expect("open");
        assert!(wd.finished(2, 5).is_none());
        let stats = SceneStats {
            index: 2,
            frames: 5,
            bytes: 30,
            seconds: 0.5,
            tiles: 1,
            psnr: None,
        };
        wd.store(&stats, &packets(5)).expect("store");
        assert_eq!(wd.finished(2, 5), Some(stats));
        assert!(
            wd.finished(2, 6).is_none(),
            "a frame count mismatch means not done"
        );
        // Same job reopens; another job is refused.
        WorkDir::open(dir.path(), &job).expect("reopen");
        let other = WorkDir::open(dir.path(), &serde_json::json!({"q": 90}));
        assert!(matches!(other, Err(WorkDirError::OtherJob { .. })));
    }

    #[test]
    fn damaged_packet_file_means_not_done() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wd = WorkDir::open(dir.path(), &serde_json::json!({})).expect("open");
        let stats = SceneStats {
            index: 0,
            frames: 4,
            bytes: 0,
            seconds: 0.0,
            tiles: 1,
            psnr: None,
        };
        wd.store(&stats, &packets(4)).expect("store");
        let path = wd.packets_path(0);
        let bytes = fs::read(&path).expect("read");
        fs::write(&path, &bytes[..bytes.len() - 1]).expect("truncate");
        assert!(wd.finished(0, 4).is_none());
    }

    #[test]
    fn any_changed_byte_or_another_jobs_mark_is_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wd = WorkDir::open(dir.path(), &serde_json::json!({"a": 1})).expect("open");
        let stats = SceneStats {
            index: 1,
            frames: 4,
            bytes: 18,
            seconds: 0.0,
            tiles: 1,
            psnr: None,
        };
        wd.store(&stats, &packets(4)).expect("store");
        assert_eq!(wd.check(1, 4), Stored::Done(stats.clone()));
        assert_eq!(wd.check(2, 4), Stored::Missing);
        let path = wd.packets_path(1);
        let good = fs::read(&path).expect("read");
        // A flipped bit inside packet data: the format still decodes, the checksum does not.
        for at in [8 + 13 + 13 + 1, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            fs::write(&path, &bad).expect("damage");
            let Stored::Damaged(why) = wd.check(1, 4) else {
                panic!("byte {at} changed but the scene counts as done");
            };
            assert!(why.contains("checksum mismatch"), "{why}");
            assert!(wd.read_packets(1).is_err(), "joining reads the same check");
        }
        fs::write(&path, &good).expect("restore");
        // The same files under another job's directory are not this job's scene.
        let other_dir = tempfile::tempdir().expect("tempdir");
        let other = WorkDir::open(other_dir.path(), &serde_json::json!({"a": 2})).expect("open");
        fs::copy(&path, other.packets_path(1)).expect("copy packets");
        fs::copy(wd.stats_path(1), other.stats_path(1)).expect("copy mark");
        assert!(matches!(other.check(1, 4), Stored::Damaged(w) if w.contains("another job")));
    }

    proptest! {
        #[test]
        fn packets_round_trip(n in 0u64..20) {
            let p = packets(n);
            prop_assert_eq!(decode_packets(&encode_packets(&p)).expect("decode"), p);
        }

        #[test]
        fn any_cut_is_detected(n in 1u64..10, cut in 1usize..400) {
            let bytes = encode_packets(&packets(n));
            let cut = cut.min(bytes.len() - 1);
            if let Ok(back) = decode_packets(&bytes[..cut]) {
                prop_assert!((back.len() as u64) < n);
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut with_magic = PACKETS_MAGIC.to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = decode_packets(&with_magic);
            let _ = decode_packets(&bytes);
        }
    }
}
