//! `abr-sim synth`: writes a seeded synthetic trace set to a directory.

use abr_sim::synth;
use abr_sim::units::Ms;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// 20-100 Mbit/s with fades of varying depth (CSV files).
    HighBandwidth,
    /// LTE-like 0.3-25 Mbit/s with outages, written as mahimahi delivery opportunities.
    Cellular,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Which kind of network.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Directory to write to (created; existing files of the same names are replaced).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Number of traces.
    #[arg(long, short = 'n', default_value_t = 30)]
    pub count: u64,
    /// Seed: the same seed, kind, count and length write the same files.
    #[arg(long, default_value_t = 22)]
    pub seed: u64,
    /// First trace index (to write a disjoint set with the same seed).
    #[arg(long, default_value_t = 0)]
    pub first: u64,
    /// Length of each trace, seconds (sessions loop a trace that ends early).
    #[arg(long, default_value_t = 320.0)]
    pub duration_s: f64,
}

pub fn main(a: SynthArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.duration_s.is_finite() && a.duration_s >= 1.0 && a.duration_s <= 86_400.0,
        "--duration-s must be between 1 and 86400"
    );
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let d = Ms::from_secs(a.duration_s);
    for i in a.first..a.first + a.count {
        let (name, text) = match a.kind {
            Kind::HighBandwidth => {
                let t = synth::high_bandwidth(a.seed, i, d);
                (format!("{}.csv", t.name), synth::to_csv(&t))
            }
            Kind::Cellular => {
                let t = synth::cellular(a.seed, i, d);
                (format!("{}.down", t.name), synth::to_mahimahi(&t))
            }
        };
        let p = a.out.join(name);
        // Write beside, then rename: no half-written trace is left behind.
        let tmp = a.out.join(format!(".{i}.tmp"));
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &p).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
