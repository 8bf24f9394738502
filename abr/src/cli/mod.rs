//! The command-line edges: argument parsing, file I/O and printing around the library.

pub mod compare;
pub mod plot;
pub mod run;
pub mod sabre;
pub mod synth;

use abr_sim::manifest::{self, DEFAULT_AUDIO_LADDER_KBPS, Manifest};
use abr_sim::sim::{Requests, SimConfig, TraceEnd};
use abr_sim::trace::{TraceFormat, TraceOptions};
use abr_sim::units::{Kbps, Ms};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

/// Where manifests and traces come from.
#[derive(Debug, Args, Clone)]
pub struct Inputs {
    /// Manifest file or Pensieve video_size directory (default: the article's ladder).
    #[arg(long, short)]
    pub manifest: Option<PathBuf>,
    /// Keep a video-only manifest video-only instead of adding the default audio ladder.
    #[arg(long)]
    pub no_audio: bool,
    /// Trace format, when guessing from the name and content is not enough.
    #[arg(long, value_enum)]
    pub trace_format: Option<TraceFormat>,
    /// Latency for traces without one (cooked, mahimahi, CSV without latency_ms).
    #[arg(long, default_value_t = 80.0)]
    pub default_latency_ms: f64,
    /// Bin width for counting mahimahi delivery opportunities.
    #[arg(long, default_value_t = 500.0)]
    pub mahimahi_bin_ms: f64,
    /// Content length of the built-in manifest, seconds.
    #[arg(long, default_value_t = 180.0)]
    pub duration_s: f64,
}

impl Inputs {
    pub fn trace_options(&self) -> TraceOptions {
        TraceOptions {
            default_latency: Ms(self.default_latency_ms),
            mahimahi_bin: Ms(self.mahimahi_bin_ms),
        }
    }

    pub fn manifest(&self) -> anyhow::Result<Manifest> {
        let m = match &self.manifest {
            Some(p) => {
                manifest::load(p).with_context(|| format!("loading manifest {}", p.display()))?
            }
            None => abr_sim::scenario::manifest(Ms::from_secs(self.duration_s)),
        };
        if self.no_audio {
            return Ok(m);
        }
        Ok(m.with_default_audio(&DEFAULT_AUDIO_LADDER_KBPS.map(Kbps), Ms(2000.0))?)
    }
}

/// Player and network settings.
#[derive(Debug, Args, Clone)]
pub struct Player {
    /// Maximum buffer per track, seconds.
    #[arg(long, default_value_t = 25.0)]
    pub max_buffer_s: f64,
    /// Content each buffer needs before playback starts or resumes, seconds.
    #[arg(long, default_value_t = 2.0)]
    pub startup_s: f64,
    /// Audio and video requests one at a time or both at once sharing the link.
    #[arg(long, value_enum, default_value_t = Requests::Sequential)]
    pub requests: Requests,
    /// What happens after the trace's last period.
    #[arg(long, value_enum, default_value_t = TraceEnd::Loop)]
    pub trace_end: TraceEnd,
    /// Never abandon downloads.
    #[arg(long)]
    pub no_abandon: bool,
}

impl Player {
    pub fn config(&self) -> SimConfig {
        SimConfig {
            max_buffer: Ms::from_secs(self.max_buffer_s),
            startup: Ms::from_secs(self.startup_s),
            requests: self.requests,
            trace_end: self.trace_end,
            abandon_every: (!self.no_abandon).then_some(Ms(250.0)),
        }
    }
}

/// `BEFORE_KBPS,AT_S,AFTER_KBPS`: the article's sudden drop.
pub fn parse_drop(s: &str) -> anyhow::Result<(f64, f64, f64)> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--drop `{s}`: expected BEFORE_KBPS,AT_S,AFTER_KBPS"))?;
    match v[..] {
        [a, b, c] if a > 0.0 && b > 0.0 && c > 0.0 => Ok((a, b, c)),
        _ => anyhow::bail!(
            "--drop `{s}`: expected three positive numbers BEFORE_KBPS,AT_S,AFTER_KBPS"
        ),
    }
}

/// Buffer bucket of the offline optimum: 200 ms keeps a 200-chunk, 50-pair DP well under a
/// second while the bound stays within rounding of the 100 ms one (see abr/BENCHMARKS.md).
pub const OPTIMUM_BUCKET_MS: f64 = 200.0;
