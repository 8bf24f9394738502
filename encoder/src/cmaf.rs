//! CMAF (fragmented MP4) for one AV1 track, and the DASH MPD that lists such tracks: pure
//! byte and text building.
//!
//! A representation is an initialisation segment (`ftyp` + a `moov` without samples, see
//! [`crate::mp4::moov_fragmented`]) and media segments, each `styp` + one `moof` (its samples'
//! durations, sizes and key/non-key flags, and its decode time in `tfdt`) + `mdat`. Every media
//! segment starts with a keyframe whose packet carries its own sequence header, so a segment
//! may change resolution from the one before (a per-scene ladder's rung does) and a player can
//! switch representations at any segment.

use crate::mp4::{boxed, full};

/// One sample of a media segment: AV1 OBUs without temporal delimiters.
#[derive(Clone, Debug)]
pub struct Sample<'a> {
    pub data: &'a [u8],
    pub keyframe: bool,
    /// In the track's timescale.
    pub duration: u32,
}

/// `ftyp` of a CMAF initialisation segment.
pub fn init_ftyp() -> Vec<u8> {
    init_ftyp_with(b"av01")
}

/// `ftyp` of a CMAF initialisation segment of a track coded with `codec_brand`.
pub fn init_ftyp_with(codec_brand: &[u8; 4]) -> Vec<u8> {
    let mut p = b"iso6".to_vec();
    p.extend_from_slice(&0u32.to_be_bytes());
    for brand in [b"iso6", b"cmfc", codec_brand, b"dash"] {
        p.extend_from_slice(brand);
    }
    boxed(b"ftyp", &p)
}

