//! Our joint audio-video rule. It chooses (video rung, audio rung) pairs, not two rungs.
//!
//! 1. **Candidate pairs.** Every pair where video is not below audio and where audio above
//!    its lowest rung comes with video at least `min_video_ratio` times the audio bitrate
//!    (raise audio only while video quality holds).
//! 2. **Hull.** The upper convex hull of combined utility against total bitrate, utility
//!    being `ln(b / b_lowest)` per track (audio weighted by `audio_weight`), or the
//!    manifest's mean quality score per rung / 20 when it has scores (VMAF 0-100 to 0-5).
//!    On the hull each step up buys the most utility per extra bit, so cheap audio upgrades
//!    come early and audio is the first thing given back when throughput drops.
//! 3. **Budget.** The highest hull pair whose total bitrate fits in the estimate (the smaller
//!    of EWMA and harmonic mean) times a factor that grows linearly from 0.6 on an empty
//!    buffer to 1.5 on a full one, judged on the *smaller* of the two buffers: throughput-led
//!    when buffers are low, buffer-led (like BOLA) when they are high.
//! 4. **Audio hysteresis.** Audio goes up one rung at a time after `audio_up_votes`
//!    consecutive audio decisions want it; it goes down at once when a buffer is below half
//!    full, otherwise on the second decision in a row that wants it; and never above what
//!    the video being fetched allows by rule 1.
//!
//! The constants were chosen on the Pensieve `val_FCC` set only (see abr/BENCHMARKS.md);
//! the other sets are held out.
//!
//! Video downloads may be abandoned by the same test as the split rules'.

use super::split::video_abandon;
use super::{Abr, InFlight, View};
use crate::manifest::{Kind, Track};
use crate::units::Kbps;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JointConfig {
    pub audio_weight: f64,
    pub min_video_ratio: f64,
    pub audio_up_votes: u32,
    pub min_safety: f64,
    pub max_safety: f64,
}

impl Default for JointConfig {
    fn default() -> Self {
        Self {
            audio_weight: crate::metrics::AUDIO_WEIGHT,
            min_video_ratio: 1.5,
            audio_up_votes: 5,
            min_safety: 0.6,
            max_safety: 1.5,
        }
    }
}

/// Per-rung utility of a track: mean score / 20 if the manifest has scores, else log bitrate.
pub fn rung_utilities(t: &Track) -> Vec<f64> {
    if t.has_scores() {
        (0..t.rungs())
            .map(|r| {
                (0..t.segments()).filter_map(|s| t.score(s, r)).sum::<f64>()
                    / t.segments() as f64
                    / 20.0
            })
            .collect()
    } else {
        t.bitrates
            .iter()
            .map(|b| (b.0 / t.bitrates[0].0).ln())
            .collect()
    }
}

/// A candidate pair on the hull.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub video: usize,
    pub audio: usize,
    pub bitrate: Kbps,
    pub utility: f64,
}

/// The pairs rule 1 allows, reduced to the upper convex hull of utility over bitrate, in
/// increasing bitrate.
pub fn hull(video: &Track, audio: Option<&Track>, cfg: &JointConfig) -> Vec<Pair> {
    let uv = rung_utilities(video);
    let (ua, arates) = match audio {
        Some(a) => (rung_utilities(a), a.bitrates.clone()),
        None => (vec![0.0], vec![Kbps::ZERO]),
    };
    let mut pairs = Vec::new();
    for (v, &vb) in video.bitrates.iter().enumerate() {
        for (a, &ab) in arates.iter().enumerate() {
            if a > 0 && vb.0 < cfg.min_video_ratio * ab.0 {
                continue;
            }
            pairs.push(Pair {
                video: v,
                audio: a,
                bitrate: vb + ab,
                utility: uv[v] + cfg.audio_weight * ua[a],
            });
        }
    }
    pairs.sort_by(|x, y| {
        x.bitrate
            .0
            .total_cmp(&y.bitrate.0)
            .then(y.utility.total_cmp(&x.utility))
    });
    let mut h: Vec<Pair> = Vec::new();
    for p in pairs {
        if h.last().is_some_and(|l| p.utility <= l.utility) {
            continue;
        }
        // Drop points under the chord from their predecessor to `p`.
        while h.len() >= 2 {
            let (a, b) = (h[h.len() - 2], h[h.len() - 1]);
            let cross = (b.bitrate.0 - a.bitrate.0) * (p.utility - a.utility)
                - (b.utility - a.utility) * (p.bitrate.0 - a.bitrate.0);
            if cross >= 0.0 {
                h.pop();
            } else {
                break;
            }
        }
        h.push(p);
    }
    h
}

