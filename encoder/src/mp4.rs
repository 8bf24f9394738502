//! A minimal MP4 (ISO BMFF) writer for one AV1 video track: pure box building.
//!
//! Layout: `ftyp`, then `mdat` with every sample back to back (one chunk), then `moov`. The
//! `moov` goes last because sample sizes are known only once the packets are written; players
//! that stream from the start prefer it first, but for a file on disk either order is valid and
//! this one needs no second pass. Timestamps are frame numbers: timescale = frame-rate
//! numerator, every sample lasts the denominator (constant frame rate).

/// Everything `moov` says about the track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mp4Track {
    pub width: u16,
    pub height: u16,
    /// Ticks per second (the frame-rate numerator).
    pub timescale: u32,
    /// Ticks per frame (the frame-rate denominator).
    pub sample_delta: u32,
    pub sample_sizes: Vec<u32>,
    /// 1-based numbers of the samples that are keyframes (sync samples).
    pub sync_samples: Vec<u32>,
    /// File offset of the first sample.
    pub data_offset: u64,
    /// The AV1 codec configuration record (`av1C` payload).
    pub av1c: Vec<u8>,
}

/// The `ftyp` box.
pub fn ftyp() -> Vec<u8> {
    let mut payload = Vec::new();
    payload.extend_from_slice(b"isom");
    payload.extend_from_slice(&0x200u32.to_be_bytes());
    for brand in [b"isom", b"iso6", b"av01", b"mp41"] {
        payload.extend_from_slice(brand);
    }
    boxed(b"ftyp", &payload)
}

/// Bytes of the `mdat` header written by [`mdat_header`].
pub const MDAT_HEADER_LEN: u64 = 16;

/// An `mdat` header for `data_len` bytes of samples, in the 64-bit size form so that the size
/// can be patched in after the data is written whatever it turns out to be.
pub fn mdat_header(data_len: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[0..4].copy_from_slice(&1u32.to_be_bytes());
    out[4..8].copy_from_slice(b"mdat");
    out[8..16].copy_from_slice(&(data_len + MDAT_HEADER_LEN).to_be_bytes());
    out
}

/// The `moov` box describing the track.
pub fn moov(t: &Mp4Track) -> Vec<u8> {
    let n = t.sample_sizes.len() as u64;
    let duration = n * u64::from(t.sample_delta);
    let mut out = Vec::new();
    out.extend(mvhd(t.timescale, duration));
    out.extend(trak(t, duration));
    boxed(b"moov", &out)
}

/// The `moov` of a fragmented (CMAF) file: the track without samples (they come in the
/// segments' `moof` boxes, [`crate::cmaf`]) and `mvex` saying so.
pub fn moov_fragmented(t: &Mp4Track) -> Vec<u8> {
    let mut out = mvhd(t.timescale, 0);
    out.extend(trak(t, 0));
    let mut trex = full(0, 0);
    for v in [1, 1, t.sample_delta, 0, 0] {
        // track id, sample description, default duration, size and flags
        trex.extend_from_slice(&v.to_be_bytes());
    }
    out.extend(boxed(b"mvex", &boxed(b"trex", &trex)));
    boxed(b"moov", &out)
}

pub(crate) fn mvhd(timescale: u32, duration: u64) -> Vec<u8> {
    let mut p = full(1, 0);
    p.extend_from_slice(&0u64.to_be_bytes()); // creation
    p.extend_from_slice(&0u64.to_be_bytes()); // modification
    p.extend_from_slice(&timescale.to_be_bytes());
    p.extend_from_slice(&duration.to_be_bytes());
    p.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    p.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    p.extend_from_slice(&[0; 10]);
    p.extend(matrix());
    p.extend_from_slice(&[0; 24]);
    p.extend_from_slice(&2u32.to_be_bytes()); // next track id
    boxed(b"mvhd", &p)
}

/// A track's media header: its timescale and duration (0 when the samples are in fragments).
pub(crate) fn mdhd(timescale: u32, duration: u64) -> Vec<u8> {
    let mut p = full(1, 0);
    p.extend_from_slice(&0u64.to_be_bytes()); // creation
    p.extend_from_slice(&0u64.to_be_bytes()); // modification
    p.extend_from_slice(&timescale.to_be_bytes());
    p.extend_from_slice(&duration.to_be_bytes());
    p.extend_from_slice(&0x55c4u16.to_be_bytes()); // language "und"
    p.extend_from_slice(&0u16.to_be_bytes());
    boxed(b"mdhd", &p)
}

