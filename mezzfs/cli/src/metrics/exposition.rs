//! A mount's statistics as Prometheus metrics. Names start with `mezzfs_`; counters end in
//! `_total` (added by the encoder), sizes are in bytes and times in seconds.

use std::fmt::Write as _;

use mezz_mount::{LatencySnapshot, MountStats};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

/// Everything one scrape shows.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub stats: MountStats,
    pub latency: LatencySnapshot,
    /// `--memory`: what the mount's caches and read-ahead are sized to stay under.
    pub memory_budget: u64,
    /// The process's resident memory, when /proc tells it.
    pub resident_bytes: Option<u64>,
}

/// The exposition text of `sample` (ends with `# EOF`).
pub fn render(sample: Sample) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Fixed(sample)));
    let mut out = String::new();
    // Writing into a String cannot fail; an encoder error would be a bug in the names.
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
        let _ = writeln!(out, "# encoding failed: {e}");
    }
    out
}

/// The resident set size of this process, from /proc/self/status.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_rss(&status)
}

/// The `VmRSS:  1234 kB` line of a /proc status file, in bytes.
fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

#[derive(Debug)]
struct Fixed(Sample);

type Labels<'a> = [(&'static str, &'a str); 1];

impl Collector for Fixed {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> std::fmt::Result {
        let s = &self.0.stats;
        let st = &s.store;
        let bytes = Some(&Unit::Bytes);
        counter(
            &mut e,
            "mezzfs_read",
            "Bytes returned to applications.",
            bytes,
            s.bytes_read,
        )?;
        counter(
            &mut e,
            "mezzfs_fetched",
            "Ciphertext bytes received from the store.",
            bytes,
            s.bytes_fetched,
        )?;
        labelled_counter(
            &mut e,
            "mezzfs_reads",
            "Reads answered, by outcome.",
            "outcome",
            &[("ok", s.reads), ("error", s.read_errors)],
        )?;
        labelled_counter(
            &mut e,
            "mezzfs_store_requests",
            "GET requests to the store, by outcome (error: failed after its retries).",
            "outcome",
            &[
                ("ok", s.fetches.saturating_sub(s.fetch_errors)),
                ("error", s.fetch_errors),
            ],
        )?;
        counter(
            &mut e,
            "mezzfs_written",
            "Bytes written into the writable directories.",
            bytes,
            s.bytes_written,
        )?;
        labelled_counter(
            &mut e,
            "mezzfs_writes",
            "Writes into the writable directories, by outcome (error: refused or failed).",
            "outcome",
            &[("ok", s.writes), ("error", s.write_errors)],
        )?;
        labelled_counter(
            &mut e,
            "mezzfs_written_files",
            "Written files closed, by outcome (stored as an object, or not stored).",
            "outcome",
            &[
                ("stored", s.objects_stored),
                ("not_stored", s.objects_not_stored),
            ],
        )?;
        counter(
            &mut e,
            "mezzfs_joined_fetches",
            "Segment waits that joined a fetch already in flight.",
            None,
            s.joined,
        )?;
        counter(
            &mut e,
            "mezzfs_store_retries",
            "Store requests repeated after a transient failure.",
            None,
            st.retries,
        )?;
        counter(
            &mut e,
            "mezzfs_store_timeouts",
            "Store request attempts that took longer than --request-timeout.",
            None,
            st.timeouts,
        )?;
        counter(
            &mut e,
            "mezzfs_store_retry_budget_refusals",
            "Retries not made because the mount's retry budget was spent.",
            None,
            st.budget_refusals,
        )?;
        counter(
            &mut e,
            "mezzfs_auth_retries",
            "Fetches repeated because a segment failed authentication.",
            None,
            s.auth_retries,
        )?;
        let mut hits = vec![("memory", s.cache_hits)];
        let mut misses = vec![("memory", s.cache_misses)];
        if let Some(d) = &st.disk_cache {
            let n = |k: &str| d.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
            hits.push(("disk", n("hits")));
            misses.push(("disk", n("misses")));
        }
        if let Some(r) = &st.regional {
            hits.push(("regional", r.near_hits));
            misses.push(("regional", r.near_misses));
        }
        labelled_counter(
            &mut e,
            "mezzfs_cache_hits",
            "Cache hits per layer: memory (block cache), disk (--cache-dir), regional (--regional-cache).",
            "layer",
            &hits,
        )?;
        labelled_counter(
            &mut e,
            "mezzfs_cache_misses",
            "Cache misses per layer.",
            "layer",
            &misses,
        )?;
        gauge(
            &mut e,
            "mezzfs_memory_budget",
            "The mount's memory budget (--memory).",
            self.0.memory_budget,
        )?;
        gauge(
            &mut e,
            "mezzfs_block_cache",
            "Decrypted segments held in the block cache.",
            s.cache_bytes,
        )?;
        gauge(
            &mut e,
            "mezzfs_block_cache_capacity",
            "The block cache's share of the memory budget.",
            s.cache_capacity,
        )?;
        if let Some(rss) = self.0.resident_bytes {
            gauge(
                &mut e,
                "mezzfs_resident_memory",
                "Resident memory of the mount process.",
                rss,
            )?;
        }
        let handles = ConstGauge::new(saturating_i64(s.open_handles));
        let m = e.encode_descriptor(
            "mezzfs_open_handles",
            "Files open now.",
            None,
            handles.metric_type(),
        )?;
        handles.encode(m)?;
        latency(&mut e, &self.0.latency)
    }
}

