//! The whole read-ahead decision of a mount as one pure step: an [`Event`] in, the exact GETs
//! to issue out.
//!
//! [`Schedule`] holds everything the decision depends on: each object's [`ObjectPolicy`] (its
//! recent reads), the windows already scheduled per stream, how many dense streams each
//! object has (the mount's read-ahead budget is shared among them all), and the network
//! estimate fed by completed fetches. [`Schedule::step`] takes an event and a view of which
//! segments are already cached or in flight, and returns the [`Request`]s to start: whole
//! segments of one part, at most `request_size` bytes each, never a segment that is present,
//! never beyond the object or the reader's bound.
//!
//! The steps it takes for a read, in order:
//! 1. the policy plans a window from the read (sparse reads get exactly the read);
//!    a read at the start of the reader's file gets at least [`HEAD`] (its header);
//! 2. a window that continues a stream is cut to what that stream has not scheduled yet;
//!    a read-ahead top-up smaller than one request waits until it is a whole request;
//!    beyond the read, no more goes out than the budget has room for besides the bytes the
//!    mount already has in flight (the fixed strategy's 8 MiB per read would not stop);
//! 3. the reader's own bytes go out as a small first request (at most [`FIRST_REQUEST`]
//!    beyond the read), so it does not wait for a whole request to arrive;
//! 4. what is missing is cut into runs of absent segments, at part boundaries and into
//!    `request_size` pieces (half that for a dense stream's window: more connections).
//!
//! The caller decides segment presence and registers the requests it is given under one lock,
//! so two reads never fetch the same segment. Time enters only as the durations in
//! [`Event::Fetched`].

use std::ops::Range;

use crate::policy::{Config, NetEstimate, ObjectPolicy, Pattern, Plan, Strategy};

/// The most a read waiting on a window's first request makes it wait for beyond itself.
pub const FIRST_REQUEST: u64 = 1 << 20;

/// What a read at the start of a file fetches at least (adaptive): the header a probe or
/// demuxer reads on into.
pub const HEAD: u64 = 1 << 20;

/// Scheduled windows remembered per object (one per recent stream).
pub const MAX_STREAMS: usize = 32;

/// Where an object's segments and parts fall, in plaintext bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub size: u64,
    /// Plaintext bytes per segment (the unit fetched, authenticated and cached).
    pub segment: u64,
    /// Plaintext bytes per part (a multiple of `segment`); a GET never crosses a part.
    pub part: u64,
}

impl Geometry {
    fn segments(&self) -> u64 {
        self.size.div_ceil(self.segment.max(1))
    }

    fn segment_start(&self, s: u64) -> u64 {
        s.saturating_mul(self.segment)
    }

    fn segment_end(&self, s: u64) -> u64 {
        self.segment_start(s)
            .saturating_add(self.segment)
            .min(self.size)
    }

    fn segments_per_part(&self) -> u64 {
        (self.part / self.segment.max(1)).max(1)
    }
}

/// One GET to issue: whole segments of one part of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub object: usize,
    /// Segment indices, across the whole object.
    pub segments: Range<u64>,
    /// The plaintext bytes those segments hold.
    pub bytes: Range<u64>,
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A read of `range` of an object, by a file showing only `bound` of it: the read is
    /// clamped to the bound and read-ahead never goes beyond it. `in_flight` is the bytes the
    /// mount is fetching as the read arrives: read-ahead only fills the budget's room left.
    Read {
        object: usize,
        range: Range<u64>,
        bound: Range<u64>,
        in_flight: u64,
    },
    /// A read found `segment` neither cached nor in flight (evicted since it was scheduled,
    /// or never scheduled): its bytes through `read_end` are fetched now.
    Miss {
        object: usize,
        segment: u64,
        read_end: u64,
    },
    /// A fetch of `bytes` (stored bytes) completed in `secs`.
    Fetched { bytes: u64, secs: f64 },
}

/// What to do about an event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// The policy's plan, for a read.
    pub plan: Option<Plan>,
    /// The part of the window newly scheduled for its stream (empty if none).
    pub scheduled: Range<u64>,
    /// GETs to start, in order.
    pub requests: Vec<Request>,
}

#[derive(Clone, Debug)]
struct ObjectState {
    geometry: Geometry,
    policy: ObjectPolicy,
    /// Windows already scheduled (a few, one per recent stream), so that a window growing by
    /// one read at its end is cut to its new end and not rescanned over its whole length.
    streams: Vec<Range<u64>>,
    /// Dense clusters seen on the last read: this object's share of the mount's streams.
    dense: usize,
}

