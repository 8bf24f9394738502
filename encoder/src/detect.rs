//! Scene-cut detection on luma thumbnails: pure functions over frame bytes.
//!
//! Each frame's luma is averaged over 8x8 blocks into a thumbnail (a 1920x1080 frame becomes
//! 240x135); a frame's score is the mean absolute difference of its thumbnail from the previous
//! frame's, on an 8-bit scale. Camera motion raises every score of a shot; a cut stands out from
//! its neighbours. So a cut is a score that is large in absolute terms and either several times
//! the recent typical score, or, when a shot ends in fast motion that raised the typical score,
//! still twice it and several times the next frame's score (a cut is a one-frame peak; motion
//! is not). A one-frame flash (a camera flash, a white frame) stands out too, but the frames on
//! either side of it match each other: a candidate whose neighbours differ from each other far
//! less than from it is a flash, and neither it nor the return from it is a cut. Both lookahead
//! tests need the next frame, so decisions lag one frame. Averaging first makes the detector
//! cheap (one pass over luma, no motion search) and blind to noise and grain, which matter to
//! the encoder but are not cuts.

use std::collections::VecDeque;

/// Side of the square luma blocks averaged into one thumbnail sample.
pub const BLOCK: usize = 8;

/// Tuning of the cut decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectConfig {
    /// A cut's score must be at least this (mean absolute difference, 0..255).
    pub min_score: f64,
    /// ... and at least this many times the mean of the recent scores,
    pub ratio: f64,
    /// ... or at least this many times that mean and `peak_over_next` times the next score.
    pub peak_ratio: f64,
    pub peak_over_next: f64,
    /// A candidate is a flash when its neighbours' difference from each other times this is
    /// still under its score.
    pub flash_ratio: f64,
    /// How many recent non-cut scores form that mean.
    pub window: usize,
}

impl Default for DetectConfig {
    fn default() -> Self {
        // Measured on the bikes clip: cuts score 30-60, panning within a shot 2-8, but up to 20
        // at the end of the shot before the cut at 76 (which scores 51 against a mean of 18,
        // then 7.9 on the next frame). Fast motion that comes near twice the mean is followed
        // by an equal or higher score, so the peak test does not fire on it.
        DetectConfig {
            min_score: 12.0,
            ratio: 3.0,
            peak_ratio: 2.0,
            peak_over_next: 3.0,
            flash_ratio: 3.0,
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
        if bps == 1 {
            add_row_8bit(row, out, bw);
        } else {
            for (o, block) in out.iter_mut().zip(row.chunks_exact(bw * 2)) {
                *o += block
                    .chunks_exact(2)
                    .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]]) >> shift))
                    .sum::<u32>();
            }
        }
    }
    let n = (bw * bh) as u32;
    Thumbnail {
        width: tw,
        height: th,
        samples: sums.iter().map(|s| (s / n).min(255) as u8).collect(),
    }
}

