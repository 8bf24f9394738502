//! The read path of a mount, independent of FUSE.
//!
//! A read of `[offset, offset + len)` of an object first tells the mount's read-ahead
//! [`Schedule`] (`mezz-readahead`), which answers with the exact GETs to start: whole segments
//! that are neither cached nor in flight, for the read and the window ahead of it. This module
//! only carries them out. The read is then served segment by segment: from the block cache,
//! or by joining a fetch in flight; a segment evicted in between is reported back to the
//! schedule as a miss, which answers with the fetch for it.
//!
//! Fetched spans are decrypted and authenticated by `mezz-object` before anything sees them;
//! their segments go into the cache, and waiting reads take their bytes straight from the
//! fetch result (so a block evicted at once still serves the read that asked for it).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use mezz_format::{FormatError, KeyProvider, Layout, PartSpan};
use mezz_object::{LockedObject, ObjectError, ObjectReader};
use mezz_readahead::{Config as ReadaheadConfig, Event, Geometry, Schedule};

use crate::block_cache::segment_runs;
use crate::events::{Events, MountEvents};
use crate::keys::{KeyHold, ObjectKeys};
use crate::metrics::MetricsSnapshot;
use crate::recorder::Recorder;
use crate::{BlockCache, BlockKey};

/// Why a read failed; the FUSE adapter answers EIO and logs this.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    #[error("no mounted object with index {0}")]
    NoSuchObject(usize),
    #[error(transparent)]
    Object(Arc<ObjectError>),
    #[error("no answer within the read timeout of {0:?}")]
    TimedOut(Duration),
}

#[derive(Clone, Debug)]
pub struct ReadPathConfig {
    pub readahead: ReadaheadConfig,
    /// Bytes of decrypted segments kept in memory.
    pub cache_bytes: u64,
    /// Longest a read may take before it fails (EIO through FUSE). The store's retry deadline
    /// should end a fetch first; this also bounds a read queued behind slow fetches.
    pub read_timeout: Duration,
}

/// Above the store's default retry deadline (30 s), so that the store's own error, which
/// says what went wrong, usually reaches the log first.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(40);

impl ReadPathConfig {
    /// Splits a memory budget between the block cache and read-ahead fetches in flight, so the
    /// mount's memory stays under `bytes`. A read-ahead window always fits
    /// in the cache, so prefetched blocks are not evicted before they are read.
    pub fn with_memory_budget(mut self, bytes: u64) -> ReadPathConfig {
        // The cache gets 1/4 and counts fetches in flight from their start (consumed blocks
        // give way to them); windows in flight get 3/16, so a stream's window fits in the
        // cache and is not evicted by the stream itself. The rest is headroom: response
        // buffers, decryption, replies, the allocator. Before fetches in flight counted in the
        // cache, a stream at full speed held a full cache of consumed blocks beside its
        // window, and a dense read peaked at 159-170 MiB of RSS with 256 MiB; now 97-100
        // (with the daemon allocating from one arena, cli/src/cli/mount.rs).
        self.cache_bytes = (bytes / 4).max(1 << 20);
        let share = (bytes / 16 * 3).max(1 << 20);
        self.readahead.budget = share;
        self.readahead.max_buffer = self.readahead.max_buffer.min(share);
        self.readahead.request_size = self.readahead.request_size.min(share);
        self
    }
}

impl Default for ReadPathConfig {
    fn default() -> Self {
        ReadPathConfig {
            readahead: ReadaheadConfig::default(),
            cache_bytes: 256 << 20,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
        .with_memory_budget(256 << 20)
    }
}

/// The plaintext of one fetched span, segment by segment: a segment damaged at rest fails
/// on its own, and the good segments beside it in the span still serve their reads.
#[derive(Debug)]
struct Fetched {
    first_segment: u64,
    segments: Vec<Result<Bytes, ReadError>>,
}

type FetchResult = Result<Arc<Fetched>, ReadError>;
type SharedFetch = Shared<BoxFuture<'static, FetchResult>>;

/// What the read path knows of an object without its key: enough to lay out and schedule.
#[derive(Debug)]
struct MountedObject {
    name: String,
    layout: Layout,
    version: [u8; 16],
}

struct Inner {
    objects: Vec<MountedObject>,
    /// Data keys: unwrapped at the first open (or read), dropped after the last.
    keys: Arc<ObjectKeys>,
    cache: Mutex<BlockCache>,
    in_flight: Mutex<HashMap<BlockKey, SharedFetch>>,
    config: ReadPathConfig,
    /// Every read-ahead decision. Lock order: schedule, then in_flight, then cache.
    schedule: Mutex<Schedule>,
    events: Arc<Events>,
    /// Counters of the store wrappers under the readers (retries, caches), for the stats.
    store_counters: std::sync::OnceLock<mezz_store::StoreCounters>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadPath")
            .field("objects", &self.objects.len())
            .finish_non_exhaustive()
    }
}

