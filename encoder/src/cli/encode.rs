//! `segment-encode encode`: scenes (given or detected), the worker pool or a single pass, the
//! joined output, a summary.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use segment_encode::encode::{self, EncodeSettings};
use segment_encode::mux;
use segment_encode::run::{self, Event, Input};
use segment_encode::workdir::{SceneStats, WorkDir};
use segment_encode::{Scene, SceneList, Y4mFile, Y4mHeader};

use super::EncodeArgs;
use super::progress::frames_bar;

pub fn run(a: EncodeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    mux::Container::from_path(&a.output)?;
    let settings = EncodeSettings {
        speed: a.speed,
        quantizer: a.quantizer,
        bitrate_kbps: a.bitrate,
        tiles: a.tiles,
        keyint: a.keyint,
        psnr: a.psnr,
    };
    if let Some(t) = a.tiles
        && !t.is_power_of_two()
    {
        bail!("--tiles must be a power of two, got {t}");
    }
    let workers = a
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);

    let (input, list) = open_input(&a)?;
    let header = input.header().clone();
    let scenes = list.scenes();
    let frames = list.frames;
    let detect_seconds = started.elapsed().as_secs_f64();
    let av1c = encode::codec_config(&header, &settings)?;

    let encode_started = Instant::now();
    let stats = if a.single_pass {
        let Input::Whole(file) = &input else {
            bail!("--single-pass reads a whole Y4M file, not --scene-dir");
        };
        let packets = single_pass(file, &scenes, &settings, workers)?;
        mux::write_output(&a.output, &header, &av1c, frames, [Ok(packets)])?;
        Vec::new()
    } else {
        let work_path = a
            .work_dir
            .clone()
            .unwrap_or_else(|| default_work_dir(&a.output));
        let job = serde_json::json!({
            "header": header.line,
            "frames": frames,
            "scenes": scenes.iter().map(|s| [s.start, s.end]).collect::<Vec<_>>(),
            "settings": EncodeSettings { psnr: false, ..settings.clone() },
            "workers_for_tiles": if settings.tiles.is_none() { workers } else { 0 },
        });
        let work = WorkDir::open(&work_path, &job)?;
        if !a.only.is_empty() {
            let share: Vec<Scene> = scenes
                .iter()
                .filter(|s| a.only.contains(&s.index))
                .cloned()
                .collect();
            if let Some(bad) = a.only.iter().find(|&&i| i >= scenes.len()) {
                bail!(
                    "--only {bad}: the clip has scenes 0 to {}",
                    scenes.len().saturating_sub(1)
                );
            }
            let share_frames = share.iter().map(Scene::len).sum();
            parallel(&input, &share, &settings, workers, &work, share_frames)?;
            eprintln!(
                "scenes {:?} done in {}; {} not written (run again without --only to join)",
                a.only,
                work_path.display(),
                a.output.display()
            );
            return Ok(());
        }
        let stats = parallel(&input, &scenes, &settings, workers, &work, frames)?;
        let batches = scenes
            .iter()
            .map(|s| work.read_packets(s.index).map_err(|e| e.to_string()));
        mux::write_output(&a.output, &header, &av1c, frames, batches)?;
        if a.work_dir.is_none() && !a.keep_work {
            std::fs::remove_dir_all(&work_path)
                .with_context(|| format!("removing {}", work_path.display()))?;
        }
        stats
    };
    let encode_seconds = encode_started.elapsed().as_secs_f64();
    summary(&a, &header, frames, &stats, detect_seconds, encode_seconds)
}

