//! `package --audio`: Opus in CMAF beside the AV1 rungs. ffmpeg opens the MPD and decodes every
//! audio representation to exactly the source's samples (the init segment's edit list trims
//! the 80 ms priming and the tail); a rung's init + segments concatenated decode the same; a
//! 5.1 source gives 6 channels; bad audio is refused by name and nothing is written.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// `package LADDER --audio WAV --audio-bitrates RATES` into `dir/dash`, which it returns.
fn package(dir: &Path, ladder: &Path, wav: &Path, rates: &str) -> PathBuf {
    let out = dir.join("dash");
    ok(&run(&a![
        "package",
        ladder,
        "-o",
        &out,
        "--audio",
        wav,
        "--audio-bitrates",
        rates,
        "-q"
    ]));
    out
}

/// A 50-frame, one-rung ladder at 25 fps with 0.8 s segments (0-20, 20-40, 40-50).
fn ladder(dir: &Path) -> PathBuf {
    let clip = y4m(dir, "clip.y4m", 50, "yuv420p");
    let out = dir.join("ladder");
    ok(&run(&a![
        "ladder",
        &clip,
        "-o",
        &out,
        "--heights",
        "68",
        "--quantizers",
        "200",
        "--speed",
        "10",
        "--segment-seconds",
        "0.8",
        "--auto-rungs",
        "1",
        "-q",
    ]));
    out
}

/// `input`'s audio (an MPD: `map` picks the stream) decoded by ffmpeg to raw f32 samples,
/// with `extra` output options.
fn f32_samples(input: &Path, map: Option<&str>, extra: &[&str]) -> Vec<u8> {
    let mut cmd = std::process::Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "fatal", "-i"])
        .arg(input);
    if let Some(m) = map {
        cmd.args(["-map", m]);
    }
    let out = cmd
        .args(extra)
        .args(["-f", "f32le", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg could not decode {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Samples per channel and channels ffmpeg decodes from `input` (an MPD: `map` picks the
/// stream).
fn decode(input: &Path, map: Option<&str>) -> (u64, u64) {
    let bytes = f32_samples(input, map, &[]).len() as u64;
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=channels",
            "-of",
            "csv=p=0",
        ])
        .args(
            map.map(|_| ["-select_streams", "a:0"])
                .unwrap_or(["-select_streams", "a"]),
        )
        .arg(input)
        .output()
        .expect("ffprobe runs");
    let channels: u64 = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .find_map(|l| l.trim().parse().ok())
        .expect("channels");
    (bytes / 4 / channels, channels)
}

/// `input`'s audio (an MPD: `map` picks the stream) downmixed to mono f32 by ffmpeg.
fn mono(input: &Path, map: Option<&str>) -> Vec<f32> {
    f32_samples(input, map, &["-ac", "1"])
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn package_audio_decodes_to_the_sources_length_in_every_rung() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ladder = ladder(dir.path());
    let wav = tone(dir.path(), "tone.wav", 2.0, 48_000, "stereo");
    let out = package(dir.path(), &ladder, &wav, "64,128");
    let mpd = out.join("manifest.mpd");
    let text = std::fs::read_to_string(&mpd).expect("mpd");
    assert!(text.contains("mimeType=\"audio/mp4\""), "{text}");
    assert_eq!(text.matches("codecs=\"opus\"").count(), 2, "{text}");
    assert!(
        text.contains("audio_channel_configuration:2011\" value=\"2\""),
        "{text}"
    );
    for (r, dir_name) in ["audio-64k", "audio-128k"].iter().enumerate() {
        // Through the MPD: exactly the 2 s source (the video's 50 frames), 96000 samples.
        assert_eq!(
            decode(&mpd, Some(&format!("0:a:{r}"))),
            (96_000, 2),
            "representation {dir_name}"
        );
        // The rung's init and segments concatenated are one fragmented MP4.
        let rung = out.join(dir_name);
        let mut joined = std::fs::read(rung.join("init.mp4")).expect("init");
        for s in 1..=3 {
            joined.extend(std::fs::read(rung.join(format!("seg-{s:05}.m4s"))).expect("seg"));
        }
        let cat = dir.path().join(format!("{dir_name}.mp4"));
        std::fs::write(&cat, joined).expect("write");
        assert_eq!(decode(&cat, None), (96_000, 2), "{dir_name} concatenated");
    }
    // Sample-aligned with the source: no lag, the priming trimmed exactly (40 dB measured on
    // this tone at 128 kbit/s).
    let (src, dec) = (mono(&wav, None), mono(&mpd, Some("0:a:1")));
    let err = |lag: i64| -> f64 {
        (4000..40_000)
            .map(|i: i64| (src[(i + lag) as usize] - dec[i as usize]) as f64)
            .map(|d| d * d)
            .sum()
    };
    let best = (-40..=40)
        .min_by(|&a, &b| err(a).total_cmp(&err(b)))
        .expect("lags");
    let signal: f64 = (4000..40_000).map(|i| (src[i] as f64).powi(2)).sum();
    assert_eq!(best, 0, "decoded audio lags the source by {best} samples");
    assert!(10.0 * (signal / err(0)).log10() > 25.0, "SNR too low");
    // abr-sim's manifest takes the audio segments' real sizes.
    let m = abr_sim::manifest::load(&out.join("abr-manifest.json")).expect("abr manifest");
    let at = m.audio.as_ref().expect("audio track");
    assert_eq!((at.segments(), at.rungs()), (3, 2));
    let seg2 = std::fs::metadata(out.join("audio-128k/seg-00002.m4s"))
        .expect("seg")
        .len();
    assert_eq!(at.size(1, 1).0, (seg2 * 8) as f64);
}

#[test]
fn a_5_1_source_gives_a_six_channel_audio_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ladder = ladder(dir.path());
    let wav = tone(dir.path(), "surround.wav", 2.0, 48_000, "5.1");
    let out = package(dir.path(), &ladder, &wav, "256");
    let text = std::fs::read_to_string(out.join("manifest.mpd")).expect("mpd");
    assert!(
        text.contains("audio_channel_configuration:2011\" value=\"6\""),
        "{text}"
    );
    assert_eq!(
        decode(&out.join("manifest.mpd"), Some("0:a:0")),
        (96_000, 6)
    );
}

#[test]
fn bad_audio_is_refused_by_name_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ladder = ladder(dir.path());
    let out = dir.path().join("dash");
    let cases = [
        (
            tone(dir.path(), "short.wav", 1.0, 48_000, "stereo"),
            "samples short",
        ),
        (tone(dir.path(), "cd.wav", 2.0, 44_100, "stereo"), "48 kHz"),
        (
            tone(dir.path(), "three.wav", 2.0, 48_000, "2.1"),
            "3 channels",
        ),
    ];
    for (wav, want) in &cases {
        let err = failed(&run(&a![
            "package", &ladder, "-o", &out, "--audio", wav, "-q"
        ]));
        assert!(err.contains(want), "{}: {err}", wav.display());
        assert!(!out.exists(), "{}: output left behind", wav.display());
    }
    // Audio a few milliseconds short (within --max-pad-ms) is padded, and still decodes to
    // the video's length.
    let near = tone(dir.path(), "near.wav", 1.99, 48_000, "stereo");
    ok(&run(&a![
        "package",
        &ladder,
        "-o",
        &out,
        "--audio",
        &near,
        "--max-pad-ms",
        "20",
        "-q"
    ]));
    assert_eq!(
        decode(&out.join("manifest.mpd"), Some("0:a:0")),
        (96_000, 2)
    );
}