/// A track's handler: `vide` or `soun`, with its name.
pub(crate) fn hdlr(handler: &[u8; 4], name: &str) -> Vec<u8> {
    let mut p = full(0, 0);
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(handler);
    p.extend_from_slice(&[0; 12]);
    p.extend_from_slice(name.as_bytes());
    p.push(0);
    boxed(b"hdlr", &p)
}

fn trak(t: &Mp4Track, duration: u64) -> Vec<u8> {
    let mut tkhd = full(1, 3); // enabled, in movie
    tkhd.extend_from_slice(&0u64.to_be_bytes());
    tkhd.extend_from_slice(&0u64.to_be_bytes());
    tkhd.extend_from_slice(&1u32.to_be_bytes()); // track id
    tkhd.extend_from_slice(&0u32.to_be_bytes());
    tkhd.extend_from_slice(&duration.to_be_bytes());
    tkhd.extend_from_slice(&[0; 8]);
    tkhd.extend_from_slice(&[0; 4]); // layer, alternate group
    tkhd.extend_from_slice(&[0; 4]); // volume, reserved
    tkhd.extend(matrix());
    tkhd.extend_from_slice(&(u32::from(t.width) << 16).to_be_bytes());
    tkhd.extend_from_slice(&(u32::from(t.height) << 16).to_be_bytes());

    let mut vmhd = full(0, 1);
    vmhd.extend_from_slice(&[0; 8]);
    let minf = [boxed(b"vmhd", &vmhd), dinf(), stbl(t)].concat();
    let mdia = [
        mdhd(t.timescale, duration),
        hdlr(b"vide", "VideoHandler"),
        boxed(b"minf", &minf),
    ]
    .concat();
    boxed(
        b"trak",
        &[boxed(b"tkhd", &tkhd), boxed(b"mdia", &mdia)].concat(),
    )
}

/// `dinf`: the samples are in this file.
pub(crate) fn dinf() -> Vec<u8> {
    let mut dref = full(0, 0);
    dref.extend_from_slice(&1u32.to_be_bytes());
    dref.extend(boxed(b"url ", &full(0, 1)));
    boxed(b"dinf", &boxed(b"dref", &dref))
}

fn stbl(t: &Mp4Track) -> Vec<u8> {
    let n = t.sample_sizes.len() as u32;

    let mut entry = vec![0u8; 6];
    entry.extend_from_slice(&1u16.to_be_bytes()); // data reference index
    entry.extend_from_slice(&[0; 16]);
    entry.extend_from_slice(&t.width.to_be_bytes());
    entry.extend_from_slice(&t.height.to_be_bytes());
    entry.extend_from_slice(&0x0048_0000u32.to_be_bytes()); // 72 dpi
    entry.extend_from_slice(&0x0048_0000u32.to_be_bytes());
    entry.extend_from_slice(&0u32.to_be_bytes());
    entry.extend_from_slice(&1u16.to_be_bytes()); // frames per sample
    entry.extend_from_slice(&[0; 32]); // compressor name
    entry.extend_from_slice(&0x0018u16.to_be_bytes()); // depth
    entry.extend_from_slice(&(-1i16).to_be_bytes());
    entry.extend(boxed(b"av1C", &t.av1c));
    let mut stsd = full(0, 0);
    stsd.extend_from_slice(&1u32.to_be_bytes());
    stsd.extend(boxed(b"av01", &entry));

    if n == 0 {
        // A fragmented file's: every table empty.
        let body = [boxed(b"stsd", &stsd), empty_sample_tables()].concat();
        return boxed(b"stbl", &body);
    }
    let mut stts = full(0, 0);
    stts.extend_from_slice(&1u32.to_be_bytes());
    stts.extend_from_slice(&n.to_be_bytes());
    stts.extend_from_slice(&t.sample_delta.to_be_bytes());

    let mut stss = full(0, 0);
    stss.extend_from_slice(&(t.sync_samples.len() as u32).to_be_bytes());
    for s in &t.sync_samples {
        stss.extend_from_slice(&s.to_be_bytes());
    }

    let mut stsc = full(0, 0);
    stsc.extend_from_slice(&1u32.to_be_bytes());
    for v in [1, n, 1] {
        stsc.extend_from_slice(&v.to_be_bytes());
    }

    let mut stsz = full(0, 0);
    stsz.extend_from_slice(&0u32.to_be_bytes());
    stsz.extend_from_slice(&n.to_be_bytes());
    for s in &t.sample_sizes {
        stsz.extend_from_slice(&s.to_be_bytes());
    }

    let mut co64 = full(0, 0);
    co64.extend_from_slice(&1u32.to_be_bytes());
    co64.extend_from_slice(&t.data_offset.to_be_bytes());

    let body = [
        boxed(b"stsd", &stsd),
        boxed(b"stts", &stts),
        boxed(b"stss", &stss),
        boxed(b"stsc", &stsc),
        boxed(b"stsz", &stsz),
        boxed(b"co64", &co64),
    ]
    .concat();
    boxed(b"stbl", &body)
}

