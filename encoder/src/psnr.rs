//! PSNR of reconstructed frames against their sources, summed over a scene.
//!
//! The mean is taken over per-frame PSNRs (as ffmpeg's psnr filter reports its average), with
//! a lossless frame counted as 100 dB rather than infinity so a mean stays finite.

use rav1e::CastFromPrimitive;
use rav1e::prelude::{Pixel, Plane};

/// PSNR given for a frame with no error.
pub const LOSSLESS_DB: f64 = 100.0;

#[derive(Clone, Debug)]
pub struct PsnrSums {
    peak: f64,
    current: [(u64, u64); 3],
    db_sums: [f64; 3],
    frames: u64,
}

impl PsnrSums {
    pub fn new(depth: u8) -> Self {
        PsnrSums {
            peak: f64::from((1u32 << depth) - 1),
            current: [(0, 0); 3],
            db_sums: [0.0; 3],
            frames: 0,
        }
    }

    /// Adds one plane's squared error (visible area only).
    pub fn add_plane<T: Pixel>(&mut self, index: usize, rec: &Plane<T>, src: &Plane<T>) {
        let (w, h) = (src.cfg.width, src.cfg.height);
        let mut sse = 0u64;
        for (a, b) in rec.rows_iter().zip(src.rows_iter()).take(h) {
            for (&x, &y) in a[..w].iter().zip(&b[..w]) {
                let d = i64::from(u16::cast_from(x)) - i64::from(u16::cast_from(y));
                sse += (d * d) as u64;
            }
        }
        let slot = &mut self.current[index.min(2)];
        slot.0 += sse;
        slot.1 += (w * h) as u64;
    }

    pub fn end_frame(&mut self) {
        for (i, (sse, n)) in self.current.iter().enumerate() {
            self.db_sums[i] += psnr_db(*sse, *n, self.peak);
        }
        self.current = [(0, 0); 3];
        self.frames += 1;
    }

    pub fn mean_db(&self) -> [f64; 3] {
        let n = self.frames.max(1) as f64;
        self.db_sums.map(|s| s / n)
    }
}

/// PSNR in dB of `sse` summed over `samples` samples with peak value `peak`.
pub fn psnr_db(sse: u64, samples: u64, peak: f64) -> f64 {
    if sse == 0 || samples == 0 {
        return LOSSLESS_DB;
    }
    let mse = sse as f64 / samples as f64;
    (10.0 * (peak * peak / mse).log10()).min(LOSSLESS_DB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(psnr_db(0, 10, 255.0), LOSSLESS_DB);
        // MSE 1 at 8 bits: 20 log10(255) = 48.13 dB.
        assert!((psnr_db(100, 100, 255.0) - 48.1308).abs() < 1e-3);
    }
}
