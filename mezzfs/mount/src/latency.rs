//! A lock-free histogram of read latencies: power-of-two buckets of microseconds, so recording
//! is one atomic add and quantiles are within a factor of two (reported as the bucket's upper
//! edge, never flattering).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket `i` holds latencies in `[2^(i-1), 2^i)` µs (bucket 0: under 1 µs); the last bucket
/// (2^39 µs, about six days) holds everything longer.
const BUCKETS: usize = 40;

#[derive(Debug)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; BUCKETS],
    /// Sum of all recorded latencies in µs (a Prometheus histogram's `_sum`).
    sum_micros: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
        }
    }
}

fn bucket_of(micros: u64) -> usize {
    ((u64::BITS - micros.leading_zeros()) as usize).min(BUCKETS - 1)
}

impl LatencyHistogram {
    pub fn record(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> LatencySnapshot {
        LatencySnapshot {
            counts: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
        }
    }
}

/// A copy of the histogram's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencySnapshot {
    counts: Vec<u64>,
    sum_micros: u64,
}

impl LatencySnapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The upper edge, in µs, of the bucket holding quantile `q` (0..=1), or `None` when empty.
    pub fn quantile_micros(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(1u64 << i);
            }
        }
        Some(1u64 << (BUCKETS - 1))
    }

    /// Sum of the recorded latencies in µs.
    pub fn sum_micros(&self) -> u64 {
        self.sum_micros
    }

    /// Every bucket, empty ones too, as (exclusive upper edge in µs, count), the last one
    /// holding everything longer: a fixed layout, as a Prometheus histogram needs.
    pub fn all_buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts.iter().enumerate().map(|(i, &c)| (1u64 << i, c))
    }

    /// Non-empty buckets as (upper edge in µs, count).
    pub fn buckets(&self) -> Vec<(u64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &c)| (1u64 << i, c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_report_bucket_upper_edges() {
        let h = LatencyHistogram::default();
        assert_eq!(h.snapshot().quantile_micros(0.5), None);
        for _ in 0..98 {
            h.record(Duration::from_micros(300)); // bucket [256, 512)
        }
        h.record(Duration::from_millis(20)); // [16384, 32768)
        h.record(Duration::from_secs(1 << 30)); // clamps into the last bucket
        let s = h.snapshot();
        assert_eq!(s.count(), 100);
        assert_eq!(s.quantile_micros(0.5), Some(512));
        assert_eq!(s.quantile_micros(0.98), Some(512));
        assert_eq!(s.quantile_micros(0.99), Some(32768));
        assert_eq!(s.quantile_micros(1.0), Some(1 << 39));
        assert_eq!(s.buckets().len(), 3);
        assert_eq!(s.all_buckets().count(), BUCKETS);
        assert_eq!(s.all_buckets().map(|(_, c)| c).sum::<u64>(), 100);
        assert_eq!(s.sum_micros(), 98 * 300 + 20_000 + (1u64 << 30) * 1_000_000);
    }

    #[test]
    fn zero_and_one_micro() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 1);
        assert_eq!(bucket_of(2), 2);
        assert_eq!(bucket_of(3), 2);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }
}
