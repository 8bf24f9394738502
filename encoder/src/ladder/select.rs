//! Choosing one hull point per scene for a rung: the Lagrangian selection at a common slope,
//! with the slope searched until the rung fits its bit budget; and the fixed ladder it is
//! measured against. Pure.
//!
//! At slope λ each scene takes the hull point maximising `quality - λ·bits`: the points whose
//! incoming hull segment is steeper than λ. Lowering λ adds segments in falling slope order
//! across all scenes, so the selections worth considering are the prefixes of that order,
//! grouped at equal slopes. The search takes the longest prefix whose bits fit the budget: no
//! scene could get more quality per extra bit than the segments taken, and no other selection
//! with the same bits has more total quality (up to the last, partly fitting step).

use super::hull::RdPoint;

/// One scene's hull (points in increasing bits and quality, as [`super::hull::convex_hull`]
/// returns them).
pub type Hull = Vec<RdPoint>;

/// A rung's choice: a hull index per scene, the slope they share, and the totals.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    pub choice: Vec<usize>,
    /// The Lagrangian slope (quality per bit) at which `choice` is optimal; 0 when every scene
    /// takes its best point.
    pub slope: f64,
    pub bits: f64,
    pub quality: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum SelectError {
    #[error("no scenes")]
    NoScenes,
    #[error("scene {0} has no encodes")]
    EmptyHull(usize),
    #[error(
        "the budget of {budget:.0} bits is below the least the grid can spend ({min:.0} bits, \
         every scene at its smallest encode)"
    )]
    BelowHull { budget: f64, min: f64 },
    #[error(
        "the budget of {budget:.0} bits is above the most the grid can spend ({max:.0} bits, \
         every scene at its best encode)"
    )]
    AboveHull { budget: f64, max: f64 },
}

