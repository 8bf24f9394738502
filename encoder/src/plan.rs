//! Scene planning: from detected cuts to the scenes workers encode, and their order.
//!
//! Pure functions. Cuts closer than the minimum scene length are dropped (a keyframe every few
//! frames costs bits and gains nothing); scenes longer than the maximum are split evenly, which
//! bounds both a worker's time on one scene and the keyframe interval. Workers take scenes
//! longest first: the long ones start early and the short ones fill the gaps at the end, so the
//! last worker finishes close to the others (the classic LPT rule, within 4/3 of optimal).

use std::ops::Range;

/// A run of frames encoded as one unit, starting with a keyframe.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scene {
    pub index: usize,
    /// First frame.
    pub start: u64,
    /// One past the last frame.
    pub end: u64,
}

impl Scene {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    pub fn frames(&self) -> Range<u64> {
        self.start..self.end
    }
}

/// Limits on scene length, in frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SceneLimits {
    pub min_len: u64,
    pub max_len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error(
        "scene length limits: the minimum ({min}) must be at least 1 and at most half the \
         maximum ({max}), so that splitting a long scene never makes a short one"
    )]
    Limits { min: u64, max: u64 },
}

impl SceneLimits {
    pub fn new(min_len: u64, max_len: u64) -> Result<Self, PlanError> {
        if min_len == 0 || min_len.saturating_mul(2) > max_len {
            return Err(PlanError::Limits {
                min: min_len,
                max: max_len,
            });
        }
        Ok(SceneLimits { min_len, max_len })
    }
}

/// Scenes covering frames `0..frames`, cut at `cuts` where the limits allow.
pub fn plan_scenes(cuts: &[u64], frames: u64, limits: SceneLimits) -> Vec<Scene> {
    let mut sorted = cuts.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut planner = ScenePlanner::new(frames, limits);
    let mut scenes = Vec::new();
    for c in sorted {
        scenes.extend(planner.push_cut(c));
    }
    scenes.extend(planner.finish());
    scenes
}

/// [`plan_scenes`] one cut at a time, for a detector that is still reading the clip: a scene
/// is final as soon as the next kept cut is seen, so workers can start on it while detection
/// goes on. Needs the clip's frame count up front (a Y4M file's size gives it), because a cut
/// too close to the end is dropped.
#[derive(Clone, Debug)]
pub struct ScenePlanner {
    frames: u64,
    limits: SceneLimits,
    /// Start of the scene not yet closed by a cut.
    open: u64,
    next_index: usize,
}

impl ScenePlanner {
    pub fn new(frames: u64, limits: SceneLimits) -> Self {
        ScenePlanner {
            frames,
            limits,
            open: 0,
            next_index: 0,
        }
    }

    /// A detected cut, in increasing order; returns the scenes it closes (none if the cut is
    /// dropped; several if the closed stretch is longer than the maximum).
    pub fn push_cut(&mut self, cut: u64) -> Vec<Scene> {
        let keep = cut > self.open
            && cut < self.frames
            && cut - self.open >= self.limits.min_len
            && self.frames - cut >= self.limits.min_len;
        if !keep {
            return Vec::new();
        }
        self.close(cut)
    }

    /// The scenes from the last kept cut to the end of the clip.
    pub fn finish(mut self) -> Vec<Scene> {
        let end = self.frames;
        self.close(end)
    }

    fn close(&mut self, end: u64) -> Vec<Scene> {
        if end <= self.open {
            return Vec::new();
        }
        let pieces = split_evenly(self.open, end, self.limits.max_len);
        self.open = end;
        pieces
            .into_iter()
            .map(|piece| {
                let scene = Scene {
                    index: self.next_index,
                    start: piece.start,
                    end: piece.end,
                };
                self.next_index += 1;
                scene
            })
            .collect()
    }
}

/// Splits `start..end` into the fewest pieces of at most `max_len`, their lengths differing by
/// at most one.
fn split_evenly(start: u64, end: u64, max_len: u64) -> Vec<Range<u64>> {
    let len = end - start;
    let pieces = len.div_ceil(max_len.max(1)).max(1);
    (0..pieces)
        .map(|i| start + len * i / pieces..start + len * (i + 1) / pieces)
        .collect()
}

