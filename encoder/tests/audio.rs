//! `segment-encode audio` end to end: inputs made with ffmpeg at test time, segments checked
//! against the input's own samples (PCM, FLAC: bit-exact), against ffmpeg's decode (AAC in
//! MP4), and loudness and peak against ffmpeg's ebur128 filter.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{failed, ok, run, scene_list};

fn ffmpeg(args: &[&str]) {
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
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A test signal: noise in the left channel (every bit matters), a sine in the right,
/// with the loudness changing over time so that segments differ.
fn make_audio(dir: &Path, name: &str, rate: u32, seconds: f64, codec_args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let src = format!(
        "aevalsrc=(0.6*random(0)-0.3)*(1+0.5*sin(2*PI*0.4*t))|0.5*sin(2*PI*440*t)*(0.6+0.4*cos(2*PI*0.3*t)):s={rate}:d={seconds}"
    );
    let mut args = vec!["-f", "lavfi", "-i", &src];
    args.extend_from_slice(codec_args);
    args.push(s(&out));
    ffmpeg(&args);
    out
}

/// `round(f * rate * den / num)`, written out again here on purpose.
fn boundary(frame: u64, rate: u64, num: u64, den: u64) -> u64 {
    let x = u128::from(frame) * u128::from(rate) * u128::from(den);
    ((2 * x + u128::from(num)) / (2 * u128::from(num))) as u64
}

/// The `fmt ` format tag, bits per sample, and `data` payload of a WAV file.
fn wav_data(path: &Path) -> (u16, u16, u16, Vec<u8>) {
    let b = std::fs::read(path).expect("read wav");
    assert_eq!(&b[..4], b"RIFF", "{}", path.display());
    assert_eq!(&b[8..12], b"WAVE");
    let riff = u32::from_le_bytes(b[4..8].try_into().expect("4")) as usize;
    assert_eq!(riff + 8, b.len(), "RIFF size of {}", path.display());
    let mut at = 12;
    let mut fmt = (0, 0, 0);
    while at + 8 <= b.len() {
        let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().expect("4")) as usize;
        let body = &b[at + 8..at + 8 + len];
        match &b[at..at + 4] {
            b"fmt " => {
                fmt = (
                    u16::from_le_bytes([body[0], body[1]]),
                    u16::from_le_bytes([body[2], body[3]]),
                    u16::from_le_bytes([body[14], body[15]]),
                )
            }
            b"data" => return (fmt.0, fmt.1, fmt.2, body.to_vec()),
            _ => {}
        }
        at += 8 + len + len % 2;
    }
    panic!("no data chunk in {}", path.display());
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
}

