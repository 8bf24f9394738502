//! Per-session metrics, with documented JSON field names (`abr-sim run --json` prints one
//! [`SessionMetrics`] object).

use serde::Serialize;

/// One session's outcome. Times in seconds, bitrates in kbps unless the name says otherwise.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionMetrics {
    pub trace: String,
    pub algorithm: String,
    /// Content played, seconds.
    pub played_s: f64,
    /// From the first request to the start of playback.
    pub startup_delay_s: f64,
    pub rebuffer_count: u32,
    pub rebuffer_s: f64,
    /// Stalls that began because the video buffer ran dry.
    pub rebuffer_video_count: u32,
    pub rebuffer_video_s: f64,
    /// Stalls that began because the audio buffer ran dry.
    pub rebuffer_audio_count: u32,
    pub rebuffer_audio_s: f64,
    /// `rebuffer_s / (played_s + rebuffer_s)`.
    pub rebuffer_ratio: f64,
    /// Time averages over played content.
    pub video_bitrate_kbps: f64,
    pub audio_bitrate_kbps: f64,
    /// Mean per-rung utility: ln(bitrate / lowest) or score / 20 (see `algo::joint`).
    pub video_quality: f64,
    pub audio_quality: f64,
    /// Time average of the played video segments' own quality scores (the manifest's
    /// `quality`, e.g. PSNR-Y dB), 0 without scores: what the viewer saw, segment by segment.
    pub video_score: f64,
    /// The score the played video was at or below for a tenth of the time (time-weighted 10th
    /// percentile of the segments' scores), 0 without scores.
    pub video_score_p10: f64,
    pub video_switches: u32,
    pub audio_switches: u32,
    /// Sum of |bitrate change| between consecutive segments.
    pub video_switch_kbps: f64,
    pub audio_switch_kbps: f64,
    /// Sabre's score: mean video utility per segment minus 5 per segment-time of stall.
    pub sabre_score: f64,
    /// Pensieve's QoE_lin over video segments: sum of Mbps - 4.3 * rebuffer s - sum |ΔMbps|,
    /// divided by the number of segments.
    pub pensieve_qoe: f64,
    /// Our combined score: time-average of video utility + `AUDIO_WEIGHT` x audio utility,
    /// minus (`JOINT_REBUFFER_PENALTY` x stall seconds + `AUDIO_SWITCH_PENALTY` x audio
    /// switches) / content seconds. `optimum` maximises it without the switch charge, which
    /// keeps the optimum an upper bound.
    pub joint_score: f64,
    /// Time the video was played at a lower bitrate than the audio, seconds.
    pub video_below_audio_s: f64,
    pub bits_downloaded: f64,
    /// Bits of abandoned downloads and of replaced segments.
    pub bits_wasted: f64,
    pub abandoned: u32,
    /// Downloaded segments dropped before they played and fetched again ([`crate::algo::Abr::replace`]).
    pub replaced: u32,
    /// Simulated wall time from the first request to the end of playback.
    pub session_s: f64,
    /// Simulation steps taken (a cost measure, not a player metric).
    pub events: u64,
}

/// Stall penalty of `joint_score`, in utility-seconds per second of stall. Calibrated on
/// Pensieve's QoE_lin, where a second of stall costs 4.3 Mbps-chunks, i.e. about the whole
/// utility of the top pair (~5) for one 4 s chunk.
pub const JOINT_REBUFFER_PENALTY: f64 = 20.0;
/// Charge per audio switch in `joint_score`, in utility-seconds. A listener hears every
/// audio switch (a codec reconfiguration, 5.1 folding to stereo and back) where most video
/// switches pass unnoticed, so one switch is priced like playing the lowest audio rung
/// instead of the highest for about two 2 s segments (2 x 0.5 x ln 10 = 2.3), or a tenth
/// of a second of stall: 13 switches in a 3-minute session cost 0.14, the size of the
/// differences between rules. Video switches stay free, as in issue 6's score.
pub const AUDIO_SWITCH_PENALTY: f64 = 2.0;
/// Weight of audio utility against video utility in `joint_score` and the joint rule's hull:
/// the audio ladder's log range (64-640 kbps) counts half as much as video's.
pub const AUDIO_WEIGHT: f64 = 0.5;
/// Sabre's default gamma·p.
pub const SABRE_GAMMA_P: f64 = 5.0;

/// Reads one numeric field of a session.
pub type Getter = fn(&SessionMetrics) -> f64;

/// Field names and getters, in order, for CSV and tables.
pub fn numeric_fields() -> Vec<(&'static str, Getter)> {
    vec![
        ("played_s", |m| m.played_s),
        ("startup_delay_s", |m| m.startup_delay_s),
        ("rebuffer_count", |m| m.rebuffer_count as f64),
        ("rebuffer_s", |m| m.rebuffer_s),
        ("rebuffer_video_s", |m| m.rebuffer_video_s),
        ("rebuffer_audio_s", |m| m.rebuffer_audio_s),
        ("rebuffer_ratio", |m| m.rebuffer_ratio),
        ("video_bitrate_kbps", |m| m.video_bitrate_kbps),
        ("audio_bitrate_kbps", |m| m.audio_bitrate_kbps),
        ("video_quality", |m| m.video_quality),
        ("audio_quality", |m| m.audio_quality),
        ("video_score", |m| m.video_score),
        ("video_score_p10", |m| m.video_score_p10),
        ("video_switches", |m| m.video_switches as f64),
        ("audio_switches", |m| m.audio_switches as f64),
        ("audio_switches_per_min", |m| {
            m.audio_switches as f64 * 60.0 / m.played_s.max(1e-9)
        }),
        ("video_switch_kbps", |m| m.video_switch_kbps),
        ("audio_switch_kbps", |m| m.audio_switch_kbps),
        ("sabre_score", |m| m.sabre_score),
        ("pensieve_qoe", |m| m.pensieve_qoe),
        ("joint_score", |m| m.joint_score),
        ("video_below_audio_s", |m| m.video_below_audio_s),
        ("bits_wasted", |m| m.bits_wasted),
        ("replaced", |m| m.replaced as f64),
        ("session_s", |m| m.session_s),
    ]
}

pub fn field(name: &str) -> Option<Getter> {
    numeric_fields()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| f)
}
