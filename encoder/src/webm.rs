//! A minimal WebM (Matroska) writer for one AV1 video track: pure element building.
//!
//! Layout: EBML header; a Segment holding a SeekHead, Info, Tracks, one Cluster per scene (a
//! scene starts with a keyframe, so every cluster is a seek point; long scenes are split so that
//! a block's offset from its cluster fits the 16 bits Matroska gives it), then Cues listing
//! the clusters. Sizes and positions that are known only at the end (the Segment's size, the
//! SeekHead's positions) are written as fixed 8-byte numbers and patched, so the file is
//! written in one pass plus a few seeks. Timestamps are in milliseconds (TimestampScale 1 ms,
//! the WebM convention); the exact frame duration is in DefaultDuration.

/// Element IDs (with their length marker bits, as written).
mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const EBML_VERSION: u32 = 0x4286;
    pub const EBML_READ_VERSION: u32 = 0x42F7;
    pub const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
    pub const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
    pub const DOC_TYPE: u32 = 0x4282;
    pub const DOC_TYPE_VERSION: u32 = 0x4287;
    pub const DOC_TYPE_READ_VERSION: u32 = 0x4285;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const SEEK_HEAD: u32 = 0x114D_9B74;
    pub const SEEK: u32 = 0x4DBB;
    pub const SEEK_ID: u32 = 0x53AB;
    pub const SEEK_POSITION: u32 = 0x53AC;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub const DURATION: u32 = 0x4489;
    pub const MUXING_APP: u32 = 0x4D80;
    pub const WRITING_APP: u32 = 0x5741;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_UID: u32 = 0x73C5;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const FLAG_LACING: u32 = 0x9C;
    pub const CODEC_ID: u32 = 0x86;
    pub const CODEC_PRIVATE: u32 = 0x63A2;
    pub const DEFAULT_DURATION: u32 = 0x23_E383;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXEL_WIDTH: u32 = 0xB0;
    pub const PIXEL_HEIGHT: u32 = 0xBA;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const TIMESTAMP: u32 = 0xE7;
    pub const SIMPLE_BLOCK: u32 = 0xA3;
    pub const CUES: u32 = 0x1C53_BB6B;
    pub const CUE_POINT: u32 = 0xBB;
    pub const CUE_TIME: u32 = 0xB3;
    pub const CUE_TRACK_POSITIONS: u32 = 0xB7;
    pub const CUE_TRACK: u32 = 0xF7;
    pub const CUE_CLUSTER_POSITION: u32 = 0xF1;
}

/// Nanoseconds per timestamp tick.
const TIMESTAMP_SCALE_NS: u64 = 1_000_000;
/// The video track's number (blocks name it).
const TRACK: u8 = 1;
/// Furthest a block may start from its cluster's timestamp, in ticks (i16, with margin).
pub const MAX_BLOCK_OFFSET: u64 = 30_000;

/// What Tracks says about the video.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebmTrack {
    pub width: u16,
    pub height: u16,
    /// Frame rate `num / den`.
    pub fps_num: u32,
    pub fps_den: u32,
    /// The AV1 codec configuration record (`av1C`), Matroska's CodecPrivate for AV1.
    pub av1c: Vec<u8>,
}

impl WebmTrack {
    /// Timestamp (ticks, rounded) of frame `pts`.
    pub fn timestamp(&self, pts: u64) -> u64 {
        let ns = u128::from(pts) * 1_000_000_000 * u128::from(self.fps_den);
        let scale = u128::from(TIMESTAMP_SCALE_NS) * u128::from(self.fps_num.max(1));
        u64::try_from((ns + scale / 2) / scale).unwrap_or(u64::MAX)
    }

    fn frame_ns(&self) -> u64 {
        1_000_000_000 * u64::from(self.fps_den) / u64::from(self.fps_num.max(1))
    }
}

/// An element: ID, size (shortest form), payload.
pub fn element(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = id_bytes(id);
    out.extend_from_slice(&size_vint(payload.len() as u64));
    out.extend_from_slice(payload);
    out
}

fn uint(id: u32, v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    element(id, &bytes[skip..])
}

fn float(id: u32, v: f64) -> Vec<u8> {
    element(id, &v.to_be_bytes())
}

fn id_bytes(id: u32) -> Vec<u8> {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(3);
    bytes[skip..].to_vec()
}

/// EBML variable-size integer, shortest form (all ones is reserved for "unknown").
fn size_vint(v: u64) -> Vec<u8> {
    let len = (1..=8).find(|&l| v < (1u64 << (7 * l)) - 1).unwrap_or(8);
    fixed_size_vint(v, len)
}

/// EBML variable-size integer in exactly `len` bytes, for sizes patched later.
fn fixed_size_vint(v: u64, len: usize) -> Vec<u8> {
    let marked = v | (1u64 << (7 * len));
    marked.to_be_bytes()[8 - len..].to_vec()
}

