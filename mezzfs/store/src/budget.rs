//! A retry budget shared by every store of a process (or mount): a token bucket, as in the
//! AWS SDKs' "standard" retry mode, so that a bucket answering errors to everything gets a
//! bounded number of extra requests however many reads are waiting.
//!
//! A retry takes [`RETRY_COST`] tokens ([`TIMEOUT_COST`] after a timeout, which costs the
//! store more); an operation that succeeds gives back what its last retry took, or
//! [`SUCCESS_REWARD`] when it needed none. With the bucket empty, operations are tried once.
//! Pure: no clock, no I/O.

use std::sync::Mutex;

/// Tokens a retry after an error takes.
pub const RETRY_COST: u32 = 5;
/// Tokens a retry after an attempt timed out takes.
pub const TIMEOUT_COST: u32 = 10;
/// Tokens an operation that succeeded at its first attempt gives back.
pub const SUCCESS_REWARD: u32 = 1;
/// The bucket's size, the AWS SDKs' default: 100 retries after errors with nothing succeeding.
pub const DEFAULT_CAPACITY: u32 = 500;

#[derive(Debug)]
pub struct RetryBudget {
    capacity: u32,
    tokens: Mutex<u32>,
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(DEFAULT_CAPACITY)
    }
}

impl RetryBudget {
    /// A full bucket of `capacity` tokens.
    pub fn new(capacity: u32) -> RetryBudget {
        RetryBudget {
            capacity,
            tokens: Mutex::new(capacity),
        }
    }

    /// Takes `cost` tokens if the bucket holds that many.
    pub fn try_take(&self, cost: u32) -> bool {
        let mut t = self.lock();
        if *t < cost {
            return false;
        }
        *t -= cost;
        true
    }

    /// Puts `tokens` back, up to the capacity.
    pub fn give_back(&self, tokens: u32) {
        let mut t = self.lock();
        *t = t.saturating_add(tokens).min(self.capacity);
    }

    pub fn available(&self) -> u32 {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u32> {
        // Every update is one assignment: a poisoned lock still holds a valid count.
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_bucket_refuses_and_successes_refill_it_up_to_capacity() {
        let b = RetryBudget::new(12);
        assert!(b.try_take(RETRY_COST));
        assert!(b.try_take(RETRY_COST));
        assert!(!b.try_take(RETRY_COST), "2 tokens left");
        assert!(!b.try_take(TIMEOUT_COST));
        b.give_back(RETRY_COST);
        assert_eq!(b.available(), 7);
        for _ in 0..100 {
            b.give_back(SUCCESS_REWARD);
        }
        assert_eq!(b.available(), 12, "capped");
    }

    #[test]
    fn the_default_bucket_allows_a_hundred_retries_with_nothing_succeeding() {
        let b = RetryBudget::default();
        let retries = std::iter::from_fn(|| b.try_take(RETRY_COST).then_some(())).count();
        assert_eq!(retries, 100);
    }
}
