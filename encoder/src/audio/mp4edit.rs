//! The MP4 edit list of an audio track: which decoded samples are presented.
//!
//! An AAC encoder emits priming samples (1024 for ffmpeg's and most AAC-LC encoders, 2112 for
//! Apple's) before the first real one, and pads the last packet. MP4 says what to keep with the
//! track's edit list (`moov/trak/edts/elst`): one edit starting at `media_time` (the priming, in
//! media timescale units) lasting `segment_duration` (movie timescale units). symphonia 0.6.1's
//! MP4 reader does not apply edit lists ("edits are not currently supported" in its demuxer) and
//! its AAC decoder ignores the gapless option, so the decoded timeline starts `media_time`
//! samples early. ffmpeg skips them; to match it we read the edit list here and trim ourselves
//! ([`crate::audio::decode`]).
//!
//! Only the common shape is interpreted: leading empty edits (which ffmpeg also ignores for
//! audio it starts at zero) followed by one normal edit at rate 1. Anything else is reported as
//! not understood and the track is decoded untrimmed.

use std::io::{Read, Seek, SeekFrom};

/// Samples to drop at the start, and how many to keep after that (if the edit says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EditTrim {
    pub skip: u64,
    pub keep: Option<u64>,
}

/// One `elst` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Movie timescale units.
    pub segment_duration: u64,
    /// Media timescale units; -1 for an empty edit.
    pub media_time: i64,
    pub rate_int: i16,
}

/// What the `moov` box says about one track.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TrackTiming {
    pub track_id: u32,
    pub media_timescale: u32,
    pub edits: Option<Vec<Edit>>,
}

/// `moov` read far enough to trim audio.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Movie {
    pub timescale: u32,
    pub tracks: Vec<TrackTiming>,
}

/// Bigger `moov` boxes are not read (their sample tables would be tens of millions of entries).
const MAX_MOOV: u64 = 256 << 20;

/// Reads the `moov` box of an MP4 (top-level boxes are walked with seeks, `mdat` is skipped).
/// `Ok(None)` when the file is not a sequence of MP4 boxes or has no `moov`.
pub fn read_moov<R: Read + Seek>(r: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let len = r.seek(SeekFrom::End(0))?;
    let mut pos = 0u64;
    while pos + 8 <= len {
        r.seek(SeekFrom::Start(pos))?;
        let mut h = [0u8; 16];
        r.read_exact(&mut h[..8])?;
        let kind = [h[4], h[5], h[6], h[7]];
        if !kind.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return Ok(None);
        }
        let (size, header) = match u32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
            0 => (len - pos, 8),
            1 => {
                if pos + 16 > len {
                    return Ok(None);
                }
                r.read_exact(&mut h[8..16])?;
                let mut b = [0u8; 8];
                b.copy_from_slice(&h[8..16]);
                (u64::from_be_bytes(b), 16)
            }
            n => (u64::from(n), 8),
        };
        if size < header || size > len - pos {
            return Ok(None);
        }
        if &kind == b"moov" {
            if size - header > MAX_MOOV {
                return Ok(None);
            }
            let mut body = vec![0u8; (size - header) as usize];
            r.read_exact(&mut body)?;
            return Ok(Some(body));
        }
        pos += size;
    }
    Ok(None)
}

/// Child boxes of a container's payload: (type, payload). Stops at the first malformed box.
fn boxes(mut data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < 8 {
            return None;
        }
        let size32 = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        let kind = [data[4], data[5], data[6], data[7]];
        let (size, header) = match size32 {
            0 => (data.len(), 8),
            1 => {
                let b = data.get(8..16)?;
                let s = u64::from_be_bytes(b.try_into().ok()?);
                (usize::try_from(s).ok()?, 16)
            }
            n => (n as usize, 8),
        };
        if size < header || size > data.len() {
            return None;
        }
        let payload = &data[header..size];
        data = &data[size..];
        Some((kind, payload))
    })
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(k, _)| k == kind).map(|(_, p)| p)
}

fn be_u32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(d.get(at..at + 8)?.try_into().ok()?))
}

/// The timescale of an `mvhd` or `mdhd` payload (same layout up to it).
fn header_timescale(d: &[u8]) -> Option<u32> {
    match d.first()? {
        0 => be_u32(d, 12),
        1 => be_u32(d, 20),
        _ => None,
    }
}

fn tkhd_track_id(d: &[u8]) -> Option<u32> {
    match d.first()? {
        0 => be_u32(d, 12),
        1 => be_u32(d, 20),
        _ => None,
    }
}

fn parse_elst(d: &[u8]) -> Option<Vec<Edit>> {
    let version = *d.first()?;
    let count = be_u32(d, 4)? as usize;
    let entry = if version == 1 { 20 } else { 12 };
    if count > (d.len().saturating_sub(8)) / entry {
        return None;
    }
    let mut edits = Vec::with_capacity(count);
    for i in 0..count {
        let at = 8 + i * entry;
        let (segment_duration, media_time, rate_at) = if version == 1 {
            (be_u64(d, at)?, be_u64(d, at + 8)? as i64, at + 16)
        } else {
            (
                u64::from(be_u32(d, at)?),
                i64::from(be_u32(d, at + 4)? as i32),
                at + 8,
            )
        };
        let rate_int = i16::from_be_bytes(d.get(rate_at..rate_at + 2)?.try_into().ok()?);
        edits.push(Edit {
            segment_duration,
            media_time,
            rate_int,
        });
    }
    Some(edits)
}