/// A media segment: `styp`, `moof` (sequence number `sequence`, from 1), `mdat`.
/// `decode_time` is the first sample's time in the track's timescale.
pub fn media_segment(sequence: u32, decode_time: u64, samples: &[Sample<'_>]) -> Vec<u8> {
    media_segment_with(sequence, decode_time, samples, &[])
}

/// [`media_segment`] with `traf_extra` (whole boxes, e.g. a sample-to-group box) after the
/// `trun` in the `traf`.
pub fn media_segment_with(
    sequence: u32,
    decode_time: u64,
    samples: &[Sample<'_>],
    traf_extra: &[u8],
) -> Vec<u8> {
    let mut styp = b"msdh".to_vec();
    styp.extend_from_slice(&0u32.to_be_bytes());
    for brand in [b"msdh", b"msix", b"cmfs"] {
        styp.extend_from_slice(brand);
    }
    let styp = boxed(b"styp", &styp);
    let mut mfhd = full(0, 0);
    mfhd.extend_from_slice(&sequence.to_be_bytes());
    // default-base-is-moof: data offsets count from the moof's first byte.
    let mut tfhd = full(0, 0x02_0000);
    tfhd.extend_from_slice(&1u32.to_be_bytes());
    let mut tfdt = full(1, 0);
    tfdt.extend_from_slice(&decode_time.to_be_bytes());
    let trun_len = 8 + 4 + 4 + 4 + samples.len() * 12;
    let traf_len = 8 + (8 + tfhd.len()) + (8 + tfdt.len()) + trun_len + traf_extra.len();
    let moof_len = 8 + (8 + mfhd.len()) + traf_len;
    // data offset, then per sample duration, size and flags.
    let mut trun = full(0, 0x0001 | 0x0100 | 0x0200 | 0x0400);
    trun.extend_from_slice(&(samples.len() as u32).to_be_bytes());
    trun.extend_from_slice(&((moof_len + 8) as u32).to_be_bytes());
    for s in samples {
        trun.extend_from_slice(&s.duration.to_be_bytes());
        trun.extend_from_slice(&(s.data.len() as u32).to_be_bytes());
        // Keyframe: depends on no other sample. Others: depend on one, not a sync sample.
        let flags: u32 = if s.keyframe { 0x0200_0000 } else { 0x0101_0000 };
        trun.extend_from_slice(&flags.to_be_bytes());
    }
    let traf = [
        boxed(b"tfhd", &tfhd),
        boxed(b"tfdt", &tfdt),
        boxed(b"trun", &trun),
        traf_extra.to_vec(),
    ]
    .concat();
    let moof = boxed(
        b"moof",
        &[boxed(b"mfhd", &mfhd), boxed(b"traf", &traf)].concat(),
    );
    debug_assert_eq!(moof.len(), moof_len);
    let data: Vec<u8> = samples
        .iter()
        .flat_map(|s| s.data.iter().copied())
        .collect();
    [styp, moof, boxed(b"mdat", &data)].concat()
}

/// The RFC 6381 `codecs` value of an AV1 track from its `av1C` record
/// (`av01.P.LLT.DD`), or `None` if the record is too short.
pub fn av1_codecs(av1c: &[u8]) -> Option<String> {
    let (b1, b2) = (*av1c.get(1)?, *av1c.get(2)?);
    let profile = b1 >> 5;
    let level = b1 & 0x1f;
    let tier = if b2 & 0x80 != 0 { 'H' } else { 'M' };
    let depth = match (b2 & 0x40 != 0, b2 & 0x20 != 0) {
        (true, true) => 12,
        (true, false) => 10,
        _ => 8,
    };
    Some(format!("av01.{profile}.{level:02}{tier}.{depth:02}"))
}

/// One video representation of the MPD.
#[derive(Clone, Debug, PartialEq)]
pub struct Representation {
    pub id: String,
    /// bits/s: the highest segment bitrate, so that a player fetching at this rate never
    /// falls behind by more than a segment.
    pub bandwidth: u64,
    pub width: usize,
    pub height: usize,
    pub codecs: String,
}

/// A static DASH MPD (ISO/IEC 23009-1, live-free "isoff-live" profile with
/// `SegmentTemplate`): one video adaptation set; representation `id`'s files are
/// `id/init.mp4` and `id/seg-00001.m4s`... `timescale` ticks per second, segments of
/// `segment_ticks` (the last may be shorter), `duration_s` in total.
pub fn mpd(
    reps: &[Representation],
    timescale: u64,
    segment_ticks: u64,
    frame_rate: &str,
    duration_s: f64,
) -> String {
    let dur = iso_duration(duration_s);
    let seg_s = segment_ticks as f64 / timescale.max(1) as f64;
    let (max_w, max_h) = reps
        .iter()
        .fold((0, 0), |(w, h), r| (w.max(r.width), h.max(r.height)));
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" \
         profiles=\"urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019\" \
         mediaPresentationDuration=\"{dur}\" minBufferTime=\"{}\">\n\
         \x20 <Period id=\"0\" start=\"PT0S\">\n\
         \x20   <AdaptationSet id=\"0\" contentType=\"video\" mimeType=\"video/mp4\" \
         segmentAlignment=\"true\" startWithSAP=\"1\" maxWidth=\"{max_w}\" maxHeight=\"{max_h}\" \
         frameRate=\"{frame_rate}\">\n\
         \x20     <SegmentTemplate timescale=\"{timescale}\" duration=\"{segment_ticks}\" \
         startNumber=\"1\" initialization=\"$RepresentationID$/init.mp4\" \
         media=\"$RepresentationID$/seg-$Number%05d$.m4s\"/>\n",
        iso_duration(seg_s)
    );
    for r in reps {
        s.push_str(&format!(
            "      <Representation id=\"{}\" bandwidth=\"{}\" width=\"{}\" height=\"{}\" \
             codecs=\"{}\"/>\n",
            r.id, r.bandwidth, r.width, r.height, r.codecs
        ));
    }
    s.push_str("    </AdaptationSet>\n  </Period>\n</MPD>\n");
    s
}

/// `PT1.234S`.
fn iso_duration(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round() as u64;
    format!("PT{}.{:03}S", ms / 1000, ms % 1000)
}

/// A media segment's file name in its representation's directory (numbered from 1).
pub fn segment_file(number: usize) -> String {
    format!("seg-{number:05}.m4s")
}

/// One audio representation of the MPD.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioRepresentation {
    pub id: String,
    /// bits/s, as the video's: the highest segment bitrate.
    pub bandwidth: u64,
    pub channels: usize,
    pub sample_rate: u32,
    /// RFC 6381 `codecs`, e.g. `opus`.
    pub codecs: String,
}

