//! The read path of a mount, independent of FUSE.
//!
//! A read of `[offset, offset + len)` of an object is served segment by segment: from the
//! block cache, or by joining a fetch already in flight (started by another read or by
//! read-ahead), or by a fetch it starts itself. Before that, the read-ahead policy plans a
//! window around the read, and every segment of the window that is neither cached nor in
//! flight is fetched, in spans of at most `request_size` that run in parallel.
//!
//! Fetched spans are decrypted and authenticated by `mezz-object` before anything sees them;
//! their segments go into the cache, and waiting reads take their bytes straight from the
//! fetch result (so a block evicted at once still serves the read that asked for it).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use mezz_format::{FormatError, PartSpan};
use mezz_object::{ObjectError, ObjectReader};
use mezz_readahead::{Config as ReadaheadConfig, NetEstimate, ObjectPolicy, Pattern};

use crate::block_cache::segment_runs;
use crate::metrics::{Metrics, MetricsSnapshot};
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
        // Fetched blocks live in the cache; what is in flight is not yet there. Windows in
        // flight get 3/16 and the cache 1/4, so a stream's window fits in the cache beside
        // the data being read and is not evicted by the stream itself. The rest is headroom:
        // response buffers, decryption, replies, the allocator's per-thread arenas (four
        // parallel readers peaked at 290 MB with 3/8 + 1/4 of 256 MiB).
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

/// The plaintext of one fetched span.
#[derive(Debug)]
struct Fetched {
    plain_start: u64,
    plain: Bytes,
}

/// The most a read waiting on a window's first request makes it wait for beyond itself.
const FIRST_REQUEST: u64 = 1 << 20;

/// Scheduled windows remembered per object.
const MAX_STREAMS: usize = 32;

type FetchResult = Result<Arc<Fetched>, ReadError>;
type SharedFetch = Shared<BoxFuture<'static, FetchResult>>;

#[derive(Debug)]
struct MountedObject {
    reader: ObjectReader,
    version: [u8; 16],
    policy: Mutex<ObjectPolicy>,
    /// Windows already scheduled (a few, one per recent stream), so that a window growing by
    /// one read at its end is scanned only over its new end and not over its whole length.
    scheduled: Mutex<Vec<Range<u64>>>,
    /// Dense clusters seen on the last read: this object's share of the mount's streams.
    dense_streams: AtomicUsize,
}

struct Inner {
    objects: Vec<MountedObject>,
    cache: Mutex<BlockCache>,
    in_flight: Mutex<HashMap<BlockKey, SharedFetch>>,
    config: ReadPathConfig,
    net: Mutex<NetEstimate>,
    metrics: Metrics,
    recorder: Option<Arc<Recorder>>,
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

fn is_auth_failure(e: &ObjectError) -> bool {
    matches!(
        e,
        ObjectError::Format {
            cause: FormatError::SegmentAuth { .. },
            ..
        }
    )
}

impl ReadPath {
    pub fn new(readers: Vec<ObjectReader>, config: ReadPathConfig) -> ReadPath {
        ReadPath::with_recorder(readers, config, None)
    }

