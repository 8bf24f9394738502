//! `segment-encode ladder`: scenes, the grid of encodes, the per-scene hull ladder and the
//! fixed ladder, the ladder directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use segment_encode::encode::{self, EncodeSettings};
use segment_encode::ladder::grid::{self, GridEncode, Resolution};
use segment_encode::ladder::output::{self, OutputError, io_error};
use segment_encode::ladder::segments::{self, Segment};
use segment_encode::ladder::{self, Config, LadderPlan, Rung};
use segment_encode::quality::{Metric, PsnrY, SsimY};
use segment_encode::{Scene, SceneList, Y4mFile, mux};

use super::progress::frames_bar;
use super::{LadderArgs, OptimiseMetric};

const FORMAT: &str = "segment-encode ladder";

pub fn run(a: LadderArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if a.output.exists() {
        bail!(
            "{} already exists; remove it or name another output directory",
            a.output.display()
        );
    }
    let source = Y4mFile::open(&a.input)?;
    let header = source.header().clone();
    let frames = source.frames().end;
    let fps = header.fps.num as f64 / header.fps.den as f64;
    let resolutions = resolutions(&a, header.width, header.height)?;
    let quantizers = quantizers(&a.quantizers)?;
    let targets = match a.auto_rungs {
        Some(_) => Vec::new(),
        None => rung_targets(&a.rungs)?,
    };
    let scenes = scenes(&a, &source)?;
    let (scenes, segments) = match a.segment_seconds {
        None => (scenes, None),
        Some(secs) => {
            let n = segments::frames_for(secs, header.fps.num, header.fps.den).with_context(|| {
                format!(
                    "--segment-seconds {secs}: {:.3} frames at {fps} fps; give a length of a whole \
                     number of frames (at least one)",
                    secs * fps
                )
            })?;
            let (units, segs) = segments::split(&scenes, n);
            (units, Some((n, segs)))
        }
    };
    let depth = header.depth.0;
    let metrics: Vec<Box<dyn Metric>> = vec![Box::new(PsnrY { depth }), Box::new(SsimY { depth })];
    let names: Vec<&str> = metrics.iter().map(|m| m.name()).collect();
    let optimise = match a.optimise {
        OptimiseMetric::PsnrY => 0,
        OptimiseMetric::SsimY => 1,
    };
    let workers = a
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let settings = EncodeSettings {
        speed: a.speed,
        keyint: a.keyint,
        tiles: Some(1),
        ..EncodeSettings::default()
    };
    let configs: Vec<Config> = resolutions
        .iter()
        .flat_map(|&(width, height)| {
            quantizers.iter().map(move |&quantizer| Config {
                width,
                height,
                quantizer,
            })
        })
        .collect();
    if let Some((n, segs)) = &segments {
        say(
            a.quiet,
            format!(
                "{} segments of {n} frames: scenes cut at their boundaries into {} units",
                segs.len(),
                scenes.len()
            ),
        );
    }
    say(
        a.quiet,
        format!(
            "{} scenes x {} resolutions x {} quantizers = {} encodes at speed {}, {workers} workers",
            scenes.len(),
            resolutions.len(),
            quantizers.len(),
            scenes.len() * configs.len(),
            a.speed
        ),
    );

    // The downscaled copies live beside the output and go when the command ends.
    let scratch = Scratch::create(&a.output)?;
    let mut inputs = Vec::new();
    for &(width, height) in &resolutions {
        let file = if (width, height) == (header.width, header.height) {
            Y4mFile::open(&a.input)?
        } else {
            let bar = bar(a.quiet, frames, &format!("scale {width}x{height}"));
            let path = scratch.0.join(format!("{width}x{height}.y4m"));
            let f = grid::write_scaled(&source, width, height, &path, &|| bar.inc(1))?;
            bar.finish_and_clear();
            f
        };
        inputs.push(Resolution {
            width,
            height,
            file,
        });
    }
    let bar = bar(a.quiet, frames * configs.len() as u64, "grid");
    let spec = grid::Grid {
        source: &source,
        resolutions: &inputs,
        quantizers: &quantizers,
        settings: &settings,
        metrics: &metrics,
    };
    let encodes = grid::encode_grid(&spec, &scenes, workers, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let grid_seconds = started.elapsed().as_secs_f64();
    let nq = quantizers.len();
    let config_of = |e: &GridEncode| {
        e.resolution * nq
            + quantizers
                .iter()
                .position(|&q| q == e.quantizer)
                .unwrap_or(0)
    };
    let hulls = ladder::Hulls::new(&scenes, &encodes, configs.len(), &config_of, optimise, fps)?;
    let reach = hulls.reach_kbps();
    let targets = match a.auto_rungs {
        Some(n) => ladder::auto_targets(reach, n as usize),
        None => targets,
    };
    let plan = hulls.plan(&targets).map_err(|e| {
        anyhow::anyhow!(
            "{e}. Rungs of this grid can average {:.1} to {:.1} kbps (--quantizers and \
             --heights set the range)",
            reach.0,
            reach.1
        )
    })?;
    let by_config = |scene: usize, config: usize| {
        encodes
            .iter()
            .find(|e| e.scene == scene && config_of(e) == config)
    };
    output::write_dir::<OutputError>(&a.output, |dir| {
        for (r, rung) in plan.hull.iter().enumerate() {
            let rung_dir = dir.join(format!("rung-{r}"));
            std::fs::create_dir(&rung_dir).map_err(io_error(&rung_dir))?;
            for (scene, &config) in scenes.iter().zip(&rung.configs) {
                let e = by_config(scene.index, config).ok_or_else(|| {
                    io_other(
                        &rung_dir,
                        format!("no grid encode of scene {}", scene.index),
                    )
                })?;
                let res = &inputs[e.resolution];
                let av1c = encode::codec_config(res.file.header(), &settings)
                    .map_err(|e| io_other(&rung_dir, e))?;
                let path = rung_dir.join(segment_name(scene.index));
                mux::write_output(
                    &path,
                    res.file.header(),
                    &av1c,
                    scene.len(),
                    [Ok(e.packets.clone())],
                )?;
            }
        }
        let report = report(
            &a,
            &header.line,
            frames,
            fps,
            &scenes,
            segments.as_ref(),
            &configs,
            &encodes,
            &config_of,
            (&plan, hulls.hull_configs()),
            &names,
        );
        write(
            dir,
            "ladder.json",
            &(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"),
        )?;
        write(dir, "hull.csv", &output::rungs_csv(&plan.hull, &names))?;
        write(
            dir,
            "fixed.csv",
            &output::rungs_csv(plan.fixed.iter().flatten(), &names),
        )?;
        Ok(())
    })?;
    drop(scratch);
    if !a.quiet {
        print_summary(&plan, &configs, &names);
        eprintln!(
            "ladder of {} rungs -> {} in {:.1} s (grid {:.1} s)",
            plan.hull.len(),
            a.output.display(),
            started.elapsed().as_secs_f64(),
            grid_seconds
        );
    }
    Ok(())
}

fn say(quiet: bool, line: String) {
    if !quiet {
        eprintln!("{line}");
    }
}

fn bar(quiet: bool, total: u64, what: &str) -> indicatif::ProgressBar {
    if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        frames_bar(total, what)
    }
}

fn io_other(path: &Path, e: impl std::fmt::Display) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        error: std::io::Error::other(e.to_string()),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), OutputError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(io_error(&path))
}

