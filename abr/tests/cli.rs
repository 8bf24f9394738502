//! The binary end to end: malformed inputs give an error naming file, line and field (and a
//! non-zero exit, never a panic); `run --json` prints one object with the documented fields;
//! `sabre` prints what Sabre prints; `compare` writes its CSV and reports the played-pair
//! invariant; `synth` is reproducible.

use std::path::Path;
use std::process::{Command, Output};

fn abr_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_abr-sim"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("binary runs")
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn malformed_inputs_name_file_line_and_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("bad.csv");
    std::fs::write(&trace, "duration_ms,bandwidth_kbps\n1000,300\n1000,fast\n").expect("write");
    let out = abr_sim(&["run", "-t", trace.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("bad.csv:3: field `bandwidth_kbps`: expected a number, found `fast`"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let manifest = dir.path().join("m.toml");
    std::fs::write(
        &manifest,
        "[video]\nsegment_duration_ms = 4000\nbitrates_kbps = [300, 200]\nsegments = 3\n",
    )
    .expect("write");
    let out = abr_sim(&[
        "run",
        "--drop",
        "3000,10,500",
        "-m",
        manifest.to_str().expect("utf-8"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("m.toml: field `video.bitrates_kbps[1]`: bitrates must increase"),
        "{err}"
    );

    let out = abr_sim(&["run", "--drop", "3000,10,500", "--algo", "nonsense"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown algorithm `nonsense`"));
}

#[test]
fn run_json_has_the_documented_fields() {
    let out = abr_sim(&["run", "--drop", "6000,60,800", "--algo", "joint", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for f in [
        "rebuffer_count",
        "rebuffer_audio_s",
        "audio_bitrate_kbps",
        "video_bitrate_kbps",
        "joint_score",
        "pensieve_qoe",
        "sabre_score",
    ] {
        assert!(
            v.get(f).is_some_and(serde_json::Value::is_number),
            "{f} missing in {v}"
        );
    }
}

#[test]
fn sabre_mode_prints_what_sabre_prints() {
    let out = abr_sim(&[
        "sabre",
        "-n",
        &data("4g_bus_0001.json"),
        "-m",
        &data("bbb4k.json"),
        "--abr",
        "bolae",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // From tests/golden/4g_bus_0001-bolae.json, as the reference printed it.
    assert!(
        text.contains("total played utility: 629.196218\n"),
        "{text}"
    );
    assert!(text.contains("time average played bitrate: 26281.215092\n"));
    assert!(text.contains("total reaction time: 1.999000\n"));
}

#[test]
fn compare_writes_a_row_per_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("out.csv");
    let out = abr_sim(&[
        "compare",
        "-t",
        &data("4g_bus_0001.json"),
        "-t",
        &data("3g_2010-09-13_1003.json"),
        "-m",
        &data("bbb.json"),
        "--algos",
        "bola,joint",
        "--quiet",
        "--csv",
        csv.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).expect("csv written");
    assert_eq!(text.lines().count(), 1 + 2 * 2);
    assert!(String::from_utf8_lossy(&out.stdout).contains("joint minus bola"));
}

/// Issue 22: `synth` writes the same files for the same seed, and `compare` over them reports
/// audio switches per minute and the played-pair invariant.
#[test]
fn synth_is_reproducible_and_compare_reports_the_invariant() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&a, &b] {
        let out = abr_sim(&[
            "synth",
            "--kind",
            "high-bandwidth",
            "-n",
            "3",
            "--seed",
            "7",
            "--duration-s",
            "60",
            "-o",
            d.to_str().expect("utf-8"),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut names: Vec<_> = std::fs::read_dir(&a)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3);
    for n in &names {
        assert_eq!(
            std::fs::read(a.join(n)).expect("read"),
            std::fs::read(b.join(n)).expect("read")
        );
    }
    let out = abr_sim(&[
        "compare",
        "-t",
        a.to_str().expect("utf-8"),
        "--algos",
        "bola+indep,joint",
        "--baseline",
        "bola+indep",
        "--duration-s",
        "60",
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("audio_switches_per_min"), "{text}");
    assert!(
        text.contains("Played-pair invariant") && text.contains("joint 0/3"),
        "{text}"
    );

    let out = abr_sim(&[
        "synth",
        "--kind",
        "cellular",
        "--duration-s",
        "0",
        "-o",
        "x",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--duration-s"));
    let out = abr_sim(&["run", "--drop", "6000,60,800", "--algo", "joint:dwell=x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("joint:dwell=x"));
}

/// As this environment (and many shells) run it: RUST_BACKTRACE=1.
fn abr_sim_backtrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_abr-sim"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("binary runs")
}

fn one_error_line(out: &Output) -> String {
    assert!(!out.status.success(), "should have failed");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.starts_with("abr-sim: error: ") && err.lines().count() == 1,
        "one clean line, no backtrace: {err}"
    );
    err
}

/// Issue 17, items 12 and 13: an empty trace set, or one whose traces do not parse, is an
/// error naming the directory (before: a table of NaN and exit 0), printed as one line even
/// with RUST_BACKTRACE=1.
#[test]
fn empty_or_unreadable_trace_sets_are_errors_naming_the_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("emptydir");
    std::fs::create_dir(&empty).expect("dir");
    std::fs::write(empty.join("README.md"), "not a trace").expect("write");
    let err = one_error_line(&abr_sim_backtrace(&[
        "compare",
        "-t",
        empty.to_str().expect("utf-8"),
        "--quiet",
    ]));
    assert!(
        err.contains("emptydir") && err.contains("no trace files"),
        "{err}"
    );
    let bad = dir.path().join("baddir");
    std::fs::create_dir(&bad).expect("dir");
    for n in ["a.csv", "b.csv"] {
        std::fs::write(bad.join(n), "duration_ms,bandwidth_kbps\n1000,fast\n").expect("write");
    }
    let err = one_error_line(&abr_sim_backtrace(&[
        "compare",
        "-t",
        bad.to_str().expect("utf-8"),
        "--quiet",
    ]));
    assert!(
        err.contains("trace set ") && err.contains("baddir") && err.contains("fast"),
        "{err}"
    );
    let err = one_error_line(&abr_sim_backtrace(&["run", "--drop", "1,2"]));
    assert!(err.contains("--drop"), "{err}");
}

/// Issue 17, item 14: a single rule runs without a comparison; two rules without joint pick
/// their pair from the list; a named rule not in the list is refused by name.
#[test]
fn compare_picks_its_pair_from_the_rules_given() {
    let base = ["compare", "-t", "", "-m", "", "--quiet"];
    let args = |algos: &str, extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        v[2] = data("4g_bus_0001.json");
        v[4] = data("bbb.json");
        v.extend(["--algos".to_string(), algos.to_string()]);
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |v: Vec<String>| {
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        abr_sim_backtrace(&v)
    };
    let out = run(args("bola", &[]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("| bola |") && !stdout.contains("minus"),
        "{stdout}"
    );
    let out = run(args("bba,mpc", &[]));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("mpc minus bba"));
    let err = one_error_line(&run(args("bola", &["--candidate", "joint"])));
    assert!(
        err.contains("--candidate `joint` is not one of --algos"),
        "{err}"
    );
}

/// Issue 17, item 15: `run` prints a table grouped by topic with units and rounded values;
/// `--json` keeps the exact ones.
#[test]
fn run_prints_a_readable_table() {
    let out = abr_sim(&["run", "--drop", "3000,10,500"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for group in [
        "\nsession\n",
        "\nstalls\n",
        "\nvideo\n",
        "\naudio\n",
        "\nscores\n",
    ] {
        assert!(text.contains(group), "no group '{group}': {text}");
    }
    assert!(text.contains(" kbps\n") && text.contains(" s\n"), "{text}");
    // No value printed to more than three decimals.
    for word in text.split_whitespace() {
        if let Some((_, frac)) = word.split_once('.') {
            let digits = frac.chars().take_while(char::is_ascii_digit).count();
            assert!(digits <= 3, "'{word}' in: {text}");
        }
    }
    let out = abr_sim(&["run", "--drop", "3000,10,500", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let audio = v["audio_bitrate_kbps"].as_f64().expect("number");
    assert!(
        text.contains(&format!(" {audio:.0} kbps")),
        "{audio} vs {text}"
    );
}

/// `compare --ladder`: every rule on every ladder, the pair first rule on the first ladder
/// against it on the second, and the played segments' own scores in the table. Two ladders of
/// the same sizes whose scores differ by exactly 1 on every segment: the paired video_score
/// difference is 1 with a CI of [1, 1], whatever the traces.
#[test]
fn compare_ladders_scores_the_played_segments_quality() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, offset: f64| {
        let sizes: Vec<[f64; 2]> = (0..20).map(|_| [400_000.0, 1_600_000.0]).collect();
        let quality: Vec<[f64; 2]> = (0..20)
            .map(|s| [30.0 + offset + s as f64 * 0.1, 40.0 + offset])
            .collect();
        let m = serde_json::json!({"video": {"segment_duration_ms": 2000,
            "bitrates_kbps": [200, 800], "segment_sizes_bits": sizes, "quality": quality}});
        let p = dir.path().join(name);
        std::fs::write(&p, m.to_string()).expect("write");
        p.display().to_string()
    };
    let (low, high) = (write("low.json", 0.0), write("high.json", 1.0));
    let md = dir.path().join("out.md");
    let out = abr_sim(&[
        "compare",
        "-t",
        &data("3g_2010-09-13_1003.json"),
        "-t",
        &data("4g_bus_0001.json"),
        "--ladder",
        &format!("low={low}"),
        "--ladder",
        &format!("high={high}"),
        "--algos",
        "bola,joint",
        "--markdown",
        md.to_str().expect("utf-8"),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&md).expect("markdown");
    for label in [
        "| bola@low |",
        "| bola@high |",
        "| joint@low |",
        "| joint@high |",
    ] {
        assert!(text.contains(label), "{label} missing:\n{text}");
    }
    assert!(text.contains("bola@high minus bola@low"), "{text}");
    assert!(
        text.contains("| video_score | 1.0000 | 1.0000 | 1.0000 |"),
        "{text}"
    );
    assert!(text.contains(" video_score_p10 |"), "{text}");

    let bad = abr_sim(&["compare", "-t", &data("4g_bus_0001.json"), "--ladder", &low]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("expected NAME=MANIFEST"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