    /// A read path that records its fetches, windows and cache changes into a replay.
    pub fn with_recorder(
        readers: Vec<ObjectReader>,
        config: ReadPathConfig,
        recorder: Option<Arc<Recorder>>,
    ) -> ReadPath {
        let objects = readers
            .into_iter()
            .map(|reader| MountedObject {
                version: *reader.opened().id.as_bytes(),
                reader,
                policy: Mutex::default(),
                scheduled: Mutex::default(),
                dense_streams: AtomicUsize::new(0),
            })
            .collect();
        ReadPath {
            inner: Arc::new(Inner {
                objects,
                cache: Mutex::new(BlockCache::new(config.cache_bytes)),
                in_flight: Mutex::default(),
                config,
                net: Mutex::default(),
                metrics: Metrics::default(),
                recorder,
                store_counters: std::sync::OnceLock::new(),
            }),
        }
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
        self.inner.objects.get(object).map(|o| o.reader.size())
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// The live counters, for the FUSE adapter's open-file gauge.
    pub(crate) fn counters(&self) -> &crate::Metrics {
        &self.inner.metrics
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
        self.inner.recorder.as_ref()
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
        let result =
            match tokio::time::timeout(limit, self.read_clamped(object, range, bound)).await {
                Ok(r) => r,
                Err(_) => Err(ReadError::TimedOut(limit)),
            };
        self.inner.metrics.latency.record(started.elapsed());
        if result.is_err() {
            self.inner
                .metrics
                .read_errors
                .fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn read_clamped(
        &self,
        object: usize,
        range: Range<u64>,
        bound: Range<u64>,
    ) -> Result<Bytes, ReadError> {
        let inner = &self.inner;
        let o = inner
            .objects
            .get(object)
            .ok_or(ReadError::NoSuchObject(object))?;
        let size = o.reader.size();
        let bound = bound.start.min(size)..bound.end.min(size);
        let range =
            range.start.clamp(bound.start, bound.end)..range.end.clamp(bound.start, bound.end);
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        let plan = {
            let streams: usize = inner
                .objects
                .iter()
                .map(|x| x.dense_streams.load(Ordering::Relaxed))
                .sum();
            let net = *lock(&inner.net);
            lock(&o.policy).on_read(
                &inner.config.readahead,
                &net,
                streams.max(1),
                range.clone(),
                size,
            )
        };
        let dense = if let Pattern::Dense { clusters } = plan.pattern {
            clusters
        } else {
            0
        };
        o.dense_streams.store(dense, Ordering::Relaxed);
        self.schedule_window(
            object,
            plan.window.start..plan.window.end.min(bound.end),
            range.end,
            bound.end,
        );

        let seg = u64::from(o.reader.opened().layout.segment_size());
        let mut out = BytesMut::with_capacity((range.end - range.start) as usize);
        for s in range.start / seg..=(range.end - 1) / seg {
            let block_start = s * seg;
            // A read that reaches a block's end has consumed it (see BlockCache).
            let consumed = range.end >= block_start + seg;
            let block = self.segment(object, s, consumed, range.end).await?;
            let lo = range.start.max(block_start) - block_start;
            let hi = range.end.min(block_start + block.len() as u64) - block_start;
            out.extend_from_slice(&block[lo as usize..hi as usize]);
        }
        inner.metrics.reads.fetch_add(1, Ordering::Relaxed);
        inner
            .metrics
            .bytes_read
            .fetch_add(out.len() as u64, Ordering::Relaxed);
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
                    self.inner.metrics.joined.fetch_add(1, Ordering::Relaxed);
                    f
                }
                Lookup::Missing => {
                    // Evicted or never scheduled: what was recorded as scheduled is stale.
                    lock(&o.scheduled).clear();
                    let r = o.reader.opened().layout.segment_plaintext(segment);
                    let started = self.schedule(object, r.start..read_end.max(r.end));
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
                lock(&self.inner.cache).demote(&key);
            }
            let r = o.reader.opened().layout.segment_plaintext(segment);
            let from = (r.start - fetched.plain_start) as usize;
            return Ok(fetched.plain.slice(from..from + (r.end - r.start) as usize));
        }
        Err(ReadError::Object(Arc::new(ObjectError::Other(format!(
            "segment {segment} of '{}' was evicted before it could be read three times; the cache is too small",
            o.reader.name()
        )))))
    }

    fn lookup(&self, key: &BlockKey, consumed: bool) -> Lookup {
        {
            let mut cache = lock(&self.inner.cache);
            if let Some(b) = cache.get(key) {
                if consumed {
                    cache.demote(key);
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

    /// Schedules a read-ahead window, skipping the part of it that an earlier window of the
    /// same stream already covered. A window that has slid less than a request's worth past
    /// what is scheduled waits until it has (as long as the read itself, ending at
    /// `read_end`, is covered), so read-ahead goes out in whole requests, not one per read.
    fn schedule_window(&self, object: usize, window: Range<u64>, read_end: u64, limit: u64) {
        let o = &self.inner.objects[object];
        let request = self.inner.config.readahead.request_size;
        let todo = {
            let mut done = lock(&o.scheduled);
            let stream = done
                .iter_mut()
                .find(|r| r.start <= window.start && window.start <= r.end);
            match stream {
                Some(r) => {
                    let mut todo = r.end.max(window.start)..window.end;
                    let len = todo.end.saturating_sub(todo.start);
                    let small = len < request.min(window.end - window.start);
                    let topping_up = todo.start >= read_end && window.end < limit;
                    // The tail before the limit goes out however small, or it never would.
                    if small && topping_up {
                        return;
                    }
                    if topping_up && len >= request {
                        // Whole requests only; the remainder waits for the next top-up.
                        todo.end = todo.start + len / request * request;
                    }
                    r.end = r.end.max(todo.end);
                    todo
                }
                None => {
                    if done.len() >= MAX_STREAMS {
                        done.remove(0);
                    }
                    done.push(window.clone());
                    window
                }
            }
        };
        if let Some(rec) = &self.inner.recorder
            && !todo.is_empty()
        {
            rec.schedule(object, todo.clone());
        }
        if todo.start < read_end {
            // The reader is waiting: its own bytes go out as a small request of their own,
            // so it does not wait for a whole request's worth to arrive (on a far link an
            // 8 MiB request takes a third of a second).
            let first = todo.start..read_end.max(todo.start + FIRST_REQUEST).min(todo.end);
            self.schedule(object, first.clone());
            self.schedule(object, first.end..todo.end);
        } else if !todo.is_empty() {
            self.schedule(object, todo);
        }
    }

    /// Starts fetches for every segment of `window` that is neither cached nor in flight, and
    /// returns them with the segments each covers.
    fn schedule(&self, object: usize, window: Range<u64>) -> Vec<(Range<u64>, SharedFetch)> {
        let inner = &self.inner;
        let o = &inner.objects[object];
        let layout = o.reader.opened().layout;
        let seg = u64::from(layout.segment_size());
        if window.is_empty() {
            return Vec::new();
        }
        let mut started = Vec::new();
        {
            // Deciding what is missing and registering the fetches happen under one lock, so
            // two reads never fetch the same segment.
            let mut in_flight = lock(&inner.in_flight);
            let cache = lock(&inner.cache);
            let missing = |s: u64| {
                let k = BlockKey {
                    version: o.version,
                    segment: s,
                };
                !cache.contains(&k) && !in_flight.contains_key(&k)
            };
            let runs =
                segment_runs((window.start / seg..=(window.end - 1) / seg).filter(|s| missing(*s)));
            drop(cache);
            for run in runs {
                let plain = layout.segment_plaintext(run.start).start
                    ..layout.segment_plaintext(run.end - 1).end;
                for span in layout.locate_bounded(plain, inner.config.readahead.request_size) {
                    let fetch = self.fetch(object, span.clone());
                    for s in span.first_segment..span.first_segment + span.segment_count {
                        in_flight.insert(
                            BlockKey {
                                version: o.version,
                                segment: s,
                            },
                            fetch.clone(),
                        );
                    }
                    started.push((
                        span.first_segment..span.first_segment + span.segment_count,
                        fetch,
                    ));
                }
            }
        }
        for (_, f) in &started {
            // Read-ahead fetches run whether or not a read ever waits for them.
            tokio::spawn(f.clone().map(|_| ()));
        }
        started
    }

    fn record_evictions(&self, rec: &Recorder, evicted: Vec<BlockKey>) {
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
                rec.cache(false, object, run);
            }
        }
    }

    fn fetch(&self, object: usize, span: PartSpan) -> SharedFetch {
        let this = self.clone();
        async move {
            let inner = &this.inner;
            let o = &inner.objects[object];
            inner.metrics.fetches.fetch_add(1, Ordering::Relaxed);
            inner.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
            let recorded = inner
                .recorder
                .as_ref()
                .map(|r| r.fetch_start(object, span.plaintext.clone()));
            let started = Instant::now();
            let mut result = o.reader.fetch_span(&span).await;
            if let Err(e) = &result
                && is_auth_failure(e)
            {
                // Bytes flipped in transit (or in a cache below) fail authentication; one
                // fresh fetch tells that apart from bytes damaged at rest, which fail again.
                inner.metrics.auth_retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "segment failed authentication; fetching it again");
                result = o.reader.fetch_span(&span).await;
            }
            inner.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
            let segments = span.first_segment..span.first_segment + span.segment_count;
            let result = match result {
                Ok(plain) => {
                    let sealed = span.ciphertext.end - span.ciphertext.start;
                    inner
                        .metrics
                        .bytes_fetched
                        .fetch_add(sealed, Ordering::Relaxed);
                    lock(&inner.net).observe_request(sealed, started.elapsed().as_secs_f64());
                    let layout = o.reader.opened().layout;
                    let mut evicted = Vec::new();
                    {
                        let mut cache = lock(&inner.cache);
                        for s in segments.clone() {
                            let r = layout.segment_plaintext(s);
                            let from = (r.start - span.plaintext.start) as usize;
                            evicted.extend(cache.insert(
                                BlockKey {
                                    version: o.version,
                                    segment: s,
                                },
                                plain.slice(from..from + (r.end - r.start) as usize),
                            ));
                        }
                    }
                    if let (Some(rec), Some(id)) = (&inner.recorder, recorded) {
                        rec.fetch_done(id, sealed, true);
                        rec.cache(true, object, segments.clone());
                        this.record_evictions(rec, evicted);
                    }
                    Ok(Arc::new(Fetched {
                        plain_start: span.plaintext.start,
                        plain,
                    }))
                }
                Err(e) => {
                    inner.metrics.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, "fetch failed");
                    if let (Some(rec), Some(id)) = (&inner.recorder, recorded) {
                        rec.fetch_done(id, 0, false);
                        rec.error(e.to_string());
                    }
                    Err(ReadError::Object(Arc::new(e)))
                }
            };
            let mut in_flight = lock(&inner.in_flight);
            for s in segments {
                in_flight.remove(&BlockKey {
                    version: o.version,
                    segment: s,
                });
            }
            result
        }
        .boxed()
        .shared()
    }
}
