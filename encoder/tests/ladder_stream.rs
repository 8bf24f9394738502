//! From a ladder to streaming: `ladder --segment-seconds` on a small clip (scenes cut at the
//! segment boundaries, keyframes at every segment start in every rung), then abr-sim's
//! manifest from it, loaded and simulated by abr-sim itself.

mod common;

use std::path::Path;

use abr_sim::units::Ms;
use common::*;

/// A 50-frame ladder (a cut at frame 30) with 0.8 s (20-frame) segments: units 0-20, 20-30,
/// 30-40, 40-50 in segments 0-20, 20-40, 40-50.
fn segmented_ladder(dir: &Path) -> std::path::PathBuf {
    let clip = y4m(dir, "clip.y4m", 50, "yuv420p");
    let out = dir.join("ladder");
    ok(&run(&a![
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
        "--segment-seconds",
        "0.8",
        "--auto-rungs",
        "3",
        "-q",
    ]));
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

/// Bytes of the AV1 frames in an IVF file (what the ladder counts as a segment's size).
fn ivf_payload(path: &Path) -> u64 {
    let bytes = std::fs::read(path).expect("ivf");
    let (_, frames) = segment_encode::ivf::parse(&bytes).expect("IVF");
    frames.iter().map(|f| f.data.len() as u64).sum()
}

#[test]
fn abr_sim_loads_and_plays_the_manifest_of_a_real_ladder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = segmented_ladder(dir.path());
    let report = json(&out.join("ladder.json"));
    assert_eq!(report["segment_frames"], 20);
    assert_eq!(report["keyframes"], serde_json::json!([0, 20, 30, 40]));
    let segments = report["segments"].as_array().expect("segments");
    let spans: Vec<(u64, u64)> = segments
        .iter()
        .map(|s| {
            (
                s["start"].as_u64().expect("s"),
                s["end"].as_u64().expect("e"),
            )
        })
        .collect();
    assert_eq!(spans, [(0, 20), (20, 40), (40, 50)]);

    let hull = dir.path().join("hull.json");
    let fixed = dir.path().join("fixed.json");
    ok(&run(&a!["abr-manifest", &out, "-o", &hull]));
    ok(&run(&a![
        "abr-manifest",
        &out,
        "-o",
        &fixed,
        "--rungs",
        "fixed"
    ]));

    let m = abr_sim::manifest::load(&hull).expect("abr-sim loads the hull manifest");
    let v = &m.video;
    assert_eq!(v.segment_duration, Ms(800.0));
    assert_eq!((v.segments(), v.rungs()), (3, 3));
    // Sizes are the real segment files' AV1 payloads, summed over a segment's units; the
    // quality is the frame-weighted PSNR-Y of the units.
    let rungs = report["rungs"].as_array().expect("rungs");
    for (r, rung) in rungs.iter().enumerate() {
        let units = rung["scenes"].as_array().expect("units");
        for (s, seg) in segments.iter().enumerate() {
            let first = seg["first"].as_u64().expect("first") as usize;
            let n = seg["units"].as_u64().expect("units") as usize;
            let mut bytes = 0;
            let (mut weighted, mut frames) = (0.0, 0.0);
            for u in &units[first..first + n] {
                bytes += ivf_payload(&out.join(u["file"].as_str().expect("file")));
                let scene = &report["scenes"][u["scene"].as_u64().expect("scene") as usize];
                let len = (scene["end"].as_u64().expect("e") - scene["start"].as_u64().expect("s"))
                    as f64;
                weighted += u["scores"]["psnr_y"].as_f64().expect("psnr") * len;
                frames += len;
            }
            assert_eq!(v.size(s, r).0, (bytes * 8) as f64, "segment {s} rung {r}");
            let q = v.score(s, r).expect("scores");
            assert!((q - weighted / frames).abs() < 1e-9, "{q}");
            assert!((20.0..70.0).contains(&q), "PSNR-Y {q}");
        }
    }
    let f = abr_sim::manifest::load(&fixed).expect("abr-sim loads the fixed manifest");
    assert_eq!(f.video.segments(), 3);

    // With the audio ladder's rungs cut at the same 0.8 s: the audio track's real sizes.
    let wav = dir.path().join("tone.wav");
    let made = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg("sine=f=440:r=48000:d=2")
        .args(["-ac", "2"])
        .arg(&wav)
        .status()
        .expect("ffmpeg runs");
    assert!(made.success());
    let audio = dir.path().join("audio");
    ok(&run(&a![
        "audio-ladder",
        &wav,
        "--segment-seconds",
        "0.8",
        "--bitrates",
        "64,128",
        "-o",
        &audio,
        "-q"
    ]));
    let with_audio = dir.path().join("with-audio.json");
    ok(&run(&a![
        "abr-manifest",
        &out,
        "-o",
        &with_audio,
        "--audio",
        &audio
    ]));
    let wa = abr_sim::manifest::load(&with_audio).expect("abr-sim loads video + audio");
    let at = wa.audio.as_ref().expect("audio track");
    assert_eq!(
        (at.segment_duration, at.segments(), at.rungs()),
        (Ms(800.0), 3, 2)
    );
    let report = json(&audio.join("audio-ladder.json"));
    let first = report["rungs"][1]["segments"][0]["bytes"]
        .as_f64()
        .expect("bytes");
    assert_eq!(at.size(0, 1).0, first * 8.0);

    // abr-sim plays it over a real 3G trace: every segment played (abr-sim counts the
    // 0.4 s last segment as a whole 0.8 s one).
    let trace = abr_sim::trace::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../abr/tests/data/3g_2010-09-13_1003.json"),
        None,
        &abr_sim::trace::TraceOptions {
            default_latency: Ms(80.0),
            mahimahi_bin: Ms(500.0),
        },
    )
    .expect("trace");
    let m = m
        .with_default_audio(&[Kbps(64.0), Kbps(128.0)], Ms(2000.0))
        .expect("audio");
    let cfg = abr_sim::sim::SimConfig::default();
    let s = abr_sim::sim::run_named(&trace, &m, "bola", &cfg, None).expect("simulated");
    assert!((s.played_s - 2.4).abs() < 1e-9, "{}", s.played_s);
    assert!(
        s.video_score > 20.0,
        "per-segment quality scored: {}",
        s.video_score
    );
    assert!(s.video_score_p10 <= s.video_score);
}

