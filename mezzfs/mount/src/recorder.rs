//! Recording a replay of a mount: every open, read, release, read-ahead window, fetch, cache
//! insert and eviction, and every create, write, commit and rename in the writable
//! directories goes to a [`ReplayWriter`] as it happens; the recorder hears them as
//! one of the mount's [`MountEvents`] listeners.
//!
//! Records are encoded under one lock (a few tens of nanoseconds each, so the order in the
//! file is the order events happened) into a chunk that is written out when full and at
//! least every second by [`Recorder::flush`], so a killed mount loses at most the last second.
//! A write error (a full disk) stops the recording, logged once; the mount carries on.

use std::fs::File;
use std::io::BufWriter;
use std::ops::Range;
use std::sync::Mutex;
use std::time::Instant;

use mezz_replays::{Meta, Record, ReplayWriter};

use crate::events::MountEvents;
use crate::read_path::ReadError;

#[derive(Debug)]
pub struct Recorder {
    started: Instant,
    writer: Mutex<Option<ReplayWriter<BufWriter<File>>>>,
}

impl Recorder {
    /// Creates the replay file and writes the mount's description.
    pub fn create(path: &std::path::Path, meta: Meta) -> std::io::Result<Recorder> {
        let file = File::create(path)?;
        let writer = ReplayWriter::new(BufWriter::with_capacity(256 << 10, file), meta)?;
        Ok(Recorder {
            started: Instant::now(),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Microseconds since the mount started.
    pub fn now(&self) -> u64 {
        self.micros(Instant::now())
    }

    pub fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_micros()).unwrap_or(u64::MAX)
    }

    fn with(&self, f: impl FnOnce(&mut ReplayWriter<BufWriter<File>>) -> std::io::Result<()>) {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = guard.as_mut()
            && let Err(e) = f(w)
        {
            tracing::error!(error = %e, "writing the replay failed; recording stops here");
            *guard = None;
        }
    }

    pub fn record(&self, r: Record) {
        self.with(|w| w.push(&r));
    }

    /// Writes out what is buffered (called every second and at unmount).
    pub fn flush(&self) {
        self.with(|w| w.flush());
    }

    /// Ends the replay with the mount's statistics.
    pub fn finish(&self, stats: serde_json::Value) -> std::io::Result<()> {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        match guard.take() {
            Some(w) => {
                let mut out = w.finish(stats)?;
                std::io::Write::flush(&mut out)
            }
            None => Ok(()),
        }
    }
}

impl MountEvents for Recorder {
    fn opened(&self, handle: u64, file: usize) {
        let t = self.now();
        self.record(Record::Open {
            t,
            handle,
            file: file as u64,
        });
    }

    fn released(&self, handle: u64) {
        let t = self.now();
        self.record(Record::Release { t, handle });
    }

    /// `returned` is folded into the replay's digest.
    fn answered(&self, handle: u64, range: Range<u64>, arrived: Instant, returned: Option<&[u8]>) {
        let r = Record::Read {
            t: self.micros(arrived),
            handle,
            offset: range.start,
            len: range.end - range.start,
            dur: micros_since(arrived),
            ok: returned.is_some(),
        };
        self.with(|w| match returned {
            Some(bytes) => w.push_read(&r, bytes),
            None => w.push(&r),
        });
    }

    fn scheduled(&self, object: usize, range: Range<u64>) {
        let t = self.now();
        self.record(Record::Schedule {
            t,
            object: object as u64,
            offset: range.start,
            len: range.end - range.start,
        });
    }

    fn fetch_started(&self, fetch: u64, object: usize, range: Range<u64>) {
        let t = self.now();
        self.record(Record::FetchStart {
            t,
            fetch,
            object: object as u64,
            offset: range.start,
            len: range.end - range.start,
        });
    }

    fn fetch_done(&self, fetch: u64, bytes: u64, error: Option<&ReadError>) {
        let t = self.now();
        self.record(Record::FetchDone {
            t,
            fetch,
            bytes,
            ok: error.is_none(),
        });
        if let Some(e) = error {
            self.record(Record::Error {
                t,
                message: e.to_string(),
            });
        }
    }

    /// Segment runs (coalesced by the caller).
    fn cache(&self, inserted: bool, object: usize, segments: Range<u64>) {
        let t = self.now();
        let (object, first, count) = (object as u64, segments.start, segments.end - segments.start);
        self.record(if inserted {
            Record::CacheInsert {
                t,
                object,
                first,
                count,
            }
        } else {
            Record::CacheEvict {
                t,
                object,
                first,
                count,
            }
        });
    }

    fn created(&self, handle: u64, path: &str) {
        let t = self.now();
        self.record(Record::Create {
            t,
            handle,
            path: path.into(),
        });
    }

    fn wrote(&self, handle: u64, range: Range<u64>, arrived: Instant, ok: bool) {
        self.record(Record::Write {
            t: self.micros(arrived),
            handle,
            offset: range.start,
            len: range.end - range.start,
            dur: micros_since(arrived),
            ok,
        });
    }

    /// A failed commit is followed by an error record saying why.
    fn committed(
        &self,
        handle: u64,
        object: &str,
        bytes: u64,
        began: Instant,
        error: Option<&str>,
    ) {
        let t = self.micros(began);
        self.record(Record::Commit {
            t,
            handle,
            object: object.into(),
            bytes,
            dur: micros_since(began),
            ok: error.is_none(),
        });
        if let Some(e) = error {
            self.record(Record::Error {
                t: self.now(),
                message: format!("{object} not stored: {e}"),
            });
        }
    }

    fn renamed(&self, from: &str, to: &str, error: Option<&str>) {
        let t = self.now();
        self.record(Record::Rename {
            t,
            from: from.into(),
            to: to.into(),
            ok: error.is_none(),
        });
    }
}

/// Microseconds from `at` until now (a read's or write's time to answer, a commit's).
fn micros_since(at: Instant) -> u64 {
    u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX)
}