/// The read-ahead state of one mount.
#[derive(Clone, Debug)]
pub struct Schedule {
    config: Config,
    net: NetEstimate,
    objects: Vec<ObjectState>,
}

impl Schedule {
    pub fn new(config: Config, objects: impl IntoIterator<Item = Geometry>) -> Schedule {
        Schedule {
            config,
            net: NetEstimate::default(),
            objects: objects
                .into_iter()
                .map(|geometry| ObjectState {
                    geometry,
                    policy: ObjectPolicy::default(),
                    streams: Vec::new(),
                    dense: 0,
                })
                .collect(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn net(&self) -> &NetEstimate {
        &self.net
    }

    /// Dense streams across the mount (each object's from its last read).
    pub fn dense_streams(&self) -> usize {
        self.objects.iter().map(|o| o.dense).sum()
    }

    /// Takes one event. `present(object, segment)` says whether a segment is cached or in
    /// flight; the requests returned never include a present segment, nor one twice.
    pub fn step(&mut self, event: Event, present: &dyn Fn(usize, u64) -> bool) -> Decision {
        match event {
            Event::Read {
                object,
                range,
                bound,
                in_flight,
            } => self.on_read(object, range, bound, in_flight, present),
            Event::Miss {
                object,
                segment,
                read_end,
            } => {
                let Some(o) = self.objects.get_mut(object) else {
                    return Decision::default();
                };
                // What was recorded as scheduled for the missing bytes' stream is stale: that
                // stream starts over (the others keep theirs).
                let g = o.geometry;
                let at = g.segment_start(segment);
                o.streams.retain(|r| !(r.start <= at && at < r.end));
                let bytes = g.segment_start(segment)..read_end.max(g.segment_end(segment));
                let mut requests = Vec::new();
                self.issue(
                    object,
                    bytes,
                    self.config.request_size,
                    present,
                    &mut requests,
                );
                Decision {
                    plan: None,
                    scheduled: 0..0,
                    requests,
                }
            }
            Event::Fetched { bytes, secs } => {
                self.net.observe_request(bytes, secs);
                Decision::default()
            }
        }
    }

    fn on_read(
        &mut self,
        object: usize,
        range: Range<u64>,
        bound: Range<u64>,
        in_flight: u64,
        present: &dyn Fn(usize, u64) -> bool,
    ) -> Decision {
        let streams = self.dense_streams().max(1);
        let room = self.config.budget.saturating_sub(in_flight);
        let Some(o) = self.objects.get_mut(object) else {
            return Decision::default();
        };
        let size = o.geometry.size;
        let bound = bound.start.min(size)..bound.end.min(size);
        let range =
            range.start.clamp(bound.start, bound.end)..range.end.clamp(bound.start, bound.end);
        if range.is_empty() {
            return Decision::default();
        }
        let plan = o
            .policy
            .on_read(&self.config, &self.net, streams, range.clone(), size);
        o.dense = match plan.pattern {
            Pattern::Dense { clusters } => clusters,
            _ => 0,
        };
        let mut window = plan.window.start..plan.window.end.min(bound.end);
        if range.start == bound.start
            && self.config.strategy == Strategy::Adaptive
            && !matches!(plan.pattern, Pattern::Dense { .. })
        {
            // A file's first bytes are its header: a demuxer or probe reads on from there
            // (the kernel's own read-ahead ramp alone asks for 128, 256 and 512 KiB), so
            // they go out in one request instead of a round trip each.
            let head = HEAD
                .min(self.config.max_buffer)
                .min(self.config.budget / streams as u64);
            window.end = window
                .end
                .max(range.start.saturating_add(head))
                .min(bound.end);
        }
        let Some(todo) = top_up(
            &mut o.streams,
            window,
            range.end,
            bound.end,
            self.config.request_size,
            room,
        ) else {
            return Decision {
                plan: Some(plan),
                scheduled: 0..0,
                requests: Vec::new(),
            };
        };
        // A dense stream's window goes out in half-size requests: the same bytes in flight on
        // twice the connections. One connection carries a fraction of the link (89 of
        // 238 MB/s on bench/netns.sh's s3-like link), and one reader's four 8 MiB requests
        // reached 85% of it, its eight 4 MiB ones 97%. Other reads keep whole requests: a
        // burst or a probe gains nothing from more round trips.
        let piece = match plan.pattern {
            Pattern::Dense { .. } => (self.config.request_size / 2).max(1),
            _ => self.config.request_size,
        };
        let mut requests = Vec::new();
        if todo.start < range.end.saturating_add(FIRST_REQUEST) {
            // The reader is waiting, or will be at its next read: those bytes go out as a
            // small request of their own, so it does not wait for a whole request's worth to
            // arrive (on a far link an 8 MiB request takes a third of a second).
            let first_end = range
                .end
                .max(todo.start.saturating_add(FIRST_REQUEST))
                .min(todo.end);
            self.issue(object, todo.start..first_end, piece, present, &mut requests);
            self.issue(object, first_end..todo.end, piece, present, &mut requests);
        } else {
            self.issue(object, todo.clone(), piece, present, &mut requests);
        }
        Decision {
            plan: Some(plan),
            scheduled: if todo.is_empty() { 0..0 } else { todo },
            requests,
        }
    }

    /// Appends requests for every absent segment of `bytes`: runs of absent segments, cut at
    /// part boundaries and into `piece`-byte pieces counted from each run's start.
    fn issue(
        &self,
        object: usize,
        bytes: Range<u64>,
        piece: u64,
        present: &dyn Fn(usize, u64) -> bool,
        out: &mut Vec<Request>,
    ) {
        let g = self.objects[object].geometry;
        let end = bytes.end.min(g.size);
        if bytes.start >= end || g.segment == 0 {
            return;
        }
        let per = (piece / g.segment).max(1);
        let spp = g.segments_per_part();
        let first = bytes.start / g.segment;
        let last = ((end - 1) / g.segment).min(g.segments().saturating_sub(1));
        let taken = |s: u64, out: &Vec<Request>| {
            present(object, s)
                || out
                    .iter()
                    .any(|r| r.object == object && r.segments.contains(&s))
        };
        let mut s = first;
        while s <= last {
            if taken(s, out) {
                s += 1;
                continue;
            }
            let run_start = s;
            let part_end = (s / spp + 1) * spp;
            while s <= last && s < part_end && s - run_start < per && !taken(s, out) {
                s += 1;
            }
            out.push(Request {
                object,
                segments: run_start..s,
                bytes: g.segment_start(run_start)..g.segment_end(s - 1),
            });
        }
    }
}

/// Cuts `window` to what its stream (the scheduled window it starts in) has not scheduled
/// yet, records it, and returns it. A window that has slid less than a request's worth past
/// what is scheduled gets `None` (as long as the read itself, ending at `read_end`, is
/// covered), so read-ahead goes out in whole requests, not one per read; the tail before
/// `limit` goes out however small, or it never would. At most `room` bytes go out beyond the
/// read: the mount's read-ahead budget left by the fetches in flight (the fixed strategy's
/// windows and many streams' would otherwise pile up past `--memory`).
fn top_up(
    streams: &mut Vec<Range<u64>>,
    window: Range<u64>,
    read_end: u64,
    limit: u64,
    request: u64,
    room: u64,
) -> Option<Range<u64>> {
    let room_end = |start: u64| start.max(read_end).saturating_add(room);
    // Another stream's scheduled bytes ahead (parallel readers of one file, each its own
    // region) were fetched for that stream: the window stops where they start, so bytes
    // already read and evicted are not fetched again. The read itself is always covered.
    let next = streams
        .iter()
        .filter(|r| r.start > window.start && r.start < window.end)
        .map(|r| r.start)
        .min();
    let window = match next {
        Some(n) => window.start..n.max(read_end.min(window.end)),
        None => window,
    };
    let stream = streams
        .iter_mut()
        .find(|r| r.start <= window.start && window.start <= r.end);
    match stream {
        Some(r) => {
            let start = r.end.max(window.start);
            let mut todo = start..window.end.min(room_end(start)).max(start);
            let len = todo.end.saturating_sub(todo.start);
            let small = len < request.min(window.end - window.start);
            let topping_up = todo.start >= read_end && window.end < limit;
            if small && topping_up {
                return None;
            }
            if topping_up && len >= request {
                // Whole requests only; the remainder waits for the next top-up.
                todo.end = todo.start + len / request * request;
            }
            r.end = r.end.max(todo.end);
            Some(todo)
        }
        None => {
            let window = window.start..window.end.min(room_end(window.start));
            if streams.len() >= MAX_STREAMS {
                streams.remove(0);
            }
            streams.push(window.clone());
            Some(window)
        }
    }
}
