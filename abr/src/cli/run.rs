//! `abr-sim run`.

use super::{Inputs, Player, parse_drop};
use abr_sim::metrics::SessionMetrics;
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
        write!(out, "{}", metrics_table(&m, opt.map(|o| o.joint_score)))?;
    }
    Ok(())
}

/// The session's metrics as a table grouped by topic, with units and a precision fit for
/// reading (`--json` keeps the exact values). Pure, for the tests.
pub fn metrics_table(m: &SessionMetrics, optimum: Option<f64>) -> String {
    let secs = |v: f64| format!("{v:.2} s");
    let kbps = |v: f64| format!("{v:.0} kbps");
    let mbit = |v: f64| format!("{:.1} Mbit", v / 1e6);
    let score = |v: f64| format!("{v:.3}");
    let count = |v: u32| v.to_string();
    let mut groups: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "session",
            vec![
                ("played", secs(m.played_s)),
                ("startup delay", secs(m.startup_delay_s)),
                ("wall time", secs(m.session_s)),
            ],
        ),
        (
            "stalls",
            vec![
                (
                    "count",
                    format!(
                        "{} (video {}, audio {})",
                        m.rebuffer_count, m.rebuffer_video_count, m.rebuffer_audio_count
                    ),
                ),
                (
                    "time",
                    format!(
                        "{} (video {}, audio {})",
                        secs(m.rebuffer_s),
                        secs(m.rebuffer_video_s),
                        secs(m.rebuffer_audio_s)
                    ),
                ),
                ("ratio", format!("{:.2} %", 100.0 * m.rebuffer_ratio)),
            ],
        ),
        (
            "video",
            vec![
                ("bitrate (time average)", kbps(m.video_bitrate_kbps)),
                ("quality (utility)", score(m.video_quality)),
                (
                    "switches",
                    format!(
                        "{} ({} of changes)",
                        count(m.video_switches),
                        kbps(m.video_switch_kbps)
                    ),
                ),
            ],
        ),
        (
            "audio",
            vec![
                ("bitrate (time average)", kbps(m.audio_bitrate_kbps)),
                ("quality (utility)", score(m.audio_quality)),
                (
                    "switches",
                    format!(
                        "{} ({} of changes)",
                        count(m.audio_switches),
                        kbps(m.audio_switch_kbps)
                    ),
                ),
                ("video below audio", secs(m.video_below_audio_s)),
            ],
        ),
        (
            "scores",
            vec![
                ("joint_score", score(m.joint_score)),
                ("sabre_score", score(m.sabre_score)),
                ("pensieve_qoe", score(m.pensieve_qoe)),
            ],
        ),
        (
            "downloads",
            vec![
                ("downloaded", mbit(m.bits_downloaded)),
                ("wasted", mbit(m.bits_wasted)),
                ("abandoned", count(m.abandoned)),
                ("replaced", count(m.replaced)),
            ],
        ),
    ];
    if let Some(o) = optimum {
        groups.push((
            "offline optimum",
            vec![
                ("joint_score", score(o)),
                (
                    "this rule",
                    if o > 0.0 {
                        format!("{:.1} % of it", 100.0 * m.joint_score / o)
                    } else {
                        format!("{} below it", score(o - m.joint_score))
                    },
                ),
            ],
        ));
    }
    let width = groups
        .iter()
        .flat_map(|g| g.1.iter().map(|r| r.0.len()))
        .max()
        .unwrap_or(0);
    let mut s = format!("{} with {}\n", m.trace, m.algorithm);
    for (group, rows) in groups {
        s.push_str(&format!("\n{group}\n"));
        for (label, value) in rows {
            s.push_str(&format!("  {label:<width$}  {value}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_rounds_and_names_units() {
        let m = SessionMetrics {
            trace: "t".into(),
            algorithm: "joint".into(),
            audio_bitrate_kbps: 315.022_222_222_222_24,
            rebuffer_s: 1.234_567,
            rebuffer_ratio: 0.012_345,
            joint_score: 1.5,
            bits_downloaded: 123_456_789.0,
            ..SessionMetrics::default()
        };
        let t = metrics_table(&m, Some(2.0));
        for want in [
            "\naudio\n  bitrate (time average)  315 kbps\n",
            "  time                    1.23 s (video 0.00 s, audio 0.00 s)\n",
            "  ratio                   1.23 %\n",
            "  downloaded              123.5 Mbit\n",
            "  this rule               75.0 % of it\n",
        ] {
            assert!(t.contains(want), "'{want}' not in:\n{t}");
        }
        assert!(!t.contains("315.02"), "{t}");
    }
}
