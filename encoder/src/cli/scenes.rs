//! `segment-encode scenes`: detect, plan, print or write the scene list and the mezzfs spec.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use segment_encode::detect::DetectConfig;
use segment_encode::plan::{self, SceneLimits};
use segment_encode::{SceneList, Y4mFile, Y4mHeader, scan};

use super::progress::{frames_bar, note};
use super::{LimitArgs, ScenesArgs};

pub fn run(a: ScenesArgs) -> anyhow::Result<()> {
    let file = Y4mFile::open(&a.input)?;
    let list = detect(&file, &a.input, &a.limits)?;
    let json = serde_json::to_string_pretty(&list)?;
    match &a.output {
        Some(path) => {
            std::fs::write(path, json + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "{} scenes in {} frames ({} cuts detected) -> {}",
                list.scenes.len(),
                list.frames,
                list.detected_cuts.len(),
                path.display()
            );
        }
        None => println!("{json}"),
    }
    if let Some(spec_path) = &a.mezzfs_spec {
        let source = a
            .mezzfs_source
            .clone()
            .unwrap_or_else(|| file_name(&a.input));
        let spec = serde_json::to_string_pretty(&list.mezzfs_spec(&source))?;
        std::fs::write(spec_path, spec + "\n")
            .with_context(|| format!("writing {}", spec_path.display()))?;
    }
    Ok(())
}

/// Detects cuts in `file` and plans scenes within the limits.
pub fn detect(file: &Y4mFile, input: &Path, limits: &LimitArgs) -> anyhow::Result<SceneList> {
    let header = file.header();
    let frames = file.frames().end;
    let scene_limits = scene_limits(header, limits)?;
    let started = Instant::now();
    let bar = frames_bar(frames, "scenes");
    let cuts = scan::detect_cuts(file, DetectConfig::default(), &|| bar.inc(1))?;
    bar.finish_and_clear();
    let scenes = plan::plan_scenes(&cuts, frames, scene_limits);
    note(format!(
        "scene detection: {frames} frames in {:.2} s, cuts at {cuts:?}",
        started.elapsed().as_secs_f64()
    ));
    Ok(SceneList::new(
        &input.display().to_string(),
        header,
        frames,
        (scene_limits.min_len, scene_limits.max_len),
        cuts,
        &scenes,
    ))
}

/// The limits given, the maximum defaulting to 10 seconds of the clip.
pub fn scene_limits(header: &Y4mHeader, limits: &LimitArgs) -> anyhow::Result<SceneLimits> {
    let fps = header.fps.num as f64 / header.fps.den as f64;
    let max = limits
        .max_scene_len
        .unwrap_or_else(|| (fps * 10.0).round().max(2.0) as u64);
    Ok(SceneLimits::new(limits.min_scene_len, max)?)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
