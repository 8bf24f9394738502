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
//!
//! Shapes of real tools (recorded in replays/corpus/) refine this:
//! - a **strided** forward reader (a Y4M scene scan reading each frame's luma, skipping its
//!   chroma) is one run once its pieces show the stride: gaps no longer than the piece before
//!   them are fetched rather than waited for, one round trip each;
//! - a reader that **seeks and reads a burst**, as the object's finished runs did, gets the
//!   typical burst at its first read, and no whole window past it while it stays that short;
//! - a young run of 1 MiB (kernel read-ahead sized) reads, or one the kernel is ramping up
//!   (each read continuing the one before it and twice as large), gets half a request;
//! - a window stops where another run starts (parallel readers of one file).

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

/// The largest read the kernel makes for a FUSE file's read-ahead (the mount raises it to
/// this): a read this large means the kernel has already seen a stream.
const KERNEL_READAHEAD: u64 = 1 << 20;

/// Runs with fewer reads get a window of twice their extent at most.
const YOUNG_RUN: u32 = 4;

/// Pieces a strided run needs (two gaps) before its gaps are read through: two reads that
/// happen to land near each other are chance, three pieces evenly spaced are a reader.
const STRIDED_PIECES: u32 = 3;

/// The longest gap a strided run jumps, in pieces: a 4:2:0 chroma pass skips two.
const MAX_GAP_PIECES: u64 = 3;

/// A run of reads: contiguous bytes, or contiguous pieces with small gaps between them.
struct Run {
    start: u64,
    end: u64,
    reads: u32,
    /// Bytes asked for by the run's reads.
    bytes: u64,
}

/// Joins contiguous clusters into strided runs: a reader that reads a piece, skips a gap no
/// longer than three pieces (and than one request) and reads on is one forward stream once
/// it has made [`STRIDED_PIECES`] pieces. An encoder's scene scan reads each frame's luma and
/// skips its chroma (a gap of half the piece); its second pass, with the luma still in the
/// kernel's cache, reads only the chroma (a gap of twice the piece in 4:2:0). Fetching the
/// gaps costs at most three times the pieces' bytes again, as much as a fixed 8 MiB window
/// would; waiting a round trip at every piece costs more. Chains of fewer pieces stay apart,
/// so random reads that land near each other are not read through.
fn strided_runs(pieces: &[mezz_clusters::Cluster], request_size: u64) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    // The chain being built: its pieces, and the last piece's extent.
    let mut chain: Vec<&mezz_clusters::Cluster> = Vec::new();
    let flush = |chain: &mut Vec<&mezz_clusters::Cluster>, out: &mut Vec<Run>| {
        // A stream already established (the first piece) that jumps a small gap is one
        // too: the kernel's asynchronous read-ahead sends a stream's reads out of order.
        let established = chain.len() >= 2 && chain[0].reads >= YOUNG_RUN;
        if chain.len() as u32 >= STRIDED_PIECES || established {
            out.push(Run {
                start: chain[0].start,
                end: chain[chain.len() - 1].end,
                reads: chain.iter().map(|c| c.reads).sum(),
                bytes: chain.iter().map(|c| c.bytes).sum(),
            });
        } else {
            out.extend(chain.iter().map(|c| Run {
                start: c.start,
                end: c.end,
                reads: c.reads,
                bytes: c.bytes,
            }));
        }
        chain.clear();
    };
    for c in pieces {
        if let Some(last) = chain.last() {
            let gap = c.start.saturating_sub(last.end);
            if gap > request_size.min(MAX_GAP_PIECES * (last.end - last.start)) {
                flush(&mut chain, &mut out);
            }
        }
        chain.push(c);
    }
    flush(&mut chain, &mut out);
    out
}

