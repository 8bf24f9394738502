//! A scene's chunk (`jobs/<job>/scenes/<n>`): the scene's packets, the job and scene they
//! belong to, and a SHA-256 of the packets.
//!
//! ```text
//! SEGCHUNK1\n
//! {"job":"…","scene":3,"start":76,"end":137,"packets":61,"len":48213,"sha256":"…"}\n
//! <packet file bytes (workdir::encode_packets)>
//! ```
//!
//! The bytes depend only on the job and the scene (no times, no worker name), so a
//! redelivered message writes the same key with the same bytes. [`decode`] checks every field
//! against what the reader expects, so a chunk of another job, another scene, a truncated
//! upload or a flipped bit is named, never joined.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::plan::Scene;
use crate::workdir::{self, Packet};

pub const MAGIC: &[u8; 10] = b"SEGCHUNK1\n";

/// The chunk's header line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkHeader {
    pub job: String,
    pub scene: usize,
    pub start: u64,
    pub end: u64,
    pub packets: u64,
    pub len: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkError {
    #[error("not a chunk: {0}")]
    Format(String),
    #[error("belongs to job {found}, not {expected}")]
    OtherJob { found: String, expected: String },
    #[error("holds scene {found} (frames {start}..{end}), not scene {expected}")]
    OtherScene {
        found: usize,
        expected: usize,
        start: u64,
        end: u64,
    },
    #[error("{got} bytes of packets, the header says {expected} (truncated upload?)")]
    Length { expected: u64, got: u64 },
    #[error("checksum mismatch: the packets are damaged")]
    Checksum,
    #[error("{got} packets for frames {start}..{end}")]
    Frames { got: u64, start: u64, end: u64 },
}

/// The chunk of `scene` of `job`.
pub fn encode(job: &str, scene: &Scene, packets: &[Packet]) -> Vec<u8> {
    let body = workdir::encode_packets(packets);
    let header = ChunkHeader {
        job: job.into(),
        scene: scene.index,
        start: scene.start,
        end: scene.end,
        packets: packets.len() as u64,
        len: body.len() as u64,
        sha256: hex::encode(Sha256::digest(&body)),
    };
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&serde_json::to_vec(&header).unwrap_or_default());
    out.push(b'\n');
    out.extend_from_slice(&body);
    out
}

/// Checks a chunk read back against the job and scene it must hold; returns its packets.
pub fn decode(bytes: &[u8], job: &str, scene: &Scene) -> Result<Vec<Packet>, ChunkError> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| ChunkError::Format("bad magic".into()))?;
    let nl = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| ChunkError::Format("header line not ended".into()))?;
    let header: ChunkHeader = serde_json::from_slice(&rest[..nl])
        .map_err(|e| ChunkError::Format(format!("header: {e}")))?;
    let body = &rest[nl + 1..];
    if header.job != job {
        return Err(ChunkError::OtherJob {
            found: header.job,
            expected: job.into(),
        });
    }
    if header.scene != scene.index || header.start != scene.start || header.end != scene.end {
        return Err(ChunkError::OtherScene {
            found: header.scene,
            expected: scene.index,
            start: header.start,
            end: header.end,
        });
    }
    if body.len() as u64 != header.len {
        return Err(ChunkError::Length {
            expected: header.len,
            got: body.len() as u64,
        });
    }
    if hex::encode(Sha256::digest(body)) != header.sha256 {
        return Err(ChunkError::Checksum);
    }
    let packets = workdir::decode_packets(body).map_err(ChunkError::Format)?;
    let frames_ok = packets.len() as u64 == scene.len()
        && header.packets == scene.len()
        && packets
            .iter()
            .all(|p| (scene.start..scene.end).contains(&p.pts));
    if !frames_ok {
        return Err(ChunkError::Frames {
            got: packets.len() as u64,
            start: scene.start,
            end: scene.end,
        });
    }
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scene() -> Scene {
        Scene {
            index: 2,
            start: 10,
            end: 14,
        }
    }

    fn packets() -> Vec<Packet> {
        (10..14)
            .map(|pts| Packet {
                pts,
                keyframe: pts == 10,
                data: vec![pts as u8; 20],
            })
            .collect()
    }

    #[test]
    fn round_trip_and_same_bytes_every_time() {
        let a = encode("job1", &scene(), &packets());
        assert_eq!(a, encode("job1", &scene(), &packets()));
        assert_eq!(decode(&a, "job1", &scene()).expect("decode"), packets());
    }

    #[test]
    fn identity_is_checked() {
        let a = encode("job1", &scene(), &packets());
        assert!(matches!(
            decode(&a, "job2", &scene()),
            Err(ChunkError::OtherJob { .. })
        ));
        let other = Scene {
            index: 3,
            ..scene()
        };
        assert!(matches!(
            decode(&a, "job1", &other),
            Err(ChunkError::OtherScene { .. })
        ));
        let short = encode("job1", &scene(), &packets()[..3]);
        assert!(matches!(
            decode(&short, "job1", &scene()),
            Err(ChunkError::Frames { .. })
        ));
    }

    proptest! {
        #[test]
        fn any_flipped_bit_or_cut_is_caught(at in 0usize..400, bit in 0u8..8, cut in any::<bool>()) {
            let mut a = encode("job1", &scene(), &packets());
            let at = at % a.len();
            if cut {
                a.truncate(at);
            } else {
                a[at] ^= 1 << bit;
            }
            prop_assert!(decode(&a, "job1", &scene()).is_err());
        }
    }
}
