//! The read-ahead decision: from the recent reads of one object, how much to fetch now.
//!
//! Recent reads are grouped into clusters of contiguous bytes (the seed's measure). Unlike the
//! seed, which classified the whole object by its density ratio, each read is judged by its
//! own cluster, so every reader of an object is its own stream:
//!
//! - **Sparse** (the read stands alone: no recent read touches it): fetch what was asked, no
//!   more; a buffer the size of the read, as the seed's adaptive buffering did.
//! - **Dense** (the read continues a run of reads): fetch a window ahead of it. Its size is the
//!   bandwidth-delay product measured on the fetches so far plus four requests' worth (so
//!   about four requests stream in parallel, each taking a round trip and its transfer
//!   time), instead of doubling blindly until a maximum. It is
//!   capped by `max_buffer / dense clusters` (several threads each reading densely share the
//!   object's allowance, as in the seed) and by the mount's budget divided among all dense
//!   streams. A second thread starting to read densely is detected at its second read, not
//!   after the object's overall density has shifted.
//!   The window is split into `request_size` GETs that run in parallel, because one S3
//!   connection caps out well below the link.
//! - **Fixed**: the old one-size-fits-all strategy (8 MiB from each read), kept for comparison.

use std::collections::VecDeque;
use std::ops::Range;

use mezz_clusters::clusters;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    Adaptive,
    /// Always fetch this many bytes from the start of each read.
    Fixed(u64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub strategy: Strategy,
    /// How many recent reads the density measure looks at.
    pub window_reads: usize,
    /// Largest read-ahead window of one object (split among its clusters).
    pub max_buffer: u64,
    /// Read-ahead bytes the whole mount may hold, shared by all dense streams.
    pub budget: u64,
    /// Bytes per GET when a window is split into parallel requests.
    pub request_size: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            strategy: Strategy::Adaptive,
            window_reads: 64,
            max_buffer: 128 << 20,
            budget: 256 << 20,
            request_size: 8 << 20,
        }
    }
}

/// Throughput and latency of recent fetches, smoothed; fed by the read path.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NetEstimate {
    /// Bytes per second of one request once data flows.
    pub throughput: f64,
    /// Seconds from request to first byte.
    pub latency: f64,
    samples: u32,
}

impl NetEstimate {
    /// Folds in one completed fetch (exponentially weighted, 1/4 per sample).
    pub fn observe(&mut self, bytes: u64, first_byte_secs: f64, total_secs: f64) {
        let transfer = (total_secs - first_byte_secs).max(1e-6);
        let tput = bytes as f64 / transfer;
        if self.samples == 0 {
            self.throughput = tput;
            self.latency = first_byte_secs;
        } else {
            self.throughput += (tput - self.throughput) / 4.0;
            self.latency += (first_byte_secs - self.latency) / 4.0;
        }
        self.samples = self.samples.saturating_add(1);
    }

    /// Folds in a request whose time to first byte was not seen: the quickest request so far
    /// stands for the latency (small requests are all latency), the rest is transfer.
    pub fn observe_request(&mut self, bytes: u64, total_secs: f64) {
        let latency = if self.samples == 0 {
            total_secs / 2.0
        } else {
            self.latency.min(total_secs)
        };
        self.observe(bytes, latency, total_secs);
    }

    /// Bytes a stream should have requested ahead so that it never waits: requests of
    /// `request_size` each take `latency + request_size / throughput`, and
    /// [`STREAM_REQUESTS`] of them in flight carry several connections' worth (one connection
    /// caps out below the link). `None` before any measurement.
    fn window_for(&self, request_size: u64) -> Option<u64> {
        (self.samples > 0).then_some(
            (STREAM_REQUESTS * (self.throughput * self.latency + request_size as f64)) as u64,
        )
    }
}

/// Requests a dense stream keeps in flight (each window holds this many requests plus the
/// bytes that arrive during their round trips).
const STREAM_REQUESTS: f64 = 4.0;

/// Runs with fewer reads get a window of twice their extent at most.
const YOUNG_RUN: u32 = 4;

/// How the recent reads of an object look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// Too few reads to tell.
    Warmup,
    Sparse,
    Dense {
        clusters: usize,
    },
}

/// What should be cached or in flight after one read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub pattern: Pattern,
    /// The bytes that should be cached or in flight once the read is served: always covers
    /// the read (clamped to the object).
    pub window: Range<u64>,
}

/// Read-ahead state of one object (shared by all handles on it).
#[derive(Clone, Debug, Default)]
pub struct ObjectPolicy {
    recent: VecDeque<Range<u64>>,
}

impl ObjectPolicy {
    /// Records `read` and plans the fetch for it. `dense_streams` is the number of dense
    /// streams across the whole mount (this one included), among which the budget is shared.
    pub fn on_read(
        &mut self,
        cfg: &Config,
        net: &NetEstimate,
        dense_streams: usize,
        read: Range<u64>,
        object_size: u64,
    ) -> Plan {
        let read = read.start.min(object_size)..read.end.min(object_size);
        if self.recent.len() >= cfg.window_reads.max(1) {
            self.recent.pop_front();
        }
        self.recent.push_back(read.clone());
        let (pattern, ahead) = match cfg.strategy {
            Strategy::Fixed(n) => (Pattern::Warmup, n),
            Strategy::Adaptive => self.adaptive(cfg, net, dense_streams, &read),
        };
        let end = read
            .end
            .max(read.start.saturating_add(ahead))
            .min(object_size);
        Plan {
            pattern,
            window: read.start..end,
        }
    }

    fn adaptive(
        &self,
        cfg: &Config,
        net: &NetEstimate,
        dense_streams: usize,
        read: &Range<u64>,
    ) -> (Pattern, u64) {
        if self.recent.len() < 2 {
            return (Pattern::Warmup, 0);
        }
        let reads: Vec<Range<u64>> = self.recent.iter().cloned().collect();
        let cl = clusters(&reads, 0);
        // The read's own cluster continues a run when other reads extend it past the read
        // (a re-read of the same bytes does not).
        let own = cl.iter().find(|c| {
            c.start <= read.start && read.end <= c.end && c.end - c.start > read.end - read.start
        });
        let Some(own) = own else {
            // The read itself is the buffer: ahead = 0 fetches exactly what was asked.
            return (Pattern::Sparse, 0);
        };
        let runs = cl
            .iter()
            .filter(|c| c.reads >= 2 && c.end - c.start > c.bytes / u64::from(c.reads))
            .count()
            .max(1);
        let n = runs as u64;
        let per_object = cfg.max_buffer / n;
        let per_mount = cfg.budget / dense_streams.max(1) as u64;
        // Before the first fetch has been timed, start with two requests in flight rather than
        // the whole allowance: a reader should not wait behind 128 MiB to get its first bytes.
        let measured = net
            .window_for(cfg.request_size)
            .unwrap_or(2 * cfg.request_size);
        let mut ahead = measured
            .max(cfg.request_size)
            .min(per_object)
            .min(per_mount);
        if own.reads < YOUNG_RUN {
            // Two or three reads in a row may be chance (random reads landing side by side):
            // until the run is longer, read ahead only twice what it has covered.
            ahead = ahead.min(2 * (own.end - own.start));
        }
        (Pattern::Dense { clusters: runs }, ahead)
    }
}
