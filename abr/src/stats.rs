//! Summaries over trace sets: quantiles and bootstrap confidence intervals, with a seeded
//! generator so a comparison prints the same intervals every time.

use serde::Serialize;

/// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): tiny, fast, and good enough for resampling indices.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), by Lemire's multiply-shift (bias below 2^-32 for our n).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
}

/// Linear-interpolated quantile of sorted data (`q` in 0..=1).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Mean and quantiles of a sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

pub fn summary(values: &[f64]) -> Summary {
    let mut s: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let mean = if n > 0 {
        s.iter().sum::<f64>() / n as f64
    } else {
        f64::NAN
    };
    Summary {
        n,
        mean,
        p10: quantile(&s, 0.1),
        p50: quantile(&s, 0.5),
        p90: quantile(&s, 0.9),
    }
}

/// Mean paired difference `a - b` with a percentile bootstrap confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Difference {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub level: f64,
}

/// Paired bootstrap over sessions (the same trace under two rules): resample trace indices
/// with replacement `rounds` times and take the central `level` of the mean differences.
pub fn bootstrap_difference(
    a: &[f64],
    b: &[f64],
    rounds: usize,
    level: f64,
    seed: u64,
) -> Difference {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    if n == 0 {
        return Difference {
            mean: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
            level,
        };
    }
    let mean = d.iter().sum::<f64>() / n as f64;
    let mut rng = SplitMix64::new(seed);
    let mut means: Vec<f64> = (0..rounds.max(1))
        .map(|_| (0..n).map(|_| d[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Difference {
        mean,
        low: quantile(&means, tail),
        high: quantile(&means, 1.0 - tail),
        level,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_summary() {
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        let s = summary(&[3.0, 1.0, 2.0]);
        assert_eq!((s.n, s.mean, s.p50), (3, 2.0, 2.0));
    }

    #[test]
    fn bootstrap_brackets_a_clear_difference_and_is_reproducible() {
        let a: Vec<f64> = (0..200).map(|i| 10.0 + (i % 7) as f64).collect();
        let b: Vec<f64> = (0..200).map(|i| 8.0 + (i % 5) as f64).collect();
        let d = bootstrap_difference(&a, &b, 2000, 0.95, 7);
        assert!(d.low < d.mean && d.mean < d.high && d.low > 0.0, "{d:?}");
        assert_eq!(d, bootstrap_difference(&a, &b, 2000, 0.95, 7));
        let mut r = SplitMix64::new(1);
        assert!((0..1000).all(|_| r.below(10) < 10));
    }
}
