//! Bjøntegaard delta rate: the average bitrate difference of a test rate-quality curve
//! against an anchor curve at equal quality, in percent (negative: the test needs fewer bits).
//!
//! Pure. Each curve is log10(rate) as a function of quality; both are interpolated and
//! integrated over the quality interval the two curves share, and the mean difference of the
//! integrals is turned back into a rate ratio. Two interpolations:
//!
//! - [`Interpolation::Pchip`]: piecewise cubic Hermite interpolation through every point with
//!   monotone (Fritsch-Carlson) slopes, as the AOM and JVET common test conditions use. It never
//!   overshoots between points, so any number of points (two or more) is sound.
//! - [`Interpolation::Cubic`]: the classic VCEG-M33 fit, one least-squares cubic through all
//!   points (four or more), exact for four.

/// One rate-quality point: rate (any unit, the same for both curves) and quality (dB).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RdPoint {
    pub rate: f64,
    pub quality: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    Pchip,
    Cubic,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum BdError {
    #[error("{curve}: needs at least {needed} points, has {got}")]
    TooFewPoints {
        curve: &'static str,
        needed: usize,
        got: usize,
    },
    #[error("{curve}: rates must be positive and finite, qualities finite (point {index})")]
    BadPoint { curve: &'static str, index: usize },
    #[error("{curve}: two points have the same quality {quality}; a curve needs distinct ones")]
    SameQuality { curve: &'static str, quality: f64 },
    #[error(
        "the curves share no quality range (anchor {a_lo:.3}-{a_hi:.3} dB, test \
         {b_lo:.3}-{b_hi:.3} dB)"
    )]
    NoOverlap {
        a_lo: f64,
        a_hi: f64,
        b_lo: f64,
        b_hi: f64,
    },
}

/// What [`bd_rate`] found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BdRate {
    /// Percent rate change of test against anchor at equal quality.
    pub percent: f64,
    /// The shared quality interval integrated over.
    pub interval: (f64, f64),
    /// That interval as a share of the union of both curves' quality ranges (the `bjontegaard`
    /// package warns below 0.75).
    pub overlap: f64,
}

/// BD-rate of `test` against `anchor`.
pub fn bd_rate(
    anchor: &[RdPoint],
    test: &[RdPoint],
    method: Interpolation,
) -> Result<BdRate, BdError> {
    let a = Curve::new("anchor", anchor, method)?;
    let b = Curve::new("test", test, method)?;
    let (a_lo, a_hi) = a.range();
    let (b_lo, b_hi) = b.range();
    let lo = a_lo.max(b_lo);
    let hi = a_hi.min(b_hi);
    if hi <= lo {
        return Err(BdError::NoOverlap {
            a_lo,
            a_hi,
            b_lo,
            b_hi,
        });
    }
    let mean = (b.integral(lo, hi) - a.integral(lo, hi)) / (hi - lo);
    Ok(BdRate {
        percent: (10f64.powf(mean) - 1.0) * 100.0,
        interval: (lo, hi),
        overlap: (hi - lo) / (a_hi.max(b_hi) - a_lo.min(b_lo)),
    })
}

/// log10(rate) as a function of quality.
enum Curve {
    Pchip(Hermite),
    /// Coefficients c0..c3 of a cubic in (quality - shift), and the quality range.
    Cubic {
        c: [f64; 4],
        shift: f64,
        range: (f64, f64),
    },
}

