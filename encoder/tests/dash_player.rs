//! A real player plays the ladder's DASH directory: dash.js in Debian's headless Chromium
//! (driven by playwright-core), served over 127.0.0.1 by a server that throttles the served
//! rate, switches rungs as the rate goes low and then high, and plays to the end.
//!
//! The ladder is the committed excerpt's 250 frames in 0.4 s segments (`ladder`, `package`);
//! `encoder/tests/player/play.mjs` serves and drives and writes what the player said (its
//! events, its API, the video element's counters, the server's log) as JSON; this test
//! judges that report. Chromium, Node.js and the pinned npm packages come from
//! scripts/install-dash-player.sh (scripts/test.sh names its node_modules in MEZZ_DASH_PLAYER);
//! without the variable the test runs the script itself.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The driver bounds each phase (30 s), each call into the browser (20 s) and its whole run
/// (120 s); this bounds the process, should the driver itself hang.
const DRIVER_LIMIT: Duration = Duration::from_secs(150);
const FPS: f64 = 25.0;
const FRAMES: u32 = 250;

fn player_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/player")
}

fn node_modules() -> PathBuf {
    installed("MEZZ_DASH_PLAYER", "install-dash-player.sh")
}

/// Runs the driver to its report, killing it (and the Chromium it started: its own process
/// group) if it outlives [`DRIVER_LIMIT`]. Its progress log is in the failure messages.
fn play(dash: &Path, report: &Path) -> Value {
    use std::os::unix::process::CommandExt;
    let log_path = report.with_extension("log");
    let log = std::fs::File::create(&log_path).expect("driver log");
    let progress = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut child = Command::new("node")
        .arg(player_dir().join("play.mjs"))
        .arg("--dash")
        .arg(dash)
        .arg("--report")
        .arg(report)
        .arg("--node-modules")
        .arg(node_modules())
        .args(["--phase-timeout-s", "30", "--limit-s", "120"])
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("node runs (scripts/install-dash-player.sh installs it)");
    let deadline = Instant::now() + DRIVER_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!(
                "the player driver ran past {DRIVER_LIMIT:?} and was killed; its log:\n{}",
                progress()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = std::fs::read_to_string(report).unwrap_or_else(|e| {
        panic!(
            "the driver ({status}) wrote no report: {e}; its log:\n{}",
            progress()
        )
    });
    let v: Value = serde_json::from_str(&text).expect("the report is JSON");
    assert!(
        status.success() && v["driver_error"].is_null(),
        "the driver failed ({status}): {}; its log:\n{}",
        v["driver_error"],
        progress()
    );
    v
}

/// The events of `kind` in the report, each as its JSON object.
fn events<'a>(r: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    r["events"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(move |e| e["kind"] == kind)
}

