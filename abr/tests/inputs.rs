//! The shipped sample inputs in every format load and play: a Pensieve cooked trace, the
//! Pensieve `video_size_N` directory, Sabre traces and movies, and our TOML manifest.

use abr_sim::manifest::{self, DEFAULT_AUDIO_LADDER_KBPS};
use abr_sim::sim::{SimConfig, run_named};
use abr_sim::trace::{self, TraceFormat, TraceOptions, TraceSet};
use abr_sim::units::{Bits, Kbps, Ms};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn pensieve_inputs_load_and_play() {
    let t = trace::load(&data("cooked_fcc_amazon_0"), None, &TraceOptions::default())
        .expect("cooked trace");
    assert!(t.periods.len() > 100);
    assert_eq!(t.periods[0].latency, Ms(80.0));
    let m = manifest::load(&data("video_sizes")).expect("video_size directory");
    assert_eq!(m.video.rungs(), 6);
    assert_eq!(m.video.segments(), 49);
    assert_eq!(m.video.bitrates[5], Kbps(4300.0));
    // video_size_0, first line: bytes, so bits are 8x.
    let first: u64 = std::fs::read_to_string(data("video_sizes/video_size_0"))
        .expect("readable")
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("a size");
    assert_eq!(m.video.size(0, 0), Bits::from_bytes(first));
    let m = m
        .with_default_audio(&DEFAULT_AUDIO_LADDER_KBPS.map(Kbps), Ms(2000.0))
        .expect("audio");
    for rule in ["mpc", "joint", "bba+indep"] {
        let r = run_named(&t, &m, rule, &SimConfig::default(), None).expect("plays");
        assert!((r.played_s - 196.0).abs() < 1e-9, "{rule}: {}", r.played_s);
    }
}

#[test]
fn a_directory_is_a_trace_set_read_one_file_at_a_time() {
    let set = TraceSet::open(
        &data(""),
        Some(TraceFormat::SabreJson),
        TraceOptions::default(),
    )
    .expect("listing");
    // README.md and LICENSE.sabre are skipped; the movies are not traces.
    let names: Vec<String> = set
        .paths
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("README") || n.starts_with("LICENSE")),
        "{names:?}"
    );
    let traces = (0..set.len()).filter(|&i| set.get(i).is_ok()).count();
    assert_eq!(
        traces, 4,
        "the four Sabre traces parse, the movies do not: {names:?}"
    );
}

#[test]
fn our_toml_manifest_with_scores_drives_the_joint_hull() {
    let text = r#"
[video]
segment_duration_ms = 4000
bitrates_kbps = [300, 1000, 3000]
segment_sizes_bits = [[1200000, 4000000, 12000000], [1100000, 3900000, 11000000]]
quality = [[40, 70, 90], [42, 71, 91]]

[audio]
segment_duration_ms = 2000
bitrates_kbps = [64, 192]
segments = 4
"#;
    let m = manifest::parse_own_toml("m.toml", text).expect("valid");
    let hull = abr_sim::algo::joint::hull(&m.video, m.audio.as_ref(), &Default::default());
    // Utility from scores: the top pair is on the hull and utilities increase.
    assert_eq!(hull.last().map(|p| (p.video, p.audio)), Some((2, 1)));
    let t = abr_sim::scenario::drop_trace(Kbps(5000.0), Ms(4000.0), Kbps(5000.0));
    let r = run_named(&t, &m, "joint", &SimConfig::default(), None).expect("plays");
    assert!((r.played_s - 8.0).abs() < 1e-9);
    assert!(r.video_quality > 0.0);
}
