//! Audio for the DASH directory: per rung ONE continuous libopus encode of the whole track
//! (cut to the video's duration as the audio ladder is: padded up to `max_pad`, the rest
//! refused; audio past the video dropped), written as Opus-in-CMAF segments
//! ([`super::opus_cmaf`]) cut where [`super::opus_cmaf::plan`] says.
//!
//! Before the source, each encoder is fed silence so that its delay plus that silence is
//! [`PRIMING`] (80 ms, whole packets); the init segment's edit list skips exactly that, and
//! its duration is the source's length, so a player presents the source's samples and no
//! more. Segments are written as their last packet is made: memory is one segment per rung.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::AudioInfo;
use super::cut::{Boundaries, SegmentSpan};
use super::cutter::{Cutter, SegmentSink};
use super::decode::{Decoder, Samples, int_to_f32};
use super::ogg::Mapping;
use super::opus::{self, Encoder};
use super::opus_cmaf::{self, OpusTrack, PACKET, PRIMING};
use super::opus_ladder::{AudioLadderError, check, check_length};
use super::segment::SegmentStats;

/// One rung as written.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DashRung {
    pub target_kbps: u32,
    /// Its directory in the DASH directory, also its representation id (`audio-128k`).
    pub dir: String,
    pub channels: usize,
    pub mapping: Mapping,
    /// Bytes of each media segment file (`seg-00001.m4s`, ...), as a player fetches them.
    pub segment_bytes: Vec<u64>,
    /// Every segment file's bytes over the duration, kbit/s.
    pub kbps: f64,
    /// The highest segment bitrate, bits/s (the MPD's `bandwidth`).
    pub peak_bps: u64,
}

/// The whole run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DashAudio {
    pub input: AudioInfo,
    /// Samples presented: the video's duration at 48 kHz.
    pub samples: u64,
    pub padded_samples: u64,
    pub dropped_samples: u64,
    pub rungs: Vec<DashRung>,
}

pub fn rung_dir(kbps: u32) -> String {
    format!("audio-{kbps}k")
}

/// One rung's encoder and the segment it is filling.
struct RungState {
    enc: Encoder,
    dir: PathBuf,
    /// Samples (Vorbis order) not yet a whole packet.
    pending: Vec<f32>,
    /// Packets of the segment being filled.
    packets: Vec<Vec<u8>>,
    made: u64,
    segment: usize,
    bytes: Vec<u64>,
}

struct Sink<'a> {
    channels: usize,
    order: Vec<usize>,
    plan: &'a [Range<u64>],
    rungs: Vec<RungState>,
    scratch: Vec<f32>,
}

impl Sink<'_> {
    fn feed_all(&mut self) -> Result<(), AudioLadderError> {
        for r in &mut self.rungs {
            feed(r, &self.scratch, self.channels, self.plan)?;
        }
        Ok(())
    }
}

fn write_error(path: PathBuf) -> impl FnOnce(std::io::Error) -> AudioLadderError {
    move |source| AudioLadderError::Write { path, source }
}

/// Encodes whole packets of `samples` (appended to what is pending) and writes each segment
/// once its last packet is made.
fn feed(
    r: &mut RungState,
    samples: &[f32],
    channels: usize,
    plan: &[Range<u64>],
) -> Result<(), AudioLadderError> {
    r.pending.extend_from_slice(samples);
    let frame = opus::FRAME * channels;
    let whole = r.pending.len() / frame * frame;
    for f in r.pending[..whole].chunks_exact(frame) {
        let packet = r.enc.encode(f)?;
        r.packets.push(packet);
        r.made += 1;
        if let Some(range) = plan.get(r.segment)
            && r.made == range.end
        {
            let bytes = opus_cmaf::media_segment(r.segment as u32 + 1, range.start, &r.packets);
            let path = r.dir.join(crate::cmaf::segment_file(r.segment + 1));
            std::fs::write(&path, &bytes).map_err(write_error(path))?;
            r.bytes.push(bytes.len() as u64);
            r.packets.clear();
            r.segment += 1;
        }
    }
    r.pending.drain(..whole);
    Ok(())
}