/// The shared read path of one mount. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ReadPath {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves consistent data (every update is a
    // single insert or remove), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

enum Lookup {
    Cached(Bytes),
    InFlight(SharedFetch),
    Missing,
}

impl ReadPath {
    pub fn new(readers: Vec<ObjectReader>, config: ReadPathConfig) -> ReadPath {
        ReadPath::with_recorder(readers, config, None)
    }

    /// A read path that records its fetches, windows and cache changes into a replay.
    /// The readers' keys stay for the read path's life.
    pub fn with_recorder(
        readers: Vec<ObjectReader>,
        config: ReadPathConfig,
        recorder: Option<Arc<Recorder>>,
    ) -> ReadPath {
        let objects = readers
            .iter()
            .map(|r| MountedObject {
                name: r.name().to_owned(),
                layout: r.opened().layout,
                version: *r.opened().id.as_bytes(),
            })
            .collect();
        ReadPath::build(
            objects,
            Arc::new(ObjectKeys::pinned(readers)),
            config,
            recorder,
        )
    }

    /// A read path over objects whose data keys are unwrapped by `keys` only when a file of
    /// the object is opened (or read), and dropped `key_grace` after the last handle or read
    /// of it ends (see [`crate::keys`]).
    pub fn lazy(
        objects: Vec<LockedObject>,
        keys: Arc<dyn KeyProvider>,
        key_grace: Duration,
        config: ReadPathConfig,
        recorder: Option<Arc<Recorder>>,
    ) -> ReadPath {
        let mounted = objects
            .iter()
            .map(|o| MountedObject {
                name: o.name().to_owned(),
                layout: o.layout(),
                version: *o.id().as_bytes(),
            })
            .collect();
        let keys = Arc::new(ObjectKeys::lazy(objects, keys, key_grace));
        ReadPath::build(mounted, keys, config, recorder)
    }