/// The input and its scene list (read from --scenes, or detected now).
fn open_input(a: &EncodeArgs) -> anyhow::Result<(Input, SceneList)> {
    let given = match &a.scenes {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(SceneList::parse(&text).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    match (&a.input, &a.scene_dir, given) {
        (_, Some(dir), Some((list, header))) => {
            let files = list.scenes.iter().map(|s| s.file.clone()).collect();
            let input = Input::Ranges {
                dir: dir.clone(),
                header,
                files,
            };
            Ok((input, list))
        }
        (Some(path), None, given) => {
            let file = Y4mFile::open(path)?;
            let list = match given {
                Some((list, header)) => {
                    if header != *file.header() || list.frames != file.frames().end {
                        bail!(
                            "the scene list describes another clip ({} frames, '{}') than {}",
                            list.frames,
                            header.line.trim_end(),
                            path.display()
                        );
                    }
                    list
                }
                None => super::scenes::detect(&file, path, &a.limits)?,
            };
            Ok((Input::Whole(file), list))
        }
        _ => bail!("give an input Y4M file, or --scenes with --scene-dir"),
    }
}

fn parallel(
    input: &Input,
    scenes: &[Scene],
    settings: &EncodeSettings,
    workers: usize,
    work: &WorkDir,
    frames: u64,
) -> anyhow::Result<Vec<SceneStats>> {
    let bar = frames_bar(frames, "encode");
    let done = AtomicU64::new(0);
    let on_event = |e: Event| match e {
        Event::Resumed { scenes, frames } => {
            bar.inc(frames);
            bar.suspend(|| eprintln!("resumed: {scenes} scenes ({frames} frames) already done"));
        }
        Event::Started { .. } => {}
        Event::Frame => bar.inc(1),
        Event::Finished(s) => {
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            bar.set_message(format!("{n} scenes encoded"));
            bar.suspend(|| eprintln!("{}", scene_line(&s)));
        }
    };
    let stats = run::encode_scenes(input, scenes, settings, workers, work, &on_event)?;
    bar.finish_and_clear();
    Ok(stats)
}

fn single_pass(
    file: &Y4mFile,
    scenes: &[Scene],
    settings: &EncodeSettings,
    threads: usize,
) -> anyhow::Result<Vec<segment_encode::workdir::Packet>> {
    let config = encode::rav1e_config(
        file.header(),
        settings,
        settings.tiles.unwrap_or(1),
        threads,
    )?;
    let keys: Vec<u64> = scenes.iter().map(|s| s.start).collect();
    let frames = file.frames();
    let bar = frames_bar(frames.end, "single pass");
    let encoded =
        encode::encode_frames(&config, file, frames, &keys, settings.psnr, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if let Some(p) = encoded.psnr {
        eprintln!("PSNR Y {:.2} U {:.2} V {:.2} dB", p[0], p[1], p[2]);
    }
    Ok(encoded.packets)
}

fn scene_line(s: &SceneStats) -> String {
    let psnr = s
        .psnr
        .map(|p| format!(", PSNR-Y {:.2} dB", p[0]))
        .unwrap_or_default();
    format!(
        "scene {}: {} frames, {} bytes, {:.2} s ({:.1} fps), {} tile(s){psnr}",
        s.index,
        s.frames,
        s.bytes,
        s.seconds,
        s.frames as f64 / s.seconds.max(1e-9),
        s.tiles
    )
}

fn summary(
    a: &EncodeArgs,
    header: &Y4mHeader,
    frames: u64,
    stats: &[SceneStats],
    detect_seconds: f64,
    encode_seconds: f64,
) -> anyhow::Result<()> {
    let bytes = std::fs::metadata(&a.output)?.len();
    let seconds_of_video = frames as f64 * header.fps.den as f64 / header.fps.num as f64;
    eprintln!(
        "{}: {frames} frames, {bytes} bytes, {:.0} kbit/s; scenes {:.2} s, encode {:.2} s ({:.1} fps)",
        a.output.display(),
        bytes as f64 * 8.0 / seconds_of_video.max(1e-9) / 1000.0,
        detect_seconds,
        encode_seconds,
        frames as f64 / encode_seconds.max(1e-9)
    );
    if let Some(path) = &a.stats {
        let json = serde_json::json!({
            "frames": frames,
            "bytes": bytes,
            "scene_seconds": detect_seconds,
            "encode_seconds": encode_seconds,
            "scenes": stats,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn default_work_dir(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".work");
    PathBuf::from(name)
}
