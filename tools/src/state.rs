//! The state of a replay at one moment: block cells of every object, what is in flight, and
//! running totals. [`State::apply`] is the only way it changes, one event at a time, so any
//! moment is "a keyframe plus the events after it" and the same events always give the same
//! state.

use std::collections::BTreeMap;

use crate::blocks::{self, Geometry};
use crate::timeline::{Event, Kind, Span, Timeline};

/// Something under way: a fetch in flight or a read not answered yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flight {
    pub object: u32,
    pub span: Span,
    pub since: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub reads: u64,
    pub failed_reads: u64,
    pub bytes_read: u64,
    /// Reads whose bytes were all cached when they arrived.
    pub hits: u64,
    pub fetches: u64,
    pub failed_fetches: u64,
    /// Bytes that came over the wire (ciphertext).
    pub bytes_fetched: u64,
    pub windows: u64,
    pub errors: u64,
    pub opens: u64,
    /// Files created in writable directories, writes taken and refused, bytes written, and
    /// files stored or not.
    pub files_created: u64,
    pub writes: u64,
    pub failed_writes: u64,
    pub bytes_written: u64,
    pub commits: u64,
    pub failed_commits: u64,
}

impl Totals {
    pub fn hit_ratio(&self) -> Option<f64> {
        let answered = self.reads + self.failed_reads;
        (answered > 0).then(|| self.hits as f64 / answered as f64)
    }

    pub fn amplification(&self) -> Option<f64> {
        (self.bytes_read > 0).then(|| self.bytes_fetched as f64 / self.bytes_read as f64)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub geometry: Vec<Geometry>,
    /// One cell per block per object (see [`blocks`]).
    pub cells: Vec<Vec<u8>>,
    pub fetches: BTreeMap<u64, Flight>,
    pub reads: BTreeMap<u32, Flight>,
    pub totals: Totals,
    /// The most recent error message, an index into [`Timeline::errors`].
    pub last_error: Option<u32>,
    /// Events applied so far: this state is the timeline after `applied` events.
    pub applied: usize,
}

impl State {
    /// The state before the first event.
    pub fn empty(t: &Timeline) -> State {
        let n = t.meta.objects.len();
        let geometry: Vec<Geometry> = t
            .meta
            .objects
            .iter()
            .map(|o| Geometry::for_one_of(n, o.size, o.segment_size))
            .collect();
        State {
            cells: geometry
                .iter()
                .map(|g| vec![blocks::NONE; g.blocks])
                .collect(),
            geometry,
            fetches: BTreeMap::new(),
            reads: BTreeMap::new(),
            totals: Totals::default(),
            last_error: None,
            applied: 0,
        }
    }

    /// Bytes the cells take: what a keyframe of this state costs.
    pub fn cell_bytes(&self) -> usize {
        self.cells.iter().map(Vec::len).sum()
    }

    fn cells_of(&mut self, object: u32, span: Span) -> &mut [u8] {
        let o = object as usize;
        match (self.geometry.get(o), self.cells.get_mut(o)) {
            (Some(g), Some(cells)) => {
                let r = g.blocks_of(span.start, span.end);
                &mut cells[r]
            }
            _ => &mut [],
        }
    }

