//! `segment-encode ladder` end to end on a small clip: a grid at speed 10, rungs that meet
//! their targets, every segment decoded by dav1d at the resolution the ladder names, the
//! reported quality reproduced on dav1d's output, and bad input refused with nothing written.

mod common;

use std::path::Path;

use common::*;

/// The first `frames` frames of `clip` as a Y4M of their own (header line kept).
fn frames_of(clip: &Path, range: std::ops::Range<u64>, out: &Path) {
    let bytes = std::fs::read(clip).expect("read clip");
    let header = segment_encode::y4m::parse_header(&bytes).expect("header");
    let start = header.frame_offset(range.start) as usize;
    let end = header.frame_offset(range.end) as usize;
    let mut o = header.line.as_bytes().to_vec();
    o.extend_from_slice(&bytes[start..end]);
    std::fs::write(out, o).expect("write");
}

/// Leftovers beside the output (partial or scratch directories).
fn hidden_entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

fn span(err: &str) -> (f64, f64) {
    let rest = err
        .split("can average ")
        .nth(1)
        .unwrap_or_else(|| panic!("no span in {err}"));
    let mut words = rest.split_whitespace();
    let lo: f64 = words.next().and_then(|w| w.parse().ok()).expect("low");
    let hi: f64 = words.nth(1).and_then(|w| w.parse().ok()).expect("high");
    (lo, hi)
}

#[test]
fn a_ladder_meets_its_rungs_and_every_segment_decodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 50 frames of the excerpt: a cut at frame 30, so two scenes.
    let clip = y4m(dir.path(), "clip.y4m", 50, "yuv420p");
    let out = dir.path().join("ladder");
    let grid = a![
        "ladder",
        &clip,
        "-o",
        &out,
        "--heights",
        "136,68",
        "--quantizers",
        "60,120,200",
        "--speed",
        "10",
        "--min-scene-len",
        "8",
        "-q",
    ];

    // A target below the grid: an error naming the rung and the grid's range, nothing written.
    let mut args = grid.to_vec();
    args.extend(a!["--rungs", "1"]);
    let err = failed(&run(&args));
    assert!(
        err.contains("rung 0 (1 kbps)") && err.contains("below"),
        "{err}"
    );
    assert!(!out.exists(), "no ladder after an error");
    assert!(
        hidden_entries(dir.path()).is_empty(),
        "{:?}",
        hidden_entries(dir.path())
    );

    let (lo, hi) = span(&err);
    assert!(0.0 < lo && lo < hi, "{lo} {hi}");
    let targets = [lo * 1.2, (lo * hi).sqrt(), hi * 0.9];
    let rungs = targets
        .iter()
        .map(|t| format!("{t:.1}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut args = grid.to_vec();
    args.extend(a!["--rungs", &rungs]);
    ok(&run(&args));
    assert!(
        hidden_entries(dir.path()).is_empty(),
        "{:?}",
        hidden_entries(dir.path())
    );

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("ladder.json")).expect("ladder.json"))
            .expect("JSON");
    let scenes = report["scenes"].as_array().expect("scenes");
    assert_eq!(scenes.len(), 2, "{scenes:?}");
    assert_eq!(report["keyframes"], serde_json::json!([0, 30]));
    let rungs = report["rungs"].as_array().expect("rungs");
    assert_eq!(rungs.len(), 3);
    let mut last = (0.0, 0.0);
    for rung in rungs {
        let (target, kbps) = (
            rung["target_kbps"].as_f64().expect("t"),
            rung["kbps"].as_f64().expect("k"),
        );
        let psnr = rung["scores"]["psnr_y"].as_f64().expect("psnr");
        assert!(kbps <= target + 1e-6, "{rung}");
        assert!(kbps >= last.0 && psnr >= last.1, "rungs rise: {rung}");
        last = (kbps, psnr);
    }
    // Every segment decodes on its own (it starts with a keyframe) to its scene's frames at
    // the resolution the ladder chose for it.
    for rung in rungs {
        for s in rung["scenes"].as_array().expect("scenes") {
            let file = out.join(s["file"].as_str().expect("file"));
            let decoded = dir.path().join("decoded.y4m");
            let n = dav1d_frames(&file, &decoded);
            let scene = &scenes[s["scene"].as_u64().expect("scene") as usize];
            let len = scene["end"].as_u64().expect("end") - scene["start"].as_u64().expect("start");
            assert_eq!(n, len, "{}", file.display());
            let bytes = std::fs::read(&decoded).expect("decoded");
            let h = segment_encode::y4m::parse_header(&bytes).expect("header");
            assert_eq!(
                (h.width as u64, h.height as u64),
                (
                    s["width"].as_u64().expect("w"),
                    s["height"].as_u64().expect("h")
                ),
                "{}",
                file.display()
            );
        }
    }
    // The quality the ladder reports (measured on rav1e's reconstruction) is what dav1d's
    // output measures, upscaled the same way, for a segment at the lowest resolution if any.
    let lowest = rungs
        .iter()
        .flat_map(|r| r["scenes"].as_array().expect("scenes"))
        .min_by_key(|s| s["height"].as_u64())
        .expect("a segment");
    let scene = &scenes[lowest["scene"].as_u64().expect("scene") as usize];
    let source = dir.path().join("source-scene.y4m");
    frames_of(
        &clip,
        scene["start"].as_u64().expect("start")..scene["end"].as_u64().expect("end"),
        &source,
    );
    let decoded = dir.path().join("lowest.y4m");
    dav1d_frames(&out.join(lowest["file"].as_str().expect("file")), &decoded);
    let q = run(&a!["quality", &source, &decoded, "--upscale"]);
    ok(&q);
    let q: serde_json::Value = serde_json::from_slice(&q.stdout).expect("quality JSON");
    for metric in ["psnr_y", "ssim_y"] {
        let ours = lowest["scores"][metric].as_f64().expect("ladder score");
        let dav1d = q[metric].as_f64().expect("quality score");
        assert!(
            (ours - dav1d).abs() < 0.01,
            "{metric}: ladder {ours}, dav1d {dav1d}"
        );
    }
    // The CSVs are what `bdrate` reads.
    let hull = std::fs::read_to_string(out.join("hull.csv")).expect("hull.csv");
    assert!(
        hull.starts_with("rung,target_kbps,kbps,psnr_y,ssim_y\n"),
        "{hull}"
    );
    assert_eq!(hull.lines().count(), 4);
    assert!(out.join("fixed.csv").exists());

    // A second run onto the same output is refused and leaves the ladder alone.
    let before = std::fs::read(out.join("ladder.json")).expect("read");
    let err = failed(&run(&args));
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read(out.join("ladder.json")).expect("read"),
        before
    );
}

