//! Opus in CMAF (fragmented MP4) as "Encapsulation of Opus in ISO Base Media File Format"
//! (version 1.0.0, the text ISO/IEC 23003-5 took up) has it: pure byte building and the plan
//! of where one continuous encode is cut into segments.
//!
//! - **Init segment**: `ftyp` (brands `iso6`, which supports roll groups, `cmfc`, `Opus`,
//!   `dash`) + `moov`: timescale 48000 in the movie and the media, an `Opus` sample entry
//!   (channel count, sample size 16, rate 48000) holding `dOps` (big-endian: version 0,
//!   output channels, pre-skip, input rate, output gain 0, mapping family and, for family 1,
//!   stream and coupled counts and the mapping table), an edit list whose `media_time` is the
//!   priming (the encoder delay) and whose duration is the source's length, so players present
//!   exactly the source's samples, and the pre-roll the spec requires (4.3.6.2: "at least one
//!   Sample Group Description Box and at least one Sample to Group Box ... with the
//!   grouping_type field set to 'roll'"; `roll_distance` -4: 80 ms of 20 ms packets).
//! - **Media segments**: [`crate::cmaf::media_segment_with`]'s `styp` + `moof` + `mdat`, every
//!   sample a sync sample (every Opus packet decodes on its own), each `traf` with the `sbgp`
//!   the spec requires of every track fragment, its samples in the `moov`'s roll group.
//! - **Plan**: the encode is one stream of 20 ms packets; segment `s` starts at the packet
//!   whose presentation time is nearest the video segment's start. The priming is made a whole
//!   number of packets ([`PRIMING`], 80 ms: the encoder's own delay plus leading silence), so a
//!   video boundary on a 20 ms grid (2 s, 0.8 s at 25 fps) falls exactly on a packet boundary,
//!   and the pre-skip meets the spec's "at least 80 milliseconds' worth".

use std::ops::Range;

use super::ogg::Mapping;
use crate::cmaf::{self, Sample};
use crate::mp4::{boxed, dinf, full, hdlr, matrix, mdhd, mvhd};

/// The media and movie timescale: Opus's own 48 kHz.
pub const TIMESCALE: u32 = 48_000;
/// Samples (48 kHz) of one packet: 20 ms.
pub const PACKET: u64 = 960;
/// Samples before the source's first one in the decoded stream: 80 ms, four whole packets
/// (libopus's lookahead, 312 samples, and silence fed before the source).
pub const PRIMING: u64 = 4 * PACKET;
/// The decoder's pre-roll in packets (80 ms), as a negative `roll_distance`.
pub const ROLL_DISTANCE: i16 = -((PRIMING / PACKET) as i16);

/// What the init segment says about a rung.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpusTrack {
    pub channels: u8,
    pub mapping: Mapping,
    /// The source's sample rate (informative in `dOps`).
    pub input_rate: u32,
    /// Samples presented: the source's length (the edit's duration).
    pub samples: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    #[error(
        "video segment {index} starts at sample {start}, within 20 ms (one Opus packet) of the \
         one before it: audio segments are whole 20 ms packets, so segments this short cannot \
         be cut"
    )]
    TooShort { index: usize, start: u64 },
    #[error("video segment starts {0:?} do not begin at 0 and increase")]
    Starts(Vec<u64>),
}

/// Packets of the whole encode of `samples` source samples: priming, source, then enough of
/// the encoder's tail to end on a whole packet.
pub fn packets(samples: u64) -> u64 {
    (samples + PRIMING).div_ceil(PACKET)
}

/// Each segment's packets, for video segments starting at source samples `starts` (the first
/// 0) of a source of `samples`: segment 0 from the first packet (priming included), segment
/// `s` from the packet whose presented start is nearest `starts[s]` (ties go later), the last
/// to the end.
pub fn plan(starts: &[u64], samples: u64) -> Result<Vec<Range<u64>>, PlanError> {
    if starts.first() != Some(&0) || starts.windows(2).any(|w| w[1] <= w[0]) {
        return Err(PlanError::Starts(starts.to_vec()));
    }
    let total = packets(samples);
    // The packet presented first in each segment; segment 0 also takes the priming.
    let mut firsts: Vec<u64> = vec![PRIMING / PACKET];
    for (index, &start) in starts.iter().enumerate().skip(1) {
        let k = (start + PRIMING + PACKET / 2) / PACKET;
        let prev = *firsts.last().unwrap_or(&0);
        if k <= prev || k >= total {
            return Err(PlanError::TooShort { index, start });
        }
        firsts.push(k);
    }
    firsts[0] = 0;
    Ok(firsts
        .iter()
        .zip(firsts.iter().skip(1).chain(std::iter::once(&total)))
        .map(|(&a, &b)| a..b)
        .collect())
}

