//! The timing model of one direction of a shaped link, as plain functions of time.
//!
//! A chunk of bytes offered to the link at time `now` first passes a token bucket (the
//! per-connection rate cap), then travels for a fixed one-way delay. Times are durations
//! since an arbitrary epoch, so everything here is testable without a clock.

use std::time::Duration;

/// Bytes per second for a rate in Mbit/s (10^6 bits per second).
pub fn mbit_to_bytes_per_sec(mbit: f64) -> f64 {
    mbit * 1e6 / 8.0
}

/// A token bucket: credit accrues at `bytes_per_sec` up to `burst` bytes. A chunk larger
/// than the credit runs the bucket into debt, and leaves when the debt is paid off.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    bytes_per_sec: f64,
    burst: f64,
    /// Credit in bytes at `updated`; negative while in debt.
    tokens: f64,
    updated: Duration,
}

impl TokenBucket {
    /// A full bucket at time zero.
    pub fn new(bytes_per_sec: f64, burst_bytes: usize) -> Self {
        assert!(bytes_per_sec > 0.0, "rate must be positive");
        Self {
            bytes_per_sec,
            burst: burst_bytes as f64,
            tokens: burst_bytes as f64,
            updated: Duration::ZERO,
        }
    }

    /// When the last byte of a `len`-byte chunk offered at `now` has left the bucket.
    /// Successive calls return non-decreasing times.
    pub fn departure(&mut self, now: Duration, len: usize) -> Duration {
        let now = now.max(self.updated);
        let accrued = (now - self.updated).as_secs_f64() * self.bytes_per_sec;
        self.tokens = (self.tokens + accrued).min(self.burst) - len as f64;
        self.updated = now;
        if self.tokens >= 0.0 {
            now
        } else {
            now + Duration::from_secs_f64(-self.tokens / self.bytes_per_sec)
        }
    }
}

/// One direction of a link: an optional rate cap followed by a fixed delay.
#[derive(Debug, Clone)]
pub struct Schedule {
    bucket: Option<TokenBucket>,
    delay: Duration,
    last: Duration,
}

impl Schedule {
    pub fn new(bucket: Option<TokenBucket>, delay: Duration) -> Self {
        Self {
            bucket,
            delay,
            last: Duration::ZERO,
        }
    }

    /// When a `len`-byte chunk offered at `now` must be delivered. Release times never go
    /// backwards, so chunks are delivered in order; `len == 0` (end of stream) just takes
    /// the delay.
    pub fn release(&mut self, now: Duration, len: usize) -> Duration {
        let departed = match (&mut self.bucket, len) {
            (Some(bucket), 1..) => bucket.departure(now, len),
            _ => now,
        };
        self.last = self.last.max(departed + self.delay);
        self.last
    }
}

/// How late a chunk may leave compared with its release time (the timer works in whole
/// milliseconds), as extra queue room so that lateness does not cut the rate: without it
/// one connection capped at 720 Mbit/s with 10 ms of delay reached only 79 of 90 MB/s.
pub const TIMER_SLACK: Duration = Duration::from_millis(5);

/// Most bytes one direction may hold queued before it stops reading: what the link holds
/// in flight (rate × (delay + [`TIMER_SLACK`])), plus the burst and one read's worth.
/// Without a rate cap the in-flight amount is unbounded in principle, so it is capped at
/// `unlimited`.
pub fn queue_limit(
    bytes_per_sec: Option<f64>,
    delay: Duration,
    burst: usize,
    chunk: usize,
    unlimited: usize,
) -> usize {
    let in_flight = match bytes_per_sec {
        Some(rate) => (rate * (delay + TIMER_SLACK).as_secs_f64()).ceil() as usize,
        None if delay.is_zero() => 0,
        None => unlimited,
    };
    in_flight + burst + chunk
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn mbit_conversion() {
        assert_eq!(mbit_to_bytes_per_sec(8.0), 1e6);
    }

    #[test]
    fn full_bucket_lets_a_burst_through_then_paces() {
        // 1 MB/s, 1000-byte burst.
        let mut bucket = TokenBucket::new(1e6, 1000);
        assert_eq!(bucket.departure(ms(0), 1000), ms(0));
        // Empty now: 1000 more bytes take 1 ms.
        assert_eq!(bucket.departure(ms(0), 1000), ms(1));
        // And another 2000 bytes take 2 ms more, counted from the end of the debt.
        assert_eq!(bucket.departure(ms(0), 2000), ms(3));
    }

    #[test]
    fn idle_time_refills_only_up_to_the_burst() {
        let mut bucket = TokenBucket::new(1e6, 1000);
        assert_eq!(bucket.departure(ms(0), 1000), ms(0));
        // A second of idling earns 1 MB, but the bucket holds only 1000 bytes.
        assert_eq!(bucket.departure(ms(1000), 1000), ms(1000));
        assert_eq!(bucket.departure(ms(1000), 1000), ms(1001));
    }

    #[test]
    fn long_transfer_runs_at_the_rate() {
        // 100 Mbit/s, 64 KiB burst, 4 MiB in 64 KiB chunks offered as fast as possible.
        let rate = mbit_to_bytes_per_sec(100.0);
        let mut bucket = TokenBucket::new(rate, 64 << 10);
        let mut last = Duration::ZERO;
        for _ in 0..64 {
            let t = bucket.departure(ms(0), 64 << 10);
            assert!(t >= last, "departures went backwards");
            last = t;
        }
        let expected = ((4 << 20) - (64 << 10)) as f64 / rate;
        assert!(
            (last.as_secs_f64() - expected).abs() < 1e-6,
            "{last:?} vs {expected}"
        );
    }

    #[test]
    fn release_adds_the_delay_and_keeps_order() {
        let mut schedule = Schedule::new(Some(TokenBucket::new(1e6, 0)), ms(10));
        assert_eq!(schedule.release(ms(0), 1000), ms(11));
        assert_eq!(schedule.release(ms(0), 1000), ms(12));
        // End of stream cannot overtake the data before it.
        assert_eq!(schedule.release(ms(0), 0), ms(12));
        let mut unshaped = Schedule::new(None, ms(10));
        assert_eq!(unshaped.release(ms(5), 1 << 20), ms(15));
        assert_eq!(unshaped.release(ms(3), 1), ms(15));
    }

    #[test]
    fn queue_limit_is_the_bandwidth_delay_product_plus_slack() {
        // 720 Mbit/s for 10 ms plus 5 ms of slack = 1.35 MB in flight.
        let rate = mbit_to_bytes_per_sec(720.0);
        assert_eq!(
            queue_limit(Some(rate), ms(10), 100, 10, 1 << 30),
            1_350_000 + 110
        );
        assert_eq!(queue_limit(None, ms(0), 100, 10, 1 << 30), 110);
        assert_eq!(queue_limit(None, ms(10), 100, 10, 1000), 1110);
    }
}