impl Curve {
    fn new(
        curve: &'static str,
        points: &[RdPoint],
        method: Interpolation,
    ) -> Result<Self, BdError> {
        let needed = match method {
            Interpolation::Pchip => 2,
            Interpolation::Cubic => 4,
        };
        if points.len() < needed {
            return Err(BdError::TooFewPoints {
                curve,
                needed,
                got: points.len(),
            });
        }
        let mut xy = Vec::with_capacity(points.len());
        for (index, p) in points.iter().enumerate() {
            if !(p.rate > 0.0 && p.rate.is_finite() && p.quality.is_finite()) {
                return Err(BdError::BadPoint { curve, index });
            }
            xy.push((p.quality, p.rate.log10()));
        }
        xy.sort_by(|p, q| p.0.total_cmp(&q.0));
        if let Some(w) = xy.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(BdError::SameQuality {
                curve,
                quality: w[0].0,
            });
        }
        let x: Vec<f64> = xy.iter().map(|p| p.0).collect();
        let y: Vec<f64> = xy.iter().map(|p| p.1).collect();
        Ok(match method {
            Interpolation::Pchip => Curve::Pchip(Hermite::pchip(x, y)),
            Interpolation::Cubic => {
                let shift = x.iter().sum::<f64>() / x.len() as f64;
                let t: Vec<f64> = x.iter().map(|v| v - shift).collect();
                Curve::Cubic {
                    c: least_squares_cubic(&t, &y),
                    shift,
                    range: (x[0], x[x.len() - 1]),
                }
            }
        })
    }

    fn range(&self) -> (f64, f64) {
        match self {
            Curve::Pchip(h) => (h.x[0], h.x[h.x.len() - 1]),
            Curve::Cubic { range, .. } => *range,
        }
    }

    fn integral(&self, lo: f64, hi: f64) -> f64 {
        match self {
            Curve::Pchip(h) => h.integral(lo, hi),
            Curve::Cubic { c, shift, .. } => {
                let prim =
                    |t: f64| t * (c[0] + t * (c[1] / 2.0 + t * (c[2] / 3.0 + t * c[3] / 4.0)));
                prim(hi - shift) - prim(lo - shift)
            }
        }
    }
}

/// A piecewise cubic Hermite interpolant: values `y` and slopes `d` at knots `x`.
struct Hermite {
    x: Vec<f64>,
    y: Vec<f64>,
    d: Vec<f64>,
}

impl Hermite {
    /// Monotone slopes (Fritsch-Carlson with the weighted harmonic mean inside and the
    /// three-point, shape-preserving formula at the ends; linear for two points), the same
    /// choice as SciPy's `PchipInterpolator`.
    fn pchip(x: Vec<f64>, y: Vec<f64>) -> Self {
        let n = x.len();
        let h: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
        let m: Vec<f64> = (0..n - 1).map(|k| (y[k + 1] - y[k]) / h[k]).collect();
        let mut d = vec![0.0; n];
        if n == 2 {
            d[0] = m[0];
            d[1] = m[0];
            return Hermite { x, y, d };
        }
        for k in 1..n - 1 {
            if m[k - 1] * m[k] > 0.0 {
                let w1 = 2.0 * h[k] + h[k - 1];
                let w2 = h[k] + 2.0 * h[k - 1];
                d[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k]);
            }
        }
        d[0] = end_slope(h[0], h[1], m[0], m[1]);
        d[n - 1] = end_slope(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
        Hermite { x, y, d }
    }

    /// Exact integral from `lo` to `hi` (within the knots).
    fn integral(&self, lo: f64, hi: f64) -> f64 {
        (0..self.x.len() - 1)
            .map(|k| {
                let (x0, x1) = (self.x[k], self.x[k + 1]);
                let (a, b) = (lo.max(x0), hi.min(x1));
                if b <= a {
                    0.0
                } else {
                    self.segment_primitive(k, b) - self.segment_primitive(k, a)
                }
            })
            .sum()
    }

    /// Primitive of segment `k`'s cubic, zero at its left knot.
    fn segment_primitive(&self, k: usize, at: f64) -> f64 {
        let h = self.x[k + 1] - self.x[k];
        let s = (at - self.x[k]) / h;
        let (y0, y1, d0, d1) = (self.y[k], self.y[k + 1], self.d[k] * h, self.d[k + 1] * h);
        // Integrals from 0 to s of the Hermite basis functions h00, h10, h01, h11.
        let s2 = s * s;
        let s3 = s2 * s;
        let s4 = s3 * s;
        let i00 = s4 / 2.0 - s3 + s;
        let i10 = s4 / 4.0 - 2.0 * s3 / 3.0 + s2 / 2.0;
        let i01 = -s4 / 2.0 + s3;
        let i11 = s4 / 4.0 - s3 / 3.0;
        h * (y0 * i00 + d0 * i10 + y1 * i01 + d1 * i11)
    }
}

fn end_slope(h0: f64, h1: f64, m0: f64, m1: f64) -> f64 {
    let d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if d.signum() != m0.signum() || d == 0.0 || m0 == 0.0 {
        0.0
    } else if m0.signum() != m1.signum() && d.abs() > 3.0 * m0.abs() {
        3.0 * m0
    } else {
        d
    }
}

