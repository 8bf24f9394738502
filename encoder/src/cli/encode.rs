//! `segment-encode encode`: scenes (given or detected), the worker pool or a single pass, the
//! joined output, a summary.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use segment_encode::detect::DetectConfig;
use segment_encode::encode::{self, EncodeSettings};
use segment_encode::mux;
use segment_encode::plan::{SceneLimits, ScenePlanner};
use segment_encode::run::{self, Event, Input, RunError};
use segment_encode::scan;
use segment_encode::workdir::{SceneStats, WorkDir};
use segment_encode::{Scene, SceneList, Y4mFile, Y4mHeader};

use super::EncodeArgs;
use super::output::{Partial, check_parent};
use super::progress::{frames_bar, note};

pub fn run(a: EncodeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    mux::Container::from_path(&a.output)?;
    check_parent(&a.output, "-o")?;
    let settings = EncodeSettings {
        speed: a.speed,
        quantizer: a.quantizer,
        bitrate_kbps: a.bitrate,
        tiles: parse_tiles(&a.tiles)?,
        keyint: a.keyint,
        psnr: a.psnr,
    };
    if a.workers == Some(0) {
        bail!("--workers 0: give at least 1 (the number of scenes encoded at once)");
    }
    let workers = a
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    let (input, plan) = open_input(&a)?;
    let header = input.header().clone();
    let frames = match &plan {
        Plan::Listed(list) => list.frames,
        Plan::Detect(_) => match &input {
            Input::Whole(file) => file.frames().end,
            Input::Ranges { .. } => bail!("scene detection needs the whole Y4M file"),
        },
    };
    let av1c = encode::codec_config(&header, &settings)?;

    if a.single_pass {
        let Input::Whole(file) = &input else {
            bail!("--single-pass reads a whole Y4M file, not --scene-dir");
        };
        let list = match plan {
            Plan::Listed(list) => list,
            Plan::Detect(_) => super::scenes::detect(file, file.path(), &a.limits)?,
        };
        let detect_seconds = started.elapsed().as_secs_f64();
        let encode_started = Instant::now();
        let packets = single_pass(file, &list.scenes(), &settings, workers)?;
        let partial = Partial::new(&a.output);
        mux::write_output(partial.writing(), &header, &av1c, frames, [Ok(packets)])?;
        partial.commit()?;
        let encode_seconds = encode_started.elapsed().as_secs_f64();
        let timing = Timing {
            detect_seconds,
            encode_seconds,
            encoded_frames: frames,
        };
        return summary(&a, &header, frames, &[], &timing);
    }

    let work_path = a
        .work_dir
        .clone()
        .unwrap_or_else(|| default_work_dir(&a.output));
    let scenes_key = match &plan {
        Plan::Listed(list) => serde_json::json!(
            list.scenes()
                .iter()
                .map(|s| [s.start, s.end])
                .collect::<Vec<_>>()
        ),
        // Detection is deterministic: its settings name the scenes it will find.
        Plan::Detect(limits) => serde_json::json!({
            "detect": format!("{:?}", DetectConfig::default()),
            "min_scene_len": limits.min_len,
            "max_scene_len": limits.max_len,
        }),
    };
    let job = serde_json::json!({
        "header": header.line,
        "frames": frames,
        "scenes": scenes_key,
        "settings": EncodeSettings { psnr: false, ..settings.clone() },
        "workers_for_tiles": if settings.tiles.is_none() { workers } else { 0 },
    });
    if let Plan::Listed(list) = &plan
        && let Some(bad) = a.only.iter().find(|&&i| i >= list.scenes.len())
    {
        bail!(
            "--only {bad}: the scene list has scenes 0 to {}",
            list.scenes.len().saturating_sub(1)
        );
    }
    let work = WorkDir::open(&work_path, &job)?;
    let stored = work.stored_scenes();
    if stored > 0 {
        note(format!(
            "resuming from {}: {stored} scenes stored there (each checked before use)",
            work_path.display()
        ));
    }
    let encode_started = Instant::now();
    let run = parallel(&input, &plan, &a.only, &settings, workers, &work, frames)?;
    if let Some(bad) = a.only.iter().find(|&&i| i >= run.scenes.len()) {
        bail!(
            "--only {bad}: the clip has scenes 0 to {}",
            run.scenes.len().saturating_sub(1)
        );
    }
    if !a.only.is_empty() {
        note(format!(
            "scenes {:?} done in {}; {} not written (run again without --only to join)",
            a.only,
            work_path.display(),
            a.output.display()
        ));
        return Ok(());
    }
    let batches = run
        .scenes
        .iter()
        .map(|s| work.read_packets(s.index).map_err(|e| e.to_string()));
    let partial = Partial::new(&a.output);
    mux::write_output(partial.writing(), &header, &av1c, frames, batches)?;
    partial.commit()?;
    if a.work_dir.is_none() && !a.keep_work {
        std::fs::remove_dir_all(&work_path)
            .with_context(|| format!("removing {}", work_path.display()))?;
    }
    let timing = Timing {
        detect_seconds: run.detect_seconds,
        encode_seconds: encode_started.elapsed().as_secs_f64(),
        encoded_frames: frames - run.resumed_frames,
    };
    summary(&a, &header, frames, &run.stats, &timing)
}

