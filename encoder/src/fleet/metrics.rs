//! A worker's counters as Prometheus metrics (`segment-encode worker --metrics-listen`):
//! scenes taken, done, failed and retried, encode time, bytes read from the mezzanine and
//! written to the store, queue receive errors. Names start with `segment_encode_`; counters
//! end in `_total` (added by the encoder), sizes are in bytes and times in seconds.
//!
//! The worker loop records into [`WorkerMetrics`] (atomic counters, no I/O); the HTTP endpoint
//! (`mezz_ops::metrics_http`) asks for [`WorkerMetrics::render`] on each scrape.

use std::fmt::Write as _;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use super::worker::Outcome;

/// What one worker has done since it started.
#[derive(Debug)]
pub struct WorkerMetrics {
    registry: Registry,
    taken: Counter,
    retried: Counter,
    done: Counter,
    duplicate: Counter,
    failed: Counter,
    released: Counter,
    busy: Gauge,
    encode_seconds: Histogram,
    read: Counter,
    fetched: Counter,
    written: Counter,
    receive_errors: Counter,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        WorkerMetrics::new()
    }
}

impl WorkerMetrics {
    pub fn new() -> WorkerMetrics {
        let mut registry = Registry::default();
        let mut counter = |name: &str, help: &str, unit: Option<Unit>| {
            let c = Counter::default();
            match unit {
                Some(u) => registry.register_with_unit(name, help, u, c.clone()),
                None => registry.register(name, help, c.clone()),
            }
            c
        };
        let taken = counter(
            "segment_encode_scenes_taken",
            "Scene messages received from the queue.",
            None,
        );
        let retried = counter(
            "segment_encode_scenes_retried",
            "Scene messages received again after an earlier delivery (a failure, or a worker \
             that stopped before deleting it).",
            None,
        );
        let done = counter(
            "segment_encode_scenes_done",
            "Scenes encoded and stored.",
            None,
        );
        let duplicate = counter(
            "segment_encode_scenes_duplicate",
            "Scene messages whose chunk was already stored (deleted, nothing encoded).",
            None,
        );
        let failed = counter(
            "segment_encode_scenes_failed",
            "Scene attempts that failed (hidden for a retry, or left for the dead-letter queue).",
            None,
        );
        let released = counter(
            "segment_encode_scenes_released",
            "Scenes given back to the queue unfinished after SIGTERM's grace period.",
            None,
        );
        let read = counter(
            "segment_encode_read",
            "Scene bytes read from the mezzanine through mezzfs (plaintext).",
            Some(Unit::Bytes),
        );
        let fetched = counter(
            "segment_encode_fetched",
            "Ciphertext bytes fetched from the store for those reads.",
            Some(Unit::Bytes),
        );
        let written = counter(
            "segment_encode_written",
            "Encoded chunk bytes stored.",
            Some(Unit::Bytes),
        );
        let receive_errors = counter(
            "segment_encode_queue_receive_errors",
            "Failed receives from the queue (after the SDK's own retries).",
            None,
        );
        let busy = Gauge::default();
        registry.register(
            "segment_encode_busy",
            "1 while a scene is being read, encoded or stored, else 0.",
            busy.clone(),
        );
        // 0.25 s to about 68 minutes.
        let encode_seconds = Histogram::new(exponential_buckets(0.25, 2.0, 15));
        registry.register_with_unit(
            "segment_encode_encode",
            "rav1e time per encoded scene.",
            Unit::Seconds,
            encode_seconds.clone(),
        );
        WorkerMetrics {
            registry,
            taken,
            retried,
            done,
            duplicate,
            failed,
            released,
            busy,
            encode_seconds,
            read,
            fetched,
            written,
            receive_errors,
        }
    }

    /// A message was received; `delivery` is its receive count (1 the first time).
    pub fn taken(&self, delivery: u32) {
        self.taken.inc();
        if delivery > 1 {
            self.retried.inc();
        }
        self.busy.set(1);
    }

    /// A message's handling ended with `outcome`.
    pub fn finished(&self, outcome: &Outcome) {
        match outcome {
            Outcome::Encoded(_) => &self.done,
            Outcome::Duplicate { .. } => &self.duplicate,
            Outcome::Failed { .. } => &self.failed,
            Outcome::Released { .. } => &self.released,
        }
        .inc();
        self.busy.set(0);
    }

    /// A scene's `bytes` were read, `fetched` ciphertext bytes from the store.
    pub fn read(&self, bytes: u64, fetched: u64) {
        self.read.inc_by(bytes);
        self.fetched.inc_by(fetched);
    }

    pub fn encoded(&self, seconds: f64) {
        self.encode_seconds.observe(seconds);
    }

    pub fn written(&self, bytes: u64) {
        self.written.inc_by(bytes);
    }

    pub fn receive_error(&self) {
        self.receive_errors.inc();
    }

    /// The exposition text (OpenMetrics, ends with `# EOF`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would be a bug in the names.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            let _ = writeln!(out, "# encoding failed: {e}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn outcomes_and_bytes_land_in_their_series() {
        let m = WorkerMetrics::new();
        m.taken(1);
        assert_eq!(value(&m.render(), "segment_encode_busy"), Some(1.0));
        m.read(1000, 1100);
        m.encoded(1.5);
        m.written(300);
        m.finished(&Outcome::Duplicate { scene: 0 });
        m.taken(2);
        m.finished(&Outcome::Failed {
            scene: 1,
            error: "x".into(),
            final_attempt: false,
        });
        m.taken(3);
        m.finished(&Outcome::Released { scene: 1 });
        m.receive_error();
        let t = m.render();
        for (series, v) in [
            ("segment_encode_scenes_taken_total", 3.0),
            ("segment_encode_scenes_retried_total", 2.0),
            ("segment_encode_scenes_done_total", 0.0),
            ("segment_encode_scenes_duplicate_total", 1.0),
            ("segment_encode_scenes_failed_total", 1.0),
            ("segment_encode_scenes_released_total", 1.0),
            ("segment_encode_busy", 0.0),
            ("segment_encode_read_bytes_total", 1000.0),
            ("segment_encode_fetched_bytes_total", 1100.0),
            ("segment_encode_written_bytes_total", 300.0),
            ("segment_encode_queue_receive_errors_total", 1.0),
            ("segment_encode_encode_seconds_count", 1.0),
            ("segment_encode_encode_seconds_sum", 1.5),
            ("segment_encode_encode_seconds_bucket{le=\"2.0\"}", 1.0),
            ("segment_encode_encode_seconds_bucket{le=\"1.0\"}", 0.0),
        ] {
            assert_eq!(value(&t, series), Some(v), "{series} in:\n{t}");
        }
        assert!(t.ends_with("# EOF\n"), "{t}");
    }
}
