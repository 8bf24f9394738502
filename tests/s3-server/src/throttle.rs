//! A fault-injection hook for tests of clients' retries: `GetObject` requests whose key
//! contains a pattern are answered `503 SlowDown` with a given probability, and counted.
//!
//! Seeded (xorshift64), so a run's sequence of answers is reproducible for a given order of
//! requests.

use std::sync::Mutex;

use s3s::{S3Result, s3_error};

/// What the hook has seen since the last [`Throttle::set`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThrottleCounts {
    /// `GetObject` requests whose key matched.
    pub gets: u64,
    /// Of those, answered `503 SlowDown`.
    pub throttled: u64,
}

#[derive(Debug, Default)]
struct State {
    key_contains: String,
    /// Out of 2^32: the chance a matching request is throttled.
    threshold: u64,
    rng: u64,
    counts: ThrottleCounts,
}

/// Shared by the server's handle and its `GetObject`; off until set.
#[derive(Debug, Default)]
pub struct Throttle {
    state: Mutex<State>,
}

impl Throttle {
    /// From now on, answers `503 SlowDown` to a `GetObject` whose key contains
    /// `key_contains` with probability `rate` (0 turns throttling off, 1 throttles every
    /// one); resets the counts.
    pub fn set(&self, key_contains: &str, rate: f64, seed: u64) {
        let mut s = self.lock();
        *s = State {
            key_contains: key_contains.to_owned(),
            threshold: (rate.clamp(0.0, 1.0) * f64::from(u32::MAX)).round() as u64,
            rng: seed | 1,
            counts: ThrottleCounts::default(),
        };
    }

    pub fn counts(&self) -> ThrottleCounts {
        self.lock().counts
    }

    /// Called by `GetObject` before serving `key`.
    pub(crate) fn check(&self, key: &str) -> S3Result<()> {
        let mut s = self.lock();
        if s.threshold == 0 || !key.contains(s.key_contains.as_str()) {
            return Ok(());
        }
        s.counts.gets += 1;
        s.rng ^= s.rng << 13;
        s.rng ^= s.rng >> 7;
        s.rng ^= s.rng << 17;
        if (s.rng >> 32) < s.threshold || s.threshold >= u64::from(u32::MAX) {
            s.counts.throttled += 1;
            return Err(s3_error!(SlowDown, "throttled by the test server"));
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
