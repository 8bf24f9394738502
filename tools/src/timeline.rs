//! A replay turned into one time-ordered list of events on object bytes.
//!
//! Records name handles, files and fetch ids; the visualizer wants "these bytes of this object
//! changed at this time". This pass resolves every reference once (handle → file → object
//! range, fetch id → object range) in file order, then sorts by time. A read becomes two
//! events: it starts when it arrived and its bytes are returned `dur` later, which is when the
//! original drew them as returned.

use std::collections::HashMap;
use std::ops::Range;

use mezz_replays::{Decoded, End, Meta, Record};

/// An object byte range, half open. Two words instead of `Range` so that events stay `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

impl Span {
    pub fn new(start: u64, len: u64) -> Span {
        Span {
            start,
            end: start.saturating_add(len),
        }
    }

    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Open {
        handle: u64,
        file: u32,
    },
    Release {
        handle: u64,
    },
    /// A read arrived; `read` numbers reads in arrival order.
    ReadStart {
        read: u32,
        handle: u64,
        span: Span,
    },
    /// The read's bytes were returned (or it failed).
    ReadDone {
        read: u32,
        span: Span,
        ok: bool,
    },
    Schedule {
        span: Span,
    },
    FetchStart {
        fetch: u64,
        span: Span,
    },
    FetchDone {
        fetch: u64,
        span: Span,
        bytes: u64,
        ok: bool,
    },
    CacheInsert {
        span: Span,
    },
    CacheEvict {
        span: Span,
    },
    /// An error message, an index into [`Timeline::errors`].
    Error {
        index: u32,
    },
    /// A file created in a writable directory.
    Create,
    /// A write of `bytes` answered (taken, or refused: `ok` false).
    Write {
        bytes: u64,
        ok: bool,
    },
    /// A written file stored or not.
    Commit {
        ok: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Microseconds since the mount started.
    pub t: u64,
    /// The object the event is about (0 for opens, releases and errors that name none).
    pub object: u32,
    pub kind: Kind,
}

/// A replay ready to play.
#[derive(Clone, Debug)]
pub struct Timeline {
    pub meta: Meta,
    pub events: Vec<Event>,
    /// Time of the first and last event, µs.
    pub start: u64,
    pub end_time: u64,
    pub end: End,
    pub errors: Vec<String>,
    /// Per object, its successful reads as (time returned, object bytes), in time order: the
    /// access-pattern panel classifies the latest of them.
    pub reads: Vec<Vec<(u64, Range<u64>)>>,
    /// Records that named a handle, file, object or fetch the replay never introduced.
    pub unresolved: u64,
    /// Whether the replay ends with the mount's statistics (a clean unmount).
    pub clean_end: bool,
    /// Times of failed reads, fetches, writes and commits and of errors, for the timeline bar.
    pub failures: Vec<u64>,
    /// Whether the replay holds writes (files created in writable directories): the panel
    /// shows them only then.
    pub writes: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimelineError {
    #[error("the replay has no mount description (its first record is not a meta record)")]
    NoMeta,
    #[error("the replay describes no objects and holds no writes")]
    NoObjects,
}

impl Timeline {
    pub fn duration(&self) -> u64 {
        self.end_time - self.start
    }

    pub fn from_decoded(d: &Decoded) -> Result<Timeline, TimelineError> {
        let meta = d.meta().ok_or(TimelineError::NoMeta)?.clone();
        let writes = d.records.iter().any(|r| {
            matches!(
                r,
                Record::Create { .. } | Record::Write { .. } | Record::Commit { .. }
            )
        });
        // A mount of writable directories alone has no object to draw, only its writes.
        if meta.objects.is_empty() && !writes {
            return Err(TimelineError::NoObjects);
        }
        let mut b = Builder {
            meta: &meta,
            handles: HashMap::new(),
            fetches: HashMap::new(),
            events: Vec::with_capacity(d.records.len() + d.records.len() / 4),
            errors: Vec::new(),
            reads: vec![Vec::new(); meta.objects.len()],
            unresolved: 0,
            next_read: 0,
            clean_end: false,
        };
        for r in &d.records {
            b.record(r);
        }
        let Builder {
            mut events,
            errors,
            mut reads,
            unresolved,
            clean_end,
            ..
        } = b;
        // Stable, so records written in order at the same microsecond keep that order.
        events.sort_by_key(|e| e.t);
        for r in &mut reads {
            r.sort_by_key(|(t, _)| *t);
        }
        let failures = events
            .iter()
            .filter(|e| match e.kind {
                Kind::Error { .. } => true,
                Kind::FetchDone { ok, .. }
                | Kind::ReadDone { ok, .. }
                | Kind::Write { ok, .. }
                | Kind::Commit { ok, .. } => !ok,
                _ => false,
            })
            .map(|e| e.t)
            .collect();
        let start = events.first().map_or(0, |e| e.t);
        let end_time = events.last().map_or(0, |e| e.t);
        Ok(Timeline {
            meta,
            events,
            start,
            end_time,
            end: d.end.clone(),
            errors,
            reads,
            unresolved,
            clean_end,
            failures,
            writes,
        })
    }

    /// Index of the first event after time `t`: the number of events that have happened by `t`.
    pub fn events_by(&self, t: u64) -> usize {
        self.events.partition_point(|e| e.t <= t)
    }

