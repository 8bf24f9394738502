//! Fixed-length streaming segments over variable-length scenes.
//!
//! Players and abr-sim fetch segments of one duration; a ladder's scenes have any length. With
//! a segment length, every scene is cut at the segment boundaries, so the ladder's encoding
//! units (each starting with a keyframe, chosen on its own hull) never straddle a boundary:
//! a segment is the units between two boundaries, and keyframes sit at every segment start in
//! every rung (plus every scene cut inside a segment).

use serde::Serialize;

use crate::plan::Scene;

/// One streaming segment: frames `start..end`, made of units `first..first + units`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub index: usize,
    pub start: u64,
    pub end: u64,
    /// The first unit (scene piece) of the segment, an index into the split scenes.
    pub first: usize,
    pub units: usize,
}

/// `scenes` (consecutive, from frame 0) cut at every multiple of `segment_frames`, renumbered;
/// and the segments they make. The last segment may be shorter.
pub fn split(scenes: &[Scene], segment_frames: u64) -> (Vec<Scene>, Vec<Segment>) {
    let n = segment_frames.max(1);
    let mut units: Vec<Scene> = Vec::new();
    for s in scenes {
        let mut at = s.start;
        while at < s.end {
            let end = s.end.min((at / n + 1) * n);
            units.push(Scene {
                index: units.len(),
                start: at,
                end,
            });
            at = end;
        }
    }
    let mut segments: Vec<Segment> = Vec::new();
    for (i, u) in units.iter().enumerate() {
        match segments.last_mut() {
            Some(seg) if u.start / n == seg.start / n => {
                seg.end = u.end;
                seg.units += 1;
            }
            _ => segments.push(Segment {
                index: segments.len(),
                start: u.start,
                end: u.end,
                first: i,
                units: 1,
            }),
        }
    }
    (units, segments)
}

/// The whole number of frames `seconds` lasts at `fps_num / fps_den`, if it is one (to a
/// millionth of a frame).
pub fn frames_for(seconds: f64, fps_num: u64, fps_den: u64) -> Option<u64> {
    let frames = seconds * fps_num as f64 / fps_den.max(1) as f64;
    let whole = frames.round();
    (seconds.is_finite() && whole >= 1.0 && (frames - whole).abs() < 1e-6).then_some(whole as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scenes(cuts: &[u64], frames: u64) -> Vec<Scene> {
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(frames);
        bounds
            .windows(2)
            .enumerate()
            .map(|(index, w)| Scene {
                index,
                start: w[0],
                end: w[1],
            })
            .collect()
    }

    #[test]
    fn scenes_are_cut_at_segment_boundaries() {
        let (units, segs) = split(&scenes(&[30, 76], 120), 50);
        let spans: Vec<(u64, u64)> = units.iter().map(|u| (u.start, u.end)).collect();
        assert_eq!(spans, [(0, 30), (30, 50), (50, 76), (76, 100), (100, 120)]);
        let segs: Vec<(u64, u64, usize, usize)> = segs
            .iter()
            .map(|s| (s.start, s.end, s.first, s.units))
            .collect();
        assert_eq!(segs, [(0, 50, 0, 2), (50, 100, 2, 2), (100, 120, 4, 1)]);
    }

    #[test]
    fn whole_frames_only() {
        assert_eq!(frames_for(2.0, 25, 1), Some(50));
        assert_eq!(frames_for(2.002, 30000, 1001), Some(60));
        assert_eq!(frames_for(2.1, 25, 1), None);
        assert_eq!(frames_for(0.0, 25, 1), None);
    }

    proptest! {
        #[test]
        fn units_tile_the_clip_and_segments_have_one_length(
            cuts in proptest::collection::btree_set(1u64..400, 0..12),
            n in 1u64..120,
        ) {
            let cuts: Vec<u64> = cuts.into_iter().collect();
            let (units, segs) = split(&scenes(&cuts, 400), n);
            let mut at = 0;
            for (i, u) in units.iter().enumerate() {
                prop_assert_eq!(u.index, i);
                prop_assert_eq!(u.start, at);
                prop_assert!(u.end > u.start && (u.end - 1) / n == u.start / n);
                at = u.end;
            }
            prop_assert_eq!(at, 400);
            for (i, s) in segs.iter().enumerate() {
                prop_assert_eq!(s.start, i as u64 * n);
                prop_assert_eq!(s.end, (s.start + n).min(400));
                prop_assert_eq!(units[s.first].start, s.start);
                prop_assert_eq!(units[s.first + s.units - 1].end, s.end);
            }
        }
    }
}