fn saturating_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn counter(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    v: u64,
) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    let m = e.encode_descriptor(name, help, unit, c.metric_type())?;
    c.encode(m)
}

fn gauge(e: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let g = ConstGauge::new(saturating_i64(v));
    let m = e.encode_descriptor(name, help, Some(&Unit::Bytes), g.metric_type())?;
    g.encode(m)
}

fn labelled_counter(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &'static str,
    values: &[(&str, u64)],
) -> std::fmt::Result {
    let mut m = e.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, n) in values {
        let labels: Labels<'_> = [(label, value)];
        ConstCounter::new(*n).encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

/// The read latency histogram: the read path's power-of-two buckets, every one of them, so
/// the bucket layout never changes between scrapes.
fn latency(e: &mut DescriptorEncoder<'_>, l: &LatencySnapshot) -> std::fmt::Result {
    let mut m = e.encode_descriptor(
        "mezzfs_read_latency",
        "Time from a read's arrival to its bytes being ready.",
        Some(&Unit::Seconds),
        MetricType::Histogram,
    )?;
    let mut buckets: Vec<(f64, u64)> = l
        .all_buckets()
        .map(|(edge_us, n)| (edge_us as f64 / 1e6, n))
        .collect();
    // The last bucket holds everything longer: it is the +Inf bucket (f64::MAX to the encoder).
    if let Some(last) = buckets.last_mut() {
        last.0 = f64::MAX;
    }
    m.encode_histogram::<NoLabelSet>(l.sum_micros() as f64 / 1e6, l.count(), &buckets, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_renders_every_family_with_its_values() {
        let h = mezz_mount::LatencyHistogram::default();
        h.record(std::time::Duration::from_micros(300));
        h.record(std::time::Duration::from_micros(3000));
        let mut stats = MountStats {
            bytes_read: 10,
            bytes_fetched: 20,
            reads: 2,
            read_errors: 1,
            fetches: 3,
            fetch_errors: 1,
            cache_hits: 4,
            cache_misses: 5,
            open_handles: 2,
            writes: 9,
            bytes_written: 900,
            write_errors: 1,
            objects_stored: 3,
            objects_not_stored: 1,
            ..MountStats::default()
        };
        stats.store.retries = 6;
        stats.store.disk_cache = Some(serde_json::json!({"hits": 7, "misses": 8}));
        let text = render(Sample {
            stats,
            latency: h.snapshot(),
            memory_budget: 256 << 20,
            resident_bytes: Some(1 << 20),
        });
        for line in [
            "# TYPE mezzfs_read_bytes counter",
            "mezzfs_read_bytes_total 10",
            "mezzfs_fetched_bytes_total 20",
            "mezzfs_reads_total{outcome=\"ok\"} 2",
            "mezzfs_reads_total{outcome=\"error\"} 1",
            "mezzfs_store_requests_total{outcome=\"ok\"} 2",
            "mezzfs_store_requests_total{outcome=\"error\"} 1",
            "mezzfs_store_retries_total 6",
            "mezzfs_cache_hits_total{layer=\"memory\"} 4",
            "mezzfs_cache_hits_total{layer=\"disk\"} 7",
            "mezzfs_cache_misses_total{layer=\"disk\"} 8",
            "mezzfs_memory_budget_bytes 268435456",
            "mezzfs_resident_memory_bytes 1048576",
            "mezzfs_open_handles 2",
            "mezzfs_written_bytes_total 900",
            "mezzfs_writes_total{outcome=\"ok\"} 9",
            "mezzfs_writes_total{outcome=\"error\"} 1",
            "mezzfs_written_files_total{outcome=\"stored\"} 3",
            "mezzfs_written_files_total{outcome=\"not_stored\"} 1",
            "mezzfs_read_latency_seconds_count 2",
            "mezzfs_read_latency_seconds_sum 0.0033",
            "mezzfs_read_latency_seconds_bucket{le=\"0.000512\"} 1",
            "mezzfs_read_latency_seconds_bucket{le=\"0.004096\"} 2",
            "mezzfs_read_latency_seconds_bucket{le=\"+Inf\"} 2",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in:\n{text}"
            );
        }
        assert!(
            !text.contains("layer=\"regional\""),
            "no regional cache here"
        );
    }

    #[test]
    fn resident_memory_comes_from_vm_rss() {
        assert_eq!(vm_rss("Name:\tx\nVmRSS:\t  2048 kB\n"), Some(2 << 20));
        assert_eq!(vm_rss("Name:\tx\n"), None);
    }
}