#[test]
fn bad_ladder_input_is_refused_before_encoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", 12, "yuv420p");
    let out = dir.path().join("ladder");
    let base = a![
        "ladder", &clip, "-o", &out, "--speed", "10", "-q", "--rungs", "100"
    ];
    let with = |extra: &[&str]| {
        let mut v = base.to_vec();
        v.extend(extra.iter().map(std::ffi::OsString::from));
        v
    };

    let err = failed(&run(&with(&["--heights", "272"])));
    assert!(
        err.contains("640x272") && err.contains("--allow-upscale"),
        "{err}"
    );
    let err = failed(&run(&with(&["--heights", "67"])));
    assert!(
        err.contains("--heights 67") && err.contains("even"),
        "{err}"
    );

    // A scene list made for another clip.
    let other = y4m(dir.path(), "other.y4m", 20, "yuv420p");
    let list = dir.path().join("other.json");
    ok(&run(&a!["scenes", &other, "-o", &list]));
    let err = failed(&run(&with(&["--scenes", list.to_str().expect("path")])));
    assert!(
        err.contains("other.json") && err.contains("another clip"),
        "{err}"
    );

    let err = failed(&run(&with(&["--rungs", "-5"])));
    assert!(err.contains("rung") && err.contains("positive"), "{err}");
    assert!(!out.exists());
    assert!(hidden_entries(dir.path()).is_empty());
}