    pub fn apply(&mut self, e: &Event) {
        use blocks::{CACHED, DOWNLOADING, ERROR, EVICTED, NONE, READ, RESIDENCY, SCHEDULED};
        self.applied += 1;
        let o = e.object;
        match e.kind {
            Kind::Open { .. } => self.totals.opens += 1,
            Kind::Release { .. } => {}
            Kind::ReadStart { read, span, .. } => {
                let hit = {
                    let cells = self.cells_of(o, span);
                    !cells.is_empty() && cells.iter().all(|c| c & RESIDENCY == CACHED)
                };
                self.totals.hits += u64::from(hit);
                self.reads.insert(
                    read,
                    Flight {
                        object: o,
                        span,
                        since: e.t,
                    },
                );
            }
            Kind::ReadDone { read, span, ok } => {
                self.reads.remove(&read);
                if ok {
                    self.totals.reads += 1;
                    self.totals.bytes_read += span.len();
                    for c in self.cells_of(o, span) {
                        *c |= READ;
                    }
                } else {
                    self.totals.failed_reads += 1;
                    for c in self.cells_of(o, span) {
                        *c = (*c & READ) | ERROR;
                    }
                }
            }
            Kind::Schedule { span } => {
                self.totals.windows += 1;
                for c in self.cells_of(o, span) {
                    if matches!(*c & RESIDENCY, NONE | EVICTED) {
                        *c = (*c & READ) | SCHEDULED;
                    }
                }
            }
            Kind::FetchStart { fetch, span } => {
                self.fetches.insert(
                    fetch,
                    Flight {
                        object: o,
                        span,
                        since: e.t,
                    },
                );
                for c in self.cells_of(o, span) {
                    *c = (*c & READ) | DOWNLOADING;
                }
            }
            Kind::FetchDone {
                fetch,
                span,
                bytes,
                ok,
            } => {
                self.fetches.remove(&fetch);
                self.totals.bytes_fetched += bytes;
                if ok {
                    self.totals.fetches += 1;
                } else {
                    self.totals.failed_fetches += 1;
                }
                // The cache insert follows a good fetch; until then the bytes count as cached
                // so that a fetch the cache declined does not stay "downloading" forever.
                let after = if ok { CACHED } else { ERROR };
                for c in self.cells_of(o, span) {
                    if *c & RESIDENCY == DOWNLOADING {
                        *c = (*c & READ) | after;
                    }
                }
            }
            Kind::CacheInsert { span } => {
                for c in self.cells_of(o, span) {
                    *c = (*c & READ) | CACHED;
                }
            }
            Kind::CacheEvict { span } => {
                for c in self.cells_of(o, span) {
                    if *c & RESIDENCY == CACHED {
                        *c = (*c & READ) | EVICTED;
                    }
                }
            }
            Kind::Error { index } => {
                self.totals.errors += 1;
                self.last_error = Some(index);
            }
            Kind::Create => self.totals.files_created += 1,
            Kind::Write { bytes, ok: true } => {
                self.totals.writes += 1;
                self.totals.bytes_written = self.totals.bytes_written.saturating_add(bytes);
            }
            Kind::Write { ok: false, .. } => self.totals.failed_writes += 1,
            Kind::Commit { ok: true, .. } => self.totals.commits += 1,
            Kind::Commit { ok: false, .. } => self.totals.failed_commits += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::Shade;
    use mezz_replays::{Decoded, End, FileMeta, Meta, ObjectMeta, Record};

    pub(crate) fn timeline(records: Vec<Record>) -> Timeline {
        let meta = Meta {
            objects: vec![ObjectMeta {
                source: "o".into(),
                size: 16 * 4096,
                version: "v".into(),
                segment_size: 4096,
            }],
            files: vec![
                FileMeta {
                    path: "o".into(),
                    object: 0,
                    offset: 0,
                    len: 16 * 4096,
                },
                FileMeta {
                    path: "scene".into(),
                    object: 0,
                    offset: 8 * 4096,
                    len: 4 * 4096,
                },
            ],
            ..Meta::default()
        };
        let mut all = vec![Record::Meta(meta)];
        all.extend(records);
        Timeline::from_decoded(&Decoded {
            records: all,
            end: End::Complete,
            chunks: 1,
        })
        .expect("timeline")
    }

    fn shades(s: &State) -> String {
        s.cells[0].iter().map(|c| Shade::of(*c).glyph()).collect()
    }

    fn run(t: &Timeline, n: usize) -> State {
        let mut s = State::empty(t);
        for e in &t.events[..n] {
            s.apply(e);
        }
        s
    }

    #[test]
    fn a_read_ahead_window_goes_scheduled_downloading_cached_returned_evicted() {
        let t = timeline(vec![
            Record::Open {
                t: 1,
                handle: 7,
                file: 0,
            },
            Record::Schedule {
                t: 2,
                object: 0,
                offset: 0,
                len: 4 * 4096,
            },
            Record::FetchStart {
                t: 3,
                fetch: 1,
                object: 0,
                offset: 0,
                len: 2 * 4096,
            },
            Record::FetchDone {
                t: 10,
                fetch: 1,
                bytes: 8250,
                ok: true,
            },
            Record::CacheInsert {
                t: 11,
                object: 0,
                first: 0,
                count: 2,
            },
            Record::Read {
                t: 4,
                handle: 7,
                offset: 0,
                len: 4096,
                dur: 8,
                ok: true,
            },
            Record::Read {
                t: 20,
                handle: 7,
                offset: 4096,
                len: 4096,
                dur: 1,
                ok: true,
            },
            Record::CacheEvict {
                t: 30,
                object: 0,
                first: 0,
                count: 2,
            },
        ]);
        let glyphs: Vec<String> = (0..=t.events.len()).map(|n| shades(&run(&t, n))).collect();
        assert_eq!(&glyphs[1][..6], "......", "an open changes no bytes");
        assert_eq!(&glyphs[2][..6], "::::..");
        assert_eq!(&glyphs[3][..6], "~~::..");
        assert_eq!(&glyphs[5][..6], "oo::..", "fetched then cached");
        assert_eq!(&glyphs[7][..6], "#o::..", "the first read returned");
        assert_eq!(&glyphs[9][..6], "##::..");
        assert_eq!(&glyphs[10][..6], "++::..", "read and then evicted");
        let end = run(&t, t.events.len());
        assert_eq!(end.totals.reads, 2);
        assert_eq!(
            end.totals.hits, 1,
            "only the second read found its bytes cached"
        );
        assert_eq!(end.totals.bytes_fetched, 8250);
        assert_eq!(end.totals.hit_ratio(), Some(0.5));
        assert!(end.fetches.is_empty() && end.reads.is_empty());
    }

    #[test]
    fn in_flight_sets_follow_starts_and_ends() {
        let t = timeline(vec![
            Record::Open {
                t: 1,
                handle: 7,
                file: 1,
            },
            Record::FetchStart {
                t: 2,
                fetch: 9,
                object: 0,
                offset: 8 * 4096,
                len: 4096,
            },
            Record::Read {
                t: 3,
                handle: 7,
                offset: 0,
                len: 100,
                dur: 10,
                ok: true,
            },
            Record::FetchDone {
                t: 12,
                fetch: 9,
                bytes: 0,
                ok: false,
            },
        ]);
        let s = run(&t, 3);
        assert_eq!(s.fetches.len(), 1);
        assert_eq!(s.reads.len(), 1);
        assert_eq!(
            s.reads.values().next().map(|f| f.span.start),
            Some(8 * 4096),
            "range file"
        );
        let end = run(&t, t.events.len());
        assert!(end.fetches.is_empty() && end.reads.is_empty());
        assert_eq!(end.totals.failed_fetches, 1);
        assert_eq!(&shades(&end)[8..9], "!", "a failed fetch marks its bytes");
    }

    #[test]
    fn writes_count_when_answered_and_leave_the_object_alone() {
        let t = timeline(vec![
            Record::Create {
                t: 1,
                handle: 9,
                path: "out/a.ivf".into(),
            },
            Record::Write {
                t: 2,
                handle: 9,
                offset: 0,
                len: 4096,
                dur: 3,
                ok: true,
            },
            Record::Write {
                t: 6,
                handle: 9,
                offset: 100,
                len: 10,
                dur: 1,
                ok: false,
            },
            Record::Commit {
                t: 8,
                handle: 9,
                object: "encodes/a.ivf".into(),
                bytes: 4096,
                dur: 10,
                ok: false,
            },
        ]);
        assert!(t.writes);
        assert_eq!(
            t.failures,
            [7, 18],
            "the refused write and the failed commit"
        );
        let before_answer = run(&t, t.events_by(4));
        assert_eq!(before_answer.totals.files_created, 1);
        assert_eq!(
            before_answer.totals.bytes_written, 0,
            "a write counts once answered"
        );
        let end = run(&t, t.events.len());
        assert_eq!(end.totals.writes, 1);
        assert_eq!(end.totals.failed_writes, 1);
        assert_eq!(end.totals.bytes_written, 4096);
        assert_eq!((end.totals.commits, end.totals.failed_commits), (0, 1));
        assert_eq!(shades(&end), "................", "no object byte changed");
    }

    #[test]
    fn wasted_read_ahead_is_told_apart_from_read_bytes() {
        let t = timeline(vec![
            Record::Open {
                t: 1,
                handle: 7,
                file: 0,
            },
            Record::FetchStart {
                t: 2,
                fetch: 1,
                object: 0,
                offset: 0,
                len: 4 * 4096,
            },
            Record::FetchDone {
                t: 3,
                fetch: 1,
                bytes: 4 * 4096,
                ok: true,
            },
            Record::Read {
                t: 4,
                handle: 7,
                offset: 0,
                len: 4096,
                dur: 0,
                ok: true,
            },
            Record::CacheEvict {
                t: 5,
                object: 0,
                first: 0,
                count: 4,
            },
        ]);
        assert_eq!(&shades(&run(&t, t.events.len()))[..5], "+xxx.");
    }
}