/// Runs `audio IN --scenes LIST -o DIR --report R`; returns the report and segments' data.
/// Samples in each segment of a report.
fn segment_lengths(r: &serde_json::Value) -> Vec<u64> {
    r["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| s["samples"].as_u64().expect("samples"))
        .collect()
}

fn split_scenes(input: &Path, list: &Path, dir: &Path) -> (serde_json::Value, Vec<Vec<u8>>) {
    let out_dir = dir.join("segments");
    let rep = dir.join("report.json");
    ok(&run(&a![
        "audio", input, "--scenes", list, "-o", &out_dir, "--report", &rep
    ]));
    let r = report(&rep);
    let data = r["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|seg| wav_data(&out_dir.join(seg["file"].as_str().expect("file"))).3)
        .collect();
    (r, data)
}

#[test]
fn pcm_wav_segments_are_bit_exact_and_sample_accurate() {
    let dir = tempfile::tempdir().expect("tempdir");
    // (rate, fps, bits, video frames, cuts): 1920, 1764 and 1601.6 samples per frame; the
    // 44.1 kHz video is longer than its 3 s of audio (padding), the others shorter (dropping).
    let cases: [(u32, &str, u32, u64, &[u64]); 4] = [
        (48000, "25:1", 16, 70, &[7, 30, 31]),
        (44100, "25:1", 24, 80, &[1, 2, 40, 77]),
        (48000, "30000:1001", 16, 89, &[5, 6, 50]),
        (48000, "30000:1001", 24, 60, &[13, 26, 39]),
    ];
    for (rate, fps, bits, frames, cuts) in cases {
        let sub = dir.path().join(format!("{rate}-{bits}-{frames}"));
        std::fs::create_dir_all(&sub).expect("mkdir");
        let codec = if bits == 16 { "pcm_s16le" } else { "pcm_s24le" };
        let input = make_audio(&sub, "in.wav", rate, 3.0, &["-c:a", codec]);
        let list = scene_list(&sub, fps, frames, cuts);
        let (r, segs) = split_scenes(&input, &list, &sub);
        let (num, den) = fps.split_once(':').expect("fps");
        let (num, den): (u64, u64) = (num.parse().expect("num"), den.parse().expect("den"));
        let mut edges = vec![0];
        edges.extend_from_slice(cuts);
        edges.push(frames);
        let block = 2 * bits as usize / 8;
        for (i, w) in edges.windows(2).enumerate() {
            let want =
                boundary(w[1], rate.into(), num, den) - boundary(w[0], rate.into(), num, den);
            let seg = &r["segments"][i];
            assert_eq!(
                seg["samples"].as_u64(),
                Some(want),
                "{fps} {rate} segment {i}"
            );
            assert_eq!(
                segs[i].len(),
                want as usize * block,
                "{fps} {rate} segment {i} bytes"
            );
            assert_eq!(
                seg["start_sample"].as_u64(),
                Some(boundary(w[0], rate.into(), num, den))
            );
        }
        let (tag, ch, wbits, original) = wav_data(&input);
        assert_eq!((ch, wbits), (2, bits as u16), "ffmpeg's input");
        let (out_tag, out_ch, out_bits, _) = wav_data(&sub.join("segments/segment-0000.wav"));
        assert_eq!((out_tag, out_ch, out_bits), (tag, 2, bits as u16));
        let joined: Vec<u8> = segs.concat();
        let total = boundary(frames, rate.into(), num, den) as usize * block;
        assert_eq!(joined.len(), total);
        let audio = 3 * rate as usize * block;
        let common = total.min(audio);
        assert!(
            joined[..common] == original[..common],
            "{fps} {rate} {bits}: samples differ"
        );
        if total > audio {
            assert!(
                joined[audio..].iter().all(|&b| b == 0),
                "padding is silence"
            );
            assert_eq!(
                r["padded_samples"].as_u64(),
                Some(((total - audio) / block) as u64)
            );
        } else {
            assert_eq!(
                r["dropped_samples"].as_u64(),
                Some(((audio - total) / block) as u64)
            );
        }
    }
}

#[test]
fn flac_segments_equal_ffmpegs_decode() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (bits, fmt, extra) in [
        (16, "s16le", &["-c:a", "flac", "-sample_fmt", "s16"][..]),
        (
            24,
            "s24le",
            &[
                "-c:a",
                "flac",
                "-sample_fmt",
                "s32",
                "-bits_per_raw_sample",
                "24",
            ][..],
        ),
    ] {
        let sub = dir.path().join(format!("flac{bits}"));
        std::fs::create_dir_all(&sub).expect("mkdir");
        let input = make_audio(&sub, "in.flac", 44100, 2.0, extra);
        let list = scene_list(&sub, "30000:1001", 59, &[10, 11, 30]);
        let (r, segs) = split_scenes(&input, &list, &sub);
        assert_eq!(r["input"]["codec"], "flac");
        assert_eq!(r["input"]["bits_per_sample"], bits);
        let raw = sub.join("ffmpeg.raw");
        ffmpeg(&["-i", s(&input), "-f", fmt, s(&raw)]);
        let theirs = std::fs::read(&raw).expect("raw");
        let joined = segs.concat();
        let total = boundary(59, 44100, 30000, 1001) as usize * 2 * bits / 8;
        assert_eq!(joined.len(), total);
        assert!(
            joined == theirs[..total],
            "{bits}-bit FLAC differs from ffmpeg"
        );
    }
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
        .collect()
}

/// Signal-to-noise ratio of `ours` against `theirs`, in dB.
fn snr_db(ours: &[f32], theirs: &[f32]) -> f64 {
    let signal: f64 = theirs.iter().map(|&x| f64::from(x).powi(2)).sum();
    let noise: f64 = ours
        .iter()
        .zip(theirs)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    10.0 * (signal / noise.max(1e-30)).log10()
}

fn ffprobe_audio(path: &Path, entry: &str) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries"])
        .arg(format!("stream={entry}"))
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a number")
}

