//! A streaming ladder from a mezzanine: per-scene convex-hull encoding.
//!
//! Every scene is encoded on a grid of resolutions x quantizers ([`grid`]); each encode's
//! quality is measured on its frames upscaled back to the source size ([`crate::quality`]).
//! Per scene, only the rate-quality convex hull is worth choosing from ([`hull`]). A rung is
//! one hull point per scene, all at a common Lagrangian slope, the slope searched until the
//! rung's average bitrate fits its target ([`select`]); [`plan_ladder`] does that for every rung
//! and also picks the fixed ladder (one resolution and quantizer for the whole title per
//! rung) that it is measured against. [`output`] writes the ladder directory, all or nothing.
//!
//! Scenes are the same for every rung and each starts with a keyframe, so keyframes (and
//! segment boundaries) are at the same frames in every rung. With a segment length, scenes
//! are first cut at the segment boundaries ([`segments`]), so fixed-length segments align
//! too; [`abr_manifest`] turns the ladder into abr-sim's manifest.

pub mod abr_manifest;
pub mod grid;
pub mod hull;
pub mod output;
pub mod segments;
pub mod select;

use serde::Serialize;

use crate::plan::Scene;
use grid::GridEncode;
use hull::RdPoint;
use select::SelectError;

#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum LadderError {
    #[error("rung {rung} ({target_kbps} kbps): {error}")]
    Rung {
        rung: usize,
        target_kbps: f64,
        error: SelectError,
    },
    #[error("the grid is missing scene {scene} at configuration {config}")]
    MissingEncode { scene: usize, config: usize },
}

/// A grid configuration: one resolution and one quantizer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    pub width: usize,
    pub height: usize,
    pub quantizer: u8,
}

/// One rung's choice: the grid encode of each scene, and the rung's totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rung {
    pub target_kbps: f64,
    pub kbps: f64,
    /// Mean per frame of each metric, over the title.
    pub scores: Vec<f64>,
    /// Lagrangian slope (optimised metric per bit, summed over frames); `null` for a fixed rung.
    pub slope: Option<f64>,
    /// Per scene, the configuration chosen (index into the grid's configurations).
    pub configs: Vec<usize>,
}

/// The hull ladder and the fixed ladder, rung by rung.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LadderPlan {
    pub hull: Vec<Rung>,
    /// `None` for a rung no single configuration fits.
    pub fixed: Vec<Option<Rung>>,
}

/// The grid encodes arranged by scene and configuration, with each scene's hull.
#[derive(Debug)]
pub struct Hulls<'a> {
    /// rows[s][c]: scene s encoded with configuration c.
    rows: Vec<Vec<&'a GridEncode>>,
    /// The same as rate-quality points (bits, optimised metric summed over frames).
    points: Vec<Vec<RdPoint>>,
    /// Per scene, the configurations on its hull, in increasing bits.
    hull_index: Vec<Vec<usize>>,
    hulls: Vec<select::Hull>,
    frames: u64,
    seconds: f64,
}

impl<'a> Hulls<'a> {
    /// Arranges `encodes`: every scene must have one encode per configuration (`configs` of
    /// them; `config_of` names an encode's). `optimise` is the index of the metric the hull
    /// maximises; `fps` turns frames into seconds.
    pub fn new(
        scenes: &[Scene],
        encodes: &'a [GridEncode],
        configs: usize,
        config_of: &dyn Fn(&GridEncode) -> usize,
        optimise: usize,
        fps: f64,
    ) -> Result<Self, LadderError> {
        let mut table: Vec<Vec<Option<&GridEncode>>> = vec![vec![None; configs]; scenes.len()];
        for e in encodes {
            if let Some(row) = table.get_mut(e.scene)
                && let Some(slot) = row.get_mut(config_of(e))
            {
                *slot = Some(e);
            }
        }
        let mut rows = Vec::with_capacity(scenes.len());
        for (scene, row) in table.into_iter().enumerate() {
            let mut full = Vec::with_capacity(configs);
            for (config, e) in row.into_iter().enumerate() {
                full.push(e.ok_or(LadderError::MissingEncode { scene, config })?);
            }
            rows.push(full);
        }
        let point = |e: &GridEncode| RdPoint {
            bits: e.bytes as f64 * 8.0,
            quality: e.scores.get(optimise).copied().unwrap_or(0.0) * e.frames as f64,
        };
        let points: Vec<Vec<RdPoint>> = rows
            .iter()
            .map(|r| r.iter().map(|e| point(e)).collect())
            .collect();
        let hull_index: Vec<Vec<usize>> = points.iter().map(|p| hull::convex_hull(p)).collect();
        let hulls = hull_index
            .iter()
            .zip(&points)
            .map(|(idx, p)| idx.iter().map(|&i| p[i]).collect())
            .collect();
        let frames: u64 = scenes.iter().map(Scene::len).sum();
        Ok(Hulls {
            rows,
            points,
            hull_index,
            hulls,
            frames,
            seconds: frames as f64 / fps,
        })
    }

