//! Scene-cut detection on luma thumbnails: pure functions over frame bytes.
//!
//! Each frame's luma is averaged over 8x8 blocks into a thumbnail (a 1920x1080 frame becomes
//! 240x135); a frame's score is the mean absolute difference of its thumbnail from the previous
//! frame's, on an 8-bit scale. A cut is a score that is both large in absolute terms and several
//! times the recent typical score: camera motion raises every score of a shot, a cut stands out
//! from its neighbours. Averaging first makes the detector cheap (one pass over luma, no motion
//! search) and blind to noise and grain, which matter to the encoder but are not cuts.

use std::collections::VecDeque;

/// Side of the square luma blocks averaged into one thumbnail sample.
pub const BLOCK: usize = 8;

/// Tuning of the cut decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectConfig {
    /// A cut's score must be at least this (mean absolute difference, 0..255).
    pub min_score: f64,
    /// ... and at least this many times the mean of the recent scores.
    pub ratio: f64,
    /// How many recent non-cut scores form that mean.
    pub window: usize,
}

impl Default for DetectConfig {
    fn default() -> Self {
        // Measured on the bikes clip: cuts score 30-60, panning within a shot 2-8.
        DetectConfig {
            min_score: 12.0,
            ratio: 3.0,
            window: 8,
        }
    }
}

/// A frame's luma reduced to 8x8-block means, 8-bit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thumbnail {
    pub width: usize,
    pub height: usize,
    pub samples: Vec<u8>,
}

/// Averages `luma` (row-major, `width * height` samples of `bytes_per_sample` bytes,
/// little-endian when 2, `depth` significant bits) over 8x8 blocks. Edge blocks that do not
/// fit whole are dropped: they are too small to change a cut decision.
pub fn thumbnail(luma: &[u8], width: usize, height: usize, depth: u8) -> Thumbnail {
    let bps = if depth > 8 { 2 } else { 1 };
    let tw = (width / BLOCK).max(1);
    let th = (height / BLOCK).max(1);
    let bw = BLOCK.min(width);
    let bh = BLOCK.min(height);
    let shift = depth.saturating_sub(8);
    let mut sums = vec![0u32; tw * th];
    for y in 0..th * bh {
        let row = &luma[y * width * bps..][..tw * bw * bps];
        let out = &mut sums[(y / bh) * tw..][..tw];
        for (x, chunk) in row.chunks_exact(bps).enumerate() {
            let v = if bps == 2 {
                u16::from_le_bytes([chunk[0], chunk[1]]) >> shift
            } else {
                u16::from(chunk[0])
            };
            out[x / bw] += u32::from(v);
        }
    }
    let n = (bw * bh) as u32;
    Thumbnail {
        width: tw,
        height: th,
        samples: sums.iter().map(|s| (s / n).min(255) as u8).collect(),
    }
}

/// Mean absolute difference of two thumbnails of the same size.
pub fn score(a: &Thumbnail, b: &Thumbnail) -> f64 {
    if a.samples.is_empty() || a.samples.len() != b.samples.len() {
        return 0.0;
    }
    let total: u64 = a
        .samples
        .iter()
        .zip(&b.samples)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    total as f64 / a.samples.len() as f64
}

/// Streaming cut decision: feed scores of frames 1, 2, ... in order.
#[derive(Clone, Debug)]
pub struct CutDetector {
    config: DetectConfig,
    recent: VecDeque<f64>,
}

impl CutDetector {
    pub fn new(config: DetectConfig) -> Self {
        CutDetector {
            config,
            recent: VecDeque::with_capacity(config.window),
        }
    }

    /// Whether the frame with this score (difference from its predecessor) starts a scene.
    pub fn push(&mut self, score: f64) -> bool {
        let typical = if self.recent.is_empty() {
            0.0
        } else {
            self.recent.iter().sum::<f64>() / self.recent.len() as f64
        };
        // The +1 keeps a static shot (typical ~0) from calling every small change a cut.
        let cut = score >= self.config.min_score && score >= self.config.ratio * (typical + 1.0);
        if !cut {
            if self.recent.len() == self.config.window.max(1) {
                self.recent.pop_front();
            }
            self.recent.push_back(score);
        }
        cut
    }
}

/// Cuts (frame numbers starting a new scene, never 0) in a sequence of frame scores, where
/// `scores[i]` is frame `i + 1`'s difference from frame `i`.
pub fn cuts_from_scores(scores: &[f64], config: DetectConfig) -> Vec<u64> {
    let mut detector = CutDetector::new(config);
    scores
        .iter()
        .enumerate()
        .filter_map(|(i, &s)| detector.push(s).then_some(i as u64 + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn thumbnail_averages_blocks() {
        let (w, h) = (16, 8);
        let luma: Vec<u8> = (0..w * h)
            .map(|i| if i % w < 8 { 10 } else { 200 })
            .collect();
        let t = thumbnail(&luma, w, h, 8);
        assert_eq!((t.width, t.height), (2, 1));
        assert_eq!(t.samples, vec![10, 200]);
    }

    #[test]
    fn ten_bit_is_scaled_to_eight() {
        let luma: Vec<u8> = std::iter::repeat_n(800u16.to_le_bytes(), 64)
            .flatten()
            .collect();
        assert_eq!(thumbnail(&luma, 8, 8, 10).samples, vec![200]);
    }

    #[test]
    fn tiny_frames_give_one_sample() {
        let t = thumbnail(&[7; 12], 4, 3, 8);
        assert_eq!(t.samples, vec![7]);
    }

    #[test]
    fn a_jump_is_a_cut_and_steady_motion_is_not() {
        let mut scores = vec![3.0, 4.0, 3.5, 4.2, 40.0, 3.0, 3.1, 5.0, 6.0, 5.5];
        assert_eq!(cuts_from_scores(&scores, DetectConfig::default()), vec![5]);
        scores[7] = 13.0; // large but only ~3x a shot's motion: not a cut
        assert_eq!(cuts_from_scores(&scores, DetectConfig::default()), vec![5]);
    }

    proptest! {
        #[test]
        fn cuts_are_increasing_and_in_range(scores in proptest::collection::vec(0.0f64..255.0, 0..300)) {
            let cuts = cuts_from_scores(&scores, DetectConfig::default());
            prop_assert!(cuts.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(cuts.iter().all(|&c| c >= 1 && c <= scores.len() as u64));
            for &c in &cuts {
                prop_assert!(scores[c as usize - 1] >= DetectConfig::default().min_score);
            }
        }

        #[test]
        fn identical_frames_score_zero(samples in proptest::collection::vec(any::<u8>(), 64..=64)) {
            let t = thumbnail(&samples, 8, 8, 8);
            prop_assert_eq!(score(&t, &t), 0.0);
        }
    }
}