/// ffmpeg's AAC encoder, without perceptual noise substitution: a PNS band is noise each
/// decoder makes up with its own generator, so only its level, not its samples, could match.
const AAC: [&str; 6] = ["-c:a", "aac", "-b:a", "192k", "-aac_pns", "0"];

/// Checks our decode of an AAC-in-MP4 (through the segments) against ffmpeg's.
fn check_aac_against_ffmpeg(input: &Path, dir: &Path, frames: u64, cuts: &[u64], ch: usize) {
    let list = scene_list(dir, "25:1", frames, cuts);
    let (r, segs) = split_scenes(input, &list, dir);
    let raw = dir.join("ffmpeg.f32");
    ffmpeg(&["-i", s(input), "-map", "0:a:0", "-f", "f32le", s(&raw)]);
    let theirs = f32s(&std::fs::read(&raw).expect("raw"));
    let ours = f32s(&segs.concat());
    // The MP4's edit list: ffmpeg's muxer writes the priming (1024) as media_time and the
    // real length as the edit's duration.
    let packets = ffprobe_audio(input, "nb_frames");
    let presented = ffprobe_audio(input, "duration_ts");
    let decoded = r["decoded_samples"].as_u64().expect("decoded");
    assert_eq!(r["input"]["edit"]["skip"], 1024);
    assert_eq!(decoded, presented, "edit list duration");
    // ffmpeg skips the same 1024 priming samples; this ffmpeg (5.1) keeps the end padding,
    // newer ones may cut it at the edit's end too. Either way it is the exact count.
    let theirs_len = (theirs.len() / ch) as u64;
    assert!(
        theirs_len == presented || theirs_len == packets * 1024 - 1024,
        "ffmpeg decoded {theirs_len} samples: {packets} packets, {presented} presented"
    );
    let total = boundary(frames, 48000, 25, 1) as usize;
    assert_eq!(ours.len(), total * ch);
    let common = total.min(decoded as usize) * ch;
    let snr = snr_db(&ours[..common], &theirs[..common]);
    let max_diff = ours[..common]
        .iter()
        .zip(&theirs[..common])
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        snr > 50.0,
        "SNR {snr:.1} dB against ffmpeg (max diff {max_diff})"
    );
    // One sample of misalignment would cost far more than this on a 440 Hz sine plus noise.
    let shifted = snr_db(&ours[ch..common], &theirs[..common - ch]);
    assert!(
        shifted < 30.0,
        "aligned only by chance? shifted SNR {shifted:.1} dB"
    );
    eprintln!("AAC vs ffmpeg: SNR {snr:.1} dB, max abs diff {max_diff:e}, {decoded} samples");
}

#[test]
fn aac_in_mp4_matches_ffmpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 2.5 s, not a whole number of 1024-sample packets: the last packet is padded.
    let input = make_audio(dir.path(), "stereo.mp4", 48000, 2.5, &AAC);
    // 62 frames (2.48 s) of video: the last 960 samples of audio are dropped.
    check_aac_against_ffmpeg(&input, dir.path(), 62, &[12, 13, 40], 2);
}

#[test]
fn aac_next_to_a_video_track_matches_ffmpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audio = make_audio(dir.path(), "a.wav", 48000, 4.0, &["-c:a", "pcm_s16le"]);
    let input = dir.path().join("av.mp4");
    ffmpeg(&[
        "-i",
        s(&common::excerpt()),
        "-i",
        s(&audio),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-t",
        "3.7",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-aac_pns",
        "0",
        s(&input),
    ]);
    // 100 frames = 4 s of video: the audio is shorter and the end is padded.
    check_aac_against_ffmpeg(&input, dir.path(), 100, &[30, 60], 2);
}