/// The EBML header of a WebM file.
pub fn ebml_header() -> Vec<u8> {
    let body = [
        uint(id::EBML_VERSION, 1),
        uint(id::EBML_READ_VERSION, 1),
        uint(id::EBML_MAX_ID_LENGTH, 4),
        uint(id::EBML_MAX_SIZE_LENGTH, 8),
        element(id::DOC_TYPE, b"webm"),
        uint(id::DOC_TYPE_VERSION, 4),
        uint(id::DOC_TYPE_READ_VERSION, 2),
    ]
    .concat();
    element(id::EBML, &body)
}

/// Bytes of the Segment's ID and its 8-byte size: positions inside the Segment count from here.
pub const SEGMENT_HEADER_LEN: u64 = 12;

/// The Segment's ID and size (of everything after them).
pub fn segment_header(size: u64) -> Vec<u8> {
    let mut out = id_bytes(id::SEGMENT);
    out.extend_from_slice(&fixed_size_vint(size, 8));
    out
}

/// Where the top-level elements are, relative to the Segment's data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeekPositions {
    pub info: u64,
    pub tracks: u64,
    pub cues: u64,
}

/// The SeekHead; always the same length, so that it can be written first and patched.
pub fn seek_head(p: SeekPositions) -> Vec<u8> {
    let seek = |target: u32, position: u64| {
        let body = [
            element(id::SEEK_ID, &id_bytes(target)),
            element(id::SEEK_POSITION, &position.to_be_bytes()),
        ]
        .concat();
        element(id::SEEK, &body)
    };
    let body = [
        seek(id::INFO, p.info),
        seek(id::TRACKS, p.tracks),
        seek(id::CUES, p.cues),
    ]
    .concat();
    element(id::SEEK_HEAD, &body)
}

/// Info: time scale and duration of `frames` frames.
pub fn info(track: &WebmTrack, frames: u64) -> Vec<u8> {
    let app = concat!("segment-encode ", env!("CARGO_PKG_VERSION"));
    let duration = track.timestamp(frames) as f64;
    let body = [
        uint(id::TIMESTAMP_SCALE, TIMESTAMP_SCALE_NS),
        float(id::DURATION, duration),
        element(id::MUXING_APP, app.as_bytes()),
        element(id::WRITING_APP, app.as_bytes()),
    ]
    .concat();
    element(id::INFO, &body)
}

/// Tracks: the one AV1 video track.
pub fn tracks(t: &WebmTrack) -> Vec<u8> {
    let video = [
        uint(id::PIXEL_WIDTH, u64::from(t.width)),
        uint(id::PIXEL_HEIGHT, u64::from(t.height)),
    ]
    .concat();
    let entry = [
        uint(id::TRACK_NUMBER, u64::from(TRACK)),
        uint(id::TRACK_UID, 1),
        uint(id::TRACK_TYPE, 1),
        uint(id::FLAG_LACING, 0),
        element(id::CODEC_ID, b"V_AV1"),
        element(id::CODEC_PRIVATE, &t.av1c),
        uint(id::DEFAULT_DURATION, t.frame_ns()),
        element(id::VIDEO, &video),
    ]
    .concat();
    element(id::TRACKS, &element(id::TRACK_ENTRY, &entry))
}

/// One block of a cluster: its timestamp (ticks, absolute), keyframe flag and data.
#[derive(Clone, Copy, Debug)]
pub struct Block<'a> {
    pub timestamp: u64,
    pub keyframe: bool,
    pub data: &'a [u8],
}

/// A Cluster of `blocks`, its timestamp that of the first. Every block must lie within
/// [`MAX_BLOCK_OFFSET`] ticks after the first; `None` if one does not.
pub fn cluster(blocks: &[Block<'_>]) -> Option<Vec<u8>> {
    let start = blocks.first()?.timestamp;
    let mut body = uint(id::TIMESTAMP, start);
    for b in blocks {
        let offset = b.timestamp.checked_sub(start)?;
        let offset = i16::try_from(offset)
            .ok()
            .filter(|&o| o as u64 <= MAX_BLOCK_OFFSET)?;
        let mut block = Vec::with_capacity(4 + b.data.len());
        block.push(0x80 | TRACK);
        block.extend_from_slice(&offset.to_be_bytes());
        block.push(if b.keyframe { 0x80 } else { 0 });
        block.extend_from_slice(b.data);
        body.extend_from_slice(&element(id::SIMPLE_BLOCK, &block));
    }
    Some(element(id::CLUSTER, &body))
}

/// Cues: for each keyframe cluster, its timestamp and position in the Segment's data.
pub fn cues(points: &[(u64, u64)]) -> Vec<u8> {
    let mut body = Vec::new();
    for &(time, position) in points {
        let positions = [
            uint(id::CUE_TRACK, u64::from(TRACK)),
            uint(id::CUE_CLUSTER_POSITION, position),
        ]
        .concat();
        let point = [
            uint(id::CUE_TIME, time),
            element(id::CUE_TRACK_POSITIONS, &positions),
        ]
        .concat();
        body.extend_from_slice(&element(id::CUE_POINT, &point));
    }
    element(id::CUES, &body)
}

/// One element read back: ID, payload. For tests and checks of written files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawElement<'a> {
    pub id: u32,
    pub payload: &'a [u8],
}