#[derive(Debug)]
pub struct Joint {
    cfg: JointConfig,
    hull: Vec<Pair>,
    rates: Vec<f64>,
    audio_rates: Vec<Kbps>,
    audio: Option<usize>,
    votes: u32,
    down_votes: u32,
}

impl Joint {
    pub fn new(video: &Track, audio: Option<&Track>, cfg: JointConfig) -> Self {
        Self {
            hull: hull(video, audio, &cfg),
            rates: video.bitrates.iter().map(|b| b.0).collect(),
            audio_rates: audio.map(|a| a.bitrates.clone()).unwrap_or_default(),
            cfg,
            audio: None,
            votes: 0,
            down_votes: 0,
        }
    }

    pub fn hull(&self) -> &[Pair] {
        &self.hull
    }

    fn target(&self, v: &View<'_>) -> usize {
        let est = match (v.throughput, v.harmonic) {
            (Some(e), Some(h)) => e.min(h),
            (Some(e), None) => e,
            _ => return 0,
        };
        let fill = (v.min_level() / v.max_buffer).clamp(0.0, 1.0);
        let safety = self.cfg.min_safety + (self.cfg.max_safety - self.cfg.min_safety) * fill;
        let budget = est * safety;
        self.hull
            .iter()
            .rposition(|p| p.bitrate <= budget)
            .unwrap_or(0)
    }
}

impl Abr for Joint {
    fn choose(&mut self, kind: Kind, v: &View<'_>) -> usize {
        let t = self.target(v);
        match kind {
            Kind::Video => self.hull[t].video,
            Kind::Audio => {
                let current = self.audio.unwrap_or(self.hull[t].audio);
                // Rule 1 against the video actually being fetched.
                let vb = v.video.bitrates[v.last[0].unwrap_or(0)].0;
                let cap = self
                    .audio_rates
                    .iter()
                    .rposition(|a| a.0 * self.cfg.min_video_ratio <= vb)
                    .unwrap_or(0);
                let want = self.hull[t].audio.min(cap);
                // With both buffers at least half full a dip is ridden out for one more
                // decision; below that audio yields at once.
                let healthy = v.min_level() >= v.max_buffer * 0.5;
                let next = if want < current && healthy && self.down_votes == 0 {
                    self.down_votes = 1;
                    current
                } else if want < current {
                    self.votes = 0;
                    self.down_votes = 0;
                    want
                } else if want > current {
                    self.down_votes = 0;
                    self.votes += 1;
                    if self.votes >= self.cfg.audio_up_votes {
                        self.votes = 0;
                        current + 1
                    } else {
                        current
                    }
                } else {
                    self.votes = 0;
                    self.down_votes = 0;
                    current
                };
                let next = next.min(cap);
                self.audio = Some(next);
                next
            }
        }
    }

    fn abandon(&mut self, f: &InFlight, v: &View<'_>) -> Option<usize> {
        video_abandon(f, v, &self.rates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Ms;

    #[test]
    fn hull_raises_cheap_audio_early_and_keeps_video_above_audio() {
        let v = Track::constant(
            Kind::Video,
            Ms(4000.0),
            &[235.0, 560.0, 1050.0, 2350.0, 4300.0].map(Kbps),
            5,
        )
        .expect("valid test input");
        let a = Track::constant(
            Kind::Audio,
            Ms(2000.0),
            &[64.0, 128.0, 192.0, 384.0, 640.0].map(Kbps),
            10,
        )
        .expect("valid test input");
        let h = hull(&v, Some(&a), &JointConfig::default());
        assert_eq!((h[0].video, h[0].audio), (0, 0));
        assert_eq!(
            (
                h.last().expect("valid test input").video,
                h.last().expect("valid test input").audio
            ),
            (4, 4)
        );
        for w in h.windows(2) {
            assert!(w[1].bitrate > w[0].bitrate && w[1].utility > w[0].utility);
        }
        for p in &h {
            assert!(p.audio == 0 || v.bitrates[p.video].0 >= 1.5 * a.bitrates[p.audio].0);
        }
        // Audio climbs before video reaches the top.
        let top_audio_at = h
            .iter()
            .position(|p| p.audio == 4)
            .expect("valid test input");
        assert!(h[top_audio_at].video < 4, "{h:?}");
    }
}
