//! YUV4MPEG2 (Y4M) stream header and frame layout, parsed from bytes without I/O.
//!
//! A Y4M file is one text header line (`YUV4MPEG2 W640 H272 F25:1 Ip A1:1 C420jpeg\n`) then
//! frames, each `FRAME\n` and the planes Y, U, V. Mezzanines in practice carry no per-frame
//! parameters, so every frame has the same size and frame `i` sits at a computable offset:
//! that is what lets a worker `pread` exactly its scene, and what makes a scene's bytes one
//! contiguous range that mezzfs can mount as its own file. A frame marker with parameters is
//! rejected rather than silently misread.

use std::fmt;

/// The magic that opens a Y4M stream header.
pub const MAGIC: &[u8] = b"YUV4MPEG2";
/// The marker before each frame's planes (without per-frame parameters).
pub const FRAME_MARKER: &[u8] = b"FRAME\n";
/// Longest header line accepted. Real headers are under 100 bytes; the bound keeps a file
/// without a newline from being read whole into memory.
pub const MAX_HEADER_LEN: usize = 4096;

/// Errors in a Y4M header or frame layout. Each message says what was found and what is
/// accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Y4mError {
    #[error("not a Y4M stream: it does not start with 'YUV4MPEG2 '")]
    NotY4m,
    #[error("the Y4M header has no end of line in its first {MAX_HEADER_LEN} bytes")]
    HeaderTooLong,
    #[error("the Y4M header ends before its end of line (file of {len} bytes)")]
    HeaderTruncated { len: usize },
    #[error("the Y4M header is not ASCII text")]
    NotText,
    #[error("Y4M header tag '{tag}': {reason}")]
    BadTag { tag: String, reason: String },
    #[error("the Y4M header has no {0} tag")]
    MissingTag(char),
    #[error(
        "unsupported Y4M colour space 'C{0}': supported are 4:2:0 at 8 bits (C420, C420jpeg, \
         C420paldv, C420mpeg2), 10 bits (C420p10) and 12 bits (C420p12)"
    )]
    UnsupportedColorspace(String),
    #[error("unsupported interlacing 'I{0}': only progressive video (Ip) is supported")]
    Interlaced(char),
    #[error(
        "frame {frame}: expected the marker 'FRAME\\n' at byte {offset}, found {found:?} \
         (per-frame parameters are not supported)"
    )]
    BadFrameMarker {
        frame: u64,
        offset: u64,
        found: String,
    },
    #[error(
        "truncated Y4M: {frames} whole frames of {frame_bytes} bytes, then {extra} bytes of a \
         partial frame"
    )]
    Truncated {
        frames: u64,
        frame_bytes: u64,
        extra: u64,
    },
}

/// Pixel depth of the planes: 8 bits in one byte, 10 or 12 bits in two little-endian bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BitDepth(pub u8);

impl BitDepth {
    pub fn bytes_per_sample(self) -> usize {
        if self.0 > 8 { 2 } else { 1 }
    }
}

/// Frames per second as a fraction (`F30000:1001`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    pub num: u64,
    pub den: u64,
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.num, self.den)
    }
}

/// A parsed stream header: geometry plus where frames are in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Y4mHeader {
    pub width: usize,
    pub height: usize,
    pub fps: Rate,
    /// Sample aspect ratio; `A0:0` (unknown) is reported as 1:1.
    pub aspect: Rate,
    pub depth: BitDepth,
    /// The colour space tag without its `C` (`420jpeg`), for messages and reports.
    pub colorspace: String,
    /// The header line including its `\n`, byte for byte.
    pub line: String,
}

impl Y4mHeader {
    /// Bytes of the header line, i.e. the offset of frame 0's marker.
    pub fn header_len(&self) -> u64 {
        self.line.len() as u64
    }

    pub fn chroma_width(&self) -> usize {
        self.width.div_ceil(2)
    }

    pub fn chroma_height(&self) -> usize {
        self.height.div_ceil(2)
    }

    /// Bytes of one frame's planes (Y, then U and V at half resolution each way).
    pub fn planes_len(&self) -> u64 {
        let samples = self.width * self.height + 2 * self.chroma_width() * self.chroma_height();
        (samples * self.depth.bytes_per_sample()) as u64
    }

    /// Bytes of the luma plane, which comes first in each frame.
    pub fn luma_len(&self) -> u64 {
        (self.width * self.height * self.depth.bytes_per_sample()) as u64
    }

    /// Bytes from one frame marker to the next.
    pub fn frame_stride(&self) -> u64 {
        FRAME_MARKER.len() as u64 + self.planes_len()
    }

    /// Offset of frame `index`'s marker in the whole file.
    pub fn frame_offset(&self, index: u64) -> u64 {
        self.header_len() + index * self.frame_stride()
    }