/// Least-squares cubic c0 + c1 t + c2 t² + c3 t³ through (t, y), by Householder QR of the
/// Vandermonde matrix (better conditioned than the normal equations).
fn least_squares_cubic(t: &[f64], y: &[f64]) -> [f64; 4] {
    let n = t.len();
    let mut a: Vec<[f64; 4]> = t.iter().map(|&v| [1.0, v, v * v, v * v * v]).collect();
    let mut b = y.to_vec();
    for col in 0..4 {
        let norm = (col..n).map(|r| a[r][col] * a[r][col]).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        let alpha = if a[col][col] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (col..n).map(|r| a[r][col]).collect();
        v[0] -= alpha;
        let vv: f64 = v.iter().map(|x| x * x).sum();
        if vv == 0.0 {
            continue;
        }
        for c in col..4 {
            let dot: f64 = a[col..].iter().zip(&v).map(|(row, vi)| vi * row[c]).sum();
            for (row, vi) in a[col..].iter_mut().zip(&v) {
                row[c] -= 2.0 * dot / vv * vi;
            }
        }
        let dot: f64 = (col..n).map(|r| v[r - col] * b[r]).sum();
        for r in col..n {
            b[r] -= 2.0 * dot / vv * v[r - col];
        }
    }
    let mut c = [0.0; 4];
    for row in (0..4).rev() {
        let s: f64 = (row + 1..4).map(|k| a[row][k] * c[k]).sum();
        c[row] = (b[row] - s) / a[row][row];
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn curve(points: &[(f64, f64)]) -> Vec<RdPoint> {
        points
            .iter()
            .map(|&(rate, quality)| RdPoint { rate, quality })
            .collect()
    }

    const ANCHOR: [(f64, f64); 4] = [(100.0, 30.0), (200.0, 33.0), (400.0, 36.0), (800.0, 39.0)];

    #[test]
    fn the_same_curve_is_zero() {
        let a = curve(&ANCHOR);
        for m in [Interpolation::Pchip, Interpolation::Cubic] {
            let r = bd_rate(&a, &a, m).expect("bd");
            assert!(r.percent.abs() < 1e-9, "{m:?} {r:?}");
            assert_eq!(r.overlap, 1.0);
        }
    }

    #[test]
    fn a_curve_at_half_the_rate_is_minus_50_percent() {
        let a = curve(&ANCHOR);
        let b: Vec<RdPoint> = a
            .iter()
            .map(|p| RdPoint {
                rate: p.rate / 2.0,
                ..*p
            })
            .collect();
        for m in [Interpolation::Pchip, Interpolation::Cubic] {
            let r = bd_rate(&a, &b, m).expect("bd");
            assert!((r.percent + 50.0).abs() < 1e-9, "{m:?} {r:?}");
        }
    }

    #[test]
    fn bad_curves_are_named() {
        let a = curve(&ANCHOR);
        let three = curve(&ANCHOR[..3]);
        assert!(matches!(
            bd_rate(&a, &three, Interpolation::Cubic),
            Err(BdError::TooFewPoints { curve: "test", .. })
        ));
        let apart = curve(&[(100.0, 50.0), (200.0, 51.0)]);
        assert!(matches!(
            bd_rate(&a, &apart, Interpolation::Pchip),
            Err(BdError::NoOverlap { .. })
        ));
        let zero = curve(&[(0.0, 30.0), (200.0, 33.0)]);
        assert!(matches!(
            bd_rate(&zero, &a, Interpolation::Pchip),
            Err(BdError::BadPoint {
                curve: "anchor",
                index: 0
            })
        ));
    }

    proptest! {
        /// Scaling every test rate by k moves BD-rate to exactly (k - 1) * 100 %.
        #[test]
        fn a_uniform_rate_scale_is_recovered(
            k in 0.2f64..5.0,
            steps in proptest::collection::vec((0.05f64..1.0, 0.2f64..3.0), 4..8),
        ) {
            let mut rate = 100.0;
            let mut q = 30.0;
            let mut a = Vec::new();
            for (dr, dq) in steps {
                rate *= 1.0 + dr;
                q += dq;
                a.push(RdPoint { rate, quality: q });
            }
            let b: Vec<RdPoint> = a.iter().map(|p| RdPoint { rate: p.rate * k, ..*p }).collect();
            for m in [Interpolation::Pchip, Interpolation::Cubic] {
                let r = bd_rate(&a, &b, m).expect("bd");
                prop_assert!((r.percent - (k - 1.0) * 100.0).abs() < 1e-6, "{:?} {:?}", m, r);
            }
        }
    }
}