    fn build(
        objects: Vec<MountedObject>,
        keys: Arc<ObjectKeys>,
        config: ReadPathConfig,
        recorder: Option<Arc<Recorder>>,
    ) -> ReadPath {
        let geometries = objects.iter().map(|o| Geometry {
            size: o.layout.plaintext_size(),
            segment: u64::from(o.layout.segment_size()),
            part: o.layout.part_size(),
        });
        let schedule = Schedule::new(config.readahead.clone(), geometries);
        ReadPath {
            inner: Arc::new(Inner {
                objects,
                keys,
                cache: Mutex::new(BlockCache::new(config.cache_bytes)),
                in_flight: Mutex::default(),
                config,
                schedule: Mutex::new(schedule),
                events: Arc::new(Events::new(recorder)),
                store_counters: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Holds `object`'s data key, unwrapping it if nobody holds it (one key-service call).
    /// The FUSE adapter holds one per open file handle.
    pub async fn hold_key(&self, object: usize) -> Result<KeyHold, ReadError> {
        self.inner
            .keys
            .hold(object)
            .await
            .map_err(ReadError::Object)
    }

    /// Data keys unwrapped so far (each a key-service call for KMS).
    pub fn key_unwraps(&self) -> u64 {
        self.inner.keys.unwraps()
    }

    /// Whether `object`'s data key is in memory now.
    pub fn key_is_open(&self, object: usize) -> bool {
        self.inner.keys.is_open(object)
    }

    /// Objects whose data key is in memory now.
    pub fn keys_held(&self) -> u64 {
        self.inner.keys.held()
    }

    /// Lets the statistics include what the store wrappers did (set once, at mount time).
    pub fn set_store_counters(&self, counters: mezz_store::StoreCounters) {
        let _ = self.inner.store_counters.set(counters);
    }

    pub fn store_snapshot(&self) -> mezz_store::StoreSnapshot {
        self.inner
            .store_counters
            .get()
            .map(mezz_store::StoreCounters::snapshot)
            .unwrap_or_default()
    }

    pub fn object_size(&self, object: usize) -> Option<u64> {
        self.inner
            .objects
            .get(object)
            .map(|o| o.layout.plaintext_size())
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.events.metrics().snapshot()
    }

    /// Where the mount's events go (the FUSE adapter reports opens and answers here).
    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// The mount's events, shared (the write path reports its creates, writes and commits).
    pub fn shared_events(&self) -> Arc<Events> {
        self.inner.events.clone()
    }

    pub fn cache_counters(&self) -> crate::CacheCounters {
        lock(&self.inner.cache).counters()
    }

    /// Cache counters, bytes held and capacity, read under one lock.
    pub fn cache_state(&self) -> (crate::CacheCounters, u64, u64) {
        let c = lock(&self.inner.cache);
        (c.counters(), c.bytes(), c.capacity())
    }

    pub fn recorder(&self) -> Option<&Arc<Recorder>> {
        self.inner.events.recorder()
    }

    pub fn object_count(&self) -> usize {
        self.inner.objects.len()
    }

    /// The read-ahead strategy in words, for statistics and logs.
    pub fn readahead_description(&self) -> String {
        let c = &self.inner.config.readahead;
        match c.strategy {
            mezz_readahead::Strategy::Adaptive => format!(
                "adaptive (max window {} MiB, budget {} MiB, requests of {} MiB)",
                c.max_buffer >> 20,
                c.budget >> 20,
                c.request_size >> 20
            ),
            mezz_readahead::Strategy::Fixed(n) => format!("fixed {} KiB", n >> 10),
        }
    }

    /// The bytes `range` of object `object` (clamped to its size). Runs inside a tokio
    /// runtime: read-ahead fetches are spawned onto it.
    pub async fn read(&self, object: usize, range: Range<u64>) -> Result<Bytes, ReadError> {
        self.read_within(object, range, 0..u64::MAX).await
    }

    /// Like [`ReadPath::read`] for a file showing only `bound` of the object: the read is
    /// clamped to it and read-ahead never fetches beyond it (a scene's reader fetches only
    /// the scene).
    pub async fn read_within(
        &self,
        object: usize,
        range: Range<u64>,
        bound: Range<u64>,
    ) -> Result<Bytes, ReadError> {
        let started = Instant::now();
        let limit = self.inner.config.read_timeout;
        let read = async {
            // Under an open handle this is a count, not a key-service call.
            let key = self.hold_key(object).await?;
            self.read_clamped(object, range, bound, key.reader()).await
        };
        let result = match tokio::time::timeout(limit, read).await {
            Ok(r) => r,
            Err(_) => Err(ReadError::TimedOut(limit)),
        };
        self.inner
            .events
            .served(result.as_ref().map(|b| b.len() as u64), started.elapsed());
        result
    }

    async fn read_clamped(
        &self,
        object: usize,
        range: Range<u64>,
        bound: Range<u64>,
        reader: &ObjectReader,
    ) -> Result<Bytes, ReadError> {
        let inner = &self.inner;
        let o = inner
            .objects
            .get(object)
            .ok_or(ReadError::NoSuchObject(object))?;
        let size = o.layout.plaintext_size();
        let bound = bound.start.min(size)..bound.end.min(size);
        let range =
            range.start.clamp(bound.start, bound.end)..range.end.clamp(bound.start, bound.end);
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        self.step(
            Event::Read {
                object,
                range: range.clone(),
                bound,
                // Counted by `step`, under the locks that register the fetches it starts.
                in_flight: 0,
            },
            reader,
        );

        let seg = u64::from(o.layout.segment_size());
        let mut out = BytesMut::with_capacity((range.end - range.start) as usize);
        for s in range.start / seg..=(range.end - 1) / seg {
            let block_start = s * seg;
            // A read that reaches a block's end has consumed it (see BlockCache).
            let consumed = range.end >= block_start + seg;
            let block = self.segment(object, s, consumed, range.end, reader).await?;
            let lo = range.start.max(block_start) - block_start;
            let hi = range.end.min(block_start + block.len() as u64) - block_start;
            out.extend_from_slice(&block[lo as usize..hi as usize]);
        }
        Ok(out.freeze())
    }

    /// One segment's plaintext, from the cache, an in-flight fetch, or a new fetch.
    /// `read_end` is where the asking read ends: a miss fetches through it in one go.
    async fn segment(
        &self,
        object: usize,
        segment: u64,
        consumed: bool,
        read_end: u64,
        reader: &ObjectReader,
    ) -> Result<Bytes, ReadError> {
        let o = &self.inner.objects[object];
        let key = BlockKey {
            version: o.version,
            segment,
        };
        // A block can be evicted between scheduling and now; then it is fetched again.
        for _ in 0..3 {
            let fetch = match self.lookup(&key, consumed) {
                Lookup::Cached(b) => return Ok(b),
                Lookup::InFlight(f) => {
                    self.inner.events.joined();
                    f
                }
                Lookup::Missing => {
                    let started = self.step(
                        Event::Miss {
                            object,
                            segment,
                            read_end,
                        },
                        reader,
                    );
                    // Wait on the fetch started here, not on a second lookup: a fetch that
                    // fails fast is gone from the in-flight map by then, with its error.
                    match started.into_iter().find(|(run, _)| run.contains(&segment)) {
                        Some((_, f)) => f,
                        None => continue, // another read registered it first
                    }
                }
            };
            let fetched = fetch.await?;
            if consumed {
                lock(&self.inner.cache).consume(&key);
            }
            let index = usize::try_from(segment - fetched.first_segment).unwrap_or(usize::MAX);
            return match fetched.segments.get(index) {
                Some(block) => block.clone(),
                None => Err(ReadError::Object(Arc::new(ObjectError::Other(format!(
                    "segment {segment} is not in the fetch that was to carry it"
                ))))),
            };
        }
        Err(ReadError::Object(Arc::new(ObjectError::Other(format!(
            "segment {segment} of '{}' was evicted before it could be read three times; the cache is too small",
            o.name
        )))))
    }

    fn lookup(&self, key: &BlockKey, consumed: bool) -> Lookup {
        {
            let mut cache = lock(&self.inner.cache);
            if let Some(b) = cache.get(key) {
                if consumed {
                    cache.consume(key);
                }
                return Lookup::Cached(b);
            }
        }
        if let Some(f) = lock(&self.inner.in_flight).get(key) {
            return Lookup::InFlight(f.clone());
        }
        // A fetch may have completed in between: it caches before it leaves the in-flight map.
        match lock(&self.inner.cache).get(key) {
            Some(b) => Lookup::Cached(b),
            None => Lookup::Missing,
        }
    }

    /// Tells the schedule about `event` and starts the fetches it asks for; returns them with
    /// the segments each covers. Deciding what is missing and registering the fetches happen
    /// under the in-flight lock, so two reads never fetch the same segment. `reader` is the
    /// event's object, opened (its key held by the read).
    fn step(&self, mut event: Event, reader: &ObjectReader) -> Vec<(Range<u64>, SharedFetch)> {
        let inner = &self.inner;
        let event_object = match &event {
            Event::Read { object, .. } | Event::Miss { object, .. } => Some(*object),
            _ => None,
        };
        let mut started = Vec::new();
        let mut evicted = Vec::new();
        {
            let mut schedule = lock(&inner.schedule);
            let mut in_flight = lock(&inner.in_flight);
            let decision = {
                let cache = lock(&inner.cache);
                // A read's room for read-ahead is what the fetches in flight leave now: read
                // under these locks, so concurrent reads cannot each see the same room.
                if let Event::Read {
                    in_flight: fetching,
                    ..
                } = &mut event
                {
                    *fetching = cache.reserved();
                }
                let objects = &inner.objects;
                let present = |object: usize, segment: u64| {
                    let k = BlockKey {
                        version: objects[object].version,
                        segment,
                    };
                    cache.contains(&k) || in_flight.contains_key(&k)
                };
                schedule.step(event.clone(), &present)
            };
            if let Event::Read { object, .. } = &event
                && !decision.scheduled.is_empty()
            {
                inner.events.scheduled(*object, decision.scheduled.clone());
            }
            for request in decision.requests {
                let o = &inner.objects[request.object];
                // The schedule answers a read or miss with requests of that object only.
                if Some(request.object) != event_object {
                    tracing::warn!(
                        object = o.name,
                        "read-ahead request for another object skipped"
                    );
                    continue;
                }
                // A request is whole segments of one part: exactly one span.
                for span in o.layout.locate(request.bytes) {
                    let segments = span.first_segment..span.first_segment + span.segment_count;
                    evicted.extend(lock(&inner.cache).reserve(reserved_bytes(&span)));
                    let fetch = self.fetch(request.object, span, reader.clone());
                    for segment in segments.clone() {
                        in_flight.insert(
                            BlockKey {
                                version: o.version,
                                segment,
                            },
                            fetch.clone(),
                        );
                    }
                    started.push((segments, fetch));
                }
            }
        }
        self.report_evictions(evicted);
        for (_, f) in &started {
            // Read-ahead fetches run whether or not a read ever waits for them.
            tokio::spawn(f.clone().map(|_| ()));
        }
        started
    }

    fn report_evictions(&self, evicted: Vec<BlockKey>) {
        let mut by_object: HashMap<usize, Vec<u64>> = HashMap::new();
        for k in evicted {
            if let Some(i) = self
                .inner
                .objects
                .iter()
                .position(|o| o.version == k.version)
            {
                by_object.entry(i).or_default().push(k.segment);
            }
        }
        for (object, mut segments) in by_object {
            segments.sort_unstable();
            for run in segment_runs(segments) {
                self.inner.events.cache(false, object, run);
            }
        }
    }

    /// One span's fetch; it owns `reader` (and so the object's key) until it is done.
    fn fetch(&self, object: usize, span: PartSpan, reader: ObjectReader) -> SharedFetch {
        let this = self.clone();
        async move {
            let inner = &this.inner;
            let o = &inner.objects[object];
            let id = inner.events.fetch_id();
            inner
                .events
                .fetch_started(id, object, span.plaintext.clone());
            let started = Instant::now();
            let mut result = reader.fetch_span(&span).await;
            if let Err(e) = &result
                && bad_segment(e).is_some()
            {
                // Bytes flipped in transit (or in a cache below) fail authentication; one
                // fresh fetch tells that apart from bytes damaged at rest, which fail again.
                inner.events.auth_retry();
                tracing::warn!(error = %e, "segment failed authentication; fetching it again");
                result = reader.fetch_span(&span).await;
            }
            let segments = span.first_segment..span.first_segment + span.segment_count;
            let blocks = match result {
                Ok(plain) => {
                    let sealed = span.ciphertext.end - span.ciphertext.start;
                    let secs = started.elapsed().as_secs_f64();
                    lock(&inner.schedule).step(
                        Event::Fetched {
                            bytes: sealed,
                            secs,
                        },
                        &|_, _| true,
                    );
                    Ok(this
                        .split(object, &span, &plain)
                        .into_iter()
                        .map(Ok)
                        .collect())
                }
                Err(e) => match bad_segment(&e) {
                    // Damaged at rest: the rest of the span is fetched around the bad segment.
                    Some(bad) if span.segment_count > 1 => {
                        Ok(this.salvage(object, &span, bad, e, &reader).await)
                    }
                    _ => Err(ReadError::Object(Arc::new(e))),
                },
            };
            let layout = o.layout;
            let tag = layout.sealed_segment_size() - u64::from(layout.segment_size());
            let (mut stored, mut failed) = (0, None);
            let mut inserted = Vec::new();
            let mut evicted = Vec::new();
            let mut cache = lock(&inner.cache);
            cache.release(reserved_bytes(&span));
            match &blocks {
                Ok(b) => {
                    for (s, block) in segments.clone().zip(b) {
                        match block {
                            Ok(block) => {
                                stored += block.len() as u64 + tag;
                                let key = BlockKey {
                                    version: o.version,
                                    segment: s,
                                };
                                evicted.extend(cache.insert(key, block.clone()));
                                inserted.push(s);
                            }
                            Err(e) => failed = failed.or(Some(e.clone())),
                        }
                    }
                }
                Err(e) => failed = Some(e.clone()),
            }
            drop(cache);
            if let Some(e) = &failed {
                tracing::error!(error = %e, "fetch failed");
            }
            inner.events.fetch_done(id, stored, failed.as_ref());
            for run in segment_runs(inserted) {
                inner.events.cache(true, object, run);
            }
            this.report_evictions(evicted);
            let mut in_flight = lock(&inner.in_flight);
            for s in segments {
                in_flight.remove(&BlockKey {
                    version: o.version,
                    segment: s,
                });
            }
            blocks.map(|segments| {
                Arc::new(Fetched {
                    first_segment: span.first_segment,
                    segments,
                })
            })
        }
        .boxed()
        .shared()
    }

    /// The plaintext of a span cut into its segments.
    fn split(&self, object: usize, span: &PartSpan, plain: &Bytes) -> Vec<Bytes> {
        let layout = self.inner.objects[object].layout;
        (span.first_segment..span.first_segment + span.segment_count)
            .map(|s| {
                let r = layout.segment_plaintext(s);
                let from = (r.start - span.plaintext.start) as usize;
                plain.slice(from..from + (r.end - r.start) as usize)
            })
            .collect()
    }

    /// Fetches a span whose segment `bad` failed authentication twice, around that segment:
    /// the segments before it in one GET, then the ones after it (again around any further
    /// bad segment), so a damaged segment costs only its own bytes.
    async fn salvage(
        &self,
        object: usize,
        span: &PartSpan,
        bad: u64,
        error: ObjectError,
        reader: &ObjectReader,
    ) -> Vec<Result<Bytes, ReadError>> {
        let end = span.first_segment + span.segment_count;
        let mut out: Vec<Result<Bytes, ReadError>> =
            Vec::with_capacity(span.segment_count as usize);
        // The earliest segment known bad at or after the next one to settle. Each pass settles
        // a segment or learns of an earlier bad one, so this ends within 2 x the span's length.
        let mut known = Some((bad, error));
        loop {
            let next = span.first_segment + out.len() as u64;
            if next >= end {
                break;
            }
            let upto = match &known {
                Some((b, _)) if *b == next => {
                    let (_, e) = known.take().expect("matched");
                    out.push(Err(ReadError::Object(Arc::new(e))));
                    continue;
                }
                Some((b, _)) if *b < end => *b,
                _ => end,
            };
            match self.fetch_segments(object, next..upto, reader).await {
                Ok(blocks) => out.extend(blocks.into_iter().map(Ok)),
                Err(e) => match bad_segment(&e).filter(|b| (next..upto).contains(b)) {
                    Some(b) => known = Some((b, e)),
                    None => {
                        let e = ReadError::Object(Arc::new(e));
                        out.extend((next..upto).map(|_| Err(e.clone())));
                    }
                },
            }
        }
        out
    }

    /// Segments `segments` (within one part) in one GET, cut into blocks.
    async fn fetch_segments(
        &self,
        object: usize,
        segments: Range<u64>,
        reader: &ObjectReader,
    ) -> Result<Vec<Bytes>, ObjectError> {
        let layout = self.inner.objects[object].layout;
        let plain = layout.segment_plaintext(segments.start).start
            ..layout.segment_plaintext(segments.end - 1).end;
        let mut blocks = Vec::new();
        for sub in layout.locate(plain) {
            let p = reader.fetch_span(&sub).await?;
            blocks.extend(self.split(object, &sub, &p));
        }
        Ok(blocks)
    }
}

/// What a span's fetch holds in memory once it lands: its plaintext.
fn reserved_bytes(span: &PartSpan) -> u64 {
    span.plaintext.end - span.plaintext.start
}

/// The segment a fetch names as failing authentication, if that is why it failed.
fn bad_segment(e: &ObjectError) -> Option<u64> {
    match e {
        ObjectError::Format {
            cause: FormatError::SegmentAuth { segment, .. },
            ..
        } => Some(*segment),
        _ => None,
    }
}