/// Adds each `bw`-sample block of an 8-bit row to its sum. Fixed-size blocks let the compiler
/// vectorise the common case: this loop is nearly all of detection's time.
fn add_row_8bit(row: &[u8], out: &mut [u32], bw: usize) {
    if bw == BLOCK {
        let (blocks, _) = row.as_chunks::<BLOCK>();
        for (o, block) in out.iter_mut().zip(blocks) {
            *o += block.iter().map(|&v| u32::from(v)).sum::<u32>();
        }
    } else {
        for (o, block) in out.iter_mut().zip(row.chunks_exact(bw)) {
            *o += block.iter().map(|&v| u32::from(v)).sum::<u32>();
        }
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

/// Streaming cut decision: feed the scores of frames 1, 2, ... in order. Each frame is
/// decided when the next one's score arrives (or at [`CutDetector::finish`]).
#[derive(Clone, Debug)]
pub struct CutDetector {
    config: DetectConfig,
    recent: VecDeque<f64>,
    /// The frame awaiting its decision: number, score, typical score before it.
    pending: Option<(u64, f64, f64)>,
    /// The pending frame is the return from a flash.
    after_flash: bool,
    frames: u64,
}

impl CutDetector {
    pub fn new(config: DetectConfig) -> Self {
        CutDetector {
            config,
            recent: VecDeque::with_capacity(config.window),
            pending: None,
            after_flash: false,
            frames: 0,
        }
    }

    /// The next frame's score (its difference from its predecessor) and, when known, its
    /// difference from the frame two back (across the frame now decided); returns the previous
    /// frame's number if it starts a scene.
    pub fn push(&mut self, score: f64, across: Option<f64>) -> Option<u64> {
        let cut = self.decide(Some((score, across)));
        self.frames += 1;
        self.pending = Some((self.frames, score, self.typical()));
        cut
    }

    /// Decides the last frame, which has no next score.
    pub fn finish(&mut self) -> Option<u64> {
        self.decide(None)
    }

    fn decide(&mut self, next: Option<(f64, Option<f64>)>) -> Option<u64> {
        let (frame, score, typical) = self.pending.take()?;
        if std::mem::take(&mut self.after_flash) {
            // Back from a flash: high, but neither a cut nor the shot's motion.
            return None;
        }
        let c = &self.config;
        // The +1s keep a static shot (scores ~0) from calling every small change a cut.
        let stands_out = score >= c.ratio * (typical + 1.0);
        let peak = next.is_some_and(|(n, _)| {
            score >= c.peak_ratio * (typical + 1.0) && score >= c.peak_over_next * (n + 1.0)
        });
        let cut = score >= c.min_score && (stands_out || peak);
        let flash = cut
            && next
                .and_then(|(_, across)| across)
                .is_some_and(|a| a * c.flash_ratio < score);
        if flash {
            self.after_flash = true;
            return None;
        }
        if !cut {
            if self.recent.len() == c.window.max(1) {
                self.recent.pop_front();
            }
            self.recent.push_back(score);
        }
        cut.then_some(frame)
    }

    fn typical(&self) -> f64 {
        if self.recent.is_empty() {
            0.0
        } else {
            self.recent.iter().sum::<f64>() / self.recent.len() as f64
        }
    }
}

/// Cut detection over thumbnails: scores each frame against the one before and the one before
/// that, for the [`CutDetector`].
#[derive(Clone, Debug)]
pub struct ThumbnailCuts {
    detector: CutDetector,
    two_back: Option<Thumbnail>,
    previous: Option<Thumbnail>,
}

impl ThumbnailCuts {
    pub fn new(config: DetectConfig) -> Self {
        ThumbnailCuts {
            detector: CutDetector::new(config),
            two_back: None,
            previous: None,
        }
    }

    /// The next frame's thumbnail (frames numbered from 0); returns a decided cut.
    pub fn push(&mut self, thumb: Thumbnail) -> Option<u64> {
        let cut = self.previous.as_ref().and_then(|prev| {
            let across = self.two_back.as_ref().map(|t| score(t, &thumb));
            self.detector.push(score(prev, &thumb), across)
        });
        self.two_back = self.previous.replace(thumb);
        cut
    }

    /// Decides the last frame.
    pub fn finish(&mut self) -> Option<u64> {
        self.detector.finish()
    }
}

/// Cuts (frame numbers starting a new scene, never 0) in a sequence of frame scores, where
/// `scores[i]` is frame `i + 1`'s difference from frame `i` (no flash test: that needs the
/// frames themselves, see [`cuts_in`]).
pub fn cuts_from_scores(scores: &[f64], config: DetectConfig) -> Vec<u64> {
    let mut detector = CutDetector::new(config);
    let mut cuts: Vec<u64> = scores
        .iter()
        .filter_map(|&s| detector.push(s, None))
        .collect();
    cuts.extend(detector.finish());
    cuts
}

/// Cuts in a sequence of thumbnails, frame 0 first.
pub fn cuts_in(thumbs: impl IntoIterator<Item = Thumbnail>, config: DetectConfig) -> Vec<u64> {
    let mut cuts = ThumbnailCuts::new(config);
    let mut found: Vec<u64> = thumbs.into_iter().filter_map(|t| cuts.push(t)).collect();
    found.extend(cuts.finish());
    found
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

    #[test]
    fn a_cut_after_fast_motion_is_found_by_its_peak() {
        // The bikes cut at 76: fast motion ramps the scores up to ~20, the cut scores 51
        // (under 3x the mean), the next frame 7.9.
        let mut scores = vec![5.0, 8.0, 12.0, 15.0, 18.0, 20.0, 19.0, 20.0, 21.0, 19.0];
        scores.extend([51.0, 7.9, 6.0]);
        assert_eq!(cuts_from_scores(&scores, DetectConfig::default()), vec![11]);
        // Motion that keeps rising is no peak.
        scores[11] = 45.0;
        assert_eq!(
            cuts_from_scores(&scores, DetectConfig::default()),
            Vec::<u64>::new()
        );
    }

    fn flat(levels: &[u8]) -> Vec<Thumbnail> {
        levels
            .iter()
            .map(|&v| Thumbnail {
                width: 2,
                height: 1,
                samples: vec![v, v / 2],
            })
            .collect()
    }

    #[test]
    fn a_one_frame_flash_is_not_a_cut_but_a_cut_is() {
        let mut levels: Vec<u8> = (0..30).map(|i| 60 + (i % 3)).collect();
        levels[12] = 250; // a white frame inside the shot
        assert_eq!(
            cuts_in(flat(&levels), DetectConfig::default()),
            Vec::<u64>::new()
        );
        levels[20..].iter_mut().for_each(|v| *v += 100); // a real cut at 20
        assert_eq!(cuts_in(flat(&levels), DetectConfig::default()), vec![20]);
        // Scores alone cannot tell the flash from two cuts.
        let scores: Vec<f64> = flat(&levels)
            .windows(2)
            .map(|w| score(&w[0], &w[1]))
            .collect();
        assert_eq!(
            cuts_from_scores(&scores, DetectConfig::default()),
            vec![12, 13, 20]
        );
    }

    #[test]
    fn the_last_frame_can_be_a_cut() {
        let scores = [3.0, 4.0, 3.0, 40.0];
        assert_eq!(cuts_from_scores(&scores, DetectConfig::default()), vec![4]);
    }

    #[test]
    fn vectorised_and_general_block_sums_agree() {
        let row: Vec<u8> = (0..64u32).map(|i| (i * 37 % 251) as u8).collect();
        let mut fast = vec![0u32; 8];
        add_row_8bit(&row, &mut fast, BLOCK);
        let slow: Vec<u32> = row
            .chunks_exact(BLOCK)
            .map(|b| b.iter().map(|&v| u32::from(v)).sum())
            .collect();
        assert_eq!(fast, slow);
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
        fn thumbnail_cuts_are_increasing_and_in_range(levels in proptest::collection::vec(any::<u8>(), 0..300)) {
            let cuts = cuts_in(flat(&levels), DetectConfig::default());
            prop_assert!(cuts.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(cuts.iter().all(|&c| c >= 1 && c < levels.len() as u64));
        }

        #[test]
        fn identical_frames_score_zero(samples in proptest::collection::vec(any::<u8>(), 64..=64)) {
            let t = thumbnail(&samples, 8, 8, 8);
            prop_assert_eq!(score(&t, &t), 0.0);
        }
    }
}