impl SegmentSink for Sink<'_> {
    type Open = SegmentSpan;
    type Error = AudioLadderError;

    fn span<'a>(&self, seg: &'a SegmentSpan) -> &'a SegmentSpan {
        seg
    }

    fn open(&mut self, span: SegmentSpan) -> Result<SegmentSpan, AudioLadderError> {
        Ok(span)
    }

    fn write(
        &mut self,
        _seg: &mut SegmentSpan,
        samples: &Samples,
        from: usize,
        to: usize,
    ) -> Result<(), AudioLadderError> {
        let ch = self.channels;
        let (a, b) = (from * ch, to * ch);
        self.scratch.clear();
        match samples {
            Samples::Int(v) => {
                for f in v[a..b].chunks_exact(ch) {
                    self.scratch
                        .extend(self.order.iter().map(|&i| int_to_f32(f[i])));
                }
            }
            Samples::Float(v) => {
                for f in v[a..b].chunks_exact(ch) {
                    self.scratch.extend(self.order.iter().map(|&i| f[i]));
                }
            }
        }
        self.feed_all()
    }

    fn finish(&mut self, seg: SegmentSpan, padded: u64) -> Result<SegmentStats, AudioLadderError> {
        Ok(SegmentStats {
            index: seg.index,
            start_sample: seg.start,
            samples: seg.len,
            seconds: seg.len as f64 / f64::from(opus::RATE),
            video_frames: seg.frames,
            lufs: None,
            peak_dbfs: None,
            padded_samples: padded,
            file: None,
        })
    }
}

/// Decodes everything `decoder` has left and writes, for each rung of `kbps`,
/// `out_dir/audio-<kbps>k/init.mp4` and `seg-NNNNN.m4s`, one per video segment starting at
/// source samples `starts` (48 kHz; the first 0) of a video `samples` long. `out_dir` must
/// exist (the caller makes it all or nothing); `progress` gets the samples done.
pub fn encode(
    decoder: &mut Decoder,
    starts: &[u64],
    samples: u64,
    kbps: &[u32],
    max_pad: u64,
    out_dir: &Path,
    progress: &dyn Fn(u64),
) -> Result<DashAudio, AudioLadderError> {
    let info = decoder.info().clone();
    let order = check(&info, kbps)?;
    let plan = opus_cmaf::plan(starts, samples)?;
    let channels = info.channels;
    let mut rungs = Vec::new();
    let mut reports = Vec::new();
    for &k in kbps {
        let dir = rung_dir(k);
        let path = out_dir.join(&dir);
        std::fs::create_dir(&path).map_err(write_error(path.clone()))?;
        let enc = Encoder::new(channels, k)?;
        let track = OpusTrack {
            channels: channels as u8,
            mapping: enc.mapping().clone(),
            input_rate: info.sample_rate,
            samples,
        };
        let init = path.join("init.mp4");
        std::fs::write(&init, opus_cmaf::init_segment(&track)).map_err(write_error(init))?;
        reports.push(DashRung {
            target_kbps: k,
            dir,
            channels,
            mapping: enc.mapping().clone(),
            segment_bytes: Vec::new(),
            kbps: 0.0,
            peak_bps: 0,
        });
        let lead = PRIMING.saturating_sub(u64::from(enc.lookahead()));
        let mut r = RungState {
            enc,
            dir: path,
            pending: Vec::new(),
            packets: Vec::new(),
            made: 0,
            segment: 0,
            bytes: Vec::new(),
        };
        feed(
            &mut r,
            &vec![0.0; lead as usize * channels],
            channels,
            &plan,
        )?;
        rungs.push(r);
    }
    let mut sink = Sink {
        channels,
        order,
        plan: &plan,
        rungs,
        scratch: Vec::new(),
    };
    let bounds = Boundaries::Listed(vec![SegmentSpan {
        index: 0,
        start: 0,
        len: samples,
        frames: None,
    }]);
    let mut cut = Cutter::new(&bounds);
    cut.feed(decoder, &mut sink, progress)?;
    check_length(cut.pos, samples, max_pad, info.sample_rate)?;
    let cut = cut.pad(&mut sink, |n| Samples::Float(vec![0.0; n * channels]))?;
    // The encoder's tail: silence up to the last packet, which flushes its delay.
    let want = opus_cmaf::packets(samples) * PACKET;
    for r in &mut sink.rungs {
        let have = r.made * PACKET + (r.pending.len() / channels) as u64;
        let zeros = vec![0.0; want.saturating_sub(have) as usize * channels];
        feed(r, &zeros, channels, &plan)?;
    }
    let seconds = samples as f64 / f64::from(opus::RATE);
    for (rep, r) in reports.iter_mut().zip(sink.rungs) {
        rep.kbps = r.bytes.iter().sum::<u64>() as f64 * 8.0 / 1000.0 / seconds.max(1e-9);
        rep.peak_bps = r
            .bytes
            .iter()
            .zip(&plan)
            .map(|(&b, range)| {
                let s = ((range.end - range.start) * PACKET) as f64 / f64::from(opus::RATE);
                (b as f64 * 8.0 / s).ceil() as u64
            })
            .max()
            .unwrap_or(0);
        rep.segment_bytes = r.bytes;
    }
    Ok(DashAudio {
        input: info,
        samples,
        padded_samples: cut.padded,
        dropped_samples: cut.dropped,
        rungs: reports,
    })
}