fn six_channel_aac(dir: &Path) -> PathBuf {
    make_audio(
        dir,
        "six.mp4",
        48000,
        2.5,
        &[&["-ac", "6"], &AAC[..]].concat(),
    )
}

#[test]
#[cfg(not(feature = "fdk-aac"))]
fn six_channel_aac_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = failed(&run(&a!["audio", six_channel_aac(dir.path())]));
    assert!(
        err.contains("unsupported audio codec: aac (6 channels"),
        "{err}"
    );
    assert!(err.contains("--features fdk-aac"), "{err}");
}

/// With FDK, 5.1 AAC decodes to ffmpeg's samples (within 16-bit rounding), FDK's output delay
/// taken out and flushed at the end.
#[test]
#[cfg(feature = "fdk-aac")]
fn six_channel_aac_matches_ffmpeg_with_fdk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = six_channel_aac(dir.path());
    check_aac_against_ffmpeg(&input, dir.path(), 62, &[12, 40], 6);
}

/// ffmpeg's ebur128 summary of a file: (integrated LUFS, sample peak dBFS).
fn ffmpeg_ebur128(path: &Path) -> (f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-af", "ebur128=peak=sample", "-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = text.rsplit("Summary:").next().expect("summary");
    let value = |key: &str| -> f64 {
        summary
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {summary}"))
    };
    (value("I:"), value("Peak:"))
}

/// A reported segment's loudness within 0.2 LU and peak within 0.1 dB of ffmpeg's `ebur128`
/// on the segment file written in `dir`.
fn assert_matches_ffmpeg_ebur128(seg: &serde_json::Value, dir: &Path, what: &str) {
    let file = dir.join(seg["file"].as_str().expect("file"));
    let (lufs, peak) = ffmpeg_ebur128(&file);
    let ours = seg["lufs"].as_f64().expect("defined");
    let our_peak = seg["peak_dbfs"].as_f64().expect("peak");
    assert!(
        (ours - lufs).abs() <= 0.2,
        "{what} LUFS {ours:.2} vs ffmpeg {lufs:.2}"
    );
    assert!(
        (our_peak - peak).abs() <= 0.1,
        "{what} peak {our_peak:.2} vs ffmpeg {peak:.2}"
    );
}

#[test]
fn loudness_and_peak_match_ffmpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = make_audio(dir.path(), "in.wav", 48000, 6.0, &["-c:a", "pcm_s24le"]);
    // Segments of 0.3 s (too short: undefined), 1 s, 2.2 s, 2.5 s.
    let list = scene_list(dir.path(), "25:1", 150, &[8, 33, 88]);
    let (r, _) = split_scenes(&input, &list, dir.path());
    let segs = r["segments"].as_array().expect("segments");
    assert!(
        segs[0]["lufs"].is_null(),
        "0.32 s has no integrated loudness"
    );
    for seg in &segs[1..] {
        assert_matches_ffmpeg_ebur128(seg, &dir.path().join("segments"), "stereo");
    }

    // 5.1: the surrounds weigh 1.41, the LFE not at all, as in ffmpeg's filter.
    let six = dir.path().join("six.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "aevalsrc=0.1*sin(2*PI*440*t)|0.2*sin(2*PI*550*t)|0.3*sin(2*PI*660*t)|0.9*sin(2*PI*50*t)|0.4*sin(2*PI*1000*t)|0.05*random(0):c=5.1:s=48000:d=3",
        "-c:a",
        "pcm_s16le",
        s(&six),
    ]);
    let six_dir = dir.path().join("six");
    let six_rep = dir.path().join("six.json");
    ok(&run(&a![
        "audio",
        &six,
        "--segment-seconds",
        "1.5",
        "-o",
        &six_dir,
        "--report",
        &six_rep
    ]));
    for seg in report(&six_rep)["segments"].as_array().expect("segments") {
        assert_matches_ffmpeg_ebur128(seg, &six_dir, "5.1");
    }

    // A sine of amplitude 0.5 peaks at 20 log10(0.5) = -6.02 dBFS, and a 1 kHz sine in one
    // channel of a stereo file is 3.01 dB under its RMS level (BS.1770's calibration).
    let sine = dir.path().join("sine.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "aevalsrc=0.5*sin(2*PI*1000*t)|0:s=48000:d=2",
        "-c:a",
        "pcm_f32le",
        s(&sine),
    ]);
    let rep = dir.path().join("sine.json");
    ok(&run(&a![
        "audio",
        &sine,
        "--segment-seconds",
        "1",
        "--report",
        &rep
    ]));
    let r = report(&rep);
    for seg in r["segments"].as_array().expect("segments") {
        let peak = seg["peak_dbfs"].as_f64().expect("peak");
        assert!((peak - -6.02).abs() < 0.01, "peak {peak}");
        let lufs = seg["lufs"].as_f64().expect("lufs");
        assert!((lufs - (-6.02 - 3.01)).abs() < 0.1, "lufs {lufs}");
    }
}

