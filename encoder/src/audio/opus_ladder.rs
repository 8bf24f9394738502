//! The audio ladder: one decode of the source, cut at the video's segment boundaries
//! ([`super::cut`]), each segment measured (loudness, peak) and encoded with Opus at every
//! rung's bitrate into an Ogg Opus file of its own.
//!
//! Every segment starts a fresh encoder, so each file decodes without the one before it (what
//! switching between rungs needs). libopus delays its output by its lookahead (312 samples at
//! 48 kHz): the segment's samples are followed by that many zeros and by zeros up to a whole
//! 20 ms frame, the header's pre-skip tells the decoder to drop the lookahead, and the last
//! page's granule position (pre-skip + the segment's length) tells it where the audio ends.
//! Decoded, a segment therefore has exactly its span's number of samples.
//!
//! Audio shorter than the video is refused unless the shortfall is at most `max_pad` samples
//! (a video frame's worth by default: containers often end the audio a few milliseconds
//! early); that much is padded with silence and reported.

use std::path::{Path, PathBuf};

use super::cut::{Boundaries, SegmentSpan};
use super::cutter::{Cutter, SegmentSink};
use super::decode::{Decoder, Samples, int_to_f32};
use super::loudness::{Meter, MeterError};
use super::ogg::{self, Mapping, OggStream};
use super::opus::{self, Encoder, OpusError};
use super::segment::SegmentStats;
use super::{AudioError, AudioInfo};

/// The stereo ladder (kbit/s), for mono and stereo sources.
pub const STEREO_KBPS: [u32; 4] = [64, 96, 128, 192];
/// The surround ladder (kbit/s) for 5.1 and 7.1 sources: from "good" to transparent, the range
/// of Netflix's 5.1 ladder (192-640 kbit/s).
pub const SURROUND_KBPS: [u32; 5] = [192, 256, 384, 512, 640];

/// The default rungs for a source with `channels` channels.
pub fn default_kbps(channels: usize) -> Vec<u32> {
    if channels <= 2 {
        STEREO_KBPS.to_vec()
    } else {
        SURROUND_KBPS.to_vec()
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioLadderError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Opus(#[from] OpusError),
    #[error(transparent)]
    Meter(#[from] MeterError),
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the audio track ends at {audio_seconds:.3} s (sample {audio}) but the video's segments \
         run to {video_seconds:.3} s (sample {video}): {short} samples short, more than the \
         {max_pad} samples that may be padded with silence"
    )]
    TooShort {
        audio: u64,
        video: u64,
        short: u64,
        max_pad: u64,
        audio_seconds: f64,
        video_seconds: f64,
    },
    #[error(
        "{channels} channels with channel mask {mask:#x}: the surround ladder takes 5.1 (FL FR \
         FC LFE and back or side L R) or 7.1 (with both)"
    )]
    Layout { channels: usize, mask: u32 },
    #[error("no rungs (give at least one bitrate)")]
    NoRungs,
    #[error(transparent)]
    Plan(#[from] super::opus_cmaf::PlanError),
}

/// One rung's segment as written.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RungSegment {
    pub index: usize,
    pub file: String,
    pub bytes: u64,
    /// The file's size over the segment's duration.
    pub kbps: f64,
}

/// One rung: its setting, how libopus coded it, and its segments.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RungReport {
    pub target_kbps: u32,
    /// Directory of its segments in the output.
    pub dir: String,
    pub channels: usize,
    pub mapping: Mapping,
    pub pre_skip: u16,
    /// All segment files' bytes over the total duration.
    pub kbps: f64,
    pub segments: Vec<RungSegment>,
}

/// The whole run: the input, per-segment measurements (the same for every rung: they are of
/// the source) and the rungs.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AudioLadderReport {
    pub format: &'static str,
    pub version: u32,
    pub input: AudioInfo,
    pub encoder: String,
    pub decoded_samples: u64,
    pub padded_samples: u64,
    pub dropped_samples: u64,
    pub segments: Vec<SegmentStats>,
    pub rungs: Vec<RungReport>,
}

/// Directory of a rung's segments, e.g. `opus-128k`.
pub fn rung_dir(kbps: u32) -> String {
    format!("opus-{kbps}k")
}

pub fn segment_file(index: usize) -> String {
    format!("segment-{index:04}.opus")
}

/// One rung's encoder for the segment being filled.
struct RungState {
    enc: Encoder,
    ogg: OggStream,
    /// Samples (Vorbis order) not yet a whole frame.
    pending: Vec<f32>,
    /// Frames (per channel) given to the encoder so far, padding included.
    fed: u64,
}

