//! Counters of a mount, updated lock-free from its events ([`MountEvents`]) and read by
//! `stats`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::events::MountEvents;
use crate::latency::{LatencyHistogram, LatencySnapshot};
use crate::read_path::ReadError;

#[derive(Debug, Default)]
pub struct Metrics {
    pub reads: AtomicU64,
    pub bytes_read: AtomicU64,
    pub fetches: AtomicU64,
    pub bytes_fetched: AtomicU64,
    /// Reads that waited on a fetch another read (or the read-ahead) had started.
    pub joined: AtomicU64,
    pub in_flight: AtomicU64,
    /// Fetches that failed.
    pub errors: AtomicU64,
    /// Reads answered with an error.
    pub read_errors: AtomicU64,
    /// Fetches repeated because a segment failed authentication.
    pub auth_retries: AtomicU64,
    /// Time from a read's arrival to its bytes being ready.
    pub latency: LatencyHistogram,
    /// Files open now (the statistics file not counted).
    pub open_handles: AtomicU64,
    /// Writes into the writable directories: accepted, and refused or failed.
    pub writes: AtomicU64,
    pub bytes_written: AtomicU64,
    pub write_errors: AtomicU64,
    /// Files closed: stored as objects, and not stored (a failed upload or a refused write).
    pub objects_stored: AtomicU64,
    pub objects_not_stored: AtomicU64,
}

/// A point-in-time copy of [`Metrics`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    pub reads: u64,
    pub bytes_read: u64,
    pub fetches: u64,
    pub bytes_fetched: u64,
    pub joined: u64,
    pub in_flight: u64,
    pub errors: u64,
    pub read_errors: u64,
    pub auth_retries: u64,
    pub latency: LatencySnapshot,
    pub open_handles: u64,
    pub writes: u64,
    pub bytes_written: u64,
    pub write_errors: u64,
    pub objects_stored: u64,
    pub objects_not_stored: u64,
}

impl Metrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MetricsSnapshot {
            reads: l(&self.reads),
            bytes_read: l(&self.bytes_read),
            fetches: l(&self.fetches),
            bytes_fetched: l(&self.bytes_fetched),
            joined: l(&self.joined),
            in_flight: l(&self.in_flight),
            errors: l(&self.errors),
            read_errors: l(&self.read_errors),
            auth_retries: l(&self.auth_retries),
            latency: self.latency.snapshot(),
            open_handles: l(&self.open_handles),
            writes: l(&self.writes),
            bytes_written: l(&self.bytes_written),
            write_errors: l(&self.write_errors),
            objects_stored: l(&self.objects_stored),
            objects_not_stored: l(&self.objects_not_stored),
        }
    }
}

impl MountEvents for Metrics {
    fn opened(&self, _handle: u64, _file: usize) {
        self.open_handles.fetch_add(1, Ordering::Relaxed);
    }
    fn released(&self, _handle: u64) {
        self.open_handles.fetch_sub(1, Ordering::Relaxed);
    }
    fn served(&self, result: Result<u64, &ReadError>, took: Duration) {
        self.latency.record(took);
        match result {
            // A read clamped to nothing (past a range file's end) is not counted.
            Ok(0) => {}
            Ok(bytes) => {
                self.reads.fetch_add(1, Ordering::Relaxed);
                self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
            }
            Err(_) => {
                self.read_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn joined(&self) {
        self.joined.fetch_add(1, Ordering::Relaxed);
    }

    fn fetch_started(&self, _fetch: u64, _object: usize, _range: std::ops::Range<u64>) {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    fn auth_retry(&self) {
        self.auth_retries.fetch_add(1, Ordering::Relaxed);
    }

    fn wrote(&self, _handle: u64, range: std::ops::Range<u64>, _arrived: Instant, ok: bool) {
        if ok {
            self.writes.fetch_add(1, Ordering::Relaxed);
            self.bytes_written
                .fetch_add(range.end - range.start, Ordering::Relaxed);
        } else {
            self.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn committed(
        &self,
        _handle: u64,
        _object: &str,
        _bytes: u64,
        _began: Instant,
        error: Option<&str>,
    ) {
        let counter = match error {
            None => &self.objects_stored,
            Some(_) => &self.objects_not_stored,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn fetch_done(&self, _fetch: u64, stored_bytes: u64, error: Option<&ReadError>) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.bytes_fetched
            .fetch_add(stored_bytes, Ordering::Relaxed);
        if error.is_some() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl MetricsSnapshot {
    /// Bytes fetched per byte read (1.0 is ideal), or 0 before any read.
    pub fn amplification(&self) -> f64 {
        if self.bytes_read == 0 {
            0.0
        } else {
            self.bytes_fetched as f64 / self.bytes_read as f64
        }
    }
}
