//! Offline optimum: dynamic programming over a trace known in advance, an upper bound to
//! report rules as a percentage of.
//!
//! The DP maximises `joint_score` (see [`crate::metrics`]) without its audio-switch charge
//! (so it stays an upper bound for rules that pay it) over every (video, audio) rung pair
//! for every chunk, a chunk being one video segment and the audio for the same content time.
//! It is deliberately optimistic next to the session model: one request and one latency per
//! chunk, no abandonment needed, and it may use pairs the joint rule forbids. State after
//! chunk `i` is the buffer level, in buckets of `bucket` ms; per bucket the best score is
//! kept with the earliest arrival times that could still beat it (a small Pareto front), so
//! the result is exact up to that discretisation and cap.

use crate::error::SimError;
use crate::manifest::Manifest;
use crate::metrics::{AUDIO_WEIGHT, JOINT_REBUFFER_PENALTY};
use crate::sim::TraceEnd;
use crate::trace::Trace;
use crate::units::{Bits, Ms};
use serde::Serialize;

/// Delivery times over a trace: how long `bits` take from a given instant.
#[derive(Clone, Debug)]
pub struct Delivery {
    start: Vec<f64>,
    cum: Vec<f64>,
    end_cum: Vec<f64>,
    bw: Vec<f64>,
    lat: Vec<f64>,
    period: f64,
    loop_bits: f64,
    end: TraceEnd,
}

impl Delivery {
    pub fn new(trace: &Trace, end: TraceEnd) -> Result<Self, SimError> {
        let (mut start, mut cum, mut end_cum, mut bw, mut lat) =
            (vec![], vec![], vec![], vec![], vec![]);
        let (mut t, mut b) = (0.0, 0.0);
        for p in trace.periods.iter().filter(|p| p.duration.0 > 0.0) {
            start.push(t);
            cum.push(b);
            t += p.duration.0;
            b += p.bandwidth.0 * p.duration.0;
            end_cum.push(b);
            bw.push(p.bandwidth.0);
            lat.push(p.latency.0);
        }
        if !(b > 0.0) {
            return Err(SimError::DeadTrace(trace.name.clone()));
        }
        if end == TraceEnd::Hold && !(bw.last().copied().unwrap_or(0.0) > 0.0) {
            return Err(SimError::DeadTrace(trace.name.clone()));
        }
        Ok(Self {
            start,
            cum,
            end_cum,
            bw,
            lat,
            period: t,
            loop_bits: b,
            end,
        })
    }

    fn index_at(&self, r: f64) -> usize {
        self.start.partition_point(|&s| s <= r).saturating_sub(1)
    }

    pub fn latency_at(&self, t: Ms) -> Ms {
        let r = match self.end {
            TraceEnd::Loop => t.0.rem_euclid(self.period),
            TraceEnd::Hold => t.0.min(self.period - 1e-9),
        };
        Ms(self.lat[self.index_at(r)])
    }

    pub(crate) fn bits_at(&self, t: f64) -> f64 {
        let (loops, r) = match self.end {
            TraceEnd::Loop => ((t / self.period).floor(), t.rem_euclid(self.period)),
            TraceEnd::Hold if t >= self.period => {
                return self.loop_bits + (t - self.period) * self.bw[self.bw.len() - 1];
            }
            TraceEnd::Hold => (0.0, t),
        };
        let k = self.index_at(r);
        loops * self.loop_bits + self.cum[k] + self.bw[k] * (r - self.start[k])
    }

    pub(crate) fn time_at(&self, bits: f64) -> f64 {
        let (loops, rem) = match self.end {
            TraceEnd::Loop => (
                (bits / self.loop_bits).floor(),
                bits.rem_euclid(self.loop_bits),
            ),
            TraceEnd::Hold if bits >= self.loop_bits => {
                return self.period + (bits - self.loop_bits) / self.bw[self.bw.len() - 1];
            }
            TraceEnd::Hold => (0.0, bits),
        };
        let k = self
            .end_cum
            .partition_point(|&e| e < rem)
            .min(self.bw.len() - 1);
        let within = if self.bw[k] > 0.0 {
            (rem - self.cum[k]).max(0.0) / self.bw[k]
        } else {
            0.0
        };
        loops * self.period + self.start[k] + within
    }

