//! `segment-encode abr-manifest`: abr-sim's manifest from a video ladder directory (and an
//! audio ladder directory), with the real per-segment sizes and per-segment quality.

use std::path::Path;

use anyhow::Context;
use segment_encode::ladder::abr_manifest::{self, AudioLadder, Manifest, VideoLadder, Which};

use super::output::{Partial, check_parent};
use super::{AbrManifestArgs, LadderKind};

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {name}"))?;
    serde_json::from_str(&text).with_context(|| format!("{name}: not the JSON this expects"))
}

pub fn run(a: AbrManifestArgs) -> anyhow::Result<()> {
    let video_json = a.ladder.join("ladder.json");
    let video: VideoLadder = read_json(&video_json)?;
    let which = match a.rungs {
        LadderKind::Hull => Which::Hull,
        LadderKind::Fixed => Which::Fixed,
    };
    let video_track = abr_manifest::video_track(&video, which, &a.quality)
        .with_context(|| video_json.display().to_string())?;
    let audio = match &a.audio {
        Some(dir) => {
            let path = dir.join("audio-ladder.json");
            let l: AudioLadder = read_json(&path)?;
            Some(abr_manifest::audio_track(&l).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    let mut manifest = Manifest {
        video: video_track,
        audio,
    };
    abr_manifest::repeat(&mut manifest, a.repeat as usize);
    anyhow::ensure!(
        a.video_bits_scale.is_finite() && a.video_bits_scale > 0.0,
        "--video-bits-scale {}: give a positive factor",
        a.video_bits_scale
    );
    abr_manifest::scale_bits(&mut manifest.video, a.video_bits_scale);
    check_parent(&a.output, "-o")?;
    let partial = Partial::new(&a.output);
    let json = serde_json::to_string_pretty(&manifest)? + "\n";
    std::fs::write(partial.writing(), json)
        .with_context(|| format!("writing {}", a.output.display()))?;
    partial.commit()?;
    eprintln!(
        "abr-sim manifest -> {}: video {} segments of {:.0} ms at {} rungs ({:?}, quality {}){}",
        a.output.display(),
        manifest.video.segment_sizes_bits.len(),
        manifest.video.segment_duration_ms,
        manifest.video.bitrates_kbps.len(),
        a.rungs,
        a.quality,
        manifest.audio.as_ref().map_or(String::new(), |t| format!(
            "; audio {} segments of {:.0} ms at {} rungs",
            t.segment_sizes_bits.len(),
            t.segment_duration_ms,
            t.bitrates_kbps.len()
        ))
    );
    Ok(())
}