    /// Number of whole frames in a file of `file_len` bytes, or why the length is wrong.
    pub fn frame_count(&self, file_len: u64) -> Result<u64, Y4mError> {
        let body = file_len.saturating_sub(self.header_len());
        frames_in(body, self.frame_stride())
    }
}

/// Whole frames in `len` bytes of back-to-back frames of `stride` bytes.
pub fn frames_in(len: u64, stride: u64) -> Result<u64, Y4mError> {
    let frames = len / stride;
    let extra = len % stride;
    if extra != 0 {
        return Err(Y4mError::Truncated {
            frames,
            frame_bytes: stride,
            extra,
        });
    }
    Ok(frames)
}

/// Parses the header line at the start of `bytes` (which may hold more than the header).
pub fn parse_header(bytes: &[u8]) -> Result<Y4mHeader, Y4mError> {
    if !bytes.starts_with(MAGIC) || bytes.get(MAGIC.len()).is_some_and(|&b| b != b' ') {
        return Err(Y4mError::NotY4m);
    }
    let window = &bytes[..bytes.len().min(MAX_HEADER_LEN)];
    let end = match window.iter().position(|&b| b == b'\n') {
        Some(end) => end,
        None if bytes.len() >= MAX_HEADER_LEN => return Err(Y4mError::HeaderTooLong),
        None => return Err(Y4mError::HeaderTruncated { len: bytes.len() }),
    };
    let line = std::str::from_utf8(&bytes[..=end]).map_err(|_| Y4mError::NotText)?;
    if !line.is_ascii() {
        return Err(Y4mError::NotText);
    }

    let (mut width, mut height) = (None, None);
    let mut fps = None;
    let mut aspect = Rate { num: 1, den: 1 };
    let mut colorspace = "420jpeg".to_string();
    for tag in line[MAGIC.len()..].trim_end_matches('\n').split(' ') {
        let mut chars = tag.chars();
        let Some(kind) = chars.next() else { continue };
        let value = chars.as_str();
        let bad = |reason: &str| Y4mError::BadTag {
            tag: tag.to_string(),
            reason: reason.to_string(),
        };
        match kind {
            'W' => {
                width = Some(parse_dimension(value).ok_or_else(|| bad("width must be 1..=65535"))?)
            }
            'H' => {
                height =
                    Some(parse_dimension(value).ok_or_else(|| bad("height must be 1..=65535"))?)
            }
            'F' => {
                let rate = parse_ratio(value).ok_or_else(|| bad("expected F<num>:<den>"))?;
                if rate.num == 0 || rate.den == 0 || rate.num > u32::MAX as u64 {
                    return Err(bad("the frame rate must be positive and fit in 32 bits"));
                }
                fps = Some(rate);
            }
            'A' => {
                let rate = parse_ratio(value).ok_or_else(|| bad("expected A<num>:<den>"))?;
                if rate.num != 0 && rate.den != 0 {
                    aspect = rate;
                }
            }
            'I' => match value {
                "p" | "?" => {}
                other => return Err(Y4mError::Interlaced(other.chars().next().unwrap_or('?'))),
            },
            'C' => colorspace = value.to_string(),
            // X (comments/extensions) and unknown tags carry nothing we need.
            _ => {}
        }
    }
    let depth = match colorspace.as_str() {
        "420" | "420jpeg" | "420paldv" | "420mpeg2" => BitDepth(8),
        "420p10" => BitDepth(10),
        "420p12" => BitDepth(12),
        other => return Err(Y4mError::UnsupportedColorspace(other.to_string())),
    };
    Ok(Y4mHeader {
        width: width.ok_or(Y4mError::MissingTag('W'))?,
        height: height.ok_or(Y4mError::MissingTag('H'))?,
        // Y4M readers default a missing rate to 25 fps; we do the same rather than refuse.
        fps: fps.unwrap_or(Rate { num: 25, den: 1 }),
        aspect,
        depth,
        colorspace,
        line: line.to_string(),
    })
}

/// Checks that `bytes` (read at a frame's offset) start with the frame marker.
pub fn check_frame_marker(bytes: &[u8], frame: u64, offset: u64) -> Result<(), Y4mError> {
    if bytes.starts_with(FRAME_MARKER) {
        return Ok(());
    }
    let shown = &bytes[..bytes.len().min(FRAME_MARKER.len())];
    Err(Y4mError::BadFrameMarker {
        frame,
        offset,
        found: String::from_utf8_lossy(shown).into_owned(),
    })
}

fn parse_dimension(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: usize = s.parse().ok()?;
    (1..=u16::MAX as usize).contains(&v).then_some(v)
}

