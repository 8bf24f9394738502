//! The schedule on the committed replay corpus (replays/corpus/: recordings of real tools and
//! of the canonical patterns), run against a model of a distant store instead of a mount: each
//! GET costs a round trip plus its bytes at one connection's rate, all GETs share one link.
//! Every recorded handle reads as fast as its bytes arrive; handles read together are read
//! together, and a handle opened after another had done its reading starts when that one is
//! done (`mezz_replays::handle_spans`, as `mezzfs replay rerun` does). The model is
//! deterministic, so this is the batch gate's question ("is adaptive ever slower than a fixed
//! 8 MiB read-ahead, or fetching more?") answered without timing anything; the gate itself
//! (mezzfs/cli/tests/replay.rs) asks it of real mounts.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Range;
use std::path::Path;

use mezz_readahead::{Config, Event, Geometry, Schedule, Strategy};
use mezz_replays::Record;

/// The gate's shape: 20 ms to first byte, 720 Mbit/s per request, a 2 Gbit/s link.
const LATENCY: f64 = 0.020;
const REQUEST_RATE: f64 = 90e6;
const LINK_RATE: f64 = 250e6;
/// What serving a read costs the mount and the kernel, besides waiting for bytes.
const PER_READ: f64 = 50e-6;
/// The block cache of a mount with the default 256 MiB of memory.
const CACHE: u64 = 64 << 20;
/// The corpus objects' part size in the gate.
const PART: u64 = 64 << 20;

/// One recorded read: object, object bytes, the reader's file bound.
type Read = (usize, Range<u64>, Range<u64>);

struct Replay {
    name: String,
    geometries: Vec<Geometry>,
    /// Per handle, its reads in order: (object, range, bound).
    handles: Vec<Vec<Read>>,
    /// Per handle, the handles that had done their reading before it was opened: it starts
    /// when they are done.
    after: Vec<Vec<usize>>,
}

fn load(path: &Path) -> Replay {
    let bytes = std::fs::read(path).expect("read replay");
    let d = mezz_replays::decode(&bytes).expect("decode replay");
    let meta = d.meta().expect("meta").clone();
    let geometries = meta
        .objects
        .iter()
        .map(|o| Geometry {
            size: o.size,
            segment: o.segment_size,
            part: PART,
        })
        .collect();
    let spans = mezz_replays::handle_spans(&d.records);
    let mut handles: Vec<Vec<Read>> = Vec::new();
    let mut after: Vec<Vec<usize>> = Vec::new();
    for (k, span) in spans.iter().enumerate() {
        let f = &meta.files[span.file as usize];
        let mut reads = Vec::new();
        for &i in &span.reads {
            if let Record::Read {
                offset,
                len,
                ok: true,
                ..
            } = d.records[i]
            {
                let start = f.offset + offset.min(f.len);
                let end = f.offset + offset.saturating_add(len).min(f.len);
                if start < end {
                    reads.push((f.object as usize, start..end, f.offset..f.offset + f.len));
                }
            }
        }
        handles.push(reads);
        after.push((0..k).filter(|&j| spans[j].done_before(span)).collect());
    }
    Replay {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        geometries,
        handles,
        after,
    }
}

#[derive(Debug, Clone, Copy)]
struct Outcome {
    secs: f64,
    fetched: u64,
    requests: u64,
}

/// The modelled store: when each requested segment arrives, and what it cost.
#[derive(Default)]
struct Store {
    arrives: HashMap<(usize, u64), f64>,
    /// Completions not yet told to the schedule, by (done time bits, sequence): (bytes, secs).
    pending: BTreeMap<(u64, u64), (u64, f64)>,
    /// Segments in the order they were requested, and in the order reads consumed them:
    /// like the mount's block cache, which counts fetches in flight from their start,
    /// consumed blocks are evicted first, least recently read first; then the oldest unread.
    order: VecDeque<(usize, u64)>,
    consumed: VecDeque<((usize, u64), u64)>,
    sizes: HashMap<(usize, u64), u64>,
    held: u64,
    /// Bytes of held segments that reads consumed, each counted once: `last_consumed` has
    /// the sequence number of its latest entry in `consumed` (a re-read makes it the newest).
    consumed_held: u64,
    last_consumed: HashMap<(usize, u64), u64>,
    consumes: u64,
    link_free: f64,
    fetched: u64,
    requests: u64,
}

impl Store {
    /// Steps the schedule at time `now` and starts the GETs it asks for.
    fn step(&mut self, s: &mut Schedule, event: Event, now: f64) {
        let d = s.step(event, &|o, seg| self.arrives.contains_key(&(o, seg)));
        for r in d.requests {
            let bytes = r.bytes.end - r.bytes.start;
            let segment_bytes = bytes / (r.segments.end - r.segments.start).max(1);
            let start = (now + LATENCY).max(self.link_free);
            self.link_free = start + bytes as f64 / LINK_RATE;
            let done = self
                .link_free
                .max(now + LATENCY + bytes as f64 / REQUEST_RATE);
            for seg in r.segments.clone() {
                self.arrives.insert((r.object, seg), done);
                self.order.push_back((r.object, seg));
                self.sizes.insert((r.object, seg), segment_bytes);
                self.held += segment_bytes;
            }
            self.evict();
            self.fetched += bytes;
            self.requests += 1;
            let seq = self.requests;
            self.pending
                .insert((done.to_bits(), seq), (bytes, done - now));
        }
    }

