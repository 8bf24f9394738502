//! The read-ahead of mezzfs mounts, as pure functions of the reads seen: what to fetch, in
//! exactly which GETs.
//!
//! - [`Schedule`] is the whole decision of one mount: [`Schedule::step`] takes an [`Event`]
//!   (a read, a read that found its segment missing, a completed fetch) and the set of
//!   segments already cached or in flight, and returns the [`Request`]s to issue. It owns the
//!   stream table (windows already scheduled per stream), the whole-request top-ups, the
//!   small first request a waiting reader gets, and the share of the mount's read-ahead
//!   budget each dense stream gets. The mount's read path only carries requests out.
//! - [`ObjectPolicy`] is the per-object part underneath: from the recent reads of an object
//!   and the network estimate ([`NetEstimate`]) it returns a [`Plan`], the byte window that
//!   should be cached or in flight after a read. `mezz-clusters` is the density measure it
//!   uses.
//!
//! Nothing here does I/O, reads a clock or spawns a thread (durations come in with
//! [`Event::Fetched`]), so every decision is property-tested and replayable.
//!
//! ```
//! use mezz_readahead::{Config, Event, Geometry, Pattern, Schedule};
//! let g = Geometry { size: 1 << 30, segment: 16384, part: 64 << 20 };
//! let mut s = Schedule::new(Config::default(), [g]);
//! let mut fetched = std::collections::HashSet::new();
//! let mut last = None;
//! for i in 0..16u64 {
//!     let read = Event::Read { object: 0, range: i * 131072..(i + 1) * 131072, bound: 0..u64::MAX, in_flight: 0 };
//!     let d = s.step(read, &|_, seg| fetched.contains(&seg));
//!     for r in &d.requests {
//!         assert!(r.segments.clone().all(|seg| !fetched.contains(&seg)));
//!         fetched.extend(r.segments.clone());
//!     }
//!     last = d.plan;
//! }
//! let plan = last.unwrap();
//! assert_eq!(plan.pattern, Pattern::Dense { clusters: 1 });
//! assert!(plan.window.end - plan.window.start >= 8 << 20);
//! ```

mod policy;
mod schedule;

pub use policy::{Config, NetEstimate, ObjectPolicy, Pattern, Plan, Strategy};
pub use schedule::{
    Decision, Event, FIRST_REQUEST, Geometry, HEAD, MAX_STREAMS, Request, Schedule,
};