/// [`mpd`] with a second adaptation set, of audio, after the video's: its representations'
/// files laid out as the video's (`id/init.mp4`, `id/seg-00001.m4s`, ...) and its segments
/// numbered as theirs, so segment `n` of either set covers the same time.
pub fn mpd_with_audio(
    reps: &[Representation],
    audio: &[AudioRepresentation],
    timescale: u64,
    segment_ticks: u64,
    frame_rate: &str,
    duration_s: f64,
) -> String {
    let mut s = mpd(reps, timescale, segment_ticks, frame_rate, duration_s);
    if audio.is_empty() {
        return s;
    }
    let channels = audio.iter().map(|a| a.channels).max().unwrap_or(0);
    let mut set = format!(
        "    <AdaptationSet id=\"1\" contentType=\"audio\" mimeType=\"audio/mp4\" lang=\"und\" \
         segmentAlignment=\"true\" startWithSAP=\"1\">\n\
         \x20     <AudioChannelConfiguration \
         schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" \
         value=\"{channels}\"/>\n\
         \x20     <SegmentTemplate timescale=\"{timescale}\" duration=\"{segment_ticks}\" \
         startNumber=\"1\" initialization=\"$RepresentationID$/init.mp4\" \
         media=\"$RepresentationID$/seg-$Number%05d$.m4s\"/>\n"
    );
    for a in audio {
        set.push_str(&format!(
            "      <Representation id=\"{}\" bandwidth=\"{}\" audioSamplingRate=\"{}\" \
             codecs=\"{}\"/>\n",
            a.id, a.bandwidth, a.sample_rate, a.codecs
        ));
    }
    set.push_str("    </AdaptationSet>\n");
    // `mpd` ends with the period's closing tag; the audio set goes just before it.
    if let Some(at) = s.rfind("  </Period>") {
        s.insert_str(at, &set);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::boxes;

    #[test]
    fn a_media_segment_points_its_samples_at_the_mdat() {
        let (a, b) = (vec![1u8; 10], vec![2u8; 7]);
        let seg = media_segment(
            3,
            50,
            &[
                Sample {
                    data: &a,
                    keyframe: true,
                    duration: 1,
                },
                Sample {
                    data: &b,
                    keyframe: false,
                    duration: 1,
                },
            ],
        );
        let top = boxes(&seg).expect("boxes");
        let kinds: Vec<[u8; 4]> = top.iter().map(|b| b.kind).collect();
        assert_eq!(kinds, [*b"styp", *b"moof", *b"mdat"]);
        let moof_len = top[1].payload.len() + 8;
        let traf = &boxes(top[1].payload).expect("moof")[1];
        let trun = &boxes(traf.payload).expect("traf")[2];
        let offset = u32::from_be_bytes(trun.payload[8..12].try_into().expect("4"));
        assert_eq!(offset as usize, moof_len + 8);
        let styp_len = top[0].payload.len() + 8;
        let at = styp_len + offset as usize;
        assert_eq!(&seg[at..at + 10], &a[..]);
        assert_eq!(&seg[at + 10..], &b[..]);
    }

    #[test]
    fn codecs_come_from_av1c() {
        // profile 0, level 8 (4.0), main tier, 8-bit; then 10-bit high tier.
        assert_eq!(
            av1_codecs(&[0x81, 0x08, 0x0c, 0]).as_deref(),
            Some("av01.0.08M.08")
        );
        assert_eq!(
            av1_codecs(&[0x81, 0x0d, 0xc0, 0]).as_deref(),
            Some("av01.0.13H.10")
        );
        assert_eq!(av1_codecs(&[0x81]), None);
    }

    #[test]
    fn the_mpd_lists_every_representation() {
        let r = |id: &str, w| Representation {
            id: id.into(),
            bandwidth: 1000,
            width: w,
            height: w / 2,
            codecs: "av01.0.00M.08".into(),
        };
        let m = mpd(&[r("rung-0", 160), r("rung-1", 320)], 25, 50, "25", 10.04);
        assert!(m.contains("mediaPresentationDuration=\"PT10.040S\""), "{m}");
        assert!(m.contains("minBufferTime=\"PT2.000S\""), "{m}");
        assert!(m.contains("maxWidth=\"320\""), "{m}");
        assert_eq!(m.matches("<Representation ").count(), 2);
    }

    #[test]
    fn the_audio_set_follows_the_video_set_in_the_same_period() {
        let v = Representation {
            id: "rung-0".into(),
            bandwidth: 1000,
            width: 320,
            height: 136,
            codecs: "av01.0.00M.08".into(),
        };
        let a = |id: &str| AudioRepresentation {
            id: id.into(),
            bandwidth: 70_000,
            channels: 6,
            sample_rate: 48_000,
            codecs: "opus".into(),
        };
        let m = mpd_with_audio(
            std::slice::from_ref(&v),
            &[a("audio-192k"), a("audio-256k")],
            25,
            50,
            "25",
            4.0,
        );
        let video_at = m.find("contentType=\"video\"").expect("video set");
        let audio_at = m.find("contentType=\"audio\"").expect("audio set");
        assert!(video_at < audio_at && audio_at < m.find("</Period>").expect("period"));
        assert!(m.contains("mimeType=\"audio/mp4\""), "{m}");
        assert!(
            m.contains("audio_channel_configuration:2011\" value=\"6\""),
            "{m}"
        );
        assert_eq!(m.matches("codecs=\"opus\"").count(), 2);
        assert_eq!(m.matches("<AdaptationSet ").count(), 2);
        assert_eq!(m.matches("</AdaptationSet>").count(), 2);
        assert_eq!(
            mpd_with_audio(std::slice::from_ref(&v), &[], 25, 50, "25", 4.0),
            mpd(&[v], 25, 50, "25", 4.0)
        );
    }
}