    /// Per scene, the configurations on its hull.
    pub fn hull_configs(&self) -> &[Vec<usize>] {
        &self.hull_index
    }

    /// The average bitrates (kbit/s) a rung can have: every scene at the bottom of its hull,
    /// and every scene at the top.
    pub fn reach_kbps(&self) -> (f64, f64) {
        let lo: f64 = self
            .hulls
            .iter()
            .filter_map(|h| h.first())
            .map(|p| p.bits)
            .sum();
        let hi: f64 = self
            .hulls
            .iter()
            .filter_map(|h| h.last())
            .map(|p| p.bits)
            .sum();
        (self.kbps(lo), self.kbps(hi))
    }

    fn kbps(&self, bits: f64) -> f64 {
        bits / self.seconds / 1000.0
    }

    /// The hull ladder and the fixed ladder for these rung targets (kbit/s).
    pub fn plan(&self, targets_kbps: &[f64]) -> Result<LadderPlan, LadderError> {
        let mut plan = LadderPlan {
            hull: Vec::new(),
            fixed: Vec::new(),
        };
        for (rung, &target_kbps) in targets_kbps.iter().enumerate() {
            let budget = target_kbps * 1000.0 * self.seconds;
            let sel =
                select::for_budget(&self.hulls, budget).map_err(|error| LadderError::Rung {
                    rung,
                    target_kbps,
                    error,
                })?;
            let configs = sel
                .choice
                .iter()
                .zip(&self.hull_index)
                .map(|(&h, idx)| idx[h])
                .collect();
            plan.hull
                .push(self.rung(configs, target_kbps, Some(sel.slope)));
            plan.fixed.push(
                select::fixed_for_budget(&self.points, budget)
                    .map(|c| self.rung(vec![c; self.rows.len()], target_kbps, None)),
            );
        }
        Ok(plan)
    }

    fn rung(&self, configs: Vec<usize>, target_kbps: f64, slope: Option<f64>) -> Rung {
        let chosen: Vec<&GridEncode> = configs
            .iter()
            .zip(&self.rows)
            .map(|(&c, row)| row[c])
            .collect();
        let bits: f64 = chosen.iter().map(|e| e.bytes as f64 * 8.0).sum();
        let metrics = chosen.first().map_or(0, |e| e.scores.len());
        let scores = (0..metrics)
            .map(|m| {
                chosen
                    .iter()
                    .map(|e| e.scores[m] * e.frames as f64)
                    .sum::<f64>()
                    / self.frames.max(1) as f64
            })
            .collect();
        Rung {
            target_kbps,
            kbps: self.kbps(bits),
            scores,
            slope,
            configs,
        }
    }
}

/// `n` rung targets spread evenly in log-rate inside what the hulls reach (10 % in from
/// either end, so every rung has room at the common slope).
pub fn auto_targets(reach_kbps: (f64, f64), n: usize) -> Vec<f64> {
    let (lo, hi) = (reach_kbps.0 * 1.1, reach_kbps.1 * 0.9);
    if n <= 1 || hi <= lo {
        return vec![(lo * hi).sqrt().max(reach_kbps.0); n.min(1)];
    }
    (0..n)
        .map(|i| {
            let t = i as f64 / (n - 1) as f64;
            (lo.ln() + t * (hi.ln() - lo.ln())).exp()
        })
        .collect()
}
