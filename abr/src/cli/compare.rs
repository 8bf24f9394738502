//! `abr-sim compare`: trace sets x rules, in parallel.

use super::{Inputs, Player};
use abr_sim::metrics::{SessionMetrics, field, numeric_fields};
use abr_sim::optimum::optimum;
use abr_sim::sim::run_named;
use abr_sim::stats::{Difference, Summary, bootstrap_difference, summary};
use abr_sim::trace::TraceSet;
use abr_sim::units::Ms;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Trace set: a directory (every file in it) or one file. Repeat for several sets.
    #[arg(long, short, required = true)]
    pub traces: Vec<PathBuf>,
    /// Rules to run on every trace.
    #[arg(
        long,
        short,
        value_delimiter = ',',
        default_value = "throughput,bba,bola,bolae,dynamic,mpc,bola+indep,joint"
    )]
    pub algos: Vec<String>,
    /// The rule differences are reported against [default: bola if in --algos, else the
    /// first rule]. With --ladder, a `RULE@NAME`.
    #[arg(long)]
    pub baseline: Option<String>,
    /// The rule compared with the baseline [default: joint if in --algos, else the last rule
    /// other than the baseline]. With a single rule there is no comparison. With --ladder, a
    /// `RULE@NAME`.
    #[arg(long)]
    pub candidate: Option<String>,
    /// Also run the offline optimum (DP) and report joint_score as % of it.
    #[arg(long)]
    pub optimum: bool,
    /// Compare ladders: `NAME=MANIFEST`, repeated (e.g. `--ladder fixed=fixed.json --ladder
    /// hull=hull.json`, from `segment-encode abr-manifest`). Every rule runs on every ladder,
    /// reported as `RULE@NAME`; the default pair is the first rule on the first ladder against
    /// it on the second. Replaces --manifest.
    #[arg(long, value_name = "NAME=FILE", conflicts_with = "manifest")]
    pub ladder: Vec<String>,
    /// Use at most this many traces per set.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Bootstrap resamples for confidence intervals.
    #[arg(long, default_value_t = 2000)]
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write every session's metrics as CSV.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write sessions and summaries as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the summary tables as Markdown.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub inputs: Inputs,
    #[command(flatten)]
    pub player: Player,
}

/// Metrics the table and the difference report show.
const TABLE: [&str; 8] = [
    "video_bitrate_kbps",
    "audio_bitrate_kbps",
    "rebuffer_count",
    "rebuffer_s",
    "audio_switches",
    "audio_switches_per_min",
    "video_below_audio_s",
    "joint_score",
];
/// What the table and differences add when the manifests have per-segment quality scores.
const SCORES: [&str; 2] = ["video_score", "video_score_p10"];
const DIFFS: [&str; 6] = [
    "joint_score",
    "rebuffer_s",
    "rebuffer_count",
    "audio_bitrate_kbps",
    "video_bitrate_kbps",
    "video_below_audio_s",
];

/// How far a rule's mean joint_score is from the offline optimum's.
#[derive(Debug, Serialize)]
struct OptimumGap {
    rule: String,
    gap: f64,
    percent: Option<f64>,
}

/// The played-pair invariant per rule: sessions that played video below audio.
#[derive(Debug, Serialize)]
struct Invariant {
    rule: String,
    violating_sessions: usize,
    mean_video_below_audio_s: f64,
}

#[derive(Debug, Serialize)]
struct SetReport {
    set: String,
    traces: usize,
    summaries: Vec<(String, Vec<(String, Summary)>)>,
    optimum_mean: Option<f64>,
    optimum: Vec<OptimumGap>,
    invariant: Vec<Invariant>,
    differences: Vec<(String, Difference)>,
    /// `None` when only one rule ran (no paired differences).
    baseline: Option<String>,
    candidate: Option<String>,
}

/// The (baseline, candidate) pair the differences compare: the ones given, which must be in
/// `algos`, or defaults picked from `algos`; `None` when `algos` has a single rule and
/// neither is given.
pub fn pick_pair(
    algos: &[String],
    baseline: Option<&str>,
    candidate: Option<&str>,
) -> anyhow::Result<Option<(String, String)>> {
    for (opt, given) in [("--baseline", baseline), ("--candidate", candidate)] {
        if let Some(n) = given {
            anyhow::ensure!(
                algos.iter().any(|a| a == n),
                "{opt} `{n}` is not one of --algos ({})",
                algos.join(",")
            );
        }
    }
    let pick = |preferred: &str, not: Option<&str>, from_end: bool| -> Option<String> {
        let others = || algos.iter().filter(|a| Some(a.as_str()) != not);
        others()
            .find(|a| *a == preferred)
            .or_else(|| {
                if from_end {
                    others().next_back()
                } else {
                    others().next()
                }
            })
            .cloned()
    };
    // The candidate by default is joint: keep it out of the baseline's pick.
    let joint_default =
        (baseline != Some("joint") && algos.iter().any(|a| a == "joint")).then_some("joint");
    let base = match baseline {
        Some(b) => b.to_string(),
        None => match pick("bola", candidate.or(joint_default), false) {
            Some(b) => b,
            None => return Ok(None),
        },
    };
    let cand = match candidate {
        Some(c) => c.to_string(),
        None => match pick("joint", Some(&base), true) {
            Some(c) => c,
            None if baseline.is_some() => {
                anyhow::bail!("--baseline `{base}` needs another rule in --algos to compare")
            }
            None => return Ok(None),
        },
    };
    anyhow::ensure!(
        base != cand,
        "--baseline and --candidate are both `{base}`: pick two different rules"
    );
    Ok(Some((base, cand)))
}

