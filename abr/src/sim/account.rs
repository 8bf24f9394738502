//! Bookkeeping of a session: plot samples, per-segment records, and the metrics computed
//! from what was played once the session ends.

use super::link::Link;
use super::{EPS, Request, Sample, SegmentRecord, TrackState};
use crate::algo::View;
use crate::manifest::{Kind, Manifest};
use crate::metrics::{
    AUDIO_SWITCH_PENALTY, AUDIO_WEIGHT, JOINT_REBUFFER_PENALTY, SABRE_GAMMA_P, SessionMetrics,
};
use crate::units::Ms;

pub(super) fn sample(
    now: Ms,
    link: &Link<'_>,
    tracks: &[TrackState<'_>],
    pos: Ms,
    stalled: bool,
) -> Sample {
    let rate = |t: Option<&TrackState<'_>>| {
        t.map_or(0.0, |t| {
            let i = (pos.0 / t.track.segment_duration.0) as usize;
            t.played_rungs
                .get(i)
                .map_or(0.0, |&r| t.track.bitrates[r].0)
        })
    };
    Sample {
        t_ms: now.0,
        bandwidth_kbps: link.bandwidth().0,
        // Unclamped, so tests can check the model never lets a buffer go negative.
        video_buffer_ms: (tracks[0].buffered - pos).0,
        audio_buffer_ms: tracks.get(1).map_or(0.0, |t| (t.buffered - pos).0),
        video_kbps: rate(tracks.first()),
        audio_kbps: rate(tracks.get(1)),
        stalled,
    }
}

pub(super) fn record(
    t: &TrackState<'_>,
    r: &Request,
    now: Ms,
    v: &View<'_>,
    abandoned: bool,
) -> SegmentRecord {
    SegmentRecord {
        kind: t.kind,
        segment: r.segment,
        rung: r.rung,
        bitrate_kbps: t.track.bitrates[r.rung].0,
        size_bits: r.size.0,
        requested_ms: r.started.0,
        done_ms: now.0,
        abandoned,
        video_buffer_ms: v.level[0].0,
        audio_buffer_ms: v.level[1].0,
        estimate_kbps: v.throughput.map_or(0.0, |k| k.0),
    }
}

/// Time the video plays below the audio during `dt` of playback from `pos`.
pub(super) fn account_playback(tracks: &[TrackState<'_>], pos: Ms, dt: Ms, m: &mut SessionMetrics) {
    let [v, a] = [tracks.first(), tracks.get(1)];
    let (Some(v), Some(a)) = (v, a) else { return };
    let at = |t: &TrackState<'_>| {
        let i = (pos.0 / t.track.segment_duration.0 + 1e-9) as usize;
        t.played_rungs.get(i).map(|&r| t.track.bitrates[r])
    };
    if let (Some(vb), Some(ab)) = (at(v), at(a))
        && vb < ab
    {
        m.video_below_audio_s += dt.secs();
    }
}

pub(super) fn finish(
    m: &mut SessionMetrics,
    tracks: &[TrackState<'_>],
    manifest: &Manifest,
    content: Ms,
    started: Ms,
    end: Ms,
) {
    m.played_s = content.secs();
    m.startup_delay_s = started.secs();
    m.session_s = end.secs();
    m.rebuffer_ratio = if m.played_s + m.rebuffer_s > 0.0 {
        m.rebuffer_s / (m.played_s + m.rebuffer_s)
    } else {
        0.0
    };
    let mut joint_utility = 0.0;
    for t in tracks {
        let utilities = crate::algo::joint::rung_utilities(t.track);
        let d = t.track.segment_duration;
        let (mut bitrate_time, mut utility_time, mut played) = (0.0, 0.0, 0.0);
        let (mut switches, mut switch_kbps) = (0u32, 0.0);
        for (i, &r) in t.played_rungs.iter().enumerate() {
            // The last segment may run past the content end.
            let len = d.min(content - d * i as f64).max(Ms::ZERO).0;
            bitrate_time += t.track.bitrates[r].0 * len;
            utility_time += utilities[r] * len;
            played += len;
            if i > 0 && t.played_rungs[i - 1] != r {
                switches += 1;
                switch_kbps +=
                    (t.track.bitrates[r].0 - t.track.bitrates[t.played_rungs[i - 1]].0).abs();
            }
        }
        let played = played.max(EPS);
        joint_utility += utility_time / played
            * if t.kind == Kind::Audio {
                AUDIO_WEIGHT
            } else {
                1.0
            };
        match t.kind {
            Kind::Video => {
                m.video_bitrate_kbps = bitrate_time / played;
                m.video_quality = utility_time / played;
                m.video_switches = switches;
                m.video_switch_kbps = switch_kbps;
                let segs = t.played_rungs.len().max(1) as f64;
                let u_sum: f64 = t
                    .played_rungs
                    .iter()
                    .map(|&r| (t.track.bitrates[r] / manifest.video.bitrates[0]).ln())
                    .sum();
                m.sabre_score = (u_sum - SABRE_GAMMA_P * m.rebuffer_s * 1000.0 / d.0) / segs;
                let mbps_sum: f64 = t
                    .played_rungs
                    .iter()
                    .map(|&r| t.track.bitrates[r].mbps())
                    .sum();
                m.pensieve_qoe = (mbps_sum - 4.3 * m.rebuffer_s - switch_kbps / 1000.0) / segs;
                if t.track.has_scores() {
                    let scored: Vec<(f64, f64)> = t
                        .played_rungs
                        .iter()
                        .enumerate()
                        .filter_map(|(i, &r)| {
                            let len = d.min(content - d * i as f64).max(Ms::ZERO).0;
                            t.track.score(i, r).map(|q| (q, len))
                        })
                        .collect();
                    (m.video_score, m.video_score_p10) = score_mean_and_p10(scored);
                }
            }
            Kind::Audio => {
                m.audio_bitrate_kbps = bitrate_time / played;
                m.audio_quality = utility_time / played;
                m.audio_switches = switches;
                m.audio_switch_kbps = switch_kbps;
            }
        }
    }
    m.joint_score = joint_utility
        - (JOINT_REBUFFER_PENALTY * m.rebuffer_s + AUDIO_SWITCH_PENALTY * m.audio_switches as f64)
            / content.secs().max(EPS);
}

/// The time-weighted mean and 10th percentile of (score, content ms) pairs: the quality the
/// viewer saw on average and in the worst tenth of the time.
fn score_mean_and_p10(mut scored: Vec<(f64, f64)>) -> (f64, f64) {
    let total: f64 = scored.iter().map(|s| s.1).sum();
    if total <= 0.0 {
        return (0.0, 0.0);
    }
    let mean = scored.iter().map(|(q, l)| q * l).sum::<f64>() / total;
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut at = 0.0;
    let p10 = scored
        .iter()
        .find(|(_, l)| {
            at += l;
            at >= 0.1 * total
        })
        .map_or(mean, |s| s.0);
    (mean, p10)
}

#[cfg(test)]
mod score_tests {
    use super::score_mean_and_p10;

    #[test]
    fn mean_and_p10_are_time_weighted() {
        // 5% of the time at 30, 95% at 40: p10 is 40; at 10% of the time at 30 it is 30.
        let (mean, p10) = score_mean_and_p10(vec![(40.0, 95.0), (30.0, 5.0)]);
        assert!((mean - 39.5).abs() < 1e-12);
        assert_eq!(p10, 40.0);
        assert_eq!(score_mean_and_p10(vec![(40.0, 90.0), (30.0, 10.0)]).1, 30.0);
        assert_eq!(score_mean_and_p10(Vec::new()), (0.0, 0.0));
    }
}