/// Parses the payload of a `moov` box. Never fails: what cannot be read is left out.
pub fn parse_moov(moov: &[u8]) -> Movie {
    let timescale = child(moov, b"mvhd").and_then(header_timescale).unwrap_or(0);
    let tracks = boxes(moov)
        .filter(|(k, _)| k == b"trak")
        .filter_map(|(_, trak)| {
            let track_id = child(trak, b"tkhd").and_then(tkhd_track_id)?;
            let media_timescale = child(trak, b"mdia")
                .and_then(|m| child(m, b"mdhd"))
                .and_then(header_timescale)?;
            let edits = child(trak, b"edts")
                .and_then(|e| child(e, b"elst"))
                .and_then(parse_elst);
            Some(TrackTiming {
                track_id,
                media_timescale,
                edits,
            })
        })
        .collect();
    Movie { timescale, tracks }
}

/// Why an edit list was not applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrimError {
    /// More than one normal edit, a rate other than 1, or timescales of zero.
    NotUnderstood,
}

impl Movie {
    /// The trim for track `track_id` decoded at `rate` Hz: `Ok(None)` without an edit list.
    pub fn trim(&self, track_id: u32, rate: u32) -> Result<Option<EditTrim>, TrimError> {
        let Some(track) = self.tracks.iter().find(|t| t.track_id == track_id) else {
            return Ok(None);
        };
        let Some(edits) = &track.edits else {
            return Ok(None);
        };
        let normal: Vec<&Edit> = edits.iter().filter(|e| e.media_time != -1).collect();
        let [edit] = normal.as_slice() else {
            return if normal.is_empty() {
                Ok(None)
            } else {
                Err(TrimError::NotUnderstood)
            };
        };
        if edit.rate_int != 1
            || edit.media_time < 0
            || track.media_timescale == 0
            || self.timescale == 0
        {
            return Err(TrimError::NotUnderstood);
        }
        let scale = |v: u64, from: u32| {
            let x =
                (2 * u128::from(v) * u128::from(rate) + u128::from(from)) / (2 * u128::from(from));
            u64::try_from(x).unwrap_or(u64::MAX)
        };
        let skip = scale(edit.media_time as u64, track.media_timescale);
        // A zero duration means "to the end of the media" in files written by some muxers.
        let keep =
            (edit.segment_duration > 0).then(|| scale(edit.segment_duration, self.timescale));
        Ok(Some(EditTrim { skip, keep }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    fn full_header(version: u8, rest: &[u8]) -> Vec<u8> {
        let mut v = vec![version, 0, 0, 0];
        v.extend_from_slice(rest);
        v
    }

    /// A moov as ffmpeg writes it for AAC at 48 kHz: movie timescale 1000, 1024 priming.
    fn ffmpeg_like_moov() -> Vec<u8> {
        let mvhd = full_header(
            0,
            &[&[0u8; 8][..], &1000u32.to_be_bytes(), &[0u8; 4]].concat(),
        );
        let tkhd = full_header(0, &[&[0u8; 8][..], &2u32.to_be_bytes()].concat());
        let mdhd = full_header(
            0,
            &[&[0u8; 8][..], &48000u32.to_be_bytes(), &[0u8; 4]].concat(),
        );
        let elst = full_header(
            0,
            &[
                &1u32.to_be_bytes()[..],
                &2500u32.to_be_bytes(),
                &1024u32.to_be_bytes(),
                &[0, 1, 0, 0],
            ]
            .concat(),
        );
        let trak = [
            mp4_box(b"tkhd", &tkhd),
            mp4_box(b"edts", &mp4_box(b"elst", &elst)),
            mp4_box(b"mdia", &mp4_box(b"mdhd", &mdhd)),
        ]
        .concat();
        [mp4_box(b"mvhd", &mvhd), mp4_box(b"trak", &trak)].concat()
    }

    #[test]
    fn ffmpeg_priming() {
        let movie = parse_moov(&ffmpeg_like_moov());
        assert_eq!(movie.timescale, 1000);
        assert_eq!(
            movie.trim(2, 48000),
            Ok(Some(EditTrim {
                skip: 1024,
                keep: Some(120_000)
            }))
        );
        assert_eq!(movie.trim(1, 48000), Ok(None));
        let file = [
            mp4_box(b"ftyp", b"isom"),
            mp4_box(b"mdat", &[0; 100]),
            mp4_box(b"moov", &ffmpeg_like_moov()),
        ]
        .concat();
        let moov = read_moov(&mut std::io::Cursor::new(file)).expect("io");
        assert_eq!(moov, Some(ffmpeg_like_moov()));
        assert_eq!(
            read_moov(&mut std::io::Cursor::new(b"RIFF\x00\x00\x00\x00WAVE")).expect("io"),
            None
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let movie = parse_moov(&bytes);
            for t in &movie.tracks {
                let _ = movie.trim(t.track_id, 48000);
            }
            let _ = read_moov(&mut std::io::Cursor::new(bytes));
        }
    }
}