pub(crate) fn matrix() -> Vec<u8> {
    [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
}

pub(crate) fn full(version: u8, flags: u32) -> Vec<u8> {
    let mut v = flags.to_be_bytes();
    v[0] = version;
    v.to_vec()
}

pub(crate) fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&((8 + payload.len()) as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// A box as read back: type and payload (for tests and checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBox<'a> {
    pub kind: [u8; 4],
    pub payload: &'a [u8],
}

/// Splits `bytes` into top-level boxes; `None` if a size is inconsistent.
pub fn boxes(bytes: &[u8]) -> Option<Vec<RawBox<'_>>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let head = bytes.get(at..at + 8)?;
        let mut kind = [0u8; 4];
        kind.copy_from_slice(&head[4..8]);
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
        let (size, header) = if size32 == 1 {
            let large = bytes.get(at + 8..at + 16)?;
            let mut b = [0u8; 8];
            b.copy_from_slice(large);
            (u64::from_be_bytes(b), 16)
        } else {
            (size32, 8)
        };
        let size = usize::try_from(size).ok()?;
        if size < header {
            return None;
        }
        let payload = bytes.get(at + header..at.checked_add(size)?)?;
        out.push(RawBox { kind, payload });
        at += size;
    }
    Some(out)
}

/// The sample tables of a fragmented file's track, all empty (the samples are in the
/// fragments): `stts`, `stsc`, `stsz` and `stco`.
pub(crate) fn empty_sample_tables() -> Vec<u8> {
    let empty = |kind: &[u8; 4], extra: usize| {
        let mut p = full(0, 0);
        p.extend(std::iter::repeat_n(0u8, 4 + extra));
        boxed(kind, &p)
    };
    [
        empty(b"stts", 0),
        empty(b"stsc", 0),
        empty(b"stsz", 4),
        empty(b"stco", 0),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn track(n: u32) -> Mp4Track {
        Mp4Track {
            width: 320,
            height: 136,
            timescale: 25,
            sample_delta: 1,
            sample_sizes: (0..n).map(|i| 100 + i).collect(),
            sync_samples: vec![1],
            data_offset: 48,
            av1c: vec![0x81, 0, 0, 0],
        }
    }

    #[test]
    fn top_level_layout() {
        let data_len = 1000;
        let mut file = ftyp();
        file.extend_from_slice(&mdat_header(data_len));
        file.extend(std::iter::repeat_n(0u8, data_len as usize));
        file.extend(moov(&track(3)));
        let kinds: Vec<[u8; 4]> = boxes(&file)
            .expect("boxes")
            .iter()
            .map(|b| b.kind)
            .collect();
        assert_eq!(kinds, vec![*b"ftyp", *b"mdat", *b"moov"]);
    }

    proptest! {
        #[test]
        fn moov_nests_consistently(n in 0u32..300) {
            let m = moov(&track(n));
            let top = boxes(&m).expect("moov parses");
            prop_assert_eq!(top.len(), 1);
            let inner = boxes(top[0].payload).expect("children parse");
            let kinds: Vec<[u8; 4]> = inner.iter().map(|b| b.kind).collect();
            prop_assert_eq!(kinds, vec![*b"mvhd", *b"trak"]);
        }

        #[test]
        fn box_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = boxes(&bytes);
        }
    }
}
