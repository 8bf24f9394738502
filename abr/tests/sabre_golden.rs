//! Sabre compatibility: every case in tests/golden/cases.txt, run by the reference
//! (scripts/make-sabre-golden.sh), must come out the same here: every printed metric to 1e-6
//! relative (against the reference's full-precision values) and every download identical in
//! rung, abandonment and, to 1e-6, bits, time and buffer.

use abr_sim::sabre::{self, Average, SabreConfig, SabreRule};
use abr_sim::{manifest, trace};
use serde_json::Value;
use std::path::Path;

const REL: f64 = 1e-6;

fn close(a: f64, b: f64, abs_floor: f64) -> bool {
    (a - b).abs() <= REL * a.abs().max(b.abs()) + abs_floor
}

/// Sabre's arguments (the subset the cases use) as a config.
fn config(args: &[String]) -> (String, String, SabreConfig) {
    let mut c = SabreConfig::default();
    let (mut net, mut movie) = (String::new(), String::new());
    let mut i = 0;
    let list = |i: &mut usize| {
        let mut v = Vec::new();
        while *i + 1 < args.len() && !args[*i + 1].starts_with('-') {
            *i += 1;
            v.push(args[*i].clone());
        }
        v
    };
    while i < args.len() {
        match args[i].as_str() {
            "-n" => net = list(&mut i).remove(0),
            "-m" => movie = list(&mut i).remove(0),
            "-a" => {
                c.rule = match list(&mut i)[0].as_str() {
                    "bola" => SabreRule::Bola,
                    "bolae" => SabreRule::Bolae,
                    "throughput" => SabreRule::Throughput,
                    "dynamic" => SabreRule::Dynamic,
                    other => panic!("unsupported rule {other}"),
                }
            }
            "-b" => c.max_buffer_s = list(&mut i)[0].parse().expect("valid test input"),
            "-gp" => c.gamma_p = list(&mut i)[0].parse().expect("valid test input"),
            "-ao" => c.abr_osc = true,
            "-ab" => c.abr_basic = true,
            "-noibr" => c.no_ibr = true,
            "-noa" => c.no_abandon = true,
            "-ma" => {
                if list(&mut i)[0] == "sliding" {
                    c.average = Average::Sliding { windows: vec![3] };
                }
            }
            "-ws" => {
                let w = list(&mut i)
                    .iter()
                    .map(|s| s.parse().expect("valid test input"))
                    .collect();
                if let Average::Sliding { windows } = &mut c.average {
                    *windows = w;
                }
            }
            "-hl" => {
                let h = list(&mut i)
                    .iter()
                    .map(|s| s.parse().expect("valid test input"))
                    .collect();
                if let Average::Ewma { half_life_s } = &mut c.average {
                    *half_life_s = h;
                }
            }
            other => panic!("unsupported argument {other}"),
        }
        i += 1;
    }
    (net, movie, c)
}

#[test]
fn matches_sabre_on_every_golden_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<_> = std::fs::read_dir(dir.join("golden"))
        .expect("valid test input")
        .map(|e| e.expect("valid test input").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 60, "golden cases missing: {}", files.len());
    let mut failures = Vec::new();
    let mut worst: f64 = 0.0;
    for f in &files {
        let g: Value = serde_json::from_str(&std::fs::read_to_string(f).expect("valid test input"))
            .expect("valid test input");
        let args: Vec<String> = g["args"]
            .as_array()
            .expect("valid test input")
            .iter()
            .map(|a| a.as_str().expect("valid test input").to_owned())
            .collect();
        let (net, movie, cfg) = config(&args);
        let t = trace::load(&dir.join("data").join(&net), None, &Default::default())
            .expect("valid test input");
        let m = manifest::load(&dir.join("data").join(&movie)).expect("valid test input");
        let run = sabre::run(&t, &m.video, &cfg).expect("valid test input");
        let name = f
            .file_name()
            .expect("valid test input")
            .to_string_lossy()
            .into_owned();

        // Printed metrics: the reference's full-precision counters give the exact values;
        // the printed lines check labels and everything derived from them.
        let printed: Vec<&str> = g["printed"]
            .as_array()
            .expect("valid test input")
            .iter()
            .map(|l| l.as_str().expect("valid test input"))
            .filter(|l| l.contains(": "))
            .collect();
        let ours = run.metrics.lines();
        assert_eq!(printed.len(), ours.len(), "{name}: line count");
        for ((label, v), line) in ours.iter().zip(&printed) {
            let (plabel, pvalue) = line.split_once(": ").expect("valid test input");
            assert_eq!(*label, plabel, "{name}");
            let pv: f64 = pvalue.parse().expect("valid test input");
            // Printed with 6 decimals: agree to that rounding.
            if !close(*v, pv, 5.0001e-7) {
                failures.push(format!("{name}: {label}: ours {v} printed {pv}"));
            }
        }
        let fin = &g["final"];
        let exact = [
            ("played_utility", run.metrics.total_played_utility),
            ("played_bitrate", run.metrics.total_played_bitrate),
            ("total_play_time", run.metrics.total_play_time * 1000.0),
            ("rebuffer_time", run.metrics.total_rebuffer * 1000.0),
            ("rebuffer_event_count", run.metrics.total_rebuffer_events),
            ("total_bitrate_change", run.metrics.total_bitrate_change),
            (
                "total_log_bitrate_change",
                run.metrics.total_log_bitrate_change,
            ),
            (
                "total_reaction_time",
                run.metrics.total_reaction_time * 1000.0,
            ),
            ("overestimate_average", run.metrics.over_estimate),
            ("goodestimate_average", run.metrics.leq_estimate),
            ("estimate_average", run.metrics.estimate),
            ("startup_time", run.metrics.startup_time),
        ];
        for (k, v) in exact {
            let r = fin[k].as_f64().expect("valid test input");
            // Times in ms: 1e-6 ms absolute floor for values that are zero up to rounding.
            if !close(v, r, 1e-6) {
                failures.push(format!("{name}: {k}: ours {v} reference {r}"));
            }
            if r != 0.0 {
                worst = worst.max(((v - r) / r).abs());
            }
        }
        // Per-download log; the reference reports from segment 1 on (segment 0 is startup).
        let downloads = g["downloads"].as_array().expect("valid test input");
        let ours = &run.downloads[1..];
        if downloads.len() != ours.len() {
            failures.push(format!(
                "{name}: {} downloads, reference {}",
                ours.len(),
                downloads.len()
            ));
        }
        for (d, r) in ours.iter().zip(downloads) {
            let r = r.as_array().expect("valid test input");
            let ok = d.index as u64 == r[0].as_u64().expect("valid test input")
                && d.quality as u64 == r[1].as_u64().expect("valid test input")
                && close(
                    d.downloaded_bits,
                    r[2].as_f64().expect("valid test input"),
                    1e-6,
                )
                && close(d.time_ms, r[3].as_f64().expect("valid test input"), 1e-6)
                && close(
                    d.time_to_first_bit_ms,
                    r[4].as_f64().expect("valid test input"),
                    1e-6,
                )
                && d.abandon_to.map(|q| q as u64) == r[5].as_u64()
                && close(
                    d.buffer_after_ms,
                    r[6].as_f64().expect("valid test input"),
                    1e-6,
                )
                && close(
                    d.rebuffer_after_ms,
                    r[7].as_f64().expect("valid test input"),
                    1e-6,
                );
            if !ok {
                failures.push(format!(
                    "{name}: first differing download: ours {d:?} reference {r:?}"
                ));
                break;
            }
        }
    }
    eprintln!(
        "{} cases; worst relative difference of a counter: {worst:e}",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