/// `dOps`: the Opus decoder configuration (big-endian, unlike Ogg's `OpusHead`).
pub fn dops(t: &OpusTrack) -> Vec<u8> {
    let mut p = vec![0, t.channels];
    p.extend_from_slice(&(PRIMING as u16).to_be_bytes());
    p.extend_from_slice(&t.input_rate.to_be_bytes());
    p.extend_from_slice(&0i16.to_be_bytes());
    p.push(t.mapping.family);
    if t.mapping.family != 0 {
        p.push(t.mapping.streams);
        p.push(t.mapping.coupled);
        p.extend_from_slice(&t.mapping.table);
    }
    boxed(b"dOps", &p)
}

/// A `roll` sample group box: `sgpd` with one entry, the pre-roll.
fn roll_description() -> Vec<u8> {
    let mut p = full(1, 0);
    p.extend_from_slice(b"roll");
    p.extend_from_slice(&2u32.to_be_bytes()); // default length: one int(16)
    p.extend_from_slice(&1u32.to_be_bytes());
    p.extend_from_slice(&ROLL_DISTANCE.to_be_bytes());
    boxed(b"sgpd", &p)
}

/// `sbgp`: `count` samples in the `moov`'s roll group (description 1), or none.
fn roll_samples(count: u32) -> Vec<u8> {
    let mut p = full(0, 0);
    p.extend_from_slice(b"roll");
    if count == 0 {
        p.extend_from_slice(&0u32.to_be_bytes());
    } else {
        p.extend_from_slice(&1u32.to_be_bytes());
        p.extend_from_slice(&count.to_be_bytes());
        p.extend_from_slice(&1u32.to_be_bytes());
    }
    boxed(b"sbgp", &p)
}

/// The init segment of one rung.
pub fn init_segment(t: &OpusTrack) -> Vec<u8> {
    let mut tkhd = full(1, 3); // enabled, in movie
    tkhd.extend_from_slice(&0u64.to_be_bytes());
    tkhd.extend_from_slice(&0u64.to_be_bytes());
    tkhd.extend_from_slice(&1u32.to_be_bytes()); // track id
    tkhd.extend_from_slice(&0u32.to_be_bytes());
    tkhd.extend_from_slice(&t.samples.to_be_bytes());
    tkhd.extend_from_slice(&[0; 8]);
    tkhd.extend_from_slice(&[0; 4]); // layer, alternate group
    tkhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    tkhd.extend_from_slice(&[0; 2]);
    tkhd.extend(matrix());
    tkhd.extend_from_slice(&[0; 8]); // no width, height

    let mut elst = full(1, 0);
    elst.extend_from_slice(&1u32.to_be_bytes());
    elst.extend_from_slice(&t.samples.to_be_bytes()); // in the movie timescale, also 48 kHz
    elst.extend_from_slice(&(PRIMING as i64).to_be_bytes());
    elst.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    let edts = boxed(b"edts", &boxed(b"elst", &elst));

    let smhd = boxed(
        b"smhd",
        &full(0, 0).into_iter().chain([0; 4]).collect::<Vec<u8>>(),
    );

    let mut entry = vec![0u8; 6];
    entry.extend_from_slice(&1u16.to_be_bytes()); // data reference index
    entry.extend_from_slice(&[0; 8]);
    entry.extend_from_slice(&u16::from(t.channels).to_be_bytes());
    entry.extend_from_slice(&16u16.to_be_bytes()); // sample size
    entry.extend_from_slice(&[0; 4]);
    entry.extend_from_slice(&(TIMESCALE << 16).to_be_bytes());
    entry.extend(dops(t));
    let mut stsd = full(0, 0);
    stsd.extend_from_slice(&1u32.to_be_bytes());
    stsd.extend(boxed(b"Opus", &entry));
    let stbl = [
        boxed(b"stsd", &stsd),
        crate::mp4::empty_sample_tables(),
        roll_description(),
        roll_samples(0),
    ]
    .concat();
    let minf = [smhd, dinf(), boxed(b"stbl", &stbl)].concat();
    let mdia = [
        // Duration 0: the samples are in the fragments.
        mdhd(TIMESCALE, 0),
        hdlr(b"soun", "SoundHandler"),
        boxed(b"minf", &minf),
    ]
    .concat();
    let trak = boxed(
        b"trak",
        &[boxed(b"tkhd", &tkhd), edts, boxed(b"mdia", &mdia)].concat(),
    );
    let mut trex = full(0, 0);
    for v in [1, 1, PACKET as u32, 0, 0] {
        // track id, sample description, default duration, size and flags
        trex.extend_from_slice(&v.to_be_bytes());
    }
    let moov = [
        mvhd(TIMESCALE, 0),
        trak,
        boxed(b"mvex", &boxed(b"trex", &trex)),
    ]
    .concat();
    [cmaf::init_ftyp_with(b"Opus"), boxed(b"moov", &moov)].concat()
}

