//! `mezzfs replay batch`: the regression and performance gate. Every replay in a directory is
//! rerun with a control and a candidate read-ahead strategy, alternating which goes first, N
//! times each on fresh mounts; the minimum time of each (the least disturbed run) is compared.
//! Only reads are rerun: replays of mounts that only wrote are skipped with a note.

use std::path::PathBuf;

use anyhow::Context;

use super::super::Global;
use super::rerun::{RerunReport, parse_strategy, rerun};

#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// Directory of replay files (every regular file in it is tried; their reads are rerun,
    /// their writes are not, and a replay with no files to read is skipped).
    dir: PathBuf,
    /// The strategy to compare against: adaptive, fixed or fixed:SIZE.
    #[arg(long, default_value = "fixed")]
    control: String,
    /// The strategy under test.
    #[arg(long, default_value = "adaptive")]
    candidate: String,
    /// Reruns per replay and strategy.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Fail when the candidate's minimum time exceeds the control's by more than this factor.
    #[arg(long, default_value_t = 1.10)]
    threshold: f64,
    /// Memory budget of each mount.
    #[arg(long, default_value = "256MiB", value_parser = mezz_mount::spec::parse_size)]
    memory: u64,
    #[command(flatten)]
    shape: super::rerun::ShapeArgs,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, serde::Serialize)]
struct Row {
    replay: String,
    control_min_s: f64,
    candidate_min_s: f64,
    ratio: f64,
    control_fetched: u64,
    candidate_fetched: u64,
    bytes_read: u64,
    failures: Vec<String>,
    slower: bool,
}

pub fn run(global: &Global, a: &BatchArgs) -> anyhow::Result<()> {
    if a.runs == 0 || a.runs > 100 {
        anyhow::bail!("--runs takes 1 to 100");
    }
    let shape = a.shape.shape()?;
    let control = parse_strategy(&a.control)?;
    let candidate = parse_strategy(&a.candidate)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&a.dir)
        .with_context(|| format!("reading {}", a.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "mezzreplay"))
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!("no *.mezzreplay files in {}", a.dir.display());
    }
    let mut rows = Vec::new();
    for file in &files {
        let d = super::load(file)?;
        if super::rerun::nothing_to_read(&d) {
            eprintln!(
                "mezzfs: {}: its mount had no files to read (writes are not rerun); skipped",
                file.display()
            );
            continue;
        }
        let mut times = [Vec::new(), Vec::new()];
        let mut last: [Option<RerunReport>; 2] = [None, None];
        let mut failures = Vec::new();
        for run in 0..a.runs {
            // Alternate which strategy goes first, so neither always runs on a warmer machine.
            let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
            for which in order {
                let strategy = if which == 0 { control } else { candidate };
                let name = if which == 0 { &a.control } else { &a.candidate };
                eprintln!(
                    "mezzfs: {} run {}/{} with {name}",
                    file.display(),
                    run + 1,
                    a.runs
                );
                match rerun(global, &d, strategy, a.memory, false, shape, None) {
                    Ok(r) => {
                        if r.failed() {
                            failures.push(format!(
                                "{name}: {} unexpected reads, {} digest mismatches",
                                r.unexpected,
                                r.digest_mismatches.len()
                            ));
                        }
                        times[which].push(r.secs);
                        last[which] = Some(r);
                    }
                    Err(e) => failures.push(format!("{name}: {e:#}")),
                }
            }
        }
        let min = |v: &Vec<f64>| v.iter().copied().fold(f64::INFINITY, f64::min);
        let (c, k) = (min(&times[0]), min(&times[1]));
        let ratio = k / c;
        rows.push(Row {
            replay: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            control_min_s: c,
            candidate_min_s: k,
            ratio,
            control_fetched: last[0].as_ref().map_or(0, |r| r.bytes_fetched),
            candidate_fetched: last[1].as_ref().map_or(0, |r| r.bytes_fetched),
            bytes_read: last[1].as_ref().map_or(0, |r| r.bytes_read),
            // NaN (no successful run) counts as slower.
            slower: ratio.is_nan() || ratio > a.threshold,
            failures,
        });
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "control: {}   candidate: {}   runs: {}   threshold: {:.2}x",
            a.control, a.candidate, a.runs, a.threshold
        );
        println!(
            "| replay | read MiB | control min s | candidate min s | candidate/control | control fetched MiB | candidate fetched MiB | result |"
        );
        println!("|---|--:|--:|--:|--:|--:|--:|---|");
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        for r in &rows {
            let result = if !r.failures.is_empty() {
                format!("ERRORS: {}", r.failures.join("; "))
            } else if r.slower {
                "SLOWER".to_string()
            } else {
                "ok".to_string()
            };
            println!(
                "| {} | {:.1} | {:.3} | {:.3} | {:.2} | {:.1} | {:.1} | {result} |",
                r.replay,
                mib(r.bytes_read),
                r.control_min_s,
                r.candidate_min_s,
                r.ratio,
                mib(r.control_fetched),
                mib(r.candidate_fetched)
            );
        }
    }
    let bad: Vec<&str> = rows
        .iter()
        .filter(|r| r.slower || !r.failures.is_empty())
        .map(|r| r.replay.as_str())
        .collect();
    if !bad.is_empty() {
        anyhow::bail!("the gate failed for: {}", bad.join(", "));
    }
    Ok(())
}
