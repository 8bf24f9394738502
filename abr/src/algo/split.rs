//! A video rule paired with an audio policy that does not look at the video decision: the
//! way players worked before audio and video were chosen together.

use super::video::{Bba, Mpc, SAFETY, highest_fitting};
use super::{Abr, Done, InFlight, View, slot};
use crate::manifest::{Kind, Track};
use crate::sabre::Progress;
use crate::sabre::rules::{Bola, BolaE, Ctx, Dynamic, RuleConfig, ThroughputRule};
use crate::units::{Kbps, Ms};

/// The share of the throughput estimate the audio policies spend on audio.
pub const AUDIO_SHARE: f64 = 0.15;

/// How audio is chosen next to an independent video rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AudioPolicy {
    /// Once, at the first audio request, from the estimate then; kept for the session.
    Fixed,
    /// For every audio segment, from the estimate then.
    Independent,
    /// The highest rung at or below this bitrate, for the whole session (a player's static
    /// default, e.g. 192 kbps 5.1).
    FixedAt(Kbps),
}

/// One of the video rules.
#[derive(Debug)]
pub(crate) enum VideoRule {
    Throughput,
    Bba(Bba),
    Bola(Bola),
    BolaE(BolaE),
    Dynamic(Dynamic),
    Mpc(Mpc),
}

impl VideoRule {
    pub(crate) fn by_name(name: &str, video: &Track, max_buffer: Ms) -> Option<Self> {
        let rc = RuleConfig {
            buffer_size: max_buffer.0,
            gp: 5.0,
            abr_osc: false,
            abr_basic: false,
            no_ibr: false,
        };
        let seg = video.segment_duration.0;
        let rates: Vec<f64> = video.bitrates.iter().map(|b| b.0).collect();
        Some(match name {
            "throughput" => VideoRule::Throughput,
            "bba" => VideoRule::Bba(Bba::new(video, max_buffer)),
            "bola" => VideoRule::Bola(Bola::new(&rc, seg, &rates)),
            "bolae" => VideoRule::BolaE(BolaE::new(&rc, seg, &rates)),
            "dynamic" => VideoRule::Dynamic(Dynamic::new(&rc, seg, &rates)),
            "mpc" => VideoRule::Mpc(Mpc::default()),
            _ => return None,
        })
    }
}

#[derive(Debug)]
pub struct Split {
    video: VideoRule,
    audio: AudioPolicy,
    fixed_audio: Option<usize>,
    rates: Vec<f64>,
}

fn ctx<'a>(v: &View<'_>, rates: &'a [f64], budget: Kbps) -> Ctx<'a> {
    Ctx {
        segment_time: v.video.segment_duration.0,
        bitrates: rates,
        segments: v.video.segments(),
        buffer_level: v.level[0].0,
        throughput: budget.0,
        latency: v.latency.0,
    }
}

impl Split {
    pub(crate) fn new(video: VideoRule, audio: AudioPolicy) -> Self {
        Self {
            video,
            audio,
            fixed_audio: None,
            rates: Vec::new(),
        }
    }

    fn choose_video(&mut self, v: &View<'_>) -> usize {
        if self.rates.is_empty() {
            self.rates = v.video.bitrates.iter().map(|b| b.0).collect();
        }
        let Some(est) = v.throughput else { return 0 };
        let budget = v.video_budget(est);
        let segment = v.next[0];
        let ctx = ctx(v, &self.rates, budget);
        match &mut self.video {
            VideoRule::Throughput => highest_fitting(&v.video.bitrates, budget * SAFETY),
            VideoRule::Bba(b) => b.choose(v.video, v.level[0]),
            VideoRule::Bola(b) => b.quality_delay(segment.max(1), &ctx).0,
            VideoRule::BolaE(b) => b.quality_delay(&ctx).0,
            VideoRule::Dynamic(d) => d.quality_delay(segment.max(1), &ctx).0,
            VideoRule::Mpc(m) => {
                let c = v.harmonic.map(|h| v.video_budget(h) / (1.0 + v.max_error));
                m.choose(v.video, segment, v.level[0], c, v.latency)
            }
        }
    }

    fn choose_audio(&mut self, v: &View<'_>) -> usize {
        let Some(audio) = v.audio else { return 0 };
        let pick = |est: Option<Kbps>| {
            est.map_or(0, |e| highest_fitting(&audio.bitrates, e * AUDIO_SHARE))
        };
        match self.audio {
            // Fixed from the first estimate on (parallel requests start without one).
            AudioPolicy::Fixed if v.throughput.is_none() => 0,
            AudioPolicy::Fixed => *self.fixed_audio.get_or_insert_with(|| pick(v.throughput)),
            AudioPolicy::Independent => pick(v.throughput),
            AudioPolicy::FixedAt(k) => highest_fitting(&audio.bitrates, k),
        }
    }
}

impl Abr for Split {
    fn choose(&mut self, kind: Kind, v: &View<'_>) -> usize {
        match kind {
            Kind::Video => self.choose_video(v),
            Kind::Audio => self.choose_audio(v),
        }
    }

    /// Video downloads may be abandoned by Sabre's throughput-rule test (too slow to finish
    /// within 1.8 segment durations and a lower rung would); audio ones never are.
    fn abandon(&mut self, f: &InFlight, v: &View<'_>) -> Option<usize> {
        if self.rates.is_empty() {
            return None;
        }
        video_abandon(f, v, &self.rates)
    }

    fn on_download(&mut self, d: &Done, v: &View<'_>) {
        if d.kind != Kind::Video {
            return;
        }
        let rates = std::mem::take(&mut self.rates);
        if let VideoRule::BolaE(b) = &mut self.video {
            let p = Progress {
                index: d.segment,
                quality: d.rung,
                size: d.size.0,
                downloaded: d.size.0,
                time: d.time.0,
                time_to_first_bit: d.latency.0,
                abandon_to: None,
            };
            let ctx = ctx(v, &rates, v.throughput.unwrap_or(Kbps::ZERO));
            b.report_download(&p, v.level[slot(Kind::Video)].0, &ctx);
        }
        self.rates = rates;
    }
}

/// Sabre's throughput-rule abandonment for video downloads (too slow to finish within 1.8
/// segment durations, and a lower rung would); audio downloads are never abandoned.
pub(crate) fn video_abandon(f: &InFlight, v: &View<'_>, rates: &[f64]) -> Option<usize> {
    if f.kind != Kind::Video {
        return None;
    }
    let p = Progress {
        index: f.segment,
        quality: f.rung,
        size: f.size.0,
        downloaded: f.received.0,
        time: f.elapsed.0,
        time_to_first_bit: f.latency.0,
        abandon_to: None,
    };
    let rc = RuleConfig {
        buffer_size: 0.0,
        gp: 0.0,
        abr_osc: false,
        abr_basic: false,
        no_ibr: true,
    };
    ThroughputRule::new(&rc).check_abandon(&p, &ctx(v, rates, v.throughput.unwrap_or(Kbps::ZERO)))
}
