//! ABR trace simulator: joint audio and video bitrate selection against throughput traces.
//!
//! The parts, bottom up; everything but the CLI is a pure function of its inputs (no clock,
//! no randomness without a seed, no I/O outside the `load` helpers):
//!
//! - [`units`]: `Ms`, `Bits`, `Kbps` newtypes.
//! - [`trace`]: throughput traces (Sabre JSON, Pensieve cooked, mahimahi, CSV) and trace
//!   sets read one file at a time. [`manifest`]: video and audio ladders with per-segment
//!   sizes (Sabre movie JSON, Pensieve `video_size_N`, our JSON/TOML). Errors name file,
//!   line and field.
//! - [`sabre`]: the Sabre compatibility mode, a single-buffer model that reproduces the
//!   reference simulator's output (its golden tests compare every download).
//! - [`sim`]: the general model: audio and video buffers over one bottleneck link, startup,
//!   stalls by cause, maximum buffer, latency, sequential or parallel requests, abandonment.
//! - [`algo`]: the rules behind the [`algo::Abr`] trait: throughput, BBA, BOLA, BOLA-E,
//!   DYNAMIC, robust MPC with fixed or independent audio, and our [`algo::joint`] rule.
//! - [`optimum`]: the offline dynamic-programming bound. [`metrics`] and [`stats`]: session
//!   metrics, quantiles, bootstrap confidence intervals. [`plot`]: SVG charts.
//! - [`synth`]: seeded synthetic trace sets (high-bandwidth fades, LTE-like cellular).
//!
//! ```
//! use abr_sim::{scenario, sim};
//! use abr_sim::units::{Kbps, Ms};
//! let manifest = scenario::manifest(Ms::from_secs(120.0));
//! let trace = scenario::drop_trace(Kbps(6000.0), Ms::from_secs(40.0), Kbps(800.0));
//! let m = sim::run_named(&trace, &manifest, "joint", &Default::default(), None).expect("valid inputs");
//! assert_eq!(m.rebuffer_count, 0);
//! ```

// Validation writes `!(x > 0.0)` on purpose: it rejects NaN as well, which `x <= 0.0` would not.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod algo;
pub mod error;
mod jsonpos;
pub mod manifest;
pub mod metrics;
pub mod optimum;
pub mod plot;
pub mod sabre;
pub mod scenario;
pub mod sim;
pub mod stats;
pub mod synth;
pub mod trace;
pub mod units;

pub use error::{LoadError, ParseError, SimError};
pub use manifest::{Kind, Manifest, Track};
pub use metrics::SessionMetrics;
pub use trace::{Period, Trace};