#[test]
fn fixed_length_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = make_audio(dir.path(), "in.wav", 44100, 3.0, &["-c:a", "pcm_s16le"]);
    let out_dir = dir.path().join("seg");
    let rep = dir.path().join("r.json");
    ok(&run(&a![
        "audio",
        &input,
        "--segment-seconds",
        "1.001",
        "-o",
        &out_dir,
        "--report",
        &rep
    ]));
    let r = report(&rep);
    let lens = segment_lengths(&r);
    // round(k * 1.001 * 44100): 44144, 88288, 132432 > 132300 -> the last one is shorter.
    assert_eq!(lens, [44144, 44144, 132300 - 88288]);
    let joined: Vec<u8> = (0..3)
        .flat_map(|i| wav_data(&out_dir.join(format!("segment-{i:04}.wav"))).3)
        .collect();
    assert!(joined == wav_data(&input).3);
    // With a scene list the segments cover the video (80 frames = 3.2 s): the last one is
    // padded with silence.
    let list = scene_list(dir.path(), "25:1", 80, &[40]);
    let rep = dir.path().join("r2.json");
    ok(&run(&a![
        "audio",
        &input,
        "--scenes",
        &list,
        "--segment-seconds",
        "1",
        "--report",
        &rep
    ]));
    let r = report(&rep);
    let lens = segment_lengths(&r);
    assert_eq!(lens, [44100, 44100, 44100, 8820]);
    assert_eq!(r["padded_samples"], 8820);
    assert_eq!(r["segments"][3]["padded_samples"], 8820);
}

#[test]
fn probe_prints_the_track() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = make_audio(dir.path(), "in.flac", 44100, 1.5, &["-c:a", "flac"]);
    let out = run(&a!["audio", &input]);
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "codec:     flac",
        "rate:      44100 Hz",
        "channels:  2",
        "samples:   66150",
        "duration:  1.500000 s",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
}

#[test]
fn bad_inputs_fail_with_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage.wav");
    std::fs::write(&garbage, b"this is not audio at all, just text".repeat(100)).expect("write");
    let err = failed(&run(&a!["audio", &garbage]));
    assert!(err.contains("garbage.wav: not a media file"), "{err}");

    // An MP4 cut in the middle of its media data.
    let whole = make_audio(
        dir.path(),
        "whole.mp4",
        48000,
        2.0,
        &["-c:a", "aac", "-movflags", "+faststart"],
    );
    let bytes = std::fs::read(&whole).expect("read");
    let truncated = dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let list = scene_list(dir.path(), "25:1", 50, &[]);
    let err = failed(&run(&a!["audio", &truncated, "--scenes", &list]));
    assert!(err.contains("truncated.mp4"), "{err}");

    let err = failed(&run(&a!["audio", common::excerpt()]));
    assert!(err.contains("no audio track"), "{err}");

    let wav = make_audio(dir.path(), "ok.wav", 48000, 1.0, &["-c:a", "pcm_s16le"]);
    let text = std::fs::read_to_string(&list).expect("list");
    let bad = dir.path().join("bad-fps.json");
    std::fs::write(&bad, text.replace("\"25:1\"", "\"25:0\"")).expect("write");
    let err = failed(&run(&a!["audio", &wav, "--scenes", &bad]));
    assert!(err.contains("bad-fps.json: fps '25:0'"), "{err}");

    let err = failed(&run(&a!["audio", &wav, "--segment-seconds=-4"]));
    assert!(
        err.contains("'-4' is not a positive number of seconds"),
        "{err}"
    );
    let err = failed(&run(&a!["audio", &wav, "--track", "1"]));
    assert!(err.contains("audio track 1 does not exist"), "{err}");
    let err = failed(&run(&a!["audio", dir.path().join("missing.wav")]));
    assert!(err.contains("missing.wav: cannot read the file"), "{err}");
}