    /// The block cache holds a quarter of the mount's memory, fetches in flight included.
    fn evict(&mut self) {
        while self.held > CACHE {
            if self.consumed_held > 0 {
                let Some((k, seq)) = self.consumed.pop_front() else {
                    break;
                };
                if self.last_consumed.get(&k) == Some(&seq) {
                    self.drop_segment(k);
                }
            } else {
                let Some(k) = self.order.pop_front() else {
                    break;
                };
                self.drop_segment(k);
            }
        }
    }

    fn drop_segment(&mut self, k: (usize, u64)) {
        if let Some(b) = self.sizes.remove(&k) {
            self.arrives.remove(&k);
            self.held -= b;
            if self.last_consumed.remove(&k).is_some() {
                self.consumed_held -= b;
            }
        }
    }

    /// A read reached the end of a segment: it becomes the newest consumed block.
    fn consume(&mut self, k: (usize, u64)) {
        let Some(&b) = self.sizes.get(&k) else { return };
        self.consumes += 1;
        if self.last_consumed.insert(k, self.consumes).is_none() {
            self.consumed_held += b;
        }
        self.consumed.push_back((k, self.consumes));
        self.evict();
    }

    /// Tells the schedule of every fetch completed by `now`.
    fn complete(&mut self, s: &mut Schedule, now: f64) {
        while let Some((&(t, _), _)) = self.pending.first_key_value() {
            if f64::from_bits(t) > now {
                break;
            }
            if let Some((_, (bytes, secs))) = self.pending.pop_first() {
                s.step(Event::Fetched { bytes, secs }, &|_, _| true);
            }
        }
    }
}

/// Runs the replay's reads through a schedule with `strategy` against the modelled store.
fn simulate(replay: &Replay, strategy: Strategy) -> Outcome {
    let cfg = Config {
        strategy,
        budget: 48 << 20,
        ..Config::default()
    };
    let mut s = Schedule::new(cfg, replay.geometries.clone());
    let mut store = Store::default();
    let mut clock = vec![0.0f64; replay.handles.len()];
    let mut next = vec![0usize; replay.handles.len()];
    let done = |next: &[usize], h: usize| next[h] >= replay.handles[h].len();
    while let Some(h) = (0..replay.handles.len())
        .filter(|&h| !done(&next, h) && replay.after[h].iter().all(|&a| done(&next, a)))
        .min_by(|&a, &b| clock[a].total_cmp(&clock[b]))
    {
        if next[h] == 0 {
            // A handle opened after others were released starts when the last of them ends.
            clock[h] = replay.after[h]
                .iter()
                .map(|&a| clock[a])
                .fold(clock[h], f64::max);
        }
        let now = clock[h];
        store.complete(&mut s, now);
        let (object, range, bound) = replay.handles[h][next[h]].clone();
        next[h] += 1;
        let g = replay.geometries[object];
        let read = Event::Read {
            object,
            range: range.clone(),
            bound,
            in_flight: store.pending.values().map(|(bytes, _)| bytes).sum(),
        };
        store.step(&mut s, read, now);
        let mut ready = now;
        for seg in range.start / g.segment..=(range.end - 1) / g.segment {
            if !store.arrives.contains_key(&(object, seg)) {
                let miss = Event::Miss {
                    object,
                    segment: seg,
                    read_end: range.end,
                };
                store.step(&mut s, miss, now);
            }
            // Evicted before it arrived (a cache smaller than what is in flight) counts as
            // arriving now: the model's only inexactness is in the reader's favour.
            let at = store.arrives.get(&(object, seg)).copied().unwrap_or(now);
            ready = ready.max(at);
            if range.end >= (seg + 1) * g.segment {
                store.consume((object, seg));
            }
        }
        clock[h] = ready + PER_READ;
    }
    Outcome {
        secs: clock.iter().copied().fold(0.0, f64::max),
        fetched: store.fetched,
        requests: store.requests,
    }
}

fn corpus() -> Vec<Replay> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../replays/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "mezzreplay"))
        .collect();
    files.sort();
    files.iter().map(|p| load(p)).collect()
}

#[test]
fn adaptive_is_never_slower_than_fixed_8mib_nor_fetches_more_on_the_corpus() {
    let replays = corpus();
    assert!(replays.len() >= 5, "the corpus is missing");
    let mut table = String::from(
        "| replay | reads | fixed s | adaptive s | ratio | fixed MiB | adaptive MiB | fixed GETs | adaptive GETs |\n",
    );
    let mut bad = Vec::new();
    for r in &replays {
        let fixed = simulate(r, Strategy::Fixed(8 << 20));
        let adaptive = simulate(r, Strategy::Adaptive);
        let ratio = adaptive.secs / fixed.secs;
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        table += &format!(
            "| {} | {} | {:.3} | {:.3} | {:.2} | {:.1} | {:.1} | {} | {} |\n",
            r.name,
            r.handles.iter().map(Vec::len).sum::<usize>(),
            fixed.secs,
            adaptive.secs,
            ratio,
            mib(fixed.fetched),
            mib(adaptive.fetched),
            fixed.requests,
            adaptive.requests
        );
        if ratio > 1.05 || adaptive.fetched > fixed.fetched {
            bad.push(r.name.clone());
        }
    }
    println!("{table}");
    assert!(bad.is_empty(), "adaptive loses on {bad:?}:\n{table}");
}