/// `--tiles`: a power of two, or `auto` (`None`: the scheduler decides, timing-dependent).
fn parse_tiles(s: &str) -> anyhow::Result<Option<usize>> {
    if s == "auto" {
        return Ok(None);
    }
    match s.parse::<usize>() {
        Ok(t) if t.is_power_of_two() => Ok(Some(t)),
        _ => bail!("--tiles must be a power of two or 'auto', got '{s}'"),
    }
}

/// Where the scenes come from.
enum Plan {
    /// A scene list given with --scenes.
    Listed(SceneList),
    /// Detected while encoding, within these limits.
    Detect(SceneLimits),
}

/// The input and where its scenes come from.
fn open_input(a: &EncodeArgs) -> anyhow::Result<(Input, Plan)> {
    let given = match &a.scenes {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(SceneList::parse(&text).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    match (&a.input, &a.scene_dir, given) {
        (Some(input), Some(dir), _) => bail!(
            "give either an input file ({}) or --scene-dir ({}), not both: --scene-dir reads \
             each scene from its range file (with --scenes) instead of the input",
            input.display(),
            dir.display()
        ),
        (None, Some(dir), Some((list, header))) => {
            let files = list.scenes.iter().map(|s| s.file.clone()).collect();
            let input = Input::Ranges {
                dir: dir.clone(),
                header,
                files,
            };
            Ok((input, Plan::Listed(list)))
        }
        (Some(path), None, given) => {
            let file = Y4mFile::open(path)?;
            let plan = match given {
                Some((list, header)) => {
                    if header != *file.header() || list.frames != file.frames().end {
                        bail!(
                            "the scene list describes another clip ({} frames, '{}') than {}",
                            list.frames,
                            header.line.trim_end(),
                            path.display()
                        );
                    }
                    Plan::Listed(list)
                }
                None => Plan::Detect(super::scenes::scene_limits(file.header(), &a.limits)?),
            };
            Ok((Input::Whole(file), plan))
        }
        _ => bail!("give an input Y4M file, or --scenes with --scene-dir"),
    }
}

/// What the parallel encode did.
struct Parallel {
    /// Every scene of the clip, by index (also those outside an --only share).
    scenes: Vec<Scene>,
    /// Stats of the scenes encoded or resumed, by index.
    stats: Vec<SceneStats>,
    /// Wall time of scene detection (overlapped with encoding), 0 for a given list.
    detect_seconds: f64,
    /// Frames of the scenes found done in the work directory (not encoded by this run).
    resumed_frames: u64,
}

/// Encodes the scenes of `plan` (those in `only`, when given) on `workers` workers. Detected
/// scenes are encoded as soon as the detector closes them.
fn parallel(
    input: &Input,
    plan: &Plan,
    only: &[usize],
    settings: &EncodeSettings,
    workers: usize,
    work: &WorkDir,
    frames: u64,
) -> anyhow::Result<Parallel> {
    let bar = frames_bar(frames, "encode");
    let done = AtomicU64::new(0);
    let resumed = Mutex::new((0usize, 0u64));
    let on_event = |e: Event| match e {
        Event::Resumed { frames, .. } => {
            bar.inc(frames);
            let mut r = resumed.lock().unwrap_or_else(|p| p.into_inner());
            *r = (r.0 + 1, r.1 + frames);
        }
        Event::Damaged { scene, reason } => {
            // A warning, not progress: printed even with -q.
            bar.suspend(|| eprintln!("scene {scene}: not reused, encoding it again: {reason}"));
        }
        Event::Queued(_) | Event::Started { .. } => {}
        Event::Frame => bar.inc(1),
        Event::Finished(s) => {
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            bar.set_message(format!("{n} scenes encoded"));
            bar.suspend(|| note(scene_line(&s)));
        }
    };
    if !only.is_empty() {
        // An --only share's frames are known only once its scenes are.
        bar.set_length(0);
    }
    let planned: Mutex<Vec<Scene>> = Mutex::new(Vec::new());
    let detect_seconds = Mutex::new(0.0);
    let produce = |push: &mut dyn FnMut(Scene)| {
        let mut planned_scene = |scene: Scene| {
            planned
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(scene.clone());
            if only.is_empty() || only.contains(&scene.index) {
                if !only.is_empty() {
                    bar.inc_length(scene.len());
                }
                push(scene);
            }
        };
        match plan {
            Plan::Listed(list) => list.scenes().into_iter().for_each(&mut planned_scene),
            Plan::Detect(limits) => {
                let Input::Whole(file) = input else {
                    return Ok(());
                };
                let started = Instant::now();
                let mut planner = ScenePlanner::new(frames, *limits);
                let mut cuts = Vec::new();
                scan::scan_cuts(file, DetectConfig::default(), &|| {}, &mut |cut| {
                    cuts.push(cut);
                    planner
                        .push_cut(cut)
                        .into_iter()
                        .for_each(&mut planned_scene);
                })
                .map_err(RunError::Detect)?;
                planner.finish().into_iter().for_each(&mut planned_scene);
                let seconds = started.elapsed().as_secs_f64();
                *detect_seconds.lock().unwrap_or_else(|p| p.into_inner()) = seconds;
                bar.suspend(|| {
                    note(format!(
                        "scene detection: {frames} frames in {seconds:.2} s while encoding, \
                         cuts at {cuts:?}"
                    ))
                });
            }
        }
        Ok(())
    };
    let stats = run::encode_streamed(input, produce, settings, workers, work, &on_event)?;
    bar.finish_and_clear();
    let (scenes_resumed, frames_resumed) = resumed.into_inner().unwrap_or_else(|p| p.into_inner());
    if scenes_resumed > 0 {
        note(format!(
            "resumed: {scenes_resumed} scenes ({frames_resumed} frames) already done"
        ));
    }
    Ok(Parallel {
        scenes: planned.into_inner().unwrap_or_else(|p| p.into_inner()),
        stats,
        detect_seconds: detect_seconds
            .into_inner()
            .unwrap_or_else(|p| p.into_inner()),
        resumed_frames: frames_resumed,
    })
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
        note(format!("PSNR Y {:.2} U {:.2} V {:.2} dB", p[0], p[1], p[2]));
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

/// Where the time went.
struct Timing {
    /// Scene detection (overlapped with encoding), 0 for a given list.
    detect_seconds: f64,
    encode_seconds: f64,
    /// Frames this run encoded (resumed scenes excluded): the only ones a rate is about.
    encoded_frames: u64,
}

fn summary(
    a: &EncodeArgs,
    header: &Y4mHeader,
    frames: u64,
    stats: &[SceneStats],
    t: &Timing,
) -> anyhow::Result<()> {
    let bytes = std::fs::metadata(&a.output)?.len();
    let seconds_of_video = frames as f64 * header.fps.den as f64 / header.fps.num as f64;
    let rate = if t.encoded_frames == 0 {
        "all scenes resumed, none encoded".to_string()
    } else {
        format!(
            "encode {:.2} s ({:.1} fps over {} frames encoded)",
            t.encode_seconds,
            t.encoded_frames as f64 / t.encode_seconds.max(1e-9),
            t.encoded_frames
        )
    };
    eprintln!(
        "{}: {frames} frames, {bytes} bytes, {:.0} kbit/s; scenes {:.2} s, {rate}",
        a.output.display(),
        bytes as f64 * 8.0 / seconds_of_video.max(1e-9) / 1000.0,
        t.detect_seconds,
    );
    if let Some(path) = &a.stats {
        let json = serde_json::json!({
            "frames": frames,
            "encoded_frames": t.encoded_frames,
            "bytes": bytes,
            "scene_seconds": t.detect_seconds,
            "encode_seconds": t.encode_seconds,
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
