//! Full-reference quality of a rung's frames against the source: PSNR-Y and SSIM-Y, behind
//! one [`Metric`] trait so that another metric can be added without touching the ladder.
//!
//! A rung encoded at a lower resolution is first upscaled back to the source size (with the
//! same Lanczos filter as the downscale, [`crate::scale`]), as ladders are compared: what a
//! viewer sees is the rung stretched to the screen. Frames are luma planes of 16-bit samples.
//!
//! The measures follow ffmpeg's `psnr` and `ssim` filters so that results can be checked
//! against them (encoder/tests/quality.rs does): PSNR from the frame's mean squared error,
//! SSIM from 8x8 windows on a 4-sample grid (x264's approximation of the Gaussian window).
//! VMAF is not available here: Debian ships no libvmaf, and the metric is a trait so that a
//! VMAF binding can be added where it exists.

mod ssim;

pub use ssim::ssim_frame;

use crate::psnr::psnr_db;

/// One luma plane, row-packed.
#[derive(Clone, Copy, Debug)]
pub struct Luma<'a> {
    pub samples: &'a [u16],
    pub width: usize,
    pub height: usize,
}

/// A full-reference metric of one frame; a scene's score is the mean of its frames' scores.
pub trait Metric: Send + Sync + std::fmt::Debug {
    /// The column name in reports (`psnr_y`, `ssim_y`).
    fn name(&self) -> &'static str;
    /// The frame's score (higher is better) of `distorted` against `reference`, same size.
    fn frame(&self, reference: Luma<'_>, distorted: Luma<'_>) -> f64;
}

/// PSNR of the luma plane in dB (100 for a lossless frame).
#[derive(Clone, Copy, Debug)]
pub struct PsnrY {
    pub depth: u8,
}

impl Metric for PsnrY {
    fn name(&self) -> &'static str {
        "psnr_y"
    }

    fn frame(&self, reference: Luma<'_>, distorted: Luma<'_>) -> f64 {
        let sse = sse(reference, distorted);
        psnr_db(sse, reference.samples.len() as u64, peak(self.depth))
    }
}

/// SSIM of the luma plane, 0 to 1 (see [`ssim_db`] for the decibel form ffmpeg also prints).
#[derive(Clone, Copy, Debug)]
pub struct SsimY {
    pub depth: u8,
}

impl Metric for SsimY {
    fn name(&self) -> &'static str {
        "ssim_y"
    }

    fn frame(&self, reference: Luma<'_>, distorted: Luma<'_>) -> f64 {
        ssim_frame(reference, distorted, self.depth)
    }
}

/// Sum of squared differences of two planes of the same size.
pub fn sse(a: Luma<'_>, b: Luma<'_>) -> u64 {
    a.samples
        .iter()
        .zip(b.samples)
        .map(|(&x, &y)| {
            let d = i64::from(x) - i64::from(y);
            (d * d) as u64
        })
        .sum()
}

/// PSNR of the mean of frames' squared errors (how ffmpeg's `psnr` filter pools its
/// summary line), from per-frame mean squared errors.
pub fn pooled_psnr_db(frame_mses: &[f64], depth: u8) -> f64 {
    if frame_mses.is_empty() {
        return crate::psnr::LOSSLESS_DB;
    }
    let mse = frame_mses.iter().sum::<f64>() / frame_mses.len() as f64;
    if mse == 0.0 {
        return crate::psnr::LOSSLESS_DB;
    }
    let p = peak(depth);
    10.0 * (p * p / mse).log10()
}

/// An SSIM index as decibels, `-10 log10(1 - ssim)` (ffmpeg's bracketed figure).
pub fn ssim_db(ssim: f64) -> f64 {
    if ssim >= 1.0 {
        return crate::psnr::LOSSLESS_DB;
    }
    -10.0 * (1.0 - ssim).log10()
}

fn peak(depth: u8) -> f64 {
    f64::from((1u32 << depth) - 1)
}

/// Widens a Y4M plane's bytes (8-bit samples, or 16-bit little-endian) to 16-bit samples.
pub fn widen(bytes: &[u8], bytes_per_sample: usize, out: &mut Vec<u16>) {
    out.clear();
    if bytes_per_sample == 2 {
        out.extend(
            bytes
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]])),
        );
    } else {
        out.extend(bytes.iter().map(|&b| u16::from(b)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luma(samples: &[u16], width: usize) -> Luma<'_> {
        Luma {
            samples,
            width,
            height: samples.len() / width,
        }
    }

    #[test]
    fn identical_frames_score_the_maximum() {
        let a: Vec<u16> = (0..64 * 32).map(|i| (i % 251) as u16).collect();
        let l = luma(&a, 64);
        assert_eq!(PsnrY { depth: 8 }.frame(l, l), crate::psnr::LOSSLESS_DB);
        assert!((SsimY { depth: 8 }.frame(l, l) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn psnr_of_a_unit_error_is_48_13_db() {
        let a = vec![100u16; 16 * 16];
        let b = vec![101u16; 16 * 16];
        let db = PsnrY { depth: 8 }.frame(luma(&a, 16), luma(&b, 16));
        assert!((db - 48.1308).abs() < 1e-3, "{db}");
        assert!((pooled_psnr_db(&[1.0, 1.0], 8) - 48.1308).abs() < 1e-3);
    }

    #[test]
    fn more_noise_lowers_ssim() {
        let a: Vec<u16> = (0..64 * 64).map(|i| ((i * 7) % 200) as u16).collect();
        let small: Vec<u16> = a
            .iter()
            .enumerate()
            .map(|(i, &v)| v + (i % 3) as u16)
            .collect();
        let large: Vec<u16> = a
            .iter()
            .enumerate()
            .map(|(i, &v)| v + (i % 31) as u16)
            .collect();
        let m = SsimY { depth: 8 };
        let (s, l) = (
            m.frame(luma(&a, 64), luma(&small, 64)),
            m.frame(luma(&a, 64), luma(&large, 64)),
        );
        assert!(1.0 > s && s > l, "{s} {l}");
        assert!((ssim_db(0.99) - 20.0).abs() < 1e-9);
    }
}