/// Splits `bytes` into consecutive elements; `None` if they do not parse exactly.
pub fn elements(mut bytes: &[u8]) -> Option<Vec<RawElement<'_>>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (id, id_len) = read_vint(bytes, true)?;
        let (size, size_len) = read_vint(bytes.get(id_len..)?, false)?;
        let start = id_len + size_len;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        out.push(RawElement {
            id: u32::try_from(id).ok()?,
            payload: bytes.get(start..end)?,
        });
        bytes = &bytes[end..];
    }
    Some(out)
}

/// An EBML vint; IDs keep their marker bit, sizes lose it.
fn read_vint(bytes: &[u8], keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let raw = bytes.get(..len)?;
    let mut v = raw.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if !keep_marker {
        v &= (1u64 << (7 * len)) - 1;
    }
    Some((v, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn track() -> WebmTrack {
        WebmTrack {
            width: 320,
            height: 136,
            fps_num: 30000,
            fps_den: 1001,
            av1c: vec![0x81, 0x00, 0x0c, 0x00],
        }
    }

    #[test]
    fn sizes_use_the_shortest_vint_and_avoid_the_reserved_value() {
        assert_eq!(size_vint(0), vec![0x80]);
        assert_eq!(size_vint(126), vec![0xfe]);
        // 127 in one byte would be all ones ("unknown size").
        assert_eq!(size_vint(127), vec![0x40, 0x7f]);
        assert_eq!(fixed_size_vint(5, 8), vec![1, 0, 0, 0, 0, 0, 0, 5]);
    }

    #[test]
    fn timestamps_round_ntsc_frames_to_milliseconds() {
        let t = track();
        assert_eq!(t.timestamp(0), 0);
        assert_eq!(t.timestamp(1), 33);
        assert_eq!(t.timestamp(2), 67);
        assert_eq!(t.timestamp(30000), 1_001_000);
        assert_eq!(t.frame_ns(), 33_366_666);
    }

    #[test]
    fn a_cluster_reads_back_with_its_blocks() {
        let data = [1u8, 2, 3];
        let blocks = [
            Block {
                timestamp: 1000,
                keyframe: true,
                data: &data,
            },
            Block {
                timestamp: 1040,
                keyframe: false,
                data: &data[..1],
            },
        ];
        let bytes = cluster(&blocks).expect("fits");
        let top = elements(&bytes).expect("parses");
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].id, id::CLUSTER);
        let inner = elements(top[0].payload).expect("parses");
        assert_eq!(inner[0].id, id::TIMESTAMP);
        assert_eq!(inner[0].payload, &1000u64.to_be_bytes()[6..]);
        assert_eq!(inner[1].payload, &[0x81, 0, 0, 0x80, 1, 2, 3]);
        assert_eq!(inner[2].payload, &[0x81, 0, 40, 0, 1]);
    }

    #[test]
    fn a_block_too_far_from_its_cluster_is_refused() {
        let block = |timestamp| Block {
            timestamp,
            keyframe: false,
            data: &[],
        };
        assert!(cluster(&[block(0), block(MAX_BLOCK_OFFSET)]).is_some());
        assert!(cluster(&[block(0), block(MAX_BLOCK_OFFSET + 1)]).is_none());
        assert!(cluster(&[]).is_none());
    }

    #[test]
    fn the_seek_head_has_one_length_whatever_the_positions() {
        let a = seek_head(SeekPositions::default());
        let b = seek_head(SeekPositions {
            info: u64::MAX,
            tracks: 1 << 40,
            cues: 3,
        });
        assert_eq!(a.len(), b.len());
    }

    #[test]
    fn headers_parse_as_elements() {
        let t = track();
        let bytes = [ebml_header(), info(&t, 250), tracks(&t), cues(&[(0, 100)])].concat();
        let ids: Vec<u32> = elements(&bytes)
            .expect("parses")
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, vec![id::EBML, id::INFO, id::TRACKS, id::CUES]);
    }

    proptest! {
        #[test]
        fn elements_round_trip(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8)) {
            let bytes: Vec<u8> = payloads.iter().flat_map(|p| element(id::SIMPLE_BLOCK, p)).collect();
            let back = elements(&bytes).expect("parses");
            prop_assert_eq!(back.len(), payloads.len());
            for (e, p) in back.iter().zip(&payloads) {
                prop_assert_eq!(e.id, id::SIMPLE_BLOCK);
                prop_assert_eq!(e.payload, p.as_slice());
            }
        }

        #[test]
        fn parsing_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = elements(&bytes);
        }
    }
}