use abr_sim::units::Kbps;

#[test]
fn a_ladder_without_equal_segments_or_with_a_fractional_segment_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", 12, "yuv420p");
    let out = dir.path().join("ladder");
    let err = failed(&run(&a![
        "ladder",
        &clip,
        "-o",
        &out,
        "--speed",
        "10",
        "-q",
        "--rungs",
        "100",
        "--segment-seconds",
        "0.1"
    ]));
    assert!(
        err.contains("--segment-seconds 0.1") && err.contains("whole"),
        "{err}"
    );
    assert!(!out.exists());
    // A ladder.json whose scenes differ in length (no --segment-seconds) is refused by name.
    std::fs::create_dir(&out).expect("dir");
    std::fs::write(
        out.join("ladder.json"),
        r#"{"fps": 25, "metrics": ["psnr_y"], "fixed": [],
            "scenes": [{"index": 0, "start": 0, "end": 30}, {"index": 1, "start": 30, "end": 50},
                       {"index": 2, "start": 50, "end": 60}],
            "rungs": [{"kbps": 100, "scenes": [
                {"scene": 0, "bytes": 10, "scores": {"psnr_y": 30}},
                {"scene": 1, "bytes": 10, "scores": {"psnr_y": 30}},
                {"scene": 2, "bytes": 10, "scores": {"psnr_y": 30}}]}]}"#,
    )
    .expect("write");
    let m = dir.path().join("m.json");
    let err = failed(&run(&a!["abr-manifest", &out, "-o", &m]));
    assert!(
        err.contains("video segment 1 lasts 20 frames where segment 0 lasts 30")
            && err.contains("--segment-seconds"),
        "{err}"
    );
    assert!(!m.exists());
}

/// Frames ffmpeg decodes from representation `index` of an MPD, and the last frame's pts
/// (in frames at 25 fps).
fn ffmpeg_decode_mpd(mpd: &Path, index: usize) -> (u64, Option<u64>) {
    let out = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(mpd)
        .args([
            "-map",
            &format!("0:v:{index}"),
            "-vsync",
            "passthrough",
            "-f",
            "framecrc",
            "-",
        ])
        .output()
        .expect("ffmpeg runs (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "ffmpeg could not decode representation {index}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let last = rows
        .last()
        .and_then(|l| l.split(',').nth(2))
        .and_then(|p| p.trim().parse().ok());
    (rows.len() as u64, last)
}

#[test]
fn package_writes_cmaf_segments_and_an_mpd_ffmpeg_plays_to_the_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ladder = segmented_ladder(dir.path());
    let out = dir.path().join("dash");
    ok(&run(&a!["package", &ladder, "-o", &out, "-q"]));
    let mpd = out.join("manifest.mpd");
    let text = std::fs::read_to_string(&mpd).expect("mpd");
    assert_eq!(text.matches("<Representation ").count(), 3, "{text}");
    assert!(
        text.contains("mediaPresentationDuration=\"PT2.000S\""),
        "{text}"
    );
    for r in 0..3 {
        let rung = out.join(format!("rung-{r}"));
        assert!(rung.join("init.mp4").exists());
        for s in 1..=3 {
            assert!(
                rung.join(format!("seg-{s:05}.m4s")).exists(),
                "rung {r} segment {s}"
            );
        }
        // Every representation decodes to the clip's 50 frames, the last at frame 49.
        assert_eq!(
            ffmpeg_decode_mpd(&mpd, r),
            (50, Some(49)),
            "representation {r}"
        );
    }
    // The abr-sim manifest beside it loads.
    let m = abr_sim::manifest::load(&out.join("abr-manifest.json")).expect("abr manifest");
    assert_eq!(m.video.segments(), 3);

    // Packaging a ladder made without --segment-seconds is refused, nothing written.
    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).expect("dir");
    let mut report = json(&ladder.join("ladder.json"));
    report["segment_frames"] = serde_json::Value::Null;
    report["segments"] = serde_json::Value::Null;
    std::fs::write(plain.join("ladder.json"), report.to_string()).expect("write");
    let out2 = dir.path().join("dash2");
    let err = failed(&run(&a!["package", &plain, "-o", &out2]));
    assert!(err.contains("--segment-seconds"), "{err}");
    assert!(!out2.exists());
}