#[test]
fn dash_js_in_chromium_plays_the_ladder_to_the_end_and_follows_the_served_rate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", FRAMES, "yuv420p");
    let ladder = dir.path().join("ladder");
    ok(&run(&a![
        "ladder",
        &clip,
        "-o",
        &ladder,
        "--heights",
        "136,68",
        "--quantizers",
        "60,120,200",
        "--speed",
        "10",
        "--segment-seconds",
        "0.4",
        "--auto-rungs",
        "3",
        "-q",
    ]));
    // With a stereo track: four Opus rungs in CMAF beside the video.
    let clip_s = f64::from(FRAMES) / FPS;
    let wav = tone(dir.path(), "tone.wav", clip_s, 48_000, "stereo");
    let dash = dir.path().join("dash");
    ok(&run(&a![
        "package", &ladder, "-o", &dash, "--audio", &wav, "-q"
    ]));

    let r = play(&dash, &dir.path().join("report.json"));
    let trail = || {
        let kinds: Vec<String> = r["events"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|e| e["kind"] != "segment_loaded")
            .map(|e| e.to_string())
            .collect();
        format!(
            "phases {}\nevents (without segment loads):\n{}\nconsole: {}",
            r["phases"],
            kinds.join("\n"),
            r["console"]
        )
    };

    // MSE takes every representation's type, codecs string included.
    for m in r["mse_supported"].as_array().expect("mse verdicts") {
        assert_eq!(
            m["supported"], true,
            "Chromium's MediaSource refuses {} ({})",
            m["type"], m["id"]
        );
    }
    let verdicts = |content: &str| {
        r["mse_supported"]
            .as_array()
            .expect("verdicts")
            .iter()
            .filter(|m| m["content"] == content)
            .count()
    };
    assert_eq!(verdicts("video"), 3, "{}", r["mse_supported"]);
    assert_eq!(verdicts("audio"), 4, "Opus rungs: {}", r["mse_supported"]);
    // No fatal error from the player, the page or the media element.
    assert_eq!(r["errors"], serde_json::json!([]), "{}", trail());
    assert_eq!(r["page_errors"], serde_json::json!([]), "{}", trail());
    assert!(r["final"]["media_error"].is_null(), "{}", trail());
    assert!(
        r["timed_out"].is_null(),
        "the player did not get through phase {} in time\n{}",
        r["timed_out"],
        trail()
    );
    assert_eq!(r["completed"], true, "{}", trail());

    // Playback started and reached the end.
    assert!(events(&r, "playback_started").count() >= 1, "{}", trail());
    assert_eq!(events(&r, "playback_ended").count(), 1, "{}", trail());
    let fin = &r["final"];
    let (t, duration) = (
        fin["current_time"].as_f64().expect("time"),
        fin["duration"].as_f64().expect("duration"),
    );
    assert!((duration - clip_s).abs() < 0.05, "duration {duration} s");
    assert!(
        (t - clip_s).abs() < 0.1,
        "stopped at {t} s of {clip_s} (ended: {})\n{}",
        fin["ended"],
        trail()
    );
    // The decoder saw about the frames played (Chromium counts decoded and dropped frames in
    // totalVideoFrames).
    let total = fin["total_frames"].as_f64().expect("frames");
    let played = t * FPS;
    assert!(
        (total - played).abs() <= 3.0,
        "{total} frames decoded for {played} played (dropped: {})",
        fin["dropped_frames"]
    );
    // Every segment of the timeline was fetched, from some rung, for video and for audio
    // (the server's log: the page notes only video segments).
    let mut fetched = [[false; 25]; 2];
    for q in r["requests"].as_array().expect("the server's requests") {
        let path = q["path"].as_str().expect("path");
        let Some(n) = path
            .rsplit("seg-")
            .next()
            .and_then(|s| s.strip_suffix(".m4s"))
        else {
            continue;
        };
        let n: usize = n.parse().unwrap_or_else(|_| panic!("segment path {path}"));
        let fetched = &mut fetched[usize::from(path.starts_with("audio-"))];
        match n.checked_sub(1).and_then(|i| fetched.get_mut(i)) {
            Some(f) => *f = true,
            None => panic!("segment {n} is not in the 25-segment timeline ({path})"),
        }
    }
    assert!(
        fetched.iter().flatten().all(|&f| f),
        "segments fetched (video, audio): {fetched:?}"
    );

    // Every picture Chromium showed has the size of one of the ladder's units (a rung's units
    // may differ in size; each brings its own sequence header), the first the largest.
    let report: Value =
        serde_json::from_slice(&std::fs::read(ladder.join("ladder.json")).expect("ladder.json"))
            .expect("JSON");
    let sizes: Vec<(u64, u64)> = report["rungs"]
        .as_array()
        .expect("rungs")
        .iter()
        .flat_map(|r| r["scenes"].as_array().expect("units"))
        .map(|u| {
            (
                u["width"].as_u64().expect("w"),
                u["height"].as_u64().expect("h"),
            )
        })
        .collect();
    let shown: Vec<(u64, u64)> = events(&r, "resize")
        .map(|e| {
            (
                e["width"].as_u64().expect("w"),
                e["height"].as_u64().expect("h"),
            )
        })
        .collect();
    assert_eq!(shown.first(), Some(&(320, 136)), "{shown:?}");
    assert!(
        shown.iter().all(|s| sizes.contains(s)),
        "pictures {shown:?}, unit sizes {sizes:?}"
    );

    // The rungs, lowest and top by bandwidth, as the player numbers them.
    let reps = fin["representations"].as_array().expect("representations");
    assert_eq!(reps.len(), 3);
    let by_bw = |pick: fn(u64, u64) -> bool| {
        reps.iter()
            .reduce(|a, b| {
                if pick(
                    b["bandwidth"].as_u64().expect("bw"),
                    a["bandwidth"].as_u64().expect("bw"),
                ) {
                    b
                } else {
                    a
                }
            })
            .expect("a rung")
    };
    let (lowest, top) = (by_bw(|b, a| b < a), by_bw(|b, a| b > a));
    // With the served rate low the player switched down to the lowest rung and played it; with
    // it raised, back up to the top rung; the ABR's own reasons name the throughput it saw.
    let phases = r["phases"].as_array().expect("phases");
    let names: Vec<&str> = phases
        .iter()
        .map(|p| p["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["low", "high", "end"]);
    let rendered: Vec<(f64, u64)> = events(&r, "quality_rendered")
        .map(|e| {
            (
                e["at_ms"].as_f64().expect("at"),
                e["to"].as_u64().expect("to"),
            )
        })
        .collect();
    let low_end = phases[0]["ms"].as_f64().expect("ms");
    let down = rendered
        .iter()
        .find(|&&(_, to)| to == lowest["index"].as_u64().expect("index"));
    let up_after_down = down.and_then(|&(at, _)| {
        rendered
            .iter()
            .find(|&&(at2, to)| at2 > at && to == top["index"].as_u64().expect("index"))
    });
    assert!(
        down.is_some() && up_after_down.is_some(),
        "rungs rendered (ms, index): {rendered:?}; low phase {low_end} ms\n{}",
        trail()
    );
    let requested: Vec<&Value> = events(&r, "quality_requested").collect();
    assert!(
        requested.iter().any(|e| e["to"] == lowest["index"]
            && e["reason"]
                .as_str()
                .unwrap_or("")
                .contains("ThroughputRule")),
        "no throughput-driven switch to the lowest rung: {requested:?}"
    );
    assert!(
        requested.iter().any(|e| e["to"] == top["index"]
            && e["reason"]
                .as_str()
                .unwrap_or("")
                .contains("ThroughputRule")),
        "no throughput-driven switch back up to the top rung: {requested:?}"
    );
    // The server's log: the lowest rung's segments crossed the low link, the top rung's the
    // high one.
    let served = |rung: &Value, kbps: &Value| {
        let kbps = kbps.as_f64().expect("kbps");
        r["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .filter(|q| {
                (q["kbps"].as_f64().unwrap_or(-1.0) - kbps).abs() < 0.01
                    && q["path"].as_str().is_some_and(|p| {
                        p.starts_with(&format!("{}/seg-", rung["id"].as_str().unwrap_or("")))
                    })
            })
            .count()
    };
    assert!(served(lowest, &r["low_kbps"]) >= 3, "{}", r["requests"]);
    assert!(served(top, &r["high_kbps"]) >= 1, "{}", r["requests"]);
}
