//! `segment-encode bdrate` and the library's BD-rate agree with an independent implementation,
//! PyPI's `bjontegaard` (SciPy's PCHIP and NumPy's polyfit), on curves shaped like real ones.
//!
//! The package comes from scripts/install-bjontegaard.sh (a venv; scripts/test.sh names its
//! python in MEZZ_BJONTEGAARD_PYTHON); without the variable the test runs the script itself.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use segment_encode::bdrate::{Interpolation, RdPoint, bd_rate};

fn python() -> PathBuf {
    installed("MEZZ_BJONTEGAARD_PYTHON", "install-bjontegaard.sh")
}

/// BD-rates by the package for each (anchor, test, method) case, in order.
fn reference(cases: &[(Vec<RdPoint>, Vec<RdPoint>, &str)]) -> Vec<f64> {
    let list = |c: &[RdPoint], f: fn(&RdPoint) -> f64| {
        format!(
            "[{}]",
            c.iter()
                .map(|p| format!("{:?}", f(p)))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let mut script = String::from(
        "import warnings\nwarnings.simplefilter('ignore')\nimport bjontegaard as bd\n",
    );
    for (a, t, method) in cases {
        script.push_str(&format!(
            "print(float(bd.bd_rate({}, {}, {}, {}, method='{method}', require_matching_points=False, min_overlap=0)))\n",
            list(a, |p| p.rate),
            list(a, |p| p.quality),
            list(t, |p| p.rate),
            list(t, |p| p.quality)
        ));
    }
    let out = Command::new(python())
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("a number"))
        .collect()
}

/// A concave rate-quality curve of `n` points: quality = a + b log(rate) + wobble.
fn curve(n: usize, rate0: f64, step: f64, a: f64, b: f64, seed: u64) -> Vec<RdPoint> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let wobble = ((s >> 33) % 1000) as f64 / 1000.0 * 0.3;
            let rate = rate0 * step.powi(i as i32) * (1.0 + wobble / 3.0);
            RdPoint {
                rate,
                quality: a + b * rate.ln() + wobble,
            }
        })
        .collect()
}

#[test]
fn bd_rate_matches_the_bjontegaard_package() {
    let mut cases = Vec::new();
    for seed in 0..6u64 {
        let n = 4 + (seed as usize % 3);
        let anchor = curve(n, 120.0, 1.7, 8.0, 4.3, seed);
        let test = curve(
            4 + ((seed as usize + 1) % 3),
            100.0,
            1.6,
            8.6,
            4.25,
            seed + 100,
        );
        for method in ["pchip", "cubic"] {
            cases.push((anchor.clone(), test.clone(), method));
        }
    }
    let theirs = reference(&cases);
    for ((a, t, method), want) in cases.iter().zip(theirs) {
        let m = if *method == "pchip" {
            Interpolation::Pchip
        } else {
            Interpolation::Cubic
        };
        let got = bd_rate(a, t, m).expect("bd-rate").percent;
        assert!(
            (got - want).abs() < 1e-6,
            "{method}: ours {got}, bjontegaard {want}"
        );
        assert!(got.abs() > 0.1, "a real difference: {got}");
    }
}

#[test]
fn the_command_reads_csvs_and_prints_both_methods() {
    let dir = tempfile::tempdir().expect("tempdir");
    let anchor = curve(5, 150.0, 1.8, 8.0, 4.3, 7);
    let test = curve(5, 130.0, 1.8, 8.4, 4.3, 8);
    let csv = |c: &[RdPoint]| {
        let mut s = String::from("rung,kbps,psnr_y\n");
        for (i, p) in c.iter().enumerate() {
            s.push_str(&format!("{i},{},{}\n", p.rate, p.quality));
        }
        s
    };
    let (a_path, t_path) = (dir.path().join("a.csv"), dir.path().join("t.csv"));
    std::fs::write(&a_path, csv(&anchor)).expect("write");
    std::fs::write(&t_path, csv(&test)).expect("write");
    let out = run(&a!["bdrate", &a_path, &t_path]);
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let want = reference(&[
        (anchor.clone(), test.clone(), "pchip"),
        (anchor, test, "cubic"),
    ]);
    for (line, w) in text.lines().zip(&want) {
        let v: f64 = line
            .split(": ")
            .nth(1)
            .and_then(|r| r.split(" %").next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("a figure in {line}"));
        assert!((v - w).abs() < 0.006, "{line} vs {w}");
    }
    assert_eq!(text.lines().count(), 2, "{text}");

    std::fs::write(&t_path, "rung,kbps\n0,100\n").expect("write");
    let err = failed(&run(&a!["bdrate", &a_path, &t_path]));
    assert!(
        err.contains("t.csv") && err.contains("no column 'psnr_y'"),
        "{err}"
    );
    std::fs::write(&t_path, "kbps,psnr_y\n100,abc\n").expect("write");
    let err = failed(&run(&a!["bdrate", &a_path, &t_path]));
    assert!(err.contains("row 2") && err.contains("abc"), "{err}");
}
