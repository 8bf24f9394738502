//! The grid: every scene encoded at every resolution and quantizer, each encode's quality
//! measured on its reconstructed frames upscaled back to the source size.
//!
//! Encodes run on a pool of `workers` threads taking jobs (scene x resolution x quantizer)
//! from one list, most expensive first (the longest-first rule of [`crate::plan`], here by
//! samples to encode), one rav1e context per job with one tile on the pool's threads, as the
//! scene workers of [`crate::run`] do. Each resolution is read from its own downscaled Y4M
//! (written once by [`write_scaled`]), so a job reads only its scene's frames.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::encode::{self, EncodeError, EncodeSettings};
use crate::plan::Scene;
use crate::quality::{Luma, Metric, widen};
use crate::scale::{Scaler, chroma_size};
use crate::source::{SourceError, Y4mFile};
use crate::workdir::Packet;
use crate::y4m::{self, Y4mHeader};

/// One resolution of the grid, with the Y4M its encodes read.
#[derive(Debug)]
pub struct Resolution {
    pub width: usize,
    pub height: usize,
    pub file: Y4mFile,
}

/// One grid encode's result.
#[derive(Clone, Debug)]
pub struct GridEncode {
    pub scene: usize,
    /// Index into the resolutions.
    pub resolution: usize,
    pub quantizer: u8,
    pub frames: u64,
    pub bytes: u64,
    /// Each metric's mean over the scene's frames (after upscaling to the source size), in the
    /// order the metrics were given.
    pub scores: Vec<f64>,
    pub seconds: f64,
    pub packets: Vec<Packet>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GridError {
    #[error("grid encode of scene {scene} at {width}x{height}, quantizer {quantizer}: {error}")]
    Encode {
        scene: usize,
        width: usize,
        height: usize,
        quantizer: u8,
        error: EncodeError,
    },
    #[error("{path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("scaled Y4M header: {0}")]
    Header(#[from] y4m::Y4mError),
    #[error("could not start {workers} workers: {reason}")]
    Pool { workers: usize, reason: String },
}

/// The header of `header`'s clip at `width` x `height` (same rate, aspect, depth, chroma).
pub fn scaled_header(
    header: &Y4mHeader,
    width: usize,
    height: usize,
) -> Result<Y4mHeader, y4m::Y4mError> {
    let mut line = String::from("YUV4MPEG2");
    for token in header.line.trim_end().split(' ').skip(1) {
        line.push(' ');
        match token.as_bytes().first() {
            Some(b'W') => line.push_str(&format!("W{width}")),
            Some(b'H') => line.push_str(&format!("H{height}")),
            _ => line.push_str(token),
        }
    }
    line.push('\n');
    y4m::parse_header(line.as_bytes())
}

/// Writes `source` resampled to `width` x `height` as a Y4M at `path` (Lanczos-3, every plane).
pub fn write_scaled(
    source: &Y4mFile,
    width: usize,
    height: usize,
    path: &Path,
    on_frame: &(dyn Fn() + Sync),
) -> Result<Y4mFile, GridError> {
    let header = source.header();
    let out_header = scaled_header(header, width, height)?;
    let bps = header.depth.bytes_per_sample();
    let max = ((1u32 << header.depth.0) - 1) as u16;
    let (cw, ch) = (header.chroma_width(), header.chroma_height());
    let luma = Scaler::new((header.width, header.height), (width, height));
    let chroma = Scaler::new((cw, ch), chroma_size(width, height));
    let io = |error| GridError::Write {
        path: path.to_path_buf(),
        error,
    };
    let mut out = BufWriter::new(File::create(path).map_err(io)?);
    out.write_all(out_header.line.as_bytes()).map_err(io)?;
    let (mut buf, mut wide, mut scaled) = (Vec::new(), Vec::new(), Vec::new());
    let planes = [
        (0, header.width * header.height * bps, &luma),
        (1, cw * ch * bps, &chroma),
        (2, cw * ch * bps, &chroma),
    ];
    for index in source.frames() {
        let frame = source.read_frame(index, &mut buf)?;
        out.write_all(y4m::FRAME_MARKER).map_err(io)?;
        let mut at = 0;
        for (_, len, scaler) in &planes {
            widen(&frame[at..at + len], bps, &mut wide);
            scaler.scale(&wide, &mut scaled, max);
            let bytes: Vec<u8> = if bps == 2 {
                scaled.iter().flat_map(|v| v.to_le_bytes()).collect()
            } else {
                scaled.iter().map(|&v| v as u8).collect()
            };
            out.write_all(&bytes).map_err(io)?;
            at += len;
        }
        on_frame();
    }
    out.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    Ok(Y4mFile::open(path)?)
}

/// What every grid encode shares: the source measured against, the resolutions and
/// quantizers, the encoder settings (speed, keyint) and the metrics.
#[derive(Debug)]
pub struct Grid<'a> {
    pub source: &'a Y4mFile,
    pub resolutions: &'a [Resolution],
    pub quantizers: &'a [u8],
    pub settings: &'a EncodeSettings,
    pub metrics: &'a [Box<dyn Metric>],
}

/// Encodes every (scene, resolution, quantizer) of `grid` and measures it against the source.
/// `on_frame` is called per encoded frame; the results are in job order (scene, resolution,
/// quantizer).
pub fn encode_grid(
    grid: &Grid<'_>,
    scenes: &[Scene],
    workers: usize,
    on_frame: &(dyn Fn() + Sync),
) -> Result<Vec<GridEncode>, GridError> {
    let Grid {
        resolutions,
        quantizers,
        ..
    } = *grid;
    let mut jobs = Vec::new();
    for scene in scenes {
        for r in 0..resolutions.len() {
            for &q in quantizers {
                jobs.push((scene.clone(), r, q));
            }
        }
    }
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    let cost = |j: &(Scene, usize, u8)| {
        let r = &resolutions[j.1];
        j.0.len() * (r.width * r.height) as u64
    };
    order.sort_by_key(|&i| std::cmp::Reverse(cost(&jobs[i])));

    let workers = workers.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("grid-{i}"))
        .build()
        .map_err(|e| GridError::Pool {
            workers,
            reason: e.to_string(),
        })?;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<GridEncode>>> = Mutex::new(vec![None; jobs.len()]);
    let first_error: Mutex<Option<GridError>> = Mutex::new(None);
    pool.scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|_| {
                while !failed.load(Ordering::SeqCst) {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = order.get(k) else { return };
                    let (scene, r, q) = &jobs[i];
                    match encode_one(grid, *r, *q, scene, on_frame) {
                        Ok(done) => lock(&results)[i] = Some(done),
                        Err(e) => {
                            lock(&first_error).get_or_insert(e);
                            failed.store(true, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect())
}

fn encode_one(
    grid: &Grid<'_>,
    resolution: usize,
    quantizer: u8,
    scene: &Scene,
    on_frame: &(dyn Fn() + Sync),
) -> Result<GridEncode, GridError> {
    let (source, metrics) = (grid.source, grid.metrics);
    let res = &grid.resolutions[resolution];
    let fail = |error| GridError::Encode {
        scene: scene.index,
        width: res.width,
        height: res.height,
        quantizer,
        error,
    };
    let settings = EncodeSettings {
        quantizer,
        bitrate_kbps: None,
        tiles: Some(1),
        psnr: false,
        ..grid.settings.clone()
    };
    let config = encode::rav1e_config(res.file.header(), &settings, 1, 0).map_err(fail)?;
    let header = source.header();
    let depth = header.depth.0;
    let bps = header.depth.bytes_per_sample();
    let max = ((1u32 << depth) - 1) as u16;
    let (w, h) = (header.width, header.height);
    let upscale = (res.width, res.height) != (w, h);
    let scaler = Scaler::new((res.width, res.height), (w, h));
    let (mut buf, mut reference, mut up) = (Vec::new(), Vec::new(), Vec::new());
    let mut sums = vec![0.0; metrics.len()];
    let mut measured = 0u64;
    let mut observe = |frame: u64, rec: &[u16]| -> Result<(), SourceError> {
        widen(source.read_luma(frame, &mut buf)?, bps, &mut reference);
        let distorted = if upscale {
            scaler.scale(rec, &mut up, max);
            &up[..]
        } else {
            rec
        };
        let r = Luma {
            samples: &reference,
            width: w,
            height: h,
        };
        let d = Luma {
            samples: distorted,
            width: w,
            height: h,
        };
        for (sum, metric) in sums.iter_mut().zip(metrics) {
            *sum += metric.frame(r, d);
        }
        measured += 1;
        Ok(())
    };
    let encoded = encode::encode_observed(
        &config,
        &res.file,
        scene.frames(),
        &[],
        false,
        Some(&mut observe),
        on_frame,
    )
    .map_err(fail)?;
    let n = measured.max(1) as f64;
    Ok(GridEncode {
        scene: scene.index,
        resolution,
        quantizer,
        frames: encoded.packets.len() as u64,
        bytes: encoded.packets.iter().map(|p| p.data.len() as u64).sum(),
        scores: sums.iter().map(|s| s / n).collect(),
        seconds: encoded.seconds,
        packets: encoded.packets,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
