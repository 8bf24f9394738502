//! Video-only rules of the literature, fed with the throughput left once audio is paid for.
//!
//! - Throughput rule: the highest rung whose bitrate fits in 90% of the estimate (the rate
//!   rule of dash.js; Spiteri et al., MMSys 2018).
//! - BBA-0 (Huang et al., "A Buffer-Based Approach to Rate Adaptation", SIGCOMM 2014): a
//!   reservoir at the lowest rung, then a linear map from buffer level to rate over the
//!   cushion, with the paper's hysteresis (keep the rung while the map stays between its
//!   neighbours).
//! - Robust MPC (Yin et al., "A Control-Theoretic Approach for Dynamic Adaptive Video
//!   Streaming over HTTP", SIGCOMM 2015): maximise linear QoE over the next five segments
//!   with the harmonic-mean estimate discounted by the largest recent error. We search
//!   plans "one rung for the next segment, one for the four after", n² instead of n⁵ plans.
//! - BOLA, BOLA-E and DYNAMIC reuse the Sabre-compatible implementations in `sabre::rules`.

use crate::manifest::Track;
use crate::units::{Kbps, Ms};

/// Highest rung with `bitrate <= budget` (rung 0 if none).
pub(crate) fn highest_fitting(bitrates: &[Kbps], budget: Kbps) -> usize {
    bitrates.iter().rposition(|&b| b <= budget).unwrap_or(0)
}

/// dash.js's safety factor on throughput estimates.
pub(crate) const SAFETY: f64 = 0.9;

#[derive(Clone, Debug)]
pub struct Bba {
    reservoir: Ms,
    cushion: Ms,
    last: usize,
}

impl Bba {
    /// BBA-0's reservoir; the paper sizes it to absorb the largest segment at the lowest rate.
    const RESERVOIR: Ms = Ms(5000.0);

    pub fn new(video: &Track, max_buffer: Ms) -> Self {
        let cushion = (max_buffer - Self::RESERVOIR - video.segment_duration).max(Ms(1000.0));
        Self {
            reservoir: Self::RESERVOIR,
            cushion,
            last: 0,
        }
    }

    pub fn choose(&mut self, video: &Track, level: Ms) -> usize {
        let rates = &video.bitrates;
        let top = rates.len() - 1;
        let f = if level <= self.reservoir {
            rates[0]
        } else if level >= self.reservoir + self.cushion {
            rates[top]
        } else {
            rates[0] + (rates[top] - rates[0]) * ((level - self.reservoir) / self.cushion)
        };
        let up = if self.last == top {
            rates[top]
        } else {
            rates[self.last + 1]
        };
        let down = if self.last == 0 {
            rates[0]
        } else {
            rates[self.last - 1]
        };
        let next = if level <= self.reservoir {
            0
        } else if level >= self.reservoir + self.cushion {
            top
        } else if f >= up {
            rates.iter().rposition(|&r| r < f).unwrap_or(0)
        } else if f <= down {
            rates.iter().position(|&r| r > f).unwrap_or(0)
        } else {
            self.last
        };
        self.last = next;
        next
    }
}

/// Pensieve's linear QoE weights: 1 per Mbps, 4.3 per second of rebuffering, 1 per Mbps of
/// change between consecutive segments.
pub(crate) const QOE_REBUFFER_PER_S: f64 = 4.3;

#[derive(Clone, Debug, Default)]
pub struct Mpc {
    last: Option<usize>,
}

impl Mpc {
    const HORIZON: usize = 5;

    pub fn choose(
        &mut self,
        video: &Track,
        next: usize,
        level: Ms,
        budget: Option<Kbps>,
        latency: Ms,
    ) -> usize {
        let Some(c) = budget else {
            self.last = Some(0);
            return 0;
        };
        let n = video.rungs();
        let end = (next + Self::HORIZON).min(video.segments());
        let last = self.last.unwrap_or(0);
        let mut best = (f64::NEG_INFINITY, 0);
        for first in 0..n {
            for rest in 0..n {
                let mut b = level;
                let mut qoe = 0.0;
                let mut prev = video.bitrates[last].mbps();
                for s in next..end {
                    let r = if s == next { first } else { rest };
                    let dl = video.size(s, r) / c + latency;
                    let rebuf = (dl - b).max(Ms::ZERO);
                    b = (b - dl).max(Ms::ZERO) + video.segment_duration;
                    let mbps = video.bitrates[r].mbps();
                    qoe += mbps - QOE_REBUFFER_PER_S * rebuf.secs() - (mbps - prev).abs();
                    prev = mbps;
                }
                if qoe > best.0 {
                    best = (qoe, first);
                }
            }
        }
        self.last = Some(best.1);
        best.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Kind;

    fn ladder() -> Track {
        Track::constant(
            Kind::Video,
            Ms(4000.0),
            &[Kbps(300.0), Kbps(1000.0), Kbps(3000.0)],
            20,
        )
        .expect("valid test input")
    }

    #[test]
    fn bba_maps_buffer_to_rate() {
        let v = ladder();
        let mut b = Bba::new(&v, Ms(30000.0));
        assert_eq!(b.choose(&v, Ms(1000.0)), 0);
        assert_eq!(b.choose(&v, Ms(29000.0)), 2);
        // Hysteresis: the map says 1200 kbps, above the rung below the last one, so stay.
        assert_eq!(b.choose(&v, Ms(12000.0)), 2);
        assert_eq!(Bba::new(&v, Ms(30000.0)).choose(&v, Ms(12000.0)), 1);
    }

    #[test]
    fn mpc_fits_the_budget() {
        let v = ladder();
        let mut m = Mpc::default();
        assert_eq!(
            m.choose(&v, 0, Ms(20000.0), Some(Kbps(10000.0)), Ms(0.0)),
            2
        );
        assert_eq!(m.choose(&v, 0, Ms(0.0), Some(Kbps(400.0)), Ms(0.0)), 0);
        assert_eq!(highest_fitting(&v.bitrates, Kbps(1500.0)), 1);
    }
}
