//! `abr-sim plot`.

use super::{Inputs, Player};
use abr_sim::plot::{RuleRow, Run, SetPanel, session_svg, summary_svg};
use abr_sim::sim::{SessionLog, run_named};
use abr_sim::stats::{bootstrap_difference, summary};
use anyhow::Context;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Throughput trace file (session chart).
    #[arg(long, short, conflicts_with_all = ["drop", "csv"])]
    pub trace: Option<PathBuf>,
    /// Instead of a trace: BEFORE_KBPS,AT_S,AFTER_KBPS, a sudden throughput drop.
    #[arg(long, conflicts_with = "csv")]
    pub drop: Option<String>,
    /// Rules to draw, one pair of panels each.
    #[arg(long, short, value_delimiter = ',', default_value = "bola,joint")]
    pub algos: Vec<String>,
    /// Summary chart from `compare --csv` output instead of a session chart: one panel per
    /// trace set, each rule's mean, 95% CI of the mean and p10-p90, and the offline optimum
    /// (joint_score of a `compare --optimum` CSV).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Metric of the summary chart.
    #[arg(long, default_value = "joint_score")]
    pub metric: String,
    /// Output SVG file.
    #[arg(long, short)]
    pub out: PathBuf,
    #[command(flatten)]
    pub inputs: Inputs,
    #[command(flatten)]
    pub player: Player,
}

pub fn main(a: PlotArgs) -> anyhow::Result<()> {
    let svg = if let Some(csv) = &a.csv {
        summary_from_csv(csv, &a.metric)?
    } else {
        let manifest = a.inputs.manifest()?;
        let t = super::run::load_trace(&a.trace, &a.drop, &a.inputs)?;
        let cfg = a.player.config();
        let mut logs = Vec::new();
        for name in &a.algos {
            let mut log = SessionLog::default();
            let m = run_named(&t, &manifest, name, &cfg, Some(&mut log))?;
            let title = format!(
                "{name} ({} stalls, {:.1} s; audio {:.0} kbps, video {:.0} kbps)",
                m.rebuffer_count, m.rebuffer_s, m.audio_bitrate_kbps, m.video_bitrate_kbps
            );
            logs.push((title, log));
        }
        let runs: Vec<Run<'_>> = logs
            .iter()
            .map(|(title, l)| Run {
                title: title.clone(),
                samples: &l.samples,
            })
            .collect();
        session_svg(&runs)
    };
    std::fs::write(&a.out, svg).with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

fn summary_from_csv(path: &PathBuf, metric: &str) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().context("empty CSV")?.split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n);
    let (ai, mi) = (
        col("algorithm").context("CSV has no `algorithm` column")?,
        col(metric).with_context(|| format!("CSV has no `{metric}` column"))?,
    );
    let (si, ti) = (col("set"), col("trace"));
    // The optimum is drawn where it is comparable: on the joint score it was computed for.
    let oi = (metric == "joint_score")
        .then(|| col("optimum_joint_score"))
        .flatten();
    let whole = path.display().to_string();
    // set -> (rule -> values, trace -> optimum)
    type Set = (BTreeMap<String, Vec<f64>>, BTreeMap<String, f64>);
    let mut sets: BTreeMap<String, Set> = BTreeMap::new();
    for (n, l) in lines.enumerate() {
        let cells: Vec<&str> = l.split(',').collect();
        let (Some(a), Some(v)) = (cells.get(ai), cells.get(mi)) else {
            anyhow::bail!("{}:{}: short row", path.display(), n + 2)
        };
        let v: f64 = v
            .parse()
            .with_context(|| format!("{}:{}: field `{metric}`", path.display(), n + 2))?;
        let set = si
            .and_then(|i| cells.get(i))
            .map_or(whole.clone(), |s| (*s).to_owned());
        let entry = sets.entry(set).or_default();
        entry.0.entry((*a).to_owned()).or_default().push(v);
        if let (Some(o), Some(t)) = (
            oi.and_then(|i| cells.get(i))
                .and_then(|c| c.parse::<f64>().ok()),
            ti.and_then(|i| cells.get(i)),
        ) {
            entry.1.insert((*t).to_owned(), o);
        }
    }
    if sets.is_empty() {
        anyhow::bail!("{}: no rows", path.display());
    }
    let panels: Vec<SetPanel> = sets
        .into_iter()
        .map(|(set, (rules, optimum))| SetPanel {
            set,
            rows: rules
                .into_iter()
                .map(|(name, v)| {
                    let zeros = vec![0.0; v.len()];
                    let ci = bootstrap_difference(&v, &zeros, 2000, 0.95, 17);
                    RuleRow {
                        name,
                        summary: summary(&v),
                        ci: (ci.low, ci.high),
                    }
                })
                .collect(),
            optimum: (!optimum.is_empty())
                .then(|| optimum.values().sum::<f64>() / optimum.len() as f64),
        })
        .collect();
    Ok(summary_svg(metric, &panels))
}
