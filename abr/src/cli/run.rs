//! `abr-sim run`.

use super::{Inputs, Player, parse_drop};
use abr_sim::optimum::optimum;
use abr_sim::scenario::drop_trace;
use abr_sim::sim::{SessionLog, run_named};
use abr_sim::trace;
use abr_sim::units::{Kbps, Ms};
use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Throughput trace file.
    #[arg(long, short, required_unless_present = "drop", conflicts_with = "drop")]
    pub trace: Option<PathBuf>,
    /// Instead of a trace: BEFORE_KBPS,AT_S,AFTER_KBPS, a sudden throughput drop.
    #[arg(long)]
    pub drop: Option<String>,
    /// Rule (see `abr-sim algorithms`).
    #[arg(long, short, default_value = "joint")]
    pub algo: String,
    #[command(flatten)]
    pub inputs: Inputs,
    #[command(flatten)]
    pub player: Player,
    /// Print the session metrics as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print the per-segment log (tab-separated) before the metrics.
    #[arg(long)]
    pub log: bool,
    /// Also run the offline optimum and report the score as a percentage of it.
    #[arg(long)]
    pub optimum: bool,
}

pub fn load_trace(
    trace: &Option<PathBuf>,
    drop: &Option<String>,
    inputs: &Inputs,
) -> anyhow::Result<trace::Trace> {
    match (trace, drop) {
        (Some(p), _) => Ok(trace::load(p, inputs.trace_format, &inputs.trace_options())
            .with_context(|| format!("loading trace {}", p.display()))?),
        (None, Some(d)) => {
            let (a, at, b) = parse_drop(d)?;
            Ok(drop_trace(Kbps(a), Ms::from_secs(at), Kbps(b)))
        }
        (None, None) => anyhow::bail!("give --trace or --drop"),
    }
}

pub fn main(a: RunArgs) -> anyhow::Result<()> {
    let manifest = a.inputs.manifest()?;
    let t = load_trace(&a.trace, &a.drop, &a.inputs)?;
    let cfg = a.player.config();
    let mut log = SessionLog::default();
    let m = run_named(&t, &manifest, &a.algo, &cfg, a.log.then_some(&mut log))?;
    let mut out = std::io::stdout().lock();
    if a.log {
        writeln!(
            out,
            "kind\tsegment\trung\tkbps\tbits\trequested_ms\tdone_ms\tabandoned\tvideo_buffer_ms\taudio_buffer_ms\testimate_kbps"
        )?;
        for r in &log.segments {
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{:.1}\t{:.1}\t{}\t{:.1}\t{:.1}\t{:.0}",
                r.kind.name(),
                r.segment,
                r.rung,
                r.bitrate_kbps,
                r.size_bits,
                r.requested_ms,
                r.done_ms,
                r.abandoned,
                r.video_buffer_ms,
                r.audio_buffer_ms,
                r.estimate_kbps
            )?;
        }
    }
    let opt = if a.optimum {
        Some(optimum(
            &t,
            &manifest,
            cfg.max_buffer,
            cfg.trace_end,
            Ms(super::OPTIMUM_BUCKET_MS),
        )?)
    } else {
        None
    };
    if a.json {
        let mut v = serde_json::to_value(&m)?;
        if let (Some(o), Some(obj)) = (&opt, v.as_object_mut()) {
            obj.insert("optimum_joint_score".into(), o.joint_score.into());
        }
        writeln!(out, "{v}")?;
    } else {
        for (k, v) in serde_json::to_value(&m)?.as_object().into_iter().flatten() {
            writeln!(out, "{k}: {v}")?;
        }
        if let Some(o) = opt {
            writeln!(out, "optimum_joint_score: {}", o.joint_score)?;
            writeln!(
                out,
                "percent_of_optimum: {:.1}",
                100.0 * m.joint_score / o.joint_score
            )?;
        }
    }
    Ok(())
}