#[test]
fn flac_output_round_trips_and_refuses_float_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (bits, codec, fmt) in [(16, "pcm_s16le", "s16le"), (24, "pcm_s24le", "s24le")] {
        let input = make_audio(
            dir.path(),
            &format!("in{bits}.wav"),
            48000,
            2.0,
            &["-c:a", codec],
        );
        let list = scene_list(dir.path(), "30000:1001", 59, &[1, 20]);
        let out_dir = dir.path().join(format!("flac{bits}"));
        ok(&run(&a![
            "audio", &input, "--scenes", &list, "-o", &out_dir, "--format", "flac"
        ]));
        let mut joined = Vec::new();
        for i in 0..3 {
            let raw = dir.path().join("seg.raw");
            let seg = out_dir.join(format!("segment-{i:04}.flac"));
            ffmpeg(&["-i", s(&seg), "-f", fmt, s(&raw)]);
            joined.extend(std::fs::read(&raw).expect("raw"));
        }
        let total = boundary(59, 48000, 30000, 1001) as usize * 2 * bits / 8;
        let original = wav_data(&input).3;
        assert_eq!(joined.len(), total);
        assert!(
            joined == original[..total],
            "{bits}-bit FLAC segments differ from the input"
        );
    }
    let aac = make_audio(dir.path(), "a.mp4", 48000, 1.0, &["-c:a", "aac"]);
    let err = failed(&run(&a![
        "audio",
        &aac,
        "--segment-seconds",
        "1",
        "-o",
        dir.path().join("x"),
        "--format",
        "flac"
    ]));
    assert!(err.contains("FLAC output needs integer samples"), "{err}");
}

/// A run that fails part way (a truncated input) leaves no segment file, not even the ones
/// completed before the failure, and removes the output directory it created.
#[test]
fn a_failed_split_leaves_no_segment_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole = make_audio(
        dir.path(),
        "whole.mp4",
        48000,
        2.0,
        &["-c:a", "aac", "-movflags", "+faststart"],
    );
    let bytes = std::fs::read(&whole).expect("read");
    let truncated = dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    // Segment 0 (0.4 s) is complete well before the cut.
    let list = scene_list(dir.path(), "25:1", 50, &[10]);
    let made = dir.path().join("made-here");
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).expect("dir");
    for out in [&made, &existing] {
        let err = failed(&run(&a!["audio", &truncated, "--scenes", &list, "-o", out]));
        assert!(err.contains("truncated.mp4"), "{err}");
    }
    assert!(!made.exists(), "the directory this run made is removed");
    let left: Vec<_> = std::fs::read_dir(&existing)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
    // The same input whole writes every segment.
    ok(&run(&a![
        "audio", &whole, "--scenes", &list, "-o", &existing
    ]));
    assert!(existing.join("segment-0001.wav").exists());
    // An output whose parent does not exist is refused, nothing created.
    let err = failed(&run(&a![
        "audio",
        &whole,
        "--scenes",
        &list,
        "-o",
        dir.path().join("no/such/dir")
    ]));
    assert!(err.contains("does not exist"), "{err}");
    assert!(!dir.path().join("no").exists());
}
