//! What a mount tells as it runs, through one trait: [`MountEvents`].
//!
//! The FUSE adapter and the read path report each open, read, scheduled window, fetch and
//! cache change once, to [`Events`], and the write path each create, write, commit and
//! rename in the writable directories; its listeners are the counters ([`Metrics`], always:
//! reads only) and the replay ([`Recorder`], when the mount records one). A new observer (a log of slow
//! reads, an exporter) is one more implementation, with no new calls in the read path.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::read_path::ReadError;
use crate::recorder::Recorder;

/// A listener to a mount's events. Every method has an empty default: a listener implements
/// what it cares about. Called on the read path, so implementations must be quick and must
/// not block.
pub trait MountEvents: Send + Sync {
    /// A file was opened: `handle` is its FUSE handle, `file` its index in the mount's files.
    fn opened(&self, _handle: u64, _file: usize) {}
    fn released(&self, _handle: u64) {}
    /// The read path served a read in `took`: `Ok(bytes)` or the error answered.
    fn served(&self, _result: Result<u64, &ReadError>, _took: Duration) {}
    /// The FUSE adapter answered a read of `range` of the file behind `handle` that arrived
    /// at `arrived`; `returned` is the bytes answered, `None` for an error.
    fn answered(
        &self,
        _handle: u64,
        _range: Range<u64>,
        _arrived: Instant,
        _returned: Option<&[u8]>,
    ) {
    }
    /// Read-ahead scheduled `range` of `object` (the part of a window new to its stream).
    fn scheduled(&self, _object: usize, _range: Range<u64>) {}
    /// A read waited on a fetch another read (or the read-ahead) had started.
    fn joined(&self) {}
    /// Fetch `fetch` of plaintext `range` of `object` started.
    fn fetch_started(&self, _fetch: u64, _object: usize, _range: Range<u64>) {}
    /// A fetch's segment failed authentication and the fetch is repeated once.
    fn auth_retry(&self) {}
    /// Fetch `fetch` ended: `stored_bytes` of good segments arrived; `error` says why some or
    /// all of its segments failed.
    fn fetch_done(&self, _fetch: u64, _stored_bytes: u64, _error: Option<&ReadError>) {}
    /// Segments of `object` entered (`inserted`) or left the block cache.
    fn cache(&self, _inserted: bool, _object: usize, _segments: Range<u64>) {}
    /// A file of a writable directory was created (or opened to be written again) at `path`
    /// in the mount; `handle` is the FUSE handle it is written through.
    fn created(&self, _handle: u64, _path: &str) {}
    /// A write of `range` of the file behind `handle`, arrived at `arrived`, was taken (`ok`)
    /// or refused.
    fn wrote(&self, _handle: u64, _range: Range<u64>, _arrived: Instant, _ok: bool) {}
    /// The file written through `handle` was stored as `object` (`bytes` long) by a commit
    /// that began at `began`, or not stored: `error` says why.
    fn committed(
        &self,
        _handle: u64,
        _object: &str,
        _bytes: u64,
        _began: Instant,
        _error: Option<&str>,
    ) {
    }
    /// `from` was renamed to `to` (paths in the mount), or not: `error` says why.
    fn renamed(&self, _from: &str, _to: &str, _error: Option<&str>) {}
}

/// The listeners of one mount: its counters, and its replay if it records one.
pub struct Events {
    metrics: Arc<Metrics>,
    recorder: Option<Arc<Recorder>>,
    next_fetch: AtomicU64,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("recording", &self.recorder.is_some())
            .finish_non_exhaustive()
    }
}

impl Events {
    pub fn new(recorder: Option<Arc<Recorder>>) -> Events {
        Events {
            metrics: Arc::default(),
            recorder,
            next_fetch: AtomicU64::new(1),
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn recorder(&self) -> Option<&Arc<Recorder>> {
        self.recorder.as_ref()
    }

    /// A new fetch id, for [`MountEvents::fetch_started`] and [`MountEvents::fetch_done`].
    pub fn fetch_id(&self) -> u64 {
        self.next_fetch.fetch_add(1, Ordering::Relaxed)
    }

    fn each(&self, f: impl Fn(&dyn MountEvents)) {
        f(&*self.metrics);
        if let Some(r) = &self.recorder {
            f(&**r);
        }
    }
}

impl MountEvents for Events {
    fn opened(&self, handle: u64, file: usize) {
        self.each(|l| l.opened(handle, file));
    }
    fn released(&self, handle: u64) {
        self.each(|l| l.released(handle));
    }
    fn served(&self, result: Result<u64, &ReadError>, took: Duration) {
        self.each(|l| l.served(result, took));
    }
    fn answered(&self, handle: u64, range: Range<u64>, arrived: Instant, returned: Option<&[u8]>) {
        self.each(|l| l.answered(handle, range.clone(), arrived, returned));
    }
    fn scheduled(&self, object: usize, range: Range<u64>) {
        self.each(|l| l.scheduled(object, range.clone()));
    }
    fn joined(&self) {
        self.each(|l| l.joined());
    }
    fn fetch_started(&self, fetch: u64, object: usize, range: Range<u64>) {
        self.each(|l| l.fetch_started(fetch, object, range.clone()));
    }
    fn auth_retry(&self) {
        self.each(|l| l.auth_retry());
    }
    fn fetch_done(&self, fetch: u64, stored_bytes: u64, error: Option<&ReadError>) {
        self.each(|l| l.fetch_done(fetch, stored_bytes, error));
    }
    fn cache(&self, inserted: bool, object: usize, segments: Range<u64>) {
        self.each(|l| l.cache(inserted, object, segments.clone()));
    }
    fn created(&self, handle: u64, path: &str) {
        self.each(|l| l.created(handle, path));
    }
    fn wrote(&self, handle: u64, range: Range<u64>, arrived: Instant, ok: bool) {
        self.each(|l| l.wrote(handle, range.clone(), arrived, ok));
    }
    fn committed(
        &self,
        handle: u64,
        object: &str,
        bytes: u64,
        began: Instant,
        error: Option<&str>,
    ) {
        self.each(|l| l.committed(handle, object, bytes, began, error));
    }
    fn renamed(&self, from: &str, to: &str, error: Option<&str>) {
        self.each(|l| l.renamed(from, to, error));
    }
}
