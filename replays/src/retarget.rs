//! A replay moved onto other bytes: the same mount, opens and reads, with its digests
//! recomputed for objects of the same sizes but other contents.
//!
//! A recording of a real tool (an encoder scanning a Y4M, ffprobe reading an MP4's index) is
//! an access pattern that depends on the media, but rerunning it needs only the offsets and
//! sizes. Retargeted onto deterministic bytes (the corpus's `random_bytes(size, seed)`), the
//! replay can be committed and rerun without the media, and every byte the rerun reads is
//! still checked.

use std::ops::Range;

use crate::codec::Decoded;
use crate::record::Record;
use crate::writer::ReplayWriter;

#[derive(Debug, thiserror::Error)]
pub enum RetargetError {
    #[error("the replay has no mount description")]
    NoMeta,
    #[error("a read of handle {handle} comes before its open")]
    UnknownHandle { handle: u64 },
    #[error("file {file} is not in the replay's mount description")]
    UnknownFile { file: u64 },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Re-encodes `d` with the digests of the bytes `object_bytes(object, range)` returns (object
/// index and byte range of the object; it must return exactly that range). Records other than
/// digests are kept as they are; the object versions are set to `version` (the recorded ones
/// belong to the media).
pub fn retarget(
    d: &Decoded,
    version: &dyn Fn(usize) -> String,
    object_bytes: &mut dyn FnMut(usize, Range<u64>) -> Vec<u8>,
) -> Result<Vec<u8>, RetargetError> {
    let mut meta = d.meta().ok_or(RetargetError::NoMeta)?.clone();
    for (i, o) in meta.objects.iter_mut().enumerate() {
        o.version = version(i);
    }
    let files = meta.files.clone();
    let mut handles = std::collections::HashMap::new();
    let mut w = ReplayWriter::new(Vec::new(), meta)?;
    let mut stats = serde_json::Value::Null;
    for r in d.records.iter().skip(1) {
        match r {
            Record::Digest { .. } | Record::Meta(_) => {}
            Record::Stats(s) => stats = s.clone(),
            Record::Open { handle, file, .. } => {
                handles.insert(*handle, *file);
                w.push(r)?;
            }
            Record::Read {
                handle,
                offset,
                len,
                ok: true,
                ..
            } => {
                let file = *handles
                    .get(handle)
                    .ok_or(RetargetError::UnknownHandle { handle: *handle })?;
                let f = files
                    .get(file as usize)
                    .ok_or(RetargetError::UnknownFile { file })?;
                // A read past the file's end returns what there is, as the rerun's does.
                let start = f.offset + (*offset).min(f.len);
                let end = f.offset + offset.saturating_add(*len).min(f.len);
                let bytes = object_bytes(f.object as usize, start..end);
                w.push_read(r, &bytes)?;
            }
            _ => w.push(r)?,
        }
    }
    Ok(w.finish(stats)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{FileMeta, Meta, ObjectMeta};
    use crate::writer::ReadDigest;

    fn recording(object: &[u8]) -> Vec<u8> {
        let meta = Meta {
            objects: vec![ObjectMeta {
                source: "corpus/x".into(),
                size: object.len() as u64,
                version: "media".into(),
                segment_size: 16384,
            }],
            files: vec![FileMeta {
                path: "x".into(),
                object: 0,
                offset: 100,
                len: 1000,
            }],
            ..Meta::default()
        };
        let mut w = ReplayWriter::new(Vec::new(), meta)
            .expect("writer")
            .with_chunk_bytes(64);
        w.push(&Record::Open {
            t: 1,
            handle: 7,
            file: 0,
        })
        .expect("open");
        for (i, (offset, len)) in [(0u64, 300u64), (300, 300), (900, 300)].iter().enumerate() {
            let r = Record::Read {
                t: 2 + i as u64,
                handle: 7,
                offset: *offset,
                len: *len,
                dur: 5,
                ok: true,
            };
            let end = (offset + len).min(1000);
            w.push_read(&r, &object[(100 + offset) as usize..(100 + end) as usize])
                .expect("read");
        }
        w.finish(serde_json::json!({"reads": 3})).expect("finish")
    }

    fn digest_of(d: &Decoded) -> Vec<(u64, u64)> {
        d.records
            .iter()
            .filter_map(|r| match r {
                Record::Digest { reads, digest } => Some((*reads, *digest)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn digests_follow_the_new_bytes_and_everything_else_stays() {
        let media: Vec<u8> = (0..2000u32).map(|i| (i * 7) as u8).collect();
        let other: Vec<u8> = (0..2000u32).map(|i| (i * 13 + 1) as u8).collect();
        let d = crate::decode(&recording(&media)).expect("decode");
        let moved = retarget(&d, &|_| "v2".into(), &mut |_, r| {
            other[r.start as usize..r.end as usize].to_vec()
        })
        .expect("retarget");
        let m = crate::decode(&moved).expect("decode retargeted");
        assert_eq!(m.meta().expect("meta").objects[0].version, "v2");
        let kept = |d: &Decoded| -> Vec<Record> {
            d.records
                .iter()
                .skip(1)
                .filter(|r| !matches!(r, Record::Digest { .. }))
                .cloned()
                .collect()
        };
        assert_eq!(kept(&d), kept(&m));
        // One digest over the three reads of the new bytes (the last read stops at the file's end).
        let mut want = ReadDigest::default();
        for r in [100..400, 400..700, 1000..1100] {
            want.add(&other[r]);
        }
        assert_eq!(digest_of(&m), [(3, want.value())]);
        assert_ne!(digest_of(&d), digest_of(&m));
    }
}
