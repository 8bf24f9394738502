//! What the player knows about the network: samples of the link throughput from finished
//! downloads, summarised as a conservative EWMA (the smaller of a 3 s and an 8 s half-life
//! average, zero-bias corrected, as dash.js and Sabre do) and as the harmonic mean of the last
//! five samples with the largest recent prediction error (robust MPC's estimate).

use crate::units::{Kbps, Ms};

const HALF_LIVES_MS: [f64; 2] = [3000.0, 8000.0];
const HARMONIC_WINDOW: usize = 5;

#[derive(Clone, Debug, Default)]
pub struct Estimator {
    ewma: [f64; 2],
    weight: f64,
    recent: [f64; HARMONIC_WINDOW],
    errors: [f64; HARMONIC_WINDOW],
    count: usize,
    latency: f64,
}

impl Estimator {
    /// A download moved bits at `sample` for `time`, after `latency`.
    pub fn push(&mut self, sample: Kbps, time: Ms, latency: Ms) {
        if !(sample.0.is_finite() && sample.0 > 0.0 && time.0 > 0.0) {
            return;
        }
        // Error of the harmonic prediction this sample would have been judged against.
        if let Some(pred) = self.harmonic() {
            let err = ((pred.0 - sample.0) / sample.0).abs();
            self.errors[self.count % HARMONIC_WINDOW] = err;
        }
        for (i, h) in HALF_LIVES_MS.iter().enumerate() {
            let alpha = 0.5f64.powf(time.0 / h);
            self.ewma[i] = alpha * self.ewma[i] + (1.0 - alpha) * sample.0;
        }
        self.weight += time.0;
        self.recent[self.count % HARMONIC_WINDOW] = sample.0;
        self.count += 1;
        self.latency = if self.count == 1 {
            latency.0
        } else {
            0.8 * self.latency + 0.2 * latency.0
        };
    }

    /// Conservative EWMA, `None` before the first sample.
    pub fn ewma(&self) -> Option<Kbps> {
        if self.count == 0 {
            return None;
        }
        let est = HALF_LIVES_MS
            .iter()
            .enumerate()
            .map(|(i, h)| self.ewma[i] / (1.0 - 0.5f64.powf(self.weight / h)))
            .fold(f64::INFINITY, f64::min);
        Some(Kbps(est))
    }

    /// Harmonic mean of the last samples.
    pub fn harmonic(&self) -> Option<Kbps> {
        let n = self.count.min(HARMONIC_WINDOW);
        if n == 0 {
            return None;
        }
        let inv: f64 = self.recent[..n].iter().map(|x| 1.0 / x).sum();
        Some(Kbps(n as f64 / inv))
    }

    /// Largest relative prediction error over the last samples (0 before there are two).
    pub fn max_error(&self) -> f64 {
        let n = self.count.saturating_sub(1).min(HARMONIC_WINDOW);
        self.errors[..n].iter().copied().fold(0.0, f64::max)
    }

    pub fn latency(&self) -> Ms {
        Ms(self.latency)
    }

    pub fn samples(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_samples_give_that_rate() {
        let mut e = Estimator::default();
        assert_eq!(e.ewma(), None);
        for _ in 0..10 {
            e.push(Kbps(1000.0), Ms(500.0), Ms(20.0));
        }
        assert!((e.ewma().expect("valid test input").0 - 1000.0).abs() < 1e-9);
        assert!((e.harmonic().expect("valid test input").0 - 1000.0).abs() < 1e-9);
        assert!(e.max_error() < 1e-12);
        e.push(Kbps(500.0), Ms(500.0), Ms(20.0));
        assert!((e.max_error() - 1.0).abs() < 1e-12);
    }
}
