//! One scene's rate-quality convex hull: of the grid's encodes (resolution x quantizer), the
//! ones worth choosing. Pure.
//!
//! A point is dominated when another spends no more bits for at least its quality; of the rest,
//! only the upper convex hull can be chosen at a common Lagrangian slope (a point below the line
//! joining its neighbours loses to one of them at every slope). What is left runs up in both
//! bits and quality with falling slopes.

/// One encode of a scene: its size in bits and its quality (the sum over its frames of the
/// per-frame score, so that scenes add up to the title's total).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RdPoint {
    pub bits: f64,
    pub quality: f64,
}

/// Indices of `points` on the upper-left convex hull, in increasing bits (and quality).
pub fn convex_hull(points: &[RdPoint]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].bits.is_finite() && points[i].quality.is_finite())
        .collect();
    order.sort_by(|&a, &b| {
        let (p, q) = (points[a], points[b]);
        p.bits
            .total_cmp(&q.bits)
            .then(q.quality.total_cmp(&p.quality))
    });
    let mut hull: Vec<usize> = Vec::new();
    for i in order {
        let c = points[i];
        if let Some(&last) = hull.last()
            && c.quality <= points[last].quality
        {
            continue;
        }
        while hull.len() >= 2 {
            let a = points[hull[hull.len() - 2]];
            let b = points[hull[hull.len() - 1]];
            // b is dropped when it lies on or below the line from a to c.
            if (b.quality - a.quality) * (c.bits - a.bits)
                <= (c.quality - a.quality) * (b.bits - a.bits)
            {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(i);
    }
    hull
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(bits: f64, quality: f64) -> RdPoint {
        RdPoint { bits, quality }
    }

    #[test]
    fn dominated_and_concave_points_are_dropped() {
        let points = [
            p(100.0, 30.0),
            p(200.0, 29.0), // dominated by the first
            p(200.0, 34.0),
            p(300.0, 35.0), // below the line from (200, 34) to (400, 38)
            p(400.0, 38.0),
            p(800.0, 39.0),
            p(900.0, 39.0), // no better than (800, 39)
        ];
        assert_eq!(convex_hull(&points), vec![0, 2, 4, 5]);
    }

    #[test]
    fn empty_and_single() {
        assert!(convex_hull(&[]).is_empty());
        assert_eq!(convex_hull(&[p(1.0, 1.0)]), vec![0]);
    }

    fn points() -> impl Strategy<Value = Vec<RdPoint>> {
        proptest::collection::vec((1.0f64..1e6, 20.0f64..50.0), 1..30)
            .prop_map(|v| v.into_iter().map(|(b, q)| p(b, q)).collect())
    }

    proptest! {
        #[test]
        fn the_hull_rises_with_falling_slopes_and_covers_every_point(pts in points()) {
            let hull = convex_hull(&pts);
            prop_assert!(!hull.is_empty());
            let h: Vec<RdPoint> = hull.iter().map(|&i| pts[i]).collect();
            for w in h.windows(2) {
                prop_assert!(w[1].bits > w[0].bits && w[1].quality > w[0].quality);
            }
            for w in h.windows(3) {
                let s1 = (w[1].quality - w[0].quality) / (w[1].bits - w[0].bits);
                let s2 = (w[2].quality - w[1].quality) / (w[2].bits - w[1].bits);
                prop_assert!(s2 < s1, "slopes {} then {}", s1, s2);
            }
            // The cheapest point is on the hull (or ties it), and so is the best one.
            let min_bits = pts.iter().map(|q| q.bits).fold(f64::INFINITY, f64::min);
            prop_assert_eq!(h[0].bits, min_bits);
            let best = pts.iter().map(|q| q.quality).fold(f64::NEG_INFINITY, f64::max);
            prop_assert_eq!(h[h.len() - 1].quality, best);
            // No point lies above the hull's piecewise-linear curve.
            for q in &pts {
                let above = h.windows(2).any(|w| {
                    q.bits >= w[0].bits && q.bits <= w[1].bits && {
                        let t = (q.bits - w[0].bits) / (w[1].bits - w[0].bits);
                        q.quality > w[0].quality + t * (w[1].quality - w[0].quality) + 1e-9
                    }
                });
                prop_assert!(!above, "{:?} above the hull {:?}", q, h);
                prop_assert!(q.bits >= h[0].bits);
            }
        }
    }
}