/// How much a reader reads after a seek: the median extent of the object's recent runs
/// that ended before the run holding `read` began (bursts already finished, not parallel
/// streams still being read), once there are [`BURSTS_SEEN`] of them. `recent` is the reads
/// in order, `read` the last of them.
fn typical_burst(runs: &[Run], recent: &[Range<u64>], read: &Range<u64>) -> Option<u64> {
    let run_of = |r: &Range<u64>| {
        runs.iter()
            .position(|c| c.start <= r.start && r.end <= c.end)
    };
    let own = run_of(read);
    let mut last = vec![None; runs.len()];
    let mut own_first = recent.len().saturating_sub(1);
    for (i, r) in recent.iter().enumerate() {
        if let Some(k) = run_of(r) {
            last[k] = Some(i);
            if Some(k) == own {
                own_first = own_first.min(i);
            }
        }
    }
    let finished: Vec<&Run> = runs
        .iter()
        .enumerate()
        .filter(|(k, _)| Some(*k) != own && last[*k].is_some_and(|l| l < own_first))
        .map(|(_, c)| c)
        .collect();
    let mut extents: Vec<u64> = finished
        .iter()
        .filter(|c| c.reads >= 2 && c.end - c.start > c.bytes / u64::from(c.reads))
        .map(|c| c.end - c.start)
        .collect();
    // Bursts must be the reader's habit, not chance: among many random reads a few land
    // next to each other, and those pairs must not make every later read fetch a pair's
    // worth. A reader that seeks and reads on does so at most of its seeks.
    if extents.len() < BURSTS_SEEN || 2 * extents.len() <= finished.len() {
        return None;
    }
    extents.sort_unstable();
    Some(extents[extents.len() / 2])
}

/// Runs seen before a read after a seek is given the typical burst.
const BURSTS_SEEN: usize = 2;

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
        let runs_of = strided_runs(&clusters(&reads, 0), cfg.request_size);
        let is_run = |c: &&Run| c.reads >= 2 && c.end - c.start > c.bytes / u64::from(c.reads);
        // The read's own run continues when other reads extend it past the read (a re-read
        // of the same bytes does not).
        let own = runs_of.iter().find(|c| {
            c.start <= read.start && read.end <= c.end && c.end - c.start > read.end - read.start
        });
        let runs = runs_of.iter().filter(is_run).count().max(1);
        let n = runs as u64;
        let per_object = cfg.max_buffer / n;
        let per_mount = cfg.budget / dense_streams.max(1) as u64;
        // Before the first fetch has been timed, start with two requests in flight rather than
        // the whole allowance: a reader should not wait behind 128 MiB to get its first bytes.
        let measured = net
            .window_for(cfg.request_size)
            .unwrap_or(2 * cfg.request_size);
        let full = measured
            .max(cfg.request_size)
            .min(per_object)
            .min(per_mount);
        // Another reader's run ahead (parallel readers of one file, each its own region):
        // its bytes were read already, so a window stops where it starts rather than
        // fetching them again once they are evicted.
        let full = runs_of
            .iter()
            .filter(is_run)
            .filter(|c| c.start >= read.end)
            .map(|c| c.start - read.start)
            .fold(full, u64::min);
        let burst = typical_burst(&runs_of, &reads, read).map(|b| b.min(full));
        let Some(own) = own else {
            return match burst {
                // A reader that seeks and then reads a burst, as its recent seeks did (a
                // thumbnailer, a demuxer reading a packet at each index entry): the burst's
                // bytes go out at once, so it waits one round trip, not one per read.
                Some(b) => (Pattern::Sparse, b),
                // The read itself is the buffer: ahead = 0 fetches exactly what was asked.
                None => (Pattern::Sparse, 0),
            };
        };
        let mut ahead = full;
        let extent = own.end - own.start;
        if own.reads < YOUNG_RUN {
            // Two or three reads in a row may be chance (random reads landing side by side):
            // until the run is longer, read ahead only twice what it has covered. Two kinds
            // of read are not chance, because the kernel has seen a stream: reads as large as
            // its whole read-ahead, and a read continuing the one before it and at least
            // twice as large (the kernel doubling its window, 128, 256, 512 KiB...). They get
            // half a request. A little larger is not enough: a random read overlapping pages
            // read before arrives as the rest of it, right after the earlier read.
            let len = read.end - read.start;
            let ramp = self
                .recent
                .iter()
                .rev()
                .skip(1)
                .find(|p| p.end == read.start)
                .is_some_and(|p| len >= 2 * (p.end - p.start));
            let young = if len >= KERNEL_READAHEAD || ramp {
                (2 * extent).max(cfg.request_size / 2)
            } else {
                2 * extent
            };
            ahead = ahead.min(young);
        }
        if let Some(b) = burst
            && extent < 2 * b
        {
            // Until the run is well past the bursts before it, it is probably one more: read
            // ahead to where such a burst ends, or to twice the run, not a whole window that
            // the reader would leave behind at its next seek.
            let rest = (own.start + b).saturating_sub(read.start);
            let cap = (own.start + b.max(2 * extent)).saturating_sub(read.start);
            ahead = ahead.min(cap).max(rest).min(full);
        }
        (Pattern::Dense { clusters: runs }, ahead)
    }
}