/// Indices of `scenes` in the order workers take them: longest first, ties by position.
pub fn longest_first(scenes: &[Scene]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scenes.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(scenes[i].len()), i));
    order
}

/// Tiles for a scene started when `unstarted` scenes (this one included) remain for
/// `workers` workers: when fewer scenes than workers are left, the idle cores can only help
/// through tiles inside a frame. A power of two, as rav1e wants.
pub fn auto_tiles(unstarted: usize, workers: usize) -> usize {
    if unstarted == 0 || unstarted >= workers {
        return 1;
    }
    workers.div_ceil(unstarted).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limits(min: u64, max: u64) -> SceneLimits {
        SceneLimits::new(min, max).expect("valid limits")
    }

    #[test]
    fn bikes_like_cuts() {
        let scenes = plan_scenes(&[30, 137, 187, 242], 250, limits(12, 250));
        let lens: Vec<u64> = scenes.iter().map(Scene::len).collect();
        // 242..250 is shorter than 12 frames: it joins the scene before.
        assert_eq!(lens, vec![30, 107, 50, 63]);
        assert_eq!(longest_first(&scenes), vec![1, 3, 2, 0]);
    }

    #[test]
    fn long_scenes_are_split_evenly() {
        let scenes = plan_scenes(&[], 250, limits(10, 100));
        let lens: Vec<u64> = scenes.iter().map(Scene::len).collect();
        assert_eq!(lens, vec![83, 83, 84]);
    }

    #[test]
    fn limits_are_checked() {
        assert!(SceneLimits::new(0, 10).is_err());
        assert!(SceneLimits::new(6, 10).is_err());
        assert!(SceneLimits::new(5, 10).is_ok());
    }

    #[test]
    fn tiles_fill_idle_workers() {
        assert_eq!(auto_tiles(5, 2), 1);
        assert_eq!(auto_tiles(1, 2), 2);
        assert_eq!(auto_tiles(1, 8), 8);
        assert_eq!(auto_tiles(3, 8), 4);
        assert_eq!(auto_tiles(1, 1), 1);
    }

    proptest! {
        #[test]
        fn scenes_cover_the_clip_within_limits(
            frames in 1u64..2000,
            cuts in proptest::collection::vec(0u64..2100, 0..40),
            min in 1u64..30,
            extra in 0u64..300,
        ) {
            let max = 2 * min + extra;
            let scenes = plan_scenes(&cuts, frames, limits(min, max));
            prop_assert_eq!(scenes.first().map(|s| s.start), Some(0));
            prop_assert_eq!(scenes.last().map(|s| s.end), Some(frames));
            for (i, s) in scenes.iter().enumerate() {
                prop_assert_eq!(s.index, i);
                prop_assert!(!s.is_empty() && s.len() <= max);
                if frames >= min {
                    prop_assert!(s.len() >= min, "scene {:?} shorter than {}", s, min);
                }
            }
            for w in scenes.windows(2) {
                prop_assert_eq!(w[0].end, w[1].start);
            }
        }

        #[test]
        fn kept_cuts_are_boundaries(frames in 50u64..2000, cuts in proptest::collection::vec(1u64..2000, 0..20)) {
            let scenes = plan_scenes(&cuts, frames, limits(1, frames.max(2)));
            let starts: Vec<u64> = scenes.iter().map(|s| s.start).collect();
            for c in cuts.iter().filter(|&&c| c < frames) {
                prop_assert!(starts.contains(c));
            }
        }

        #[test]
        fn longest_first_is_a_sorted_permutation(lens in proptest::collection::vec(1u64..500, 0..50)) {
            let mut start = 0;
            let scenes: Vec<Scene> = lens.iter().enumerate().map(|(index, &l)| {
                let s = Scene { index, start, end: start + l };
                start += l;
                s
            }).collect();
            let order = longest_first(&scenes);
            let mut seen = order.clone();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..scenes.len()).collect::<Vec<_>>());
            prop_assert!(order.windows(2).all(|w| scenes[w[0]].len() >= scenes[w[1]].len()));
        }
    }
}
