//! Helpers for the end-to-end tests: test clips made with ffmpeg from the committed excerpt,
//! the binary, and independent decoding (dav1d, ffmpeg).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_segment-encode");

/// The committed excerpt: bikes.mp4 at 320x136, 25 fps, 250 frames, cuts at 30, 76, 137, 187,
/// 242.
pub fn excerpt() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/media/bikes-320x136.mp4")
}

/// Decodes the excerpt's first `frames` frames to Y4M at `pix_fmt` (yuv420p, yuv420p10le).
pub fn y4m(dir: &Path, name: &str, frames: u32, pix_fmt: &str) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(excerpt())
        .args([
            "-frames:v",
            &frames.to_string(),
            "-pix_fmt",
            pix_fmt,
            "-strict",
            "-1",
        ])
        .arg(&out)
        .status()
        .expect("ffmpeg runs (scripts/test.sh installs it)");
    assert!(status.success(), "ffmpeg failed to make {name}");
    out
}

/// Runs the binary; arguments are anything path- or string-like (`a!` builds the list).
pub fn run(args: &[std::ffi::OsString]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("segment-encode runs")
}

#[macro_export]
macro_rules! a {
    ($($x:expr),* $(,)?) => { [$(std::ffi::OsString::from($x)),*] };
}

pub fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "segment-encode failed: {stderr}");
    stderr
}

pub fn failed(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "segment-encode should have failed: {stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic, not an error: {stderr}"
    );
    stderr
}

/// Decodes an AV1 IVF with dav1d into Y4M; returns the number of frames in it.
pub fn dav1d_frames(ivf: &Path, out: &Path) -> u64 {
    let status = Command::new("dav1d")
        .args(["-q", "-i"])
        .arg(ivf)
        .arg("-o")
        .arg(out)
        .status()
        .expect("dav1d runs (scripts/test.sh installs it)");
    assert!(status.success(), "dav1d failed on {}", ivf.display());
    count_y4m_frames(out)
}

pub fn count_y4m_frames(path: &Path) -> u64 {
    let bytes = std::fs::read(path).expect("read y4m");
    let header = segment_encode::y4m::parse_header(&bytes).expect("decoder wrote a Y4M header");
    header
        .frame_count(bytes.len() as u64)
        .expect("whole frames")
}

/// Frames ffmpeg decodes from any container.
pub fn ffmpeg_frames(path: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
        ])
        .args(["stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a frame count")
}

/// Average PSNR-Y in dB of `decoded` against `reference` (both Y4M), by ffmpeg's psnr filter.
pub fn psnr_y(decoded: &Path, reference: &Path) -> f64 {
    psnr_y_by(
        decoded,
        reference,
        "[0:v]setpts=N[a];[1:v]setpts=N[b];[a][b]psnr",
    )
}

/// Average PSNR-Y in dB that ffmpeg's filter graph `lavfi` (inputs `decoded`, `reference`,
/// ending in psnr) prints.
pub fn psnr_y_by(decoded: &Path, reference: &Path, lavfi: &str) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-i"])
        .arg(decoded)
        .arg("-i")
        .arg(reference)
        .args(["-lavfi", lavfi, "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("PSNR y:"))
        .unwrap_or_else(|| panic!("no PSNR in {text}"));
    let y = line
        .split("y:")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("y value");
    y.parse().expect("a number")
}

/// A scene list for a clip of `frames` frames at `fps` ("num:den") cut at `cuts`.
pub fn scene_list(dir: &Path, fps: &str, frames: u64, cuts: &[u64]) -> PathBuf {
    let header = segment_encode::y4m::parse_header(
        format!("YUV4MPEG2 W64 H32 F{fps} Ip A1:1 C420jpeg\n").as_bytes(),
    )
    .expect("header");
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(frames);
    let scenes: Vec<segment_encode::plan::Scene> = bounds
        .windows(2)
        .enumerate()
        .map(|(index, w)| segment_encode::plan::Scene {
            index,
            start: w[0],
            end: w[1],
        })
        .collect();
    let list = segment_encode::SceneList::new(
        "clip.y4m",
        &header,
        frames,
        (1, frames),
        cuts.to_vec(),
        &scenes,
    );
    let path = dir.join("scenes.json");
    std::fs::write(&path, serde_json::to_string_pretty(&list).expect("json")).expect("write");
    path
}

/// A sine source made by ffmpeg: `seconds` long at `rate` Hz with `layout`.
pub fn tone(dir: &Path, name: &str, seconds: f64, rate: u32, layout: &str) -> PathBuf {
    let path = dir.join(name);
    let st = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg(format!("sine=f=440:r={rate}:d={seconds}"))
        .args(["-af", &format!("aformat=channel_layouts={layout}")])
        .arg(&path)
        .status()
        .expect("ffmpeg runs (scripts/test.sh installs it)");
    assert!(st.success());
    path
}

/// What a project script installs outside the source tree (a venv's Python, the player's
/// node_modules): the path in `env` when scripts/test.sh exported it, else the path the script
/// prints after installing what is missing (a test run on its own).
pub fn installed(env: &str, script: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(script);
    let out = Command::new("bash").arg(&path).output().expect("bash runs");
    assert!(
        out.status.success(),
        "installing with scripts/{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
