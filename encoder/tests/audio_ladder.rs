//! `segment-encode audio-ladder` end to end: sources made with ffmpeg at test time (2 s of
//! stereo, 1 s of 5.1: the run takes well under a second), every Ogg Opus segment of every
//! rung decoded by ffmpeg and checked for its sample count, channel count, alignment with the
//! source (a wrong pre-skip or a wrong channel order would wreck the SNR), and the reported
//! loudness checked against ffmpeg's ebur128 on the same span of the source.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{failed, ok, run, scene_list};

fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// One sine per channel (frequencies `freqs`), each with a slow level change so that segments
/// differ in loudness.
fn make_sines(dir: &Path, name: &str, rate: u32, seconds: f64, freqs: &[u32]) -> PathBuf {
    let out = dir.join(name);
    let exprs: Vec<String> = freqs
        .iter()
        .enumerate()
        .map(|(i, f)| format!("0.3*sin(2*PI*{f}*t)*(0.7+0.3*cos(2*PI*0.{}*t))", i + 3))
        .collect();
    // ffmpeg's "5.1": FL FR FC LFE BL BR, the WAVE order.
    let layout = if freqs.len() == 6 { ":c=5.1" } else { "" };
    let src = format!("aevalsrc={}:s={rate}:d={seconds}{layout}", exprs.join("|"));
    ffmpeg(&["-f", "lavfi", "-i", &src, "-c:a", "pcm_s16le", s(&out)]);
    out
}

/// Interleaved f32 samples of a file as ffmpeg decodes it (all channels, native order).
fn decode(path: &Path) -> Vec<f32> {
    ffmpeg(&["-i", s(path), "-f", "f32le", "-"])
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
        .collect()
}

fn channels(path: &Path) -> usize {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=channels,codec_name",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (codec, ch) = text.split_once(',').expect("codec,channels");
    assert_eq!(codec, "opus", "{}", path.display());
    ch.parse().expect("a number")
}

/// SNR in dB of channel `c` of `ours` against `theirs` (both interleaved with `ch` channels).
fn snr_db(ours: &[f32], theirs: &[f32], ch: usize, c: usize) -> f64 {
    let (mut signal, mut noise) = (0f64, 0f64);
    for (a, b) in ours.chunks_exact(ch).zip(theirs.chunks_exact(ch)) {
        signal += f64::from(b[c]).powi(2);
        noise += (f64::from(a[c]) - f64::from(b[c])).powi(2);
    }
    10.0 * (signal / noise.max(1e-30)).log10()
}

/// ffmpeg's integrated loudness of samples `start..end` of `path`.
fn ffmpeg_lufs(path: &Path, start: u64, end: u64) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(path)
        .arg("-af")
        .arg(format!(
            "atrim=start_sample={start}:end_sample={end},ebur128=peak=sample"
        ))
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = text.rsplit("Summary:").next().expect("summary");
    summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("I:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no I: in {summary}"))
}

/// Runs the ladder and checks every segment of every rung against the source; returns the
/// report.
fn check_ladder(
    src: &Path,
    out: &Path,
    scenes: &Path,
    bitrates: &[u32],
    ch: usize,
    min_snr_db: f64,
) -> serde_json::Value {
    let list = bitrates
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let stderr = ok(&run(&a!(
        "audio-ladder",
        src,
        "-o",
        out,
        "--scenes",
        scenes,
        "--bitrates",
        list,
        "-q"
    )));
    assert!(stderr.contains("libopus"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("audio-ladder.json")).expect("audio-ladder.json"),
    )
    .expect("json");
    let source = decode(src);
    let segments = report["segments"].as_array().expect("segments");
    let rungs = report["rungs"].as_array().expect("rungs");
    assert_eq!(rungs.len(), bitrates.len());
    let mut last_kbps = 0.0;
    for (rung, &target) in rungs.iter().zip(bitrates) {
        assert_eq!(rung["target_kbps"], target);
        let kbps = rung["kbps"].as_f64().expect("kbps");
        // VBR: not the target exactly, but ordered and in its neighbourhood.
        assert!(kbps > last_kbps, "rung {target}: {kbps} kbit/s");
        assert!(
            kbps > f64::from(target) * 0.6 && kbps < f64::from(target) * 1.4,
            "rung {target}: {kbps} kbit/s"
        );
        last_kbps = kbps;
        for (seg, rseg) in segments.iter().zip(rung["segments"].as_array().expect("a")) {
            let file = out.join(rseg["file"].as_str().expect("file"));
            assert_eq!(
                std::fs::metadata(&file).expect("segment file").len(),
                rseg["bytes"].as_u64().expect("bytes")
            );
            assert_eq!(channels(&file), ch, "{}", file.display());
            let got = decode(&file);
            let start = seg["start_sample"].as_u64().expect("start") as usize;
            let len = seg["samples"].as_u64().expect("samples") as usize;
            // Pre-skip and end trimming: exactly the segment's samples.
            assert_eq!(got.len(), len * ch, "{}", file.display());
            let want = &source[start * ch..(start + len) * ch];
            for c in 0..ch {
                let snr = snr_db(&got, want, ch, c);
                assert!(
                    snr > min_snr_db,
                    "{} channel {c}: SNR {snr:.1} dB",
                    file.display()
                );
            }
        }
    }
    // Loudness per segment, of the source's span.
    for seg in segments {
        let start = seg["start_sample"].as_u64().expect("start");
        let end = start + seg["samples"].as_u64().expect("samples");
        let ours = seg["lufs"]
            .as_f64()
            .expect("segments are longer than 400 ms");
        let theirs = ffmpeg_lufs(src, start, end);
        assert!((ours - theirs).abs() < 0.2, "segment {seg}: {theirs} LUFS");
    }
    report
}

