//! A mount's statistics as one document: JSON for the stats file and `mezzfs stats`, a short
//! text summary for the log when the mount ends.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::read_path::ReadPath;

/// What "read latency" means in `mezzfs stats`, the stats file and `mezzfs replay info`.
pub const READ_LATENCY: &str = "Read latency is measured from when the mount starts serving a read (the kernel's request taken up on the mount's runtime) until its bytes are ready (fetched or cached, authenticated, decrypted); the kernel's own queueing and the copy of the reply are not included. `mezzfs stats` and the stats file count reads in power-of-two buckets of microseconds and report a quantile as its bucket's upper edge; `mezzfs replay info` reports the recorded values of the same interval (stored within 6%), so its p50 lies within the stats p50's bucket.";

/// Everything a user asks about a mount. Field names are part of the stats file's format.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MountStats {
    pub uptime_secs: f64,
    pub objects: usize,
    pub readahead: String,
    /// Reads answered (each FUSE read request is one).
    pub reads: u64,
    /// Bytes returned to applications.
    pub bytes_read: u64,
    /// GET requests sent.
    pub fetches: u64,
    /// Ciphertext bytes received from the store.
    pub bytes_fetched: u64,
    /// bytes_fetched / bytes_read.
    pub amplification: f64,
    /// Segment waits that joined a fetch already in flight.
    pub joined: u64,
    pub in_flight: u64,
    pub fetch_errors: u64,
    pub read_errors: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_evictions: u64,
    pub cache_bytes: u64,
    pub cache_capacity: u64,
    pub latency_us_p50: Option<u64>,
    pub latency_us_p90: Option<u64>,
    pub latency_us_p99: Option<u64>,
    pub latency_us_max: Option<u64>,
    /// Non-empty histogram buckets: (upper edge in µs, reads).
    pub latency_histogram: Vec<(u64, u64)>,
    /// Fetches repeated because a segment failed authentication (bytes damaged in transit).
    #[serde(default)]
    pub auth_retries: u64,
    /// Files open now (the statistics file not counted).
    #[serde(default)]
    pub open_handles: u64,
    /// Retries, timeouts and the disk and regional caches, below the fetches.
    #[serde(default)]
    pub store: mezz_store::StoreSnapshot,
    /// The process serving the mount (`mezzfs unmount` waits for it to finish).
    #[serde(default)]
    pub pid: u32,
    /// Data keys unwrapped since the mount started: one per first open of an object (a KMS
    /// `Decrypt` for KMS-wrapped objects), none at start-up or per read.
    #[serde(default)]
    pub key_unwraps: u64,
    /// Objects whose data key is in memory now (a file of theirs open, or closed within the
    /// key grace period).
    #[serde(default)]
    pub keys_held: u64,
    /// Writes accepted in the writable directories, and their bytes.
    #[serde(default)]
    pub writes: u64,
    #[serde(default)]
    pub bytes_written: u64,
    /// Writes refused (out of order) or failed (an upload had failed).
    #[serde(default)]
    pub write_errors: u64,
    /// Written files stored as objects at close, and files that were not.
    #[serde(default)]
    pub objects_stored: u64,
    #[serde(default)]
    pub objects_not_stored: u64,
}