fn parse_ratio(s: &str) -> Option<Rate> {
    let (a, b) = s.split_once(':')?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(a) || !digits(b) {
        return None;
    }
    Some(Rate {
        num: a.parse().ok()?,
        den: b.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> Result<Y4mHeader, Y4mError> {
        parse_header(s.as_bytes())
    }

    #[test]
    fn typical_header() {
        let h = header("YUV4MPEG2 W640 H272 F25:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\nFRAME\n")
            .expect("valid");
        assert_eq!((h.width, h.height), (640, 272));
        assert_eq!(h.fps, Rate { num: 25, den: 1 });
        assert_eq!(h.depth, BitDepth(8));
        assert_eq!(h.planes_len(), 640 * 272 * 3 / 2);
        assert_eq!(h.frame_stride(), 640 * 272 * 3 / 2 + 6);
        assert_eq!(h.header_len(), 58);
    }

    #[test]
    fn ten_bit_and_odd_sizes() {
        let h = header("YUV4MPEG2 W33 H17 F30000:1001 C420p10\n").expect("valid");
        assert_eq!(h.depth.bytes_per_sample(), 2);
        assert_eq!(h.planes_len(), ((33 * 17) + 2 * 17 * 9) * 2);
    }

    #[test]
    fn rejections_say_why() {
        assert_eq!(header("RIFF...."), Err(Y4mError::NotY4m));
        assert_eq!(
            header("YUV4MPEG2 W16 H16"),
            Err(Y4mError::HeaderTruncated { len: 17 })
        );
        assert_eq!(header("YUV4MPEG2 H16\n"), Err(Y4mError::MissingTag('W')));
        assert!(matches!(
            header("YUV4MPEG2 W0 H16\n"),
            Err(Y4mError::BadTag { .. })
        ));
        assert!(matches!(
            header("YUV4MPEG2 W16 H16 F25:0\n"),
            Err(Y4mError::BadTag { .. })
        ));
        assert_eq!(
            header("YUV4MPEG2 W16 H16 C444\n"),
            Err(Y4mError::UnsupportedColorspace("444".into()))
        );
        assert_eq!(
            header("YUV4MPEG2 W16 H16 It\n"),
            Err(Y4mError::Interlaced('t'))
        );
        let long = format!("YUV4MPEG2 W16 H16 X{}", "a".repeat(MAX_HEADER_LEN));
        assert_eq!(header(&long), Err(Y4mError::HeaderTooLong));
        let msg = header("YUV4MPEG2 W16 H16 Cmono\n")
            .expect_err("mono")
            .to_string();
        assert!(msg.contains("C420p10"), "{msg}");
    }

    #[test]
    fn truncation_is_reported_with_sizes() {
        let h = header("YUV4MPEG2 W16 H16\n").expect("valid");
        let stride = h.frame_stride();
        assert_eq!(h.frame_count(h.header_len() + 3 * stride), Ok(3));
        assert_eq!(
            h.frame_count(h.header_len() + 3 * stride + 100),
            Err(Y4mError::Truncated {
                frames: 3,
                frame_bytes: stride,
                extra: 100
            })
        );
    }

    #[test]
    fn frame_marker() {
        assert!(check_frame_marker(b"FRAME\nxyz", 0, 0).is_ok());
        let e = check_frame_marker(b"FRAME Ixyz", 4, 99).expect_err("params");
        assert!(e.to_string().contains("frame 4"), "{e}");
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
                let _ = parse_header(&bytes);
            }

            #[test]
            fn never_panics_after_magic(tail in "[ -~\n]{0,120}") {
                let _ = parse_header(format!("YUV4MPEG2 {tail}").as_bytes());
            }

            #[test]
            fn round_trip(w in 1usize..5000, h in 1usize..5000, num in 1u64..240000,
                          den in 1u64..1002, ten in any::<bool>()) {
                let c = if ten { "420p10" } else { "420jpeg" };
                let line = format!("YUV4MPEG2 W{w} H{h} F{num}:{den} Ip A1:1 C{c}\n");
                let parsed = parse_header(line.as_bytes()).expect("valid");
                prop_assert_eq!(parsed.width, w);
                prop_assert_eq!(parsed.height, h);
                prop_assert_eq!(parsed.fps, Rate { num, den });
                prop_assert_eq!(parsed.header_len(), line.len() as u64);
                let bps = if ten { 2 } else { 1 };
                prop_assert_eq!(parsed.planes_len(),
                    ((w * h + 2 * w.div_ceil(2) * h.div_ceil(2)) * bps) as u64);
            }

            #[test]
            fn frame_count_inverts_offsets(frames in 0u64..1000, extra in 0u64..5) {
                let h = parse_header(b"YUV4MPEG2 W20 H10 C420p10\n").expect("valid");
                let len = h.frame_offset(frames) + extra;
                let counted = h.frame_count(len);
                if extra == 0 {
                    prop_assert_eq!(counted, Ok(frames));
                } else {
                    prop_assert!(counted.is_err());
                }
            }
        }
    }
}