#[test]
fn stereo_ladder_segments_decode_to_their_samples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = make_sines(dir.path(), "stereo.wav", 48000, 2.0, &[440, 1000]);
    // Frames 0..13, 13..30, 30..50 at 25 fps: 24960, 32640 and 38400 samples.
    let scenes = scene_list(dir.path(), "25:1", 50, &[13, 30]);
    let out = dir.path().join("audio");
    let report = check_ladder(&src, &out, &scenes, &[64, 96, 128, 192], 2, 12.0);
    let lens: Vec<u64> = report["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| s["samples"].as_u64().expect("samples"))
        .collect();
    assert_eq!(lens, [24960, 32640, 38400]);
    assert_eq!(report["rungs"][0]["dir"], "opus-64k");
    assert_eq!(report["rungs"][0]["mapping"]["family"], 0);
}

#[test]
fn surround_ladder_keeps_every_channel_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    // FL FR FC LFE BL BR: a different tone in each, the LFE's low.
    let src = make_sines(
        dir.path(),
        "surround.wav",
        48000,
        1.2,
        &[300, 500, 700, 60, 900, 1100],
    );
    let scenes = scene_list(dir.path(), "25:1", 30, &[14]);
    let out = dir.path().join("audio");
    let report = check_ladder(&src, &out, &scenes, &[192, 640], 6, 10.0);
    let mapping = &report["rungs"][1]["mapping"];
    assert_eq!(mapping["family"], 1);
    assert_eq!(
        (mapping["streams"].as_u64(), mapping["coupled"].as_u64()),
        (Some(4), Some(2))
    );
}

#[test]
fn bad_inputs_are_clear_errors_and_leave_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let short = make_sines(dir.path(), "short.wav", 48000, 1.0, &[440, 1000]);
    let scenes = scene_list(dir.path(), "25:1", 50, &[13, 30]);
    let out = dir.path().join("audio");
    // Audio shorter than the video's segments (1 s of 2 s).
    let err = failed(&run(&a!(
        "audio-ladder",
        &short,
        "-o",
        &out,
        "--scenes",
        &scenes
    )));
    assert!(err.contains("short.wav"), "{err}");
    assert!(err.contains("samples short"), "{err}");
    // Not 48 kHz.
    let cd = make_sines(dir.path(), "cd.wav", 44100, 2.0, &[440, 1000]);
    let err = failed(&run(&a!(
        "audio-ladder",
        &cd,
        "-o",
        &out,
        "--scenes",
        &scenes
    )));
    assert!(err.contains("cd.wav") && err.contains("48 kHz"), "{err}");
    // A bitrate libopus cannot make.
    let good = make_sines(dir.path(), "good.wav", 48000, 2.0, &[440, 1000]);
    let err = failed(&run(&a!(
        "audio-ladder",
        &good,
        "-o",
        &out,
        "--scenes",
        &scenes,
        "--bitrates",
        "64,900"
    )));
    assert!(err.contains("900 kbit/s"), "{err}");
    // Nothing was left behind: no output, no partial directory.
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".wav") && n != "scenes.json")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // An existing output is refused and kept.
    std::fs::create_dir(&out).expect("mkdir");
    let err = failed(&run(&a!(
        "audio-ladder",
        &good,
        "-o",
        &out,
        "--scenes",
        &scenes
    )));
    assert!(err.contains("already exists"), "{err}");
}
