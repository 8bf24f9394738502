//! The adaptive read-ahead policy of mezzfs mounts, as plain functions of the reads seen.
//!
//! [`ObjectPolicy::on_read`] takes the recent reads of an object, the network estimate
//! ([`NetEstimate`], fed by completed fetches) and the number of dense streams in the mount,
//! and returns a [`Plan`]: the byte window that should be cached or in flight after this read.
//! The read path subtracts what is already cached or fetching and issues the rest as parallel
//! GETs ([`Plan::requests`]). `mezz-clusters` is the density measure underneath.
//!
//! Nothing here does I/O, reads a clock or spawns a thread, so every decision is testable and
//! replayable.
//!
//! ```
//! use mezz_readahead::{Config, NetEstimate, ObjectPolicy, Pattern};
//! let (cfg, net) = (Config::default(), NetEstimate::default());
//! let mut p = ObjectPolicy::default();
//! let mut plan = None;
//! for i in 0..16u64 {
//!     plan = Some(p.on_read(&cfg, &net, 1, i * 131072..(i + 1) * 131072, 1 << 30));
//! }
//! let plan = plan.unwrap();
//! assert_eq!(plan.pattern, Pattern::Dense { clusters: 1 });
//! assert!(plan.window.end - plan.window.start >= 8 << 20);
//! ```

mod policy;

pub use policy::{Config, NetEstimate, ObjectPolicy, Pattern, Plan, Strategy};