pub fn main(a: CompareArgs) -> anyhow::Result<()> {
    if let Some(j) = a.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(j)
            .build_global()
            .context("starting worker threads")?;
    }
    let ladders = ladders(&a)?;
    let manifest = &ladders[0].1;
    let cfg = a.player.config();
    // Fail early on unknown names rather than after hours.
    for (_, m) in &ladders {
        for n in &a.algos {
            abr_sim::algo::by_name(n, &m.video, m.audio.as_ref(), cfg.max_buffer)?;
        }
    }
    anyhow::ensure!(
        !(a.optimum && ladders.len() > 1),
        "--optimum with several --ladder manifests: run the optimum on one manifest at a time"
    );
    // (label, ladder, rule) of every session a trace gets.
    let runs: Vec<(String, usize, &String)> = if a.ladder.is_empty() {
        a.algos.iter().map(|n| (n.clone(), 0, n)).collect()
    } else {
        a.algos
            .iter()
            .flat_map(|n| {
                ladders
                    .iter()
                    .enumerate()
                    .map(move |(i, (name, _))| (format!("{n}@{name}"), i, n))
            })
            .collect()
    };
    let labels: Vec<String> = runs.iter().map(|r| r.0.clone()).collect();
    let (base_default, cand_default) = match (&a.baseline, &a.candidate, ladders.len() > 1) {
        (None, None, true) => (Some(labels[0].clone()), Some(labels[1].clone())),
        _ => (a.baseline.clone(), a.candidate.clone()),
    };
    let pair = pick_pair(&labels, base_default.as_deref(), cand_default.as_deref())?;
    let scored = ladders.iter().any(|(_, m)| m.video.has_scores());
    let table_metrics: Vec<&str> = TABLE
        .iter()
        .copied()
        .chain(SCORES.iter().copied().filter(|_| scored))
        .collect();
    let diff_metrics: Vec<&str> = SCORES
        .iter()
        .copied()
        .filter(|_| scored)
        .chain(DIFFS.iter().copied())
        .collect();
    if pair.is_none() && !a.quiet {
        eprintln!("one rule: no paired differences (give two or more rules in --algos)");
    }
    if a.limit == Some(0) {
        anyhow::bail!("--limit 0 leaves no traces: give at least 1");
    }
    let mut csv = match &a.csv {
        Some(p) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            );
            let names: Vec<&str> = numeric_fields().iter().map(|f| f.0).collect();
            writeln!(
                f,
                "set,trace,algorithm,{},optimum_joint_score",
                names.join(",")
            )?;
            Some(f)
        }
        None => None,
    };
    let mut reports = Vec::new();
    let mut all_sessions: Vec<SessionMetrics> = Vec::new();
    let mut markdown = String::new();
    for dir in &a.traces {
        let mut set = TraceSet::open(dir, a.inputs.trace_format, a.inputs.trace_options())?;
        if let Some(l) = a.limit {
            set.paths.truncate(l);
        }
        let set_name = dir.file_name().map_or(dir.display().to_string(), |n| {
            n.to_string_lossy().into_owned()
        });
        let jobs = set.len() * (runs.len() + usize::from(a.optimum));
        let bar = if a.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(jobs as u64)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:40}] {pos}/{len} sessions {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(set_name.clone());
        let started = std::time::Instant::now();
        type Row = (Vec<SessionMetrics>, Option<f64>);
        let rows: Vec<anyhow::Result<Row>> = (0..set.len())
            .into_par_iter()
            .map(|i| {
                let t = set.get(i)?;
                let mut ms = Vec::with_capacity(runs.len());
                for (label, l, n) in &runs {
                    let mut m = run_named(&t, &ladders[*l].1, n, &cfg, None)
                        .with_context(|| format!("{} with {label}", t.name))?;
                    m.algorithm.clone_from(label);
                    ms.push(m);
                    bar.inc(1);
                }
                let opt = if a.optimum {
                    let o = optimum(
                        &t,
                        manifest,
                        cfg.max_buffer,
                        cfg.trace_end,
                        Ms(super::OPTIMUM_BUCKET_MS),
                    )?;
                    bar.inc(1);
                    Some(o.joint_score)
                } else {
                    None
                };
                Ok((ms, opt))
            })
            .collect();
        bar.finish_and_clear();
        let elapsed = started.elapsed().as_secs_f64();
        let rows: Vec<Row> = rows
            .into_iter()
            .collect::<anyhow::Result<_>>()
            .with_context(|| format!("trace set {}", dir.display()))?;
        eprintln!(
            "{set_name}: {} traces x {} rules in {elapsed:.2} s",
            rows.len(),
            runs.len()
        );
        if let Some(f) = csv.as_mut() {
            for (ms, opt) in &rows {
                for m in ms {
                    let vals: Vec<String> = numeric_fields()
                        .iter()
                        .map(|(_, g)| format!("{}", g(m)))
                        .collect();
                    writeln!(
                        f,
                        "{set_name},{},{},{},{}",
                        m.trace.replace(',', ";"),
                        m.algorithm,
                        vals.join(","),
                        opt.map_or(String::new(), |o| o.to_string())
                    )?;
                }
            }
        }
        let col = |algo: usize, metric: &str| -> Vec<f64> {
            let g = field(metric).unwrap_or(|_| f64::NAN);
            rows.iter().map(|(ms, _)| g(&ms[algo])).collect()
        };
        let idx = |n: &str| labels.iter().position(|x| x == n).unwrap_or(0);
        let summaries: Vec<(String, Vec<(String, Summary)>)> = labels
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.clone(),
                    table_metrics
                        .iter()
                        .map(|m| (m.to_string(), summary(&col(i, m))))
                        .collect(),
                )
            })
            .collect();
        let opt_mean = a
            .optimum
            .then(|| rows.iter().filter_map(|r| r.1).sum::<f64>() / rows.len().max(1) as f64);
        // Gap to the optimum is always meaningful; a percentage only when the optimum's mean
        // is positive (on sets where stalls dominate, scores are negative).
        let percent: Vec<OptimumGap> = match opt_mean {
            Some(o) => labels
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let mean = summary(&col(i, "joint_score")).mean;
                    OptimumGap {
                        rule: n.clone(),
                        gap: o - mean,
                        percent: (o > 0.0).then(|| 100.0 * mean / o),
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        let invariant: Vec<Invariant> = labels
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let below = col(i, "video_below_audio_s");
                Invariant {
                    rule: n.clone(),
                    violating_sessions: below.iter().filter(|&&s| s > 0.0).count(),
                    mean_video_below_audio_s: summary(&below).mean,
                }
            })
            .collect();
        let differences: Vec<(String, Difference)> = match &pair {
            Some((b, c)) => {
                let (bi, ci) = (idx(b), idx(c));
                diff_metrics
                    .iter()
                    .map(|m| {
                        (
                            m.to_string(),
                            bootstrap_difference(
                                &col(ci, m),
                                &col(bi, m),
                                a.bootstrap,
                                0.95,
                                a.seed,
                            ),
                        )
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        let report = SetReport {
            set: set_name,
            traces: rows.len(),
            summaries,
            optimum_mean: opt_mean,
            optimum: percent,
            invariant,
            differences,
            baseline: pair.as_ref().map(|p| p.0.clone()),
            candidate: pair.as_ref().map(|p| p.1.clone()),
        };
        let md = table(&report);
        print!("{md}");
        markdown.push_str(&md);
        reports.push(report);
        if a.json.is_some() {
            all_sessions.extend(rows.into_iter().flat_map(|r| r.0));
        }
    }
    if let Some(mut f) = csv {
        f.flush()?;
    }
    if let Some(p) = &a.json {
        let v = serde_json::json!({ "sets": reports, "sessions": all_sessions });
        std::fs::write(p, serde_json::to_string(&v)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &a.markdown {
        std::fs::write(p, markdown).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// The manifests sessions run on: the `--ladder` ones, named, or the one of `--manifest`.
fn ladders(a: &CompareArgs) -> anyhow::Result<Vec<(String, abr_sim::manifest::Manifest)>> {
    if a.ladder.is_empty() {
        return Ok(vec![(String::new(), a.inputs.manifest()?)]);
    }
    let mut out: Vec<(String, abr_sim::manifest::Manifest)> = Vec::new();
    for spec in &a.ladder {
        let Some((name, file)) = spec.split_once('=') else {
            anyhow::bail!("--ladder `{spec}`: expected NAME=MANIFEST, e.g. hull=hull.json");
        };
        anyhow::ensure!(
            !name.is_empty() && !name.contains(['@', ',']),
            "--ladder `{spec}`: the name must be non-empty, without `@` or `,`"
        );
        anyhow::ensure!(
            out.iter().all(|(n, _)| n != name),
            "--ladder `{spec}`: the name `{name}` is given twice"
        );
        let inputs = super::Inputs {
            manifest: Some(PathBuf::from(file)),
            ..a.inputs.clone()
        };
        out.push((name.to_string(), inputs.manifest()?));
    }
    Ok(out)
}

fn table(r: &SetReport) -> String {
    let (set, n, summaries, percent) = (&r.set, r.traces, &r.summaries, &r.optimum);
    let (invariant, diffs, candidate, baseline) =
        (&r.invariant, &r.differences, &r.candidate, &r.baseline);
    let mut s = format!("\n### {set} ({n} traces): means (p10 / p90)\n\n| rule |");
    let columns: Vec<&String> = summaries
        .first()
        .map(|(_, cols)| cols.iter().map(|c| &c.0).collect())
        .unwrap_or_default();
    for m in &columns {
        s.push_str(&format!(" {m} |"));
    }
    if !percent.is_empty() {
        s.push_str(" gap to optimum (% of it) |");
    }
    s.push_str("\n|---|");
    for _ in 0..columns.len() + usize::from(!percent.is_empty()) {
        s.push_str("---:|");
    }
    s.push('\n');
    for (i, (name, cols)) in summaries.iter().enumerate() {
        s.push_str(&format!("| {name} |"));
        for (_, sm) in cols {
            s.push_str(&format!(
                " {:.3} ({:.2} / {:.2}) |",
                sm.mean, sm.p10, sm.p90
            ));
        }
        if let Some(g) = percent.get(i) {
            match g.percent {
                Some(p) => s.push_str(&format!(" {:.3} ({p:.1}%) |", g.gap)),
                None => s.push_str(&format!(" {:.3} |", g.gap)),
            }
        }
        s.push('\n');
    }
    s.push_str("\nPlayed-pair invariant (video never plays below audio), sessions violating it:");
    for (i, v) in invariant.iter().enumerate() {
        s.push_str(&format!(
            "{} {} {}/{n}",
            if i == 0 { "" } else { ";" },
            v.rule,
            v.violating_sessions
        ));
        if v.violating_sessions > 0 {
            s.push_str(&format!(
                " ({:.2} s per session)",
                v.mean_video_below_audio_s
            ));
        }
    }
    s.push_str(".\n");
    let (Some(candidate), Some(baseline)) = (candidate, baseline) else {
        return s;
    };
    s.push_str(&format!("\n{candidate} minus {baseline}, mean paired difference [95% bootstrap CI]:\n\n| metric | difference | CI low | CI high |\n|---|---:|---:|---:|\n"));
    for (m, d) in diffs {
        s.push_str(&format!(
            "| {m} | {:.4} | {:.4} | {:.4} |\n",
            d.mean, d.low, d.high
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::pick_pair;

    fn algos(s: &str) -> Vec<String> {
        s.split(',').map(str::to_string).collect()
    }

    fn pair(b: &str, c: &str) -> Option<(String, String)> {
        Some((b.to_string(), c.to_string()))
    }

    #[test]
    fn defaults_come_from_the_list() {
        let all = algos("throughput,bba,bola,joint");
        assert_eq!(
            pick_pair(&all, None, None).expect("ok"),
            pair("bola", "joint")
        );
        assert_eq!(pick_pair(&algos("bola"), None, None).expect("ok"), None);
        assert_eq!(
            pick_pair(&algos("bba,mpc"), None, None).expect("ok"),
            pair("bba", "mpc")
        );
        assert_eq!(
            pick_pair(&algos("bola,mpc"), None, None).expect("ok"),
            pair("bola", "mpc")
        );
        assert_eq!(
            pick_pair(&algos("joint,mpc"), None, None).expect("ok"),
            pair("mpc", "joint")
        );
        assert_eq!(
            pick_pair(&all, None, Some("bola")).expect("ok"),
            pair("throughput", "bola")
        );
        assert_eq!(
            pick_pair(&all, Some("joint"), None).expect("ok"),
            pair("joint", "bola")
        );
    }

    #[test]
    fn given_names_must_be_in_the_list_and_differ() {
        let e = pick_pair(&algos("bola"), None, Some("joint")).expect_err("not listed");
        assert!(
            e.to_string()
                .contains("--candidate `joint` is not one of --algos (bola)")
        );
        assert!(pick_pair(&algos("bola,mpc"), Some("bola"), Some("bola")).is_err());
        assert!(pick_pair(&algos("bola"), Some("bola"), None).is_err());
    }
}
