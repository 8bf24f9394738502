//! SSIM of one plane the way x264 and ffmpeg's `ssim` filter compute it: sums over 4x4 blocks,
//! SSIM of every 8x8 window made of 2x2 neighbouring blocks (windows overlap by 4 samples),
//! averaged. Samples beyond the last whole 4x4 block are not looked at.

use super::Luma;

/// Per block: sum of a, sum of b, sum of a² + b², sum of a·b.
type Sums = [i64; 4];

/// SSIM of `b` against `a` (same size), 0 to 1; 1 for planes too small for one window.
pub fn ssim_frame(a: Luma<'_>, b: Luma<'_>, depth: u8) -> f64 {
    let blocks_w = a.width / 4;
    let blocks_h = a.height / 4;
    if blocks_w < 2 || blocks_h < 2 {
        return 1.0;
    }
    let max = f64::from((1u32 << depth) - 1);
    let c1 = (0.01 * 0.01 * max * max * 64.0 + 0.5).floor();
    let c2 = (0.03 * 0.03 * max * max * 64.0 * 63.0 + 0.5).floor();
    let mut above = block_row(a, b, 0, blocks_w);
    let mut total = 0.0;
    for by in 1..blocks_h {
        let below = block_row(a, b, by, blocks_w);
        for x in 0..blocks_w - 1 {
            let mut s = [0i64; 4];
            for (k, v) in s.iter_mut().enumerate() {
                *v = above[x][k] + above[x + 1][k] + below[x][k] + below[x + 1][k];
            }
            total += window(s, c1, c2);
        }
        above = below;
    }
    total / ((blocks_h - 1) * (blocks_w - 1)) as f64
}

fn block_row(a: Luma<'_>, b: Luma<'_>, by: usize, blocks_w: usize) -> Vec<Sums> {
    (0..blocks_w)
        .map(|bx| {
            let mut s = [0i64; 4];
            for y in by * 4..by * 4 + 4 {
                let row = y * a.width + bx * 4;
                for (&p, &q) in a.samples[row..row + 4].iter().zip(&b.samples[row..row + 4]) {
                    let (p, q) = (i64::from(p), i64::from(q));
                    s[0] += p;
                    s[1] += q;
                    s[2] += p * p + q * q;
                    s[3] += p * q;
                }
            }
            s
        })
        .collect()
}

/// SSIM of one 8x8 window from its sums (64 samples).
fn window(s: Sums, c1: f64, c2: f64) -> f64 {
    let [s1, s2, ss, s12] = s.map(|v| v as f64);
    let vars = ss * 64.0 - s1 * s1 - s2 * s2;
    let covar = s12 * 64.0 - s1 * s2;
    (2.0 * s1 * s2 + c1) * (2.0 * covar + c2) / ((s1 * s1 + s2 * s2 + c1) * (vars + c2))
}