    /// Bits the link can carry from time 0 to `t`.
    pub fn capacity(&self, t: Ms) -> Bits {
        Bits(self.bits_at(t.0))
    }

    /// When a transfer of `size` starting at `t` (after its latency) ends.
    pub fn finish(&self, t: Ms, size: Bits) -> Ms {
        Ms(self.time_at(self.bits_at(t.0) + size.0).max(t.0))
    }
}

/// The optimum found and the plan that reaches it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Optimum {
    pub joint_score: f64,
    pub rebuffer_s: f64,
    pub video_rungs: Vec<usize>,
    pub audio_rungs: Vec<usize>,
}

#[derive(Clone, Copy, Debug)]
struct Cell {
    score: f64,
    t: f64,
    level: f64,
    rebuffer: f64,
    parent: u32,
    pair: u32,
}

/// States kept per buffer bucket: the Pareto front of (higher score, earlier time), capped.
/// Keeping only the best score per bucket is not enough: a slow, high-quality first chunk
/// scores more (start-up is not penalised) but arrives later, which can cost more later.
const FRONT: usize = 4;

fn insert(front: &mut Vec<Cell>, c: Cell) {
    if front.iter().any(|o| o.score >= c.score && o.t <= c.t) {
        return;
    }
    front.retain(|o| !(c.score >= o.score && c.t <= o.t));
    front.push(c);
    if front.len() > FRONT {
        // On a front, later means better-scoring; keep the earliest, the best and an even
        // spread between, not just the best (which would all be the latest).
        front.sort_by(|a, b| a.t.total_cmp(&b.t));
        let n = front.len();
        let keep: Vec<Cell> = (0..FRONT)
            .map(|j| front[(j * (n - 1) + (FRONT - 1) / 2) / (FRONT - 1)])
            .collect();
        *front = keep;
    }
}

