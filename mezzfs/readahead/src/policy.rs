//! The read-ahead decision: from the recent reads of one object, how much to fetch now.
//!
//! - **Sparse** (reads do not chain: density ratio near 1): fetch what was asked, no more; a
//!   buffer the size of the average read, as the seed's adaptive buffering did.
//! - **Dense** (reads chain into runs): fetch a window ahead of the read. Its size is the
//!   bandwidth-delay product measured on the fetches so far, doubled so the next window is in
//!   flight while this one is consumed, instead of doubling blindly until a maximum. It is
//!   capped by `max_buffer / clusters` (several threads each reading densely share the object's
//!   allowance, as in the seed) and by the mount's budget divided among all dense streams.
//!   The window is split into `request_size` GETs that run in parallel, because one S3
//!   connection caps out well below the link.
//! - **Fixed**: the old one-size-fits-all strategy (8 MiB from each read), kept for comparison.

use std::collections::VecDeque;
use std::ops::Range;

use crate::clusters::{clusters, density_ratio};

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
    /// Density ratio at or above which access counts as sparse.
    pub sparse_ratio: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            strategy: Strategy::Adaptive,
            window_reads: 64,
            max_buffer: 128 << 20,
            budget: 256 << 20,
            request_size: 8 << 20,
            sparse_ratio: 0.5,
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

    /// Bytes in flight needed to keep `streams` parallel requests' pipes full, or `None`
    /// before any measurement.
    fn window_for(&self, parallel_requests: u64) -> Option<u64> {
        (self.samples > 0)
            .then_some((self.throughput * self.latency * 2.0 * parallel_requests as f64) as u64)
    }
}

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

/// What to fetch for one read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub pattern: Pattern,
    /// The bytes that should be cached or in flight once the read is served: always covers
    /// the read (clamped to the object).
    pub window: Range<u64>,
}

impl Plan {
    /// The window cut into GETs of at most `request_size` bytes.
    pub fn requests(&self, request_size: u64) -> Vec<Range<u64>> {
        let step = request_size.max(1);
        let mut out = Vec::new();
        let mut s = self.window.start;
        while s < self.window.end {
            let e = (s + step).min(self.window.end);
            out.push(s..e);
            s = e;
        }
        out
    }
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
            Strategy::Adaptive => self.adaptive(cfg, net, dense_streams),
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

    fn adaptive(&self, cfg: &Config, net: &NetEstimate, dense_streams: usize) -> (Pattern, u64) {
        let reads: Vec<Range<u64>> = self.recent.iter().cloned().collect();
        if reads.len() < 4 {
            return (Pattern::Warmup, 0);
        }
        let cl = clusters(&reads, 0);
        let ratio = density_ratio(&reads, &cl).unwrap_or(1.0);
        if ratio >= cfg.sparse_ratio {
            // The read itself is the buffer: ahead = 0 fetches exactly what was asked.
            return (Pattern::Sparse, 0);
        }
        let n = cl.len().max(1) as u64;
        let per_object = cfg.max_buffer / n;
        let per_mount = cfg.budget / dense_streams.max(1) as u64;
        let parallel = (per_object.min(per_mount) / cfg.request_size.max(1)).max(1);
        // Before the first fetch has been timed, start with two requests in flight rather than
        // the whole allowance: a reader should not wait behind 128 MiB to get its first bytes.
        let measured = net.window_for(parallel).unwrap_or(2 * cfg.request_size);
        let ahead = measured
            .max(cfg.request_size)
            .min(per_object)
            .min(per_mount);
        (Pattern::Dense { clusters: cl.len() }, ahead)
    }
}
