//! Timing decisions of a worker, as plain functions: how often to extend a message's
//! visibility while its scene encodes, how long to hide a failed scene before its next
//! attempt, how long one long poll may wait, and how long to wait after a failed receive.

use std::time::Duration;

/// SQS's longest long poll.
pub const MAX_WAIT_SECONDS: i32 = 20;

/// How often to extend the visibility of the message being worked on: three times per
/// timeout, so that two lost or slow calls in a row still leave the message hidden.
pub fn heartbeat_every(visibility_timeout: Duration) -> Duration {
    (visibility_timeout / 3).max(Duration::from_millis(500))
}

/// How long a failed scene stays hidden before its next attempt (after delivery `attempt`,
/// 1-based): 2, 4, 8 s ... up to 5 minutes, so that a passing failure (a store hiccup) has
/// time to pass and a poison scene reaches the dead-letter queue without hogging workers.
pub fn retry_delay(attempt: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempt.clamp(1, 16)).min(300))
}

/// Seconds the next long poll may wait: 20, or less when the idle exit comes sooner (at
/// least 1, so an idle worker never spins).
pub fn receive_wait(idle_left: Option<Duration>) -> i32 {
    match idle_left {
        None => MAX_WAIT_SECONDS,
        Some(left) => (left.as_secs_f64().ceil() as i32).clamp(1, MAX_WAIT_SECONDS),
    }
}

/// Time left before an idle worker exits, `None` without `--idle-exit`; zero means exit now.
pub fn idle_left(idle_exit: Option<Duration>, idle_for: Duration) -> Option<Duration> {
    idle_exit.map(|limit| limit.saturating_sub(idle_for))
}

/// Failed receives in a row a worker outlives (each after the SDK's own three attempts).
pub const RECEIVE_FAILURES_TOLERATED: u32 = 5;

/// After the `failures`-th failed receive in a row: how long to wait before the next one (1, 2,
/// 4, 8 s), or `None` to give up (a queue gone for good, lost credentials: ~15 s of trying
/// rides out a restart of the queue service or a network blip, not a misconfiguration).
pub fn receive_retry_delay(failures: u32) -> Option<Duration> {
    (failures < RECEIVE_FAILURES_TOLERATED)
        .then(|| Duration::from_secs(1 << failures.saturating_sub(1).min(16)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_three_times_per_timeout() {
        assert_eq!(
            heartbeat_every(Duration::from_secs(300)),
            Duration::from_secs(100)
        );
        assert_eq!(
            heartbeat_every(Duration::from_secs(0)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn retry_delay_grows_and_is_capped() {
        let d: Vec<u64> = (1..=10).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(d, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(retry_delay(0).as_secs(), 2);
    }

    #[test]
    fn failed_receives_back_off_then_give_up() {
        let d: Vec<Option<u64>> = (1..=6)
            .map(|f| receive_retry_delay(f).map(|d| d.as_secs()))
            .collect();
        assert_eq!(d, [Some(1), Some(2), Some(4), Some(8), None, None]);
        assert_eq!(receive_retry_delay(0), Some(Duration::from_secs(1)));
    }

    #[test]
    fn long_poll_never_outlives_the_idle_exit() {
        assert_eq!(receive_wait(None), 20);
        assert_eq!(receive_wait(Some(Duration::from_millis(2500))), 3);
        assert_eq!(receive_wait(Some(Duration::ZERO)), 1);
        assert_eq!(receive_wait(Some(Duration::from_secs(3600))), 20);
        let idle = Some(Duration::from_secs(10));
        assert_eq!(
            idle_left(idle, Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(
            idle_left(idle, Duration::from_secs(40)),
            Some(Duration::ZERO)
        );
        assert_eq!(idle_left(None, Duration::from_secs(40)), None);
    }
}