/// Each scene's choice at slope `slope` (ties, within rounding, go to fewer bits).
pub fn at_slope(hulls: &[Hull], slope: f64) -> Vec<usize> {
    hulls
        .iter()
        .map(|h| {
            let mut best = 0;
            for (i, p) in h.iter().enumerate().skip(1) {
                let b = h[best];
                let gain = (p.quality - b.quality) - slope * (p.bits - b.bits);
                let rounding = 1e-9 * (p.quality.abs() + b.quality.abs() + 1.0);
                if gain > rounding {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// The choice at the common slope that spends the most bits within `budget`.
pub fn for_budget(hulls: &[Hull], budget: f64) -> Result<Selection, SelectError> {
    if hulls.is_empty() {
        return Err(SelectError::NoScenes);
    }
    if let Some(s) = hulls.iter().position(|h| h.is_empty()) {
        return Err(SelectError::EmptyHull(s));
    }
    let min: f64 = hulls.iter().map(|h| h[0].bits).sum();
    let max: f64 = hulls.iter().map(|h| h[h.len() - 1].bits).sum();
    if budget < min {
        return Err(SelectError::BelowHull { budget, min });
    }
    if budget > max {
        return Err(SelectError::AboveHull { budget, max });
    }
    // Every hull segment (scene, to index, slope), steepest first.
    let mut steps: Vec<(usize, usize, f64)> = Vec::new();
    for (s, h) in hulls.iter().enumerate() {
        for i in 1..h.len() {
            let slope = (h[i].quality - h[i - 1].quality) / (h[i].bits - h[i - 1].bits);
            steps.push((s, i, slope));
        }
    }
    steps.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut choice = vec![0usize; hulls.len()];
    let mut bits = min;
    let mut slope = 0.0;
    let mut k = 0;
    while k < steps.len() {
        // A group of equal slopes is taken whole or not at all: a common slope cannot split it.
        let group_slope = steps[k].2;
        let end = steps[k..]
            .iter()
            .position(|s| s.2 != group_slope)
            .map_or(steps.len(), |n| k + n);
        let extra: f64 = steps[k..end]
            .iter()
            .map(|&(s, i, _)| hulls[s][i].bits - hulls[s][i - 1].bits)
            .sum();
        if bits + extra > budget {
            slope = group_slope;
            break;
        }
        for &(s, i, _) in &steps[k..end] {
            choice[s] = i;
        }
        bits += extra;
        k = end;
    }
    let quality = choice.iter().zip(hulls).map(|(&i, h)| h[i].quality).sum();
    Ok(Selection {
        choice,
        slope,
        bits,
        quality,
    })
}

/// The fixed-ladder peer: one grid configuration for every scene. `grid[s][c]` is scene `s`
/// encoded with configuration `c` (the same configurations for every scene); returns the
/// configuration with the most total quality within `budget`, or `None` if none fits.
pub fn fixed_for_budget(grid: &[Vec<RdPoint>], budget: f64) -> Option<usize> {
    let configs = grid.first()?.len();
    (0..configs)
        .map(|c| {
            let bits: f64 = grid.iter().map(|s| s[c].bits).sum();
            let quality: f64 = grid.iter().map(|s| s[c].quality).sum();
            (c, bits, quality)
        })
        .filter(|&(_, bits, _)| bits <= budget)
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(c, _, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::hull::convex_hull;
    use proptest::prelude::*;

    fn p(bits: f64, quality: f64) -> RdPoint {
        RdPoint { bits, quality }
    }

    #[test]
    fn bits_go_where_they_buy_the_most_quality() {
        // Scene 0 gains 10 per 100 bits, scene 1 gains 1 per 100 bits.
        let hulls = vec![
            vec![p(100.0, 30.0), p(200.0, 40.0), p(300.0, 45.0)],
            vec![p(100.0, 30.0), p(200.0, 31.0)],
        ];
        let s = for_budget(&hulls, 400.0).expect("fits");
        assert_eq!(s.choice, vec![2, 0]);
        assert_eq!(s.bits, 400.0);
        let s = for_budget(&hulls, 350.0).expect("fits");
        assert_eq!(s.choice, vec![1, 0]);
        assert!(matches!(
            for_budget(&hulls, 199.0),
            Err(SelectError::BelowHull { .. })
        ));
        assert!(matches!(
            for_budget(&hulls, 501.0),
            Err(SelectError::AboveHull { .. })
        ));
        assert_eq!(for_budget(&hulls, 500.0).expect("top").choice, vec![2, 1]);
    }

    #[test]
    fn the_fixed_ladder_takes_the_best_common_configuration() {
        let grid = vec![
            vec![p(100.0, 30.0), p(200.0, 35.0), p(400.0, 38.0)],
            vec![p(300.0, 30.0), p(500.0, 33.0), p(900.0, 36.0)],
        ];
        assert_eq!(fixed_for_budget(&grid, 700.0), Some(1));
        assert_eq!(fixed_for_budget(&grid, 399.0), None);
    }

    fn hulls() -> impl Strategy<Value = Vec<Hull>> {
        let scene = proptest::collection::vec((1.0f64..1e5, 20.0f64..50.0), 1..8).prop_map(|v| {
            let pts: Vec<RdPoint> = v.into_iter().map(|(b, q)| p(b, q)).collect();
            convex_hull(&pts)
                .into_iter()
                .map(|i| pts[i])
                .collect::<Hull>()
        });
        proptest::collection::vec(scene, 1..6)
    }

    proptest! {
        #[test]
        fn the_selection_fits_is_lagrangian_and_grows_with_the_budget(
            hulls in hulls(), a in 0.0f64..1.0, b in 0.0f64..1.0,
        ) {
            let min: f64 = hulls.iter().map(|h| h[0].bits).sum();
            let max: f64 = hulls.iter().map(|h| h[h.len() - 1].bits).sum();
            let (lo, hi) = (a.min(b), a.max(b));
            let small = for_budget(&hulls, min + lo * (max - min)).expect("in range");
            let large = for_budget(&hulls, min + hi * (max - min)).expect("in range");
            for s in [&small, &large] {
                prop_assert!(s.bits <= min + hi * (max - min) + 1e-6);
                // Every scene's choice is optimal at the common slope.
                prop_assert_eq!(&at_slope(&hulls, s.slope), &s.choice);
            }
            prop_assert!(small.bits <= min + lo * (max - min) + 1e-6);
            for (x, y) in small.choice.iter().zip(&large.choice) {
                prop_assert!(x <= y, "{:?} then {:?}", small.choice, large.choice);
            }
            prop_assert!(large.quality >= small.quality);
        }

        /// No selection of hull points within the budget beats the Lagrangian one by more
        /// than the one step it could not take (checked exhaustively on small cases).
        #[test]
        fn nothing_within_the_budget_has_more_quality_at_the_same_bits(
            hulls in hulls(), a in 0.0f64..1.0,
        ) {
            let min: f64 = hulls.iter().map(|h| h[0].bits).sum();
            let max: f64 = hulls.iter().map(|h| h[h.len() - 1].bits).sum();
            let sel = for_budget(&hulls, min + a * (max - min)).expect("in range");
            let mut idx = vec![0usize; hulls.len()];
            'all: loop {
                let bits: f64 = idx.iter().zip(&hulls).map(|(&i, h)| h[i].bits).sum();
                let q: f64 = idx.iter().zip(&hulls).map(|(&i, h)| h[i].quality).sum();
                if bits <= sel.bits + 1e-9 {
                    prop_assert!(q <= sel.quality + 1e-6, "{:?} beats {:?}", idx, sel);
                }
                let mut d = 0;
                loop {
                    if d == idx.len() {
                        break 'all;
                    }
                    idx[d] += 1;
                    if idx[d] < hulls[d].len() { break; }
                    idx[d] = 0;
                    d += 1;
                }
            }
        }
    }
}