/// A rung's file for scene `index`.
pub fn segment_name(index: usize) -> String {
    format!("scene-{index:04}.ivf")
}

/// Directory for the downscaled inputs, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn create(output: &Path) -> anyhow::Result<Self> {
        let name = output
            .file_name()
            .map_or_else(|| "ladder".into(), |n| n.to_string_lossy().into_owned());
        let path = output.with_file_name(format!(".{name}.grid-{}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Width for `height` keeping the source's shape, even (4:2:0).
fn width_for(height: usize, src_w: usize, src_h: usize) -> usize {
    let w = (src_w as f64 * height as f64 / src_h as f64 / 2.0).round() as usize * 2;
    w.max(2)
}

fn resolutions(a: &LadderArgs, src_w: usize, src_h: usize) -> anyhow::Result<Vec<(usize, usize)>> {
    let heights = if a.heights.is_empty() {
        // The source, three quarters and half of it.
        vec![src_h, src_h * 3 / 4 / 2 * 2, src_h / 2 / 2 * 2]
    } else {
        a.heights.clone()
    };
    let mut out: Vec<(usize, usize)> = Vec::new();
    for h in heights {
        if h < 16 || h % 2 != 0 {
            bail!("--heights {h}: a height must be even and at least 16");
        }
        let w = width_for(h, src_w, src_h);
        if (h > src_h || w > src_w) && !a.allow_upscale {
            bail!(
                "--heights {h}: {w}x{h} is above the source's {src_w}x{src_h}; pass \
                 --allow-upscale to encode above the source resolution"
            );
        }
        if !out.contains(&(w, h)) {
            out.push((w, h));
        }
    }
    Ok(out)
}

fn quantizers(q: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut q = q.to_vec();
    q.sort_unstable();
    q.dedup();
    if q.is_empty() {
        bail!("--quantizers: give at least one quantizer (0-255)");
    }
    Ok(q)
}

fn rung_targets(rungs: &[f64]) -> anyhow::Result<Vec<f64>> {
    if rungs.is_empty() {
        bail!("--rungs: give the rungs' average bitrates in kbit/s, e.g. --rungs 150,300,600");
    }
    for (i, &r) in rungs.iter().enumerate() {
        if !(r.is_finite() && r > 0.0) {
            bail!("--rungs: rung {i} ({r} kbps) must be a positive bitrate");
        }
    }
    let mut sorted = rungs.to_vec();
    sorted.sort_by(f64::total_cmp);
    Ok(sorted)
}

fn scenes(a: &LadderArgs, source: &Y4mFile) -> anyhow::Result<Vec<Scene>> {
    let Some(path) = &a.scenes else {
        return Ok(super::scenes::detect(source, &a.input, &a.limits)?.scenes());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (list, _) = SceneList::parse(&text).with_context(|| path.display().to_string())?;
    let header = source.header();
    if list.header != header.line || list.frames != source.frames().end {
        bail!(
            "{} was made for another clip ({}, {} frames; {} is {}x{}, {} frames)",
            path.display(),
            list.header.trim_end(),
            list.frames,
            a.input.display(),
            header.width,
            header.height,
            source.frames().end
        );
    }
    Ok(list.scenes())
}

#[allow(clippy::too_many_arguments)]
fn report(
    a: &LadderArgs,
    header_line: &str,
    frames: u64,
    fps: f64,
    scenes: &[Scene],
    segments: Option<&(u64, Vec<Segment>)>,
    configs: &[Config],
    encodes: &[GridEncode],
    config_of: &dyn Fn(&GridEncode) -> usize,
    (plan, hulls): (&LadderPlan, &[Vec<usize>]),
    names: &[&str],
) -> serde_json::Value {
    let scores = |v: &[f64]| {
        serde_json::Value::Object(
            names
                .iter()
                .zip(v)
                .map(|(n, s)| (n.to_string(), serde_json::json!(s)))
                .collect(),
        )
    };
    let kbps = |e: &GridEncode| e.bytes as f64 * 8.0 / (e.frames.max(1) as f64 / fps) / 1000.0;
    let rung_json = |r: &Rung, dir: Option<String>| {
        let per_scene: Vec<serde_json::Value> = scenes
            .iter()
            .zip(&r.configs)
            .map(|(s, &c)| {
                let e = encodes
                    .iter()
                    .find(|e| e.scene == s.index && config_of(e) == c);
                let cfg = &configs[c];
                serde_json::json!({
                    "scene": s.index,
                    "width": cfg.width,
                    "height": cfg.height,
                    "quantizer": cfg.quantizer,
                    "bytes": e.map(|e| e.bytes),
                    "kbps": e.map(kbps),
                    "scores": e.map(|e| scores(&e.scores)),
                    "file": dir.as_ref().map(|d| format!("{d}/{}", segment_name(s.index))),
                })
            })
            .collect();
        serde_json::json!({
            "target_kbps": r.target_kbps,
            "kbps": r.kbps,
            "scores": scores(&r.scores),
            "slope": r.slope,
            "dir": dir,
            "scenes": per_scene,
        })
    };
    serde_json::json!({
        "format": FORMAT,
        "version": 1,
        "source": a.input.display().to_string(),
        "header": header_line,
        "frames": frames,
        "fps": fps,
        "speed": a.speed,
        "keyint": a.keyint,
        "metrics": names,
        "optimised": names.get(match a.optimise { OptimiseMetric::PsnrY => 0, OptimiseMetric::SsimY => 1 }),
        "quality_note": "per-frame means after upscaling each encode to the source size (Lanczos-3); VMAF unavailable (no libvmaf in Debian)",
        "keyframes": scenes.iter().map(|s| s.start).collect::<Vec<_>>(),
        "scenes": scenes.iter().map(|s| serde_json::json!({"index": s.index, "start": s.start, "end": s.end})).collect::<Vec<_>>(),
        "segment_frames": segments.map(|s| s.0),
        "segments": segments.map(|s| &s.1),
        "configs": configs,
        "grid": encodes.iter().map(|e| serde_json::json!({
            "scene": e.scene,
            "config": config_of(e),
            "bytes": e.bytes,
            "kbps": kbps(e),
            "seconds": e.seconds,
            "scores": scores(&e.scores),
        })).collect::<Vec<_>>(),
        "hulls": hulls,
        "rungs": plan.hull.iter().enumerate().map(|(i, r)| rung_json(r, Some(format!("rung-{i}")))).collect::<Vec<_>>(),
        "fixed": plan.fixed.iter().map(|r| r.as_ref().map(|r| rung_json(r, None))).collect::<Vec<_>>(),
    })
}

fn print_summary(plan: &LadderPlan, configs: &[Config], names: &[&str]) {
    let cfg = |c: usize| {
        let c = &configs[c];
        format!("{}p/q{}", c.height, c.quantizer)
    };
    eprintln!(
        "rung  target kbps  | hull kbps {}  | fixed kbps {}  config | hull per scene",
        names.join(" "),
        names.join(" ")
    );
    for (i, (h, f)) in plan.hull.iter().zip(&plan.fixed).enumerate() {
        let hs: Vec<String> = h.scores.iter().map(|s| format!("{s:.4}")).collect();
        let fixed = match f {
            Some(f) => format!(
                "{:9.1} {}  {}",
                f.kbps,
                f.scores
                    .iter()
                    .map(|s| format!("{s:.4}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                cfg(f.configs[0])
            ),
            None => "  (no single configuration fits)".into(),
        };
        let per: Vec<String> = h.configs.iter().map(|&c| cfg(c)).collect();
        eprintln!(
            "{i:4}  {:11.1}  | {:9.1} {}  | {fixed} | {}",
            h.target_kbps,
            h.kbps,
            hs.join(" "),
            per.join(" ")
        );
    }
}