/// Runs the DP with buffer buckets of `bucket`.
pub fn optimum(
    trace: &Trace,
    manifest: &Manifest,
    max_buffer: Ms,
    end: TraceEnd,
    bucket: Ms,
) -> Result<Optimum, SimError> {
    if !(bucket.0 > 0.0) || max_buffer < manifest.video.segment_duration {
        return Err(SimError::Setting {
            name: "bucket/max_buffer",
            message: "bucket must be > 0 and max_buffer hold a segment".into(),
        });
    }
    let del = Delivery::new(trace, end)?;
    let v = &manifest.video;
    let d = v.segment_duration;
    let content = manifest
        .audio
        .as_ref()
        .map_or(v.duration(), |a| a.duration().min(v.duration()));
    let n = ((content.0 / d.0) - 1e-9).ceil().max(1.0) as usize;
    let uv = crate::algo::joint::rung_utilities(v);
    let (ua, arates) = match &manifest.audio {
        Some(a) => (crate::algo::joint::rung_utilities(a), a.bitrates.clone()),
        None => (vec![0.0], vec![crate::units::Kbps::ZERO]),
    };
    let pairs: Vec<(usize, usize)> = (0..v.rungs())
        .flat_map(|x| (0..arates.len()).map(move |y| (x, y)))
        .collect();
    let buckets = (max_buffer.0 / bucket.0).ceil() as usize + 1;
    // Per chunk, score is utility minus the penalty times the stall over the chunk duration.
    let penalty_per_ms = JOINT_REBUFFER_PENALTY / d.0;
    let mut layers: Vec<Vec<Cell>> = Vec::with_capacity(n);
    let mut prev = vec![Cell {
        score: 0.0,
        t: 0.0,
        level: 0.0,
        rebuffer: 0.0,
        parent: 0,
        pair: 0,
    }];
    let mut fronts: Vec<Vec<Cell>> = vec![Vec::new(); buckets];
    for i in 0..n {
        for (parent, c) in prev.iter().enumerate() {
            // Wait for room in the buffer.
            let wait = (c.level + d.0 - max_buffer.0).max(0.0);
            let t0 = c.t + wait;
            let level0 = c.level - wait;
            let start = t0 + del.latency_at(Ms(t0)).0;
            // One search for where the transfer starts, one per pair for where it ends.
            let base = del.bits_at(start);
            for (pi, &(x, y)) in pairs.iter().enumerate() {
                let size = v.size(i, x) + arates[y] * d;
                let fin = del.time_at(base + size.0).max(start);
                let dl = fin - t0;
                let rebuf = if i == 0 { 0.0 } else { (dl - level0).max(0.0) };
                let level = (level0 - dl).max(0.0) + d.0;
                let score = c.score + uv[x] + AUDIO_WEIGHT * ua[y] - penalty_per_ms * rebuf;
                let k = ((level / bucket.0) as usize).min(buckets - 1);
                insert(
                    &mut fronts[k],
                    Cell {
                        score,
                        t: fin,
                        level,
                        rebuffer: c.rebuffer + rebuf,
                        parent: parent as u32,
                        pair: pi as u32,
                    },
                );
            }
        }
        let layer: Vec<Cell> = fronts.iter_mut().flat_map(std::mem::take).collect();
        layers.push(layer.clone());
        prev = layer;
    }
    let (mut k, best) = prev
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.score.total_cmp(&b.1.score))
        .map(|(k, c)| (k, *c))
        .ok_or_else(|| SimError::DeadTrace(trace.name.clone()))?;
    let mut plan = vec![(0, 0); n];
    for i in (0..n).rev() {
        let c = layers[i][k];
        plan[i] = pairs[c.pair as usize];
        k = c.parent as usize;
    }
    Ok(Optimum {
        joint_score: best.score / n as f64,
        rebuffer_s: best.rebuffer / 1000.0,
        video_rungs: plan.iter().map(|p| p.0).collect(),
        audio_rungs: plan.iter().map(|p| p.1).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Period;
    use crate::units::Kbps;

    fn trace() -> Trace {
        let p = |d, b| Period {
            duration: Ms(d),
            bandwidth: Kbps(b),
            latency: Ms(10.0),
        };
        Trace {
            name: "t".into(),
            periods: vec![p(1000.0, 1000.0), p(1000.0, 0.0), p(1000.0, 2000.0)],
        }
    }

    #[test]
    fn delivery_inverts_the_trace() {
        let d = Delivery::new(&trace(), TraceEnd::Loop).expect("valid test input");
        assert_eq!(d.finish(Ms(0.0), Bits(500_000.0)), Ms(500.0));
        // Across the dead period.
        assert_eq!(d.finish(Ms(500.0), Bits(1_500_000.0)), Ms(2500.0));
        // Around the loop: 3 Mbit per 3 s pass.
        assert_eq!(d.finish(Ms(0.0), Bits(4_000_000.0)), Ms(4000.0));
        let h = Delivery::new(&trace(), TraceEnd::Hold).expect("valid test input");
        assert_eq!(h.finish(Ms(0.0), Bits(5_000_000.0)), Ms(4000.0));
    }

    #[test]
    fn constant_fast_link_plays_the_top_pair_without_stalls() {
        let m = crate::scenario::manifest(Ms(60000.0));
        let t = crate::scenario::drop_trace(Kbps(20000.0), Ms(1e6), Kbps(20000.0));
        let o = optimum(&t, &m, Ms(25000.0), TraceEnd::Loop, Ms(100.0)).expect("valid test input");
        assert_eq!(o.rebuffer_s, 0.0);
        assert!(
            o.video_rungs[1..].iter().all(|&r| r == 8),
            "{:?}",
            o.video_rungs
        );
        assert!(o.audio_rungs.iter().all(|&r| r == 4));
    }
}