impl MountStats {
    pub fn collect(path: &ReadPath, uptime: Duration) -> MountStats {
        let m = path.metrics();
        let (counters, cache_bytes, cache_capacity) = path.cache_state();
        MountStats {
            uptime_secs: uptime.as_secs_f64(),
            objects: path.object_count(),
            readahead: path.readahead_description(),
            reads: m.reads,
            bytes_read: m.bytes_read,
            fetches: m.fetches,
            bytes_fetched: m.bytes_fetched,
            amplification: m.amplification(),
            joined: m.joined,
            in_flight: m.in_flight,
            fetch_errors: m.errors,
            read_errors: m.read_errors,
            cache_hits: counters.hits,
            cache_misses: counters.misses,
            cache_evictions: counters.evictions,
            cache_bytes,
            cache_capacity,
            latency_us_p50: m.latency.quantile_micros(0.5),
            latency_us_p90: m.latency.quantile_micros(0.9),
            latency_us_p99: m.latency.quantile_micros(0.99),
            latency_us_max: m.latency.quantile_micros(1.0),
            latency_histogram: m.latency.buckets(),
            auth_retries: m.auth_retries,
            writes: m.writes,
            bytes_written: m.bytes_written,
            write_errors: m.write_errors,
            objects_stored: m.objects_stored,
            objects_not_stored: m.objects_not_stored,
            open_handles: m.open_handles,
            store: path.store_snapshot(),
            pid: std::process::id(),
            key_unwraps: path.key_unwraps(),
            keys_held: path.keys_held(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// A few lines for people: what was read, what it cost, how fast reads were answered.
    pub fn summary(&self) -> String {
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        let ms = |us: Option<u64>| {
            us.map_or("-".to_string(), |u| format!("{:.2} ms", u as f64 / 1000.0))
        };
        let rate = if self.uptime_secs > 0.0 {
            mib(self.bytes_read) / self.uptime_secs
        } else {
            0.0
        };
        let mut extra = String::new();
        let st = &self.store;
        if st.retries + st.timeouts + st.gave_up + self.auth_retries > 0 {
            extra += &format!(
                "; store: {} retries, {} timeouts, {} gave up, {} refetched after failed authentication",
                st.retries, st.timeouts, st.gave_up, self.auth_retries
            );
        }
        if let Some(r) = &st.regional {
            extra += &format!(
                "; regional cache: {:.1} MiB from the near bucket, {:.1} MiB from the origin, {} copies",
                mib(r.near_bytes),
                mib(r.origin_bytes),
                r.copies_done
            );
        }
        if self.writes + self.write_errors + self.objects_stored + self.objects_not_stored > 0 {
            extra += &format!(
                "; wrote {:.1} MiB in {} writes ({} refused or failed), {} files stored, {} not stored",
                mib(self.bytes_written),
                self.writes,
                self.write_errors,
                self.objects_stored,
                self.objects_not_stored
            );
        }
        if let Some(d) = &st.disk_cache {
            let n = |k: &str| d.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
            extra += &format!(
                "; disk cache: {} hits, {} misses, {:.1} MiB from disk",
                n("hits"),
                n("misses"),
                mib(n("bytes_from_disk"))
            );
        }
        format!(
            "read {:.1} MiB in {} reads ({:.1} MiB/s over {:.1} s mounted); fetched {:.1} MiB in {} requests (amplification {:.2}); \
             cache {} hits, {} misses, {} evictions; read latency p50 <= {}, p99 <= {}, max <= {}; errors: {} reads, {} fetches",
            mib(self.bytes_read),
            self.reads,
            rate,
            self.uptime_secs,
            mib(self.bytes_fetched),
            self.fetches,
            self.amplification,
            self.cache_hits,
            self.cache_misses,
            self.cache_evictions,
            ms(self.latency_us_p50),
            ms(self.latency_us_p99),
            ms(self.latency_us_max),
            self.read_errors,
            self.fetch_errors,
        ) + &extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_and_summary_names_the_figures() {
        let s = MountStats {
            reads: 3,
            bytes_read: 3 << 20,
            bytes_fetched: 6 << 20,
            amplification: 2.0,
            latency_us_p50: Some(512),
            latency_histogram: vec![(512, 3)],
            ..MountStats::default()
        };
        let back: MountStats = serde_json::from_str(&s.to_json()).expect("parse");
        assert_eq!(back, s);
        let text = s.summary();
        assert!(text.contains("read 3.0 MiB in 3 reads"), "{text}");
        assert!(text.contains("amplification 2.00"), "{text}");
        assert!(text.contains("p50 <= 0.51 ms"), "{text}");
    }
}