impl RungState {
    fn new(channels: usize, kbps: u32, serial: u32, vendor: &str) -> Result<Self, OpusError> {
        let enc = Encoder::new(channels, kbps)?;
        let mut ogg = OggStream::new(serial);
        ogg.header_page(&ogg::opus_head(
            channels as u8,
            enc.lookahead(),
            opus::RATE,
            enc.mapping(),
        ));
        ogg.header_page(&ogg::opus_tags(vendor));
        Ok(RungState {
            enc,
            ogg,
            pending: Vec::with_capacity(opus::FRAME * channels),
            fed: 0,
        })
    }

    fn feed(&mut self, samples: &[f32], channels: usize) -> Result<(), OpusError> {
        self.pending.extend_from_slice(samples);
        let frame = opus::FRAME * channels;
        let whole = self.pending.len() / frame * frame;
        for f in self.pending[..whole].chunks_exact(frame) {
            let packet = self.enc.encode(f)?;
            self.fed += opus::FRAME as u64;
            self.ogg.packet(packet, self.fed);
        }
        self.pending.drain(..whole);
        Ok(())
    }

    /// Pads with the lookahead's zeros up to a whole frame, encodes, and returns the file.
    fn finish(mut self, len: u64, channels: usize) -> Result<Vec<u8>, OpusError> {
        let pre_skip = u64::from(self.enc.lookahead());
        let have = self.fed + (self.pending.len() / channels) as u64;
        let frame = opus::FRAME as u64;
        let target = (len + pre_skip).div_ceil(frame) * frame;
        let zeros = (target - have) as usize * channels;
        self.feed(&vec![0.0; zeros], channels)?;
        Ok(self.ogg.finish(pre_skip + len))
    }
}

/// The segment being filled: its span, meter and one encoder per rung.
struct Open {
    span: SegmentSpan,
    written: u64,
    meter: Meter,
    rungs: Vec<RungState>,
}

struct Ladder<'a> {
    info: AudioInfo,
    kbps: &'a [u32],
    order: Vec<usize>,
    vendor: String,
    out_dir: &'a Path,
    rungs: Vec<RungReport>,
    /// Reordered samples of the current chunk part.
    scratch: Vec<f32>,
}

impl SegmentSink for Ladder<'_> {
    type Open = Open;
    type Error = AudioLadderError;

    fn span<'a>(&self, seg: &'a Open) -> &'a SegmentSpan {
        &seg.span
    }

    fn open(&mut self, span: SegmentSpan) -> Result<Open, AudioLadderError> {
        let ch = self.info.channels;
        let rungs = self
            .kbps
            .iter()
            .map(|&k| RungState::new(ch, k, (k << 16) ^ span.index as u32, &self.vendor))
            .collect::<Result<_, _>>()?;
        Ok(Open {
            span,
            written: 0,
            meter: Meter::new(ch, self.info.sample_rate, self.info.channel_mask)?,
            rungs,
        })
    }

    /// Frames `from..to` of `samples` into `seg`.
    fn write(
        &mut self,
        seg: &mut Open,
        samples: &Samples,
        from: usize,
        to: usize,
    ) -> Result<(), AudioLadderError> {
        let ch = self.info.channels;
        let (a, b) = (from * ch, to * ch);
        self.scratch.clear();
        match samples {
            Samples::Int(v) => {
                seg.meter.add_int(&v[a..b])?;
                for f in v[a..b].chunks_exact(ch) {
                    self.scratch
                        .extend(self.order.iter().map(|&i| int_to_f32(f[i])));
                }
            }
            Samples::Float(v) => {
                seg.meter.add_f32(&v[a..b])?;
                for f in v[a..b].chunks_exact(ch) {
                    self.scratch.extend(self.order.iter().map(|&i| f[i]));
                }
            }
        }
        for r in &mut seg.rungs {
            r.feed(&self.scratch, ch)?;
        }
        seg.written += (to - from) as u64;
        Ok(())
    }

    fn finish(&mut self, seg: Open, padded: u64) -> Result<SegmentStats, AudioLadderError> {
        let ch = self.info.channels;
        let seconds = seg.written as f64 / f64::from(self.info.sample_rate);
        for (r, state) in self.rungs.iter_mut().zip(seg.rungs) {
            let bytes = state.finish(seg.written, ch)?;
            let file = segment_file(seg.span.index);
            let path = self.out_dir.join(&r.dir).join(&file);
            std::fs::write(&path, &bytes)
                .map_err(|source| AudioLadderError::Write { path, source })?;
            r.segments.push(RungSegment {
                index: seg.span.index,
                file: format!("{}/{file}", r.dir),
                bytes: bytes.len() as u64,
                kbps: bytes.len() as f64 * 8.0 / 1000.0 / seconds.max(1e-9),
            });
        }
        let loud = seg.meter.finish();
        Ok(SegmentStats {
            index: seg.span.index,
            start_sample: seg.span.start,
            samples: seg.written,
            seconds,
            video_frames: seg.span.frames,
            lufs: loud.lufs,
            peak_dbfs: loud.peak_dbfs,
            padded_samples: padded,
            file: None,
        })
    }
}

