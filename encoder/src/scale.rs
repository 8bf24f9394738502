//! Resampling of picture planes with a separable Lanczos-3 filter: the downscale that makes a
//! ladder rung's input from the mezzanine, and the upscale that brings a rung's decoded frames
//! back to the source size before its quality is measured.
//!
//! Pure: a [`Scaler`] holds the filter taps for one pair of sizes (computed once) and maps
//! planes of 16-bit samples (8-bit sources are widened) to planes. When shrinking, the kernel is
//! stretched by the ratio so that it low-passes (no aliasing); when enlarging it interpolates.
//! Sample centres are aligned (`(x + 0.5) * ratio - 0.5`), edges are extended by repeating the
//! border sample. The horizontal pass keeps `f32` precision and only the vertical pass rounds.

/// Lobes of the Lanczos kernel.
const LOBES: f64 = 3.0;

/// The taps of one output sample: weights of input samples `start..start + weights.len()`.
#[derive(Clone, Debug, PartialEq)]
struct Taps {
    start: usize,
    weights: Vec<f32>,
}

/// Filter taps for resampling `from` (width, height) to `to`.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaler {
    from: (usize, usize),
    to: (usize, usize),
    columns: Vec<Taps>,
    rows: Vec<Taps>,
}

impl Scaler {
    /// Taps for `from` to `to`; both sizes must be non-zero.
    pub fn new(from: (usize, usize), to: (usize, usize)) -> Self {
        Scaler {
            from,
            to,
            columns: taps(from.0, to.0),
            rows: taps(from.1, to.1),
        }
    }

    /// Resamples `src` (row-packed, `from` size) into `dst` (resized to `to`), clamping to
    /// `0..=max`.
    pub fn scale(&self, src: &[u16], dst: &mut Vec<u16>, max: u16) {
        let (w, h) = self.from;
        let (ow, oh) = self.to;
        debug_assert_eq!(src.len(), w * h);
        // Horizontal pass: h rows of ow samples.
        let mut mid = vec![0f32; ow * h];
        for (row, out) in src.chunks_exact(w).zip(mid.chunks_exact_mut(ow)) {
            for (o, t) in out.iter_mut().zip(&self.columns) {
                *o = dot(&row[t.start..t.start + t.weights.len()], &t.weights);
            }
        }
        dst.clear();
        dst.resize(ow * oh, 0);
        let top = f32::from(max);
        for (out, t) in dst.chunks_exact_mut(ow).zip(&self.rows) {
            for (x, o) in out.iter_mut().enumerate() {
                let mut acc = 0f32;
                for (k, wgt) in t.weights.iter().enumerate() {
                    acc += mid[(t.start + k) * ow + x] * wgt;
                }
                *o = acc.round().clamp(0.0, top) as u16;
            }
        }
    }
}

fn dot(samples: &[u16], weights: &[f32]) -> f32 {
    samples
        .iter()
        .zip(weights)
        .map(|(&s, &w)| f32::from(s) * w)
        .sum()
}

fn lanczos(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    if x.abs() >= LOBES {
        return 0.0;
    }
    let px = std::f64::consts::PI * x;
    LOBES * px.sin() * (px / LOBES).sin() / (px * px)
}

/// The taps of every output sample along one axis of `n` input samples scaled to `out`.
fn taps(n: usize, out: usize) -> Vec<Taps> {
    let ratio = n as f64 / out as f64;
    // Shrinking widens the kernel by the ratio (a low-pass at the output's Nyquist rate).
    let stretch = ratio.max(1.0);
    let support = LOBES * stretch;
    (0..out)
        .map(|o| {
            let centre = (o as f64 + 0.5) * ratio - 0.5;
            let first = (centre - support).floor() as i64 + 1;
            let last = (centre + support).ceil() as i64 - 1;
            let clamp = |i: i64| i.clamp(0, n as i64 - 1) as usize;
            let start = clamp(first);
            let end = clamp(last);
            let mut weights = vec![0f64; end - start + 1];
            for i in first..=last {
                // Samples beyond an edge repeat the edge sample.
                weights[clamp(i) - start] += lanczos((i as f64 - centre) / stretch);
            }
            let sum: f64 = weights.iter().sum();
            Taps {
                start,
                weights: weights.iter().map(|w| (w / sum) as f32).collect(),
            }
        })
        .collect()
}

/// Width and height of the chroma planes of a 4:2:0 picture of `width` x `height`.
pub fn chroma_size(width: usize, height: usize) -> (usize, usize) {
    (width.div_ceil(2), height.div_ceil(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_same_size_is_the_identity() {
        let src: Vec<u16> = (0..12 * 7).map(|i| (i * 37 % 256) as u16).collect();
        let mut dst = Vec::new();
        Scaler::new((12, 7), (12, 7)).scale(&src, &mut dst, 255);
        assert_eq!(dst, src);
    }

    #[test]
    fn halving_a_two_sample_pattern_averages_it() {
        // Columns alternate 100, 200: the half-size picture is flat grey near 150.
        let src: Vec<u16> = (0..32 * 8)
            .map(|i| if i % 2 == 0 { 100 } else { 200 })
            .collect();
        let mut dst = Vec::new();
        Scaler::new((32, 8), (16, 4)).scale(&src, &mut dst, 255);
        for &v in &dst[2..14] {
            assert!((140..=160).contains(&v), "{dst:?}");
        }
    }

    proptest! {
        #[test]
        fn a_flat_picture_stays_flat(
            w in 1usize..40, h in 1usize..40, ow in 1usize..80, oh in 1usize..80, v in 0u16..1024,
        ) {
            let src = vec![v; w * h];
            let mut dst = Vec::new();
            Scaler::new((w, h), (ow, oh)).scale(&src, &mut dst, 1023);
            prop_assert_eq!(dst.len(), ow * oh);
            prop_assert!(dst.iter().all(|&d| d == v));
        }

        #[test]
        fn output_stays_within_the_sample_range(
            w in 2usize..30, h in 2usize..30, ow in 1usize..60, oh in 1usize..60,
            seed in any::<u64>(),
        ) {
            let src: Vec<u16> = (0..w * h)
                .map(|i| ((i as u64).wrapping_mul(seed | 1) >> 7) as u16 % 2 * 255)
                .collect();
            let mut dst = Vec::new();
            Scaler::new((w, h), (ow, oh)).scale(&src, &mut dst, 255);
            prop_assert!(dst.iter().all(|&d| d <= 255));
        }
    }
}
