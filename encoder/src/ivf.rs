//! IVF, the simplest AV1 container: a 32-byte file header, then per frame a 12-byte header
//! (size, timestamp) and the temporal unit. Writing and reading are pure.
//!
//! The file header's frame count matters: dav1d copies it into the Y4M it writes, so an IVF
//! saying 0 frames decodes to a Y4M that claims to be empty. The writer therefore takes the
//! count up front (the joiner knows it from the scene list) and the reader checks it.

/// Bytes of the IVF file header.
pub const FILE_HEADER_LEN: usize = 32;
/// Bytes of each frame header.
pub const FRAME_HEADER_LEN: usize = 12;

/// What the IVF file header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IvfHeader {
    pub width: u16,
    pub height: u16,
    /// Timestamps count in units of `timebase_num / timebase_den` seconds.
    pub timebase_den: u32,
    pub timebase_num: u32,
    pub frames: u32,
}

/// The 32-byte file header for an AV1 stream.
pub fn file_header(h: &IvfHeader) -> [u8; FILE_HEADER_LEN] {
    let mut out = [0u8; FILE_HEADER_LEN];
    out[0..4].copy_from_slice(b"DKIF");
    out[4..6].copy_from_slice(&0u16.to_le_bytes());
    out[6..8].copy_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
    out[8..12].copy_from_slice(b"AV01");
    out[12..14].copy_from_slice(&h.width.to_le_bytes());
    out[14..16].copy_from_slice(&h.height.to_le_bytes());
    out[16..20].copy_from_slice(&h.timebase_den.to_le_bytes());
    out[20..24].copy_from_slice(&h.timebase_num.to_le_bytes());
    out[24..28].copy_from_slice(&h.frames.to_le_bytes());
    out
}

/// The 12-byte header before a frame of `size` bytes shown at `pts`.
pub fn frame_header(size: u32, pts: u64) -> [u8; FRAME_HEADER_LEN] {
    let mut out = [0u8; FRAME_HEADER_LEN];
    out[0..4].copy_from_slice(&size.to_le_bytes());
    out[4..12].copy_from_slice(&pts.to_le_bytes());
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IvfError {
    #[error("not an IVF file (no 'DKIF' signature)")]
    Signature,
    #[error("IVF file ends inside {what} at byte {at}")]
    Truncated { what: &'static str, at: usize },
    #[error("IVF codec is {0:?}, not AV01")]
    Codec(String),
}

/// A frame as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IvfFrame<'a> {
    pub pts: u64,
    pub data: &'a [u8],
}

/// Reads an IVF file from bytes.
pub fn parse(bytes: &[u8]) -> Result<(IvfHeader, Vec<IvfFrame<'_>>), IvfError> {
    let head = bytes.get(..FILE_HEADER_LEN).ok_or(IvfError::Truncated {
        what: "the file header",
        at: bytes.len(),
    })?;
    if &head[0..4] != b"DKIF" {
        return Err(IvfError::Signature);
    }
    if &head[8..12] != b"AV01" {
        return Err(IvfError::Codec(
            String::from_utf8_lossy(&head[8..12]).into_owned(),
        ));
    }
    let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let header = IvfHeader {
        width: u16_at(12),
        height: u16_at(14),
        timebase_den: u32_at(16),
        timebase_num: u32_at(20),
        frames: u32_at(24),
    };
    // The header length field is honoured so that files with extra header bytes still read.
    let mut at = usize::from(u16_at(6)).max(FILE_HEADER_LEN);
    let mut frames = Vec::new();
    while at < bytes.len() {
        let fh = bytes
            .get(at..at + FRAME_HEADER_LEN)
            .ok_or(IvfError::Truncated {
                what: "a frame header",
                at,
            })?;
        let size = u32::from_le_bytes([fh[0], fh[1], fh[2], fh[3]]) as usize;
        let mut pts = [0u8; 8];
        pts.copy_from_slice(&fh[4..12]);
        let start = at + FRAME_HEADER_LEN;
        let data = start
            .checked_add(size)
            .and_then(|end| bytes.get(start..end))
            .ok_or(IvfError::Truncated {
                what: "a frame",
                at: start,
            })?;
        frames.push(IvfFrame {
            pts: u64::from_le_bytes(pts),
            data,
        });
        at = start + size;
    }
    Ok((header, frames))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write(h: &IvfHeader, frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let mut out = file_header(h).to_vec();
        for (pts, data) in frames {
            out.extend_from_slice(&frame_header(data.len() as u32, *pts));
            out.extend_from_slice(data);
        }
        out
    }

    #[test]
    fn rejects_other_files() {
        assert_eq!(
            parse(b"RIFF"),
            Err(IvfError::Truncated {
                what: "the file header",
                at: 4
            })
        );
        let mut vp9 = file_header(&IvfHeader {
            width: 1,
            height: 1,
            timebase_den: 25,
            timebase_num: 1,
            frames: 0,
        });
        vp9[8..12].copy_from_slice(b"VP90");
        assert_eq!(parse(&vp9), Err(IvfError::Codec("VP90".into())));
    }

    proptest! {
        #[test]
        fn round_trip(w in any::<u16>(), h in any::<u16>(), den in 1u32..100000,
                      frames in proptest::collection::vec((any::<u64>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..20)) {
            let header = IvfHeader { width: w, height: h, timebase_den: den, timebase_num: 1, frames: frames.len() as u32 };
            let bytes = write(&header, &frames);
            let (back, read) = parse(&bytes).expect("parse");
            prop_assert_eq!(back, header);
            prop_assert_eq!(read.len(), frames.len());
            for (r, (pts, data)) in read.iter().zip(&frames) {
                prop_assert_eq!(r.pts, *pts);
                prop_assert_eq!(r.data, &data[..]);
            }
        }

        #[test]
        fn truncation_is_an_error_not_a_panic(cut in 0usize..200) {
            let header = IvfHeader { width: 2, height: 2, timebase_den: 25, timebase_num: 1, frames: 3 };
            let bytes = write(&header, &[(0, vec![1; 40]), (1, vec![2; 40]), (2, vec![3; 40])]);
            let cut = cut.min(bytes.len());
            let r = parse(&bytes[..cut]);
            if cut < bytes.len() {
                prop_assert!(r.is_err() || r.as_ref().map(|(_, f)| f.len() < 3).unwrap_or(false));
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes);
        }
    }
}