    pub fn object_size(&self, object: usize) -> u64 {
        self.meta.objects.get(object).map_or(0, |o| o.size)
    }
}

struct Builder<'a> {
    meta: &'a Meta,
    handles: HashMap<u64, u32>,
    fetches: HashMap<u64, (u32, Span)>,
    events: Vec<Event>,
    errors: Vec<String>,
    reads: Vec<Vec<(u64, Range<u64>)>>,
    unresolved: u64,
    next_read: u32,
    clean_end: bool,
}

impl Builder<'_> {
    fn object(&mut self, object: u64) -> Option<u32> {
        if (object as usize) < self.meta.objects.len() {
            u32::try_from(object).ok()
        } else {
            self.unresolved += 1;
            None
        }
    }

    fn push(&mut self, t: u64, object: u32, kind: Kind) {
        self.events.push(Event { t, object, kind });
    }

    /// Cache records count segments; the visualizer works in bytes.
    fn segments(&mut self, object: u64, first: u64, count: u64) -> Option<(u32, Span)> {
        let o = self.object(object)?;
        let seg = self.meta.objects[o as usize].segment_size.max(1);
        Some((
            o,
            Span::new(first.saturating_mul(seg), count.saturating_mul(seg)),
        ))
    }

    fn record(&mut self, r: &Record) {
        match r {
            Record::Open { t, handle, file } => {
                let meta = self.meta;
                let valid = |f: &u32| {
                    meta.files
                        .get(*f as usize)
                        .is_some_and(|m| (m.object as usize) < meta.objects.len())
                };
                match u32::try_from(*file).ok().filter(valid) {
                    Some(f) => {
                        self.handles.insert(*handle, f);
                        let object = self.meta.files[f as usize].object as u32;
                        self.push(
                            *t,
                            object,
                            Kind::Open {
                                handle: *handle,
                                file: f,
                            },
                        );
                    }
                    None => self.unresolved += 1,
                }
            }
            Record::Release { t, handle } => {
                let object = self
                    .handles
                    .get(handle)
                    .map_or(0, |f| self.meta.files[*f as usize].object as u32);
                self.push(*t, object, Kind::Release { handle: *handle });
            }
            Record::Read {
                t,
                handle,
                offset,
                len,
                dur,
                ok,
            } => {
                let Some(file) = self
                    .handles
                    .get(handle)
                    .map(|f| &self.meta.files[*f as usize])
                else {
                    self.unresolved += 1;
                    return;
                };
                let (object, base, file_end) = (
                    file.object,
                    file.offset,
                    file.offset.saturating_add(file.len),
                );
                let Some(o) = self.object(object) else { return };
                let start = base.saturating_add(*offset).min(file_end);
                let span = Span {
                    start,
                    end: start.saturating_add(*len).min(file_end),
                };
                let read = self.next_read;
                self.next_read = self.next_read.wrapping_add(1);
                let done = t.saturating_add(*dur);
                self.push(
                    *t,
                    o,
                    Kind::ReadStart {
                        read,
                        handle: *handle,
                        span,
                    },
                );
                self.push(
                    done,
                    o,
                    Kind::ReadDone {
                        read,
                        span,
                        ok: *ok,
                    },
                );
                if *ok && !span.is_empty() {
                    self.reads[o as usize].push((done, span.start..span.end));
                }
            }
            Record::Schedule {
                t,
                object,
                offset,
                len,
            } => {
                if let Some(o) = self.object(*object) {
                    self.push(
                        *t,
                        o,
                        Kind::Schedule {
                            span: Span::new(*offset, *len),
                        },
                    );
                }
            }
            Record::FetchStart {
                t,
                fetch,
                object,
                offset,
                len,
            } => {
                if let Some(o) = self.object(*object) {
                    let span = Span::new(*offset, *len);
                    self.fetches.insert(*fetch, (o, span));
                    self.push(
                        *t,
                        o,
                        Kind::FetchStart {
                            fetch: *fetch,
                            span,
                        },
                    );
                }
            }
            Record::FetchDone {
                t,
                fetch,
                bytes,
                ok,
            } => match self.fetches.remove(fetch) {
                Some((o, span)) => self.push(
                    *t,
                    o,
                    Kind::FetchDone {
                        fetch: *fetch,
                        span,
                        bytes: *bytes,
                        ok: *ok,
                    },
                ),
                None => self.unresolved += 1,
            },
            Record::CacheInsert {
                t,
                object,
                first,
                count,
            } => {
                if let Some((o, span)) = self.segments(*object, *first, *count) {
                    self.push(*t, o, Kind::CacheInsert { span });
                }
            }
            Record::CacheEvict {
                t,
                object,
                first,
                count,
            } => {
                if let Some((o, span)) = self.segments(*object, *first, *count) {
                    self.push(*t, o, Kind::CacheEvict { span });
                }
            }
            Record::Error { t, message } => {
                let index = self.errors.len() as u32;
                self.errors.push(message.clone());
                self.push(*t, 0, Kind::Error { index });
            }
            Record::Stats(_) => self.clean_end = true,
            Record::Create { t, .. } => self.push(*t, 0, Kind::Create),
            // Written bytes go to objects the mount does not show: they count, at the moment
            // each write was answered.
            Record::Write {
                t, len, dur, ok, ..
            } => self.push(
                t.saturating_add(*dur),
                0,
                Kind::Write {
                    bytes: *len,
                    ok: *ok,
                },
            ),
            Record::Commit { t, dur, ok, .. } => {
                self.push(t.saturating_add(*dur), 0, Kind::Commit { ok: *ok })
            }
            Record::Meta(_)
            | Record::Digest { .. }
            | Record::Unknown { .. }
            | Record::Rename { .. } => {}
        }
    }
}