/// Checks what the source and the rungs are before anything is decoded or written: 48 kHz,
/// a channel layout Opus maps, bitrates libopus accepts.
pub fn check(info: &AudioInfo, kbps: &[u32]) -> Result<Vec<usize>, AudioLadderError> {
    if info.sample_rate != opus::RATE {
        return Err(OpusError::Rate(info.sample_rate).into());
    }
    if kbps.is_empty() {
        return Err(AudioLadderError::NoRungs);
    }
    let order = opus::vorbis_order(info.channels)?;
    let layouts: &[u32] = match info.channels {
        6 => &[0x3F, 0x60F],
        8 => &[0x63F],
        _ => &[],
    };
    if let Some(mask) = info.channel_mask
        && !layouts.is_empty()
        && !layouts.contains(&mask)
    {
        return Err(AudioLadderError::Layout {
            channels: info.channels,
            mask,
        });
    }
    for &k in kbps {
        Encoder::new(info.channels, k)?;
    }
    Ok(order)
}

/// Refuses audio that ends at `pos` more than `max_pad` samples before the video's `total`.
pub(crate) fn check_length(
    pos: u64,
    total: u64,
    max_pad: u64,
    sample_rate: u32,
) -> Result<(), AudioLadderError> {
    if pos < total && total - pos > max_pad {
        let rate = f64::from(sample_rate);
        return Err(AudioLadderError::TooShort {
            audio: pos,
            video: total,
            short: total - pos,
            max_pad,
            audio_seconds: pos as f64 / rate,
            video_seconds: total as f64 / rate,
        });
    }
    Ok(())
}

/// Decodes everything `decoder` has left into the segments of `bounds` and writes, for each
/// rung of `kbps`, `out_dir/opus-<kbps>k/segment-NNNN.opus`. `out_dir` must exist (the caller
/// makes it all or nothing). `progress` gets the samples done after each chunk.
pub fn encode(
    decoder: &mut Decoder,
    bounds: &Boundaries,
    kbps: &[u32],
    max_pad: u64,
    out_dir: &Path,
    progress: &dyn Fn(u64),
) -> Result<AudioLadderReport, AudioLadderError> {
    let info = decoder.info().clone();
    let order = check(&info, kbps)?;
    let mut rungs = Vec::new();
    for &k in kbps {
        let dir = rung_dir(k);
        let path = out_dir.join(&dir);
        std::fs::create_dir(&path).map_err(|source| AudioLadderError::Write { path, source })?;
        let probe = Encoder::new(info.channels, k)?;
        rungs.push(RungReport {
            target_kbps: k,
            dir,
            channels: info.channels,
            mapping: probe.mapping().clone(),
            pre_skip: probe.lookahead(),
            kbps: 0.0,
            segments: Vec::new(),
        });
    }
    let mut lad = Ladder {
        info: info.clone(),
        kbps,
        order,
        vendor: format!(
            "segment-encode {} ({})",
            env!("CARGO_PKG_VERSION"),
            opus::version()
        ),
        out_dir,
        rungs,
        scratch: Vec::new(),
    };
    let mut cut = Cutter::new(bounds);
    cut.feed(decoder, &mut lad, progress)?;
    let decoded = cut.pos + cut.dropped;
    if let Some(total) = bounds.total() {
        check_length(cut.pos, total, max_pad, info.sample_rate)?;
    }
    let channels = info.channels;
    let cut = cut.pad(&mut lad, |n| Samples::Float(vec![0.0; n * channels]))?;
    let (padded, dropped, segments) = (cut.padded, cut.dropped, cut.segments);
    let seconds: f64 = segments.iter().map(|s| s.seconds).sum();
    for r in &mut lad.rungs {
        let bytes: u64 = r.segments.iter().map(|s| s.bytes).sum();
        r.kbps = bytes as f64 * 8.0 / 1000.0 / seconds.max(1e-9);
    }
    Ok(AudioLadderReport {
        format: "segment-encode audio ladder",
        version: 1,
        input: info,
        encoder: opus::version(),
        decoded_samples: decoded,
        padded_samples: padded,
        dropped_samples: dropped,
        segments,
        rungs: lad.rungs,
    })
}