/// Media segment `sequence` (from 1): `packets`, the first of which is packet `first` of the
/// encode (its decode time is `first` x 20 ms).
pub fn media_segment(sequence: u32, first: u64, packets: &[Vec<u8>]) -> Vec<u8> {
    let samples: Vec<Sample<'_>> = packets
        .iter()
        .map(|p| Sample {
            data: p,
            keyframe: true,
            duration: PACKET as u32,
        })
        .collect();
    let group = roll_samples(u32::try_from(packets.len()).unwrap_or(u32::MAX));
    cmaf::media_segment_with(sequence, first * PACKET, &samples, &group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::{RawBox, boxes};
    use proptest::prelude::*;

    fn child<'a>(parent: &'a [u8], path: &[&[u8; 4]]) -> RawBox<'a> {
        let mut here = RawBox {
            kind: *b"root",
            payload: parent,
        };
        for kind in path {
            let skip = match &here.kind {
                b"stsd" => 8,
                b"Opus" => 28,
                _ => 0,
            };
            here = boxes(&here.payload[skip..])
                .expect("boxes")
                .into_iter()
                .find(|b| &b.kind == *kind)
                .unwrap_or_else(|| panic!("no {}", String::from_utf8_lossy(*kind)));
        }
        here
    }

    fn surround() -> OpusTrack {
        OpusTrack {
            channels: 6,
            mapping: Mapping {
                family: 1,
                streams: 4,
                coupled: 2,
                table: vec![0, 4, 1, 2, 3, 5],
            },
            input_rate: 48_000,
            samples: 96_000,
        }
    }

    #[test]
    fn dops_is_big_endian_with_the_mapping_table_for_family_1() {
        let d = dops(&surround());
        assert_eq!(&d[4..8], b"dOps");
        assert_eq!(
            &d[8..],
            &[
                0, 6, 0x0f, 0x00, 0, 0, 0xbb, 0x80, 0, 0, 1, 4, 2, 0, 4, 1, 2, 3, 5
            ]
        );
        let stereo = OpusTrack {
            channels: 2,
            mapping: Mapping {
                family: 0,
                streams: 1,
                coupled: 1,
                table: Vec::new(),
            },
            ..surround()
        };
        assert_eq!(
            &dops(&stereo)[8..],
            &[0, 2, 0x0f, 0x00, 0, 0, 0xbb, 0x80, 0, 0, 0]
        );
    }

    #[test]
    fn the_init_segment_trims_the_priming_with_an_edit_and_declares_the_roll() {
        let init = init_segment(&surround());
        let top = boxes(&init).expect("boxes");
        assert_eq!(
            top.iter().map(|b| b.kind).collect::<Vec<_>>(),
            [*b"ftyp", *b"moov"]
        );
        assert!(top[0].payload.windows(4).any(|w| w == b"Opus"));
        let elst = child(&init, &[b"moov", b"trak", b"edts", b"elst"]);
        let p = elst.payload;
        assert_eq!(u32::from_be_bytes(p[4..8].try_into().expect("4")), 1);
        assert_eq!(u64::from_be_bytes(p[8..16].try_into().expect("8")), 96_000);
        assert_eq!(i64::from_be_bytes(p[16..24].try_into().expect("8")), 3840);
        let mdhd = child(&init, &[b"moov", b"trak", b"mdia", b"mdhd"]);
        assert_eq!(&mdhd.payload[20..24], &48_000u32.to_be_bytes());
        let dops_box = child(
            &init,
            &[
                b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"Opus", b"dOps",
            ],
        );
        assert_eq!(dops_box.payload[1], 6);
        let sgpd = child(
            &init,
            &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"sgpd"],
        );
        assert_eq!(&sgpd.payload[4..8], b"roll");
        assert_eq!(&sgpd.payload[16..18], &(-4i16).to_be_bytes());
        let hdlr = child(&init, &[b"moov", b"trak", b"mdia", b"hdlr"]);
        assert_eq!(&hdlr.payload[8..12], b"soun");
    }

    #[test]
    fn a_media_segment_puts_every_packet_in_the_roll_group() {
        let packets = vec![vec![1u8; 30], vec![2u8; 20], vec![3u8; 25]];
        let seg = media_segment(2, 40, &packets);
        let top = boxes(&seg).expect("boxes");
        assert_eq!(
            top.iter().map(|b| b.kind).collect::<Vec<_>>(),
            [*b"styp", *b"moof", *b"mdat"]
        );
        assert_eq!(top[2].payload, [packets.concat()].concat());
        let traf = child(&seg, &[b"moof", b"traf"]);
        let kids = boxes(traf.payload).expect("traf");
        assert_eq!(
            kids.iter().map(|b| b.kind).collect::<Vec<_>>(),
            [*b"tfhd", *b"tfdt", *b"trun", *b"sbgp"]
        );
        assert_eq!(&kids[1].payload[4..12], &(40 * 960u64).to_be_bytes());
        assert_eq!(
            &kids[3].payload[8..20],
            &[0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 1]
        );
        // The data offset still points at the mdat's first byte.
        let trun = kids[2].payload;
        let offset = u32::from_be_bytes(trun[8..12].try_into().expect("4")) as usize;
        let styp_len = top[0].payload.len() + 8;
        assert_eq!(
            &seg[styp_len + offset..styp_len + offset + 30],
            &[1u8; 30][..]
        );
    }

    #[test]
    fn boundaries_on_the_20_ms_grid_are_exact_others_the_nearest_packet() {
        // 2 s at 48 kHz: 100 packets a segment, plus the 4 priming packets in the first.
        let p = plan(&[0, 96_000, 192_000], 250_000).expect("plan");
        assert_eq!(p, [0..104, 104..204, 204..packets(250_000)]);
        assert_eq!(packets(250_000), (250_000u64 + 3840).div_ceil(960));
        // 2.002 s (30000/1001 fps, 60 frames): 96096 samples, 100.1 packets -> 100.
        let p = plan(&[0, 96_096, 192_192], 288_288).expect("plan");
        assert_eq!(p[1], 104..204);
        assert_eq!(p[2].start, 204); // 200.2 -> 200
    }

    #[test]
    fn starts_closer_than_a_packet_are_refused() {
        assert_eq!(
            plan(&[0, 100], 10_000),
            Err(PlanError::TooShort {
                index: 1,
                start: 100
            })
        );
        assert!(matches!(plan(&[5], 10_000), Err(PlanError::Starts(_))));
        assert!(matches!(plan(&[0, 0], 10_000), Err(PlanError::Starts(_))));
        // A start past the end of the encode has no packet to start on.
        assert!(matches!(
            plan(&[0, 20_000], 10_000),
            Err(PlanError::TooShort { index: 1, .. })
        ));
    }

    proptest! {
        #[test]
        fn a_plan_tiles_the_packets_and_each_cut_is_within_half_a_packet(
            lens in proptest::collection::vec(960u64..200_000, 1..12),
            tail in 0u64..200_000,
        ) {
            let mut starts = vec![0u64];
            for l in &lens[..lens.len() - 1] {
                starts.push(starts.last().copied().unwrap_or(0) + l);
            }
            let samples = starts.last().copied().unwrap_or(0) + lens[lens.len() - 1] + tail;
            let p = plan(&starts, samples).expect("segments of at least a packet plan");
            prop_assert_eq!(p.len(), starts.len());
            prop_assert_eq!(p[0].start, 0);
            prop_assert_eq!(p[p.len() - 1].end, packets(samples));
            for (s, r) in p.iter().enumerate() {
                prop_assert!(r.start < r.end);
                if s > 0 {
                    prop_assert_eq!(p[s - 1].end, r.start);
                    // The packet's presented start is within half a packet of the video's.
                    let presented = (r.start * PACKET) as i64 - PRIMING as i64;
                    prop_assert!((presented - starts[s] as i64).abs() <= (PACKET / 2) as i64);
                }
            }
            // Every source sample is in some packet: the encode covers priming + source.
            prop_assert!(packets(samples) * PACKET >= samples + PRIMING);
        }

        #[test]
        fn media_segments_parse_whatever_the_packets(
            sizes in proptest::collection::vec(1usize..1500, 1..60),
            first in 0u64..1_000_000,
        ) {
            let packets: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![7u8; n]).collect();
            let seg = media_segment(1, first, &packets);
            let top = boxes(&seg).expect("boxes");
            prop_assert_eq!(top.len(), 3);
            prop_assert_eq!(top[2].payload.len(), sizes.iter().sum::<usize>());
        }
    }
}
