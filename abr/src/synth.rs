//! Seeded synthetic traces for networks the shipped sets do not cover.
//!
//! - [`high_bandwidth`]: 5G-class links, a base rate drawn in 20-100 Mbit/s that drifts
//!   slowly, cut by fades of varying depth (to 1-60% of the base) and length (1-12 s) that
//!   arrive every 8-40 s. This is where a rule tuned on scarce bandwidth leaves bitrate on
//!   the table.
//! - [`cellular`]: LTE-like links as in mahimahi's cellular recordings, 0.3-25 Mbit/s with
//!   fast fluctuation and outages; [`to_mahimahi`] writes one as delivery opportunities
//!   (one 1500-byte packet per line), so the mahimahi parser is exercised too.
//!
//! Every trace is a pure function of `(seed, index)`: the same call gives the same periods
//! on every machine (SplitMix64, no floating-point state carried across traces).

use crate::stats::SplitMix64;
use crate::trace::{Period, Trace};
use crate::units::{Kbps, Ms};

/// Sampling period of the generated traces.
pub const STEP_MS: f64 = 500.0;

struct Rng(SplitMix64);

impl Rng {
    fn new(seed: u64, index: u64, stream: u64) -> Self {
        // Mix so nearby (seed, index) pairs give unrelated streams.
        let mut s = SplitMix64::new(seed ^ index.wrapping_mul(0xA076_1D64_78BD_642F) ^ stream);
        s.next_u64();
        Self(s)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Bandwidth multiplier of a fade at `t` seconds: a ramp down, a hold at `1 - depth`, and a
/// ramp back up.
fn fade_factor(t: f64, start: f64, ramp: f64, hold: f64, depth: f64) -> f64 {
    let x = t - start;
    if x < 0.0 || x > 2.0 * ramp + hold {
        1.0
    } else if x < ramp {
        1.0 - depth * x / ramp
    } else if x < ramp + hold {
        1.0 - depth
    } else {
        1.0 - depth * (2.0 * ramp + hold - x) / ramp
    }
}

/// One high-bandwidth trace of `duration`, 500 ms periods, 20 ms latency.
pub fn high_bandwidth(seed: u64, index: u64, duration: Ms) -> Trace {
    let mut r = Rng::new(seed, index, 0x5A5A);
    let base = r.range(20_000.0, 100_000.0);
    let steps = (duration.0 / STEP_MS).ceil() as usize;
    let total_s = steps as f64 * STEP_MS / 1000.0;
    let mut fades = Vec::new();
    let mut t = r.range(2.0, 30.0);
    while t < total_s {
        let ramp = r.range(0.3, 2.0);
        let hold = r.range(0.5, 10.0);
        let depth = r.range(0.4, 0.99);
        fades.push((t, ramp, hold, depth));
        t += 2.0 * ramp + hold + r.range(8.0, 40.0);
    }
    // Slow drift: AR(1) in log space, a few percent per step, kept inside 20-100 Mbit/s.
    let mut drift = 0.0f64;
    let periods = (0..steps)
        .map(|i| {
            drift = 0.97 * drift + 0.04 * r.normal();
            let level = (base * drift.exp()).clamp(20_000.0, 100_000.0);
            let ts = (i as f64 + 0.5) * STEP_MS / 1000.0;
            let f: f64 = fades
                .iter()
                .map(|&(s, ramp, hold, d)| fade_factor(ts, s, ramp, hold, d))
                .product();
            Period {
                duration: Ms(STEP_MS),
                bandwidth: Kbps(level * f),
                latency: Ms(20.0),
            }
        })
        .collect();
    Trace {
        name: format!("hb-{seed}-{index:03}"),
        periods,
    }
}

/// One LTE-like trace of `duration`: a mean in 2-20 Mbit/s, fast log-normal fluctuation,
/// and outages (near zero for 0.5-4 s), 500 ms periods, 40 ms latency.
pub fn cellular(seed: u64, index: u64, duration: Ms) -> Trace {
    let mut r = Rng::new(seed, index, 0xCE11);
    let mean = r.range(2_000.0, 20_000.0);
    let steps = (duration.0 / STEP_MS).ceil() as usize;
    let mut x = 0.0f64;
    let mut outage_left = 0usize;
    let periods = (0..steps)
        .map(|_| {
            x = 0.85 * x + 0.35 * r.normal();
            if outage_left == 0 && r.unit() < 0.006 {
                outage_left = r.range(1.0, 8.0) as usize;
            }
            let bw = if outage_left > 0 {
                outage_left -= 1;
                r.range(50.0, 300.0)
            } else {
                (mean * x.exp()).clamp(300.0, 25_000.0)
            };
            Period {
                duration: Ms(STEP_MS),
                bandwidth: Kbps(bw),
                latency: Ms(40.0),
            }
        })
        .collect();
    Trace {
        name: format!("cell-{seed}-{index:03}"),
        periods,
    }
}

/// A trace as mahimahi delivery opportunities: one line per 1500-byte packet, in ms,
/// spread evenly over each period (fractional packets carried over).
pub fn to_mahimahi(t: &Trace) -> String {
    let packet_bits = 1500.0 * 8.0;
    let mut out = String::new();
    let (mut start, mut carry) = (0.0f64, 0.0f64);
    for p in &t.periods {
        let packets = p.bandwidth.0 * p.duration.0 / packet_bits + carry;
        let n = packets.floor();
        carry = packets - n;
        for k in 0..n as u64 {
            let ms = start + p.duration.0 * (k as f64 + 0.5) / n;
            out.push_str(&format!("{}\n", ms.floor() as u64));
        }
        start += p.duration.0;
    }
    out
}

/// A trace as our CSV (`duration_ms,bandwidth_kbps,latency_ms`).
pub fn to_csv(t: &Trace) -> String {
    let mut out = String::from("duration_ms,bandwidth_kbps,latency_ms\n");
    for p in &t.periods {
        out.push_str(&format!(
            "{},{:.1},{}\n",
            p.duration.0, p.bandwidth.0, p.latency.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_bandwidth_is_reproducible_in_range_and_fades() {
        let a = high_bandwidth(22, 3, Ms(320_000.0));
        assert_eq!(a, high_bandwidth(22, 3, Ms(320_000.0)));
        assert_ne!(a, high_bandwidth(22, 4, Ms(320_000.0)));
        assert_eq!(a.periods.len(), 640);
        let max = a.periods.iter().map(|p| p.bandwidth.0).fold(0.0, f64::max);
        let min = a
            .periods
            .iter()
            .map(|p| p.bandwidth.0)
            .fold(f64::MAX, f64::min);
        assert!((20_000.0..=100_000.0).contains(&max), "{max}");
        assert!(min < 0.6 * max, "no fade: {min} vs {max}");
    }

    #[test]
    fn mahimahi_output_parses_back_to_the_same_mean() {
        let t = cellular(22, 0, Ms(60_000.0));
        let text = to_mahimahi(&t);
        let opts = crate::trace::TraceOptions {
            default_latency: Ms(40.0),
            mahimahi_bin: Ms(500.0),
        };
        let back = crate::trace::parse_mahimahi("x", &text, &opts).expect("own output parses");
        let (a, b) = (t.mean_bandwidth().0, back.mean_bandwidth().0);
        assert!((a - b).abs() / a < 0.02, "{a} vs {b}");
    }
}
