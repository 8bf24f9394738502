//! Segment boundaries in audio samples (pure, integer arithmetic).
//!
//! Video frame `f` starts at `f * den / num` seconds; its audio boundary is the nearest sample,
//! `round(f * rate * den / num)`, computed in `u128` so that nothing is lost to floats. Because
//! every boundary is the rounding of an exact time (not the sum of rounded lengths), consecutive
//! segments tile the timeline with no gap and no overlap, each segment is within one sample of
//! its exact duration, and the error never accumulates: at 44.1 kHz and 25 fps a frame is 1764
//! samples exactly; at 48 kHz and 30000/1001 fps it is 1601.6, so segments of one frame
//! alternate 1601 and 1602 samples and every boundary is within half a sample of the truth.

use std::fmt;

/// A positive rational `num / den` (frames per second, or seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CutError {
    #[error("fps '{0}' is not num:den with both positive (e.g. 25:1, 30000:1001)")]
    BadFps(String),
    #[error("segment length '{0}' is not a positive number of seconds (e.g. 4, 2.002, 1001/500)")]
    BadSeconds(String),
    #[error("segments of {0} s are shorter than one sample at {1} Hz")]
    TooShort(Ratio, u32),
    #[error("scene {index} (frames {start}..{end}) does not follow on from the scene before")]
    NotContiguous { index: usize, start: u64, end: u64 },
    #[error("scene {index} (frames {start}..{end}) is shorter than one audio sample")]
    EmptyScene { index: usize, start: u64, end: u64 },
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

impl Ratio {
    /// Frames per second as written in a scene list or Y4M header: `num:den` (or `num/den`).
    pub fn parse_fps(text: &str) -> Result<Ratio, CutError> {
        let bad = || CutError::BadFps(text.to_string());
        let (n, d) = text
            .split_once(':')
            .or_else(|| text.split_once('/'))
            .ok_or_else(bad)?;
        let num = n.trim().parse::<u64>().map_err(|_| bad())?;
        let den = d.trim().parse::<u64>().map_err(|_| bad())?;
        // Bounded so that f * rate * den stays far inside u128 for any u64 frame count.
        if num == 0 || den == 0 || num > u32::MAX.into() || den > u32::MAX.into() {
            return Err(bad());
        }
        Ok(Ratio { num, den })
    }

    /// Seconds as `4`, `4s`, `2.002` (exact decimal) or `1001/500`.
    pub fn parse_seconds(text: &str) -> Result<Ratio, CutError> {
        let bad = || CutError::BadSeconds(text.to_string());
        let t = text.trim().trim_end_matches('s');
        let r = if let Some((n, d)) = t.split_once('/') {
            Ratio {
                num: n.parse().map_err(|_| bad())?,
                den: d.parse().map_err(|_| bad())?,
            }
        } else {
            let (int, frac) = t.split_once('.').unwrap_or((t, ""));
            if frac.len() > 9 || (int.is_empty() && frac.is_empty()) {
                return Err(bad());
            }
            let digits = |s: &str| s.is_empty() || s.bytes().all(|b| b.is_ascii_digit());
            if !digits(int) || !digits(frac) {
                return Err(bad());
            }
            let den = 10u64.pow(frac.len() as u32);
            let int: u64 = if int.is_empty() {
                0
            } else {
                int.parse().map_err(|_| bad())?
            };
            let frac: u64 = if frac.is_empty() {
                0
            } else {
                frac.parse().map_err(|_| bad())?
            };
            Ratio {
                num: int
                    .checked_mul(den)
                    .and_then(|v| v.checked_add(frac))
                    .ok_or_else(bad)?,
                den,
            }
        };
        if r.num == 0 || r.den == 0 || r.num > u32::MAX.into() || r.den > u32::MAX.into() {
            return Err(bad());
        }
        Ok(r)
    }
}

/// `round(a * b / c)`, halves rounded up; `c > 0`. Saturates instead of overflowing `u64`.
fn mul_div_round(a: u64, b: u128, c: u128) -> u64 {
    let v = (2 * u128::from(a) * b + c) / (2 * c);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// The first sample of video frame `frame`: `round(frame * rate * fps.den / fps.num)`.
pub fn frame_to_sample(frame: u64, rate: u32, fps: Ratio) -> u64 {
    mul_div_round(
        frame,
        u128::from(rate) * u128::from(fps.den),
        u128::from(fps.num),
    )
}

/// The sample at `k` segments of `seconds` each: `round(k * seconds * rate)`.
pub fn seconds_to_sample(k: u64, seconds: Ratio, rate: u32) -> u64 {
    mul_div_round(
        k,
        u128::from(seconds.num) * u128::from(rate),
        u128::from(seconds.den),
    )
}

/// One audio segment: samples `start..start + len`, and the video frames it goes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentSpan {
    pub index: usize,
    pub start: u64,
    pub len: u64,
    /// Video frames `start..end` when the segment comes from a scene.
    pub frames: Option<(u64, u64)>,
}

impl SegmentSpan {
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// Where the segments are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Boundaries {
    /// Listed segments (from scenes) tiling `0..total`; audio after `total` is dropped, audio
    /// shorter than `total` is padded with silence.
    Listed(Vec<SegmentSpan>),
    /// Segments of `seconds` each. With `total` (the video's duration in samples) the last one
    /// ends there, padded or cut like `Listed`; without it they run to the end of the audio and
    /// the last one is shorter.
    Every {
        seconds: Ratio,
        rate: u32,
        total: Option<u64>,
    },
}

impl Boundaries {
    /// Segments aligned with video scenes `(start, end)` (frames, end exclusive), which must
    /// follow on from each other starting at frame 0.
    pub fn from_scenes(
        scenes: &[(u64, u64)],
        rate: u32,
        fps: Ratio,
    ) -> Result<Boundaries, CutError> {
        let mut next = 0;
        let mut spans = Vec::with_capacity(scenes.len());
        for (index, &(start, end)) in scenes.iter().enumerate() {
            if start != next || end <= start {
                return Err(CutError::NotContiguous { index, start, end });
            }
            let s = frame_to_sample(start, rate, fps);
            let e = frame_to_sample(end, rate, fps);
            if e == s {
                return Err(CutError::EmptyScene { index, start, end });
            }
            spans.push(SegmentSpan {
                index,
                start: s,
                len: e - s,
                frames: Some((start, end)),
            });
            next = end;
        }
        Ok(Boundaries::Listed(spans))
    }

    /// Segments of `seconds` each at `rate`, optionally ending at `total` samples.
    pub fn every(seconds: Ratio, rate: u32, total: Option<u64>) -> Result<Boundaries, CutError> {
        if seconds_to_sample(1, seconds, rate) == 0 {
            return Err(CutError::TooShort(seconds, rate));
        }
        Ok(Boundaries::Every {
            seconds,
            rate,
            total,
        })
    }

    /// Where the audio must end (padded or cut), if the segments say.
    pub fn total(&self) -> Option<u64> {
        match self {
            Boundaries::Listed(spans) => Some(spans.last().map_or(0, |s| s.end())),
            Boundaries::Every { total, .. } => *total,
        }
    }

    /// Segment `index`, or `None` past the last one.
    pub fn span(&self, index: usize) -> Option<SegmentSpan> {
        match self {
            Boundaries::Listed(spans) => spans.get(index).copied(),
            Boundaries::Every {
                seconds,
                rate,
                total,
            } => {
                let start = seconds_to_sample(index as u64, *seconds, *rate);
                let mut end = seconds_to_sample(index as u64 + 1, *seconds, *rate);
                if let Some(t) = *total {
                    if start >= t {
                        return None;
                    }
                    end = end.min(t);
                }
                Some(SegmentSpan {
                    index,
                    start,
                    len: end - start,
                    frames: None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NTSC: Ratio = Ratio {
        num: 30000,
        den: 1001,
    };

    #[test]
    fn known_rates() {
        let pal = Ratio { num: 25, den: 1 };
        assert_eq!(frame_to_sample(1, 44100, pal), 1764);
        assert_eq!(frame_to_sample(132, 48000, pal), 253_440);
        // 1601.6 samples per frame: boundaries at 0, 1602, 3203, 4805, 6406, 8008.
        let b: Vec<u64> = (0..=5).map(|f| frame_to_sample(f, 48000, NTSC)).collect();
        assert_eq!(b, [0, 1602, 3203, 4805, 6406, 8008]);
    }

    #[test]
    fn parsing() {
        assert_eq!(Ratio::parse_fps("30000:1001"), Ok(NTSC));
        assert!(Ratio::parse_fps("25").is_err());
        assert!(Ratio::parse_fps("0:1").is_err());
        assert!(Ratio::parse_fps("25:0").is_err());
        assert_eq!(Ratio::parse_seconds("4s"), Ok(Ratio { num: 4, den: 1 }));
        assert_eq!(
            Ratio::parse_seconds("2.002"),
            Ok(Ratio {
                num: 2002,
                den: 1000
            })
        );
        assert_eq!(
            Ratio::parse_seconds("1001/500"),
            Ok(Ratio {
                num: 1001,
                den: 500
            })
        );
        for bad in [
            "",
            "s",
            "-1",
            "0",
            "1e3",
            "1..2",
            "1/0",
            ".",
            "99999999999999999999",
        ] {
            assert!(Ratio::parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_pads_or_runs_open() {
        let four = Ratio { num: 4, den: 1 };
        let b = Boundaries::every(four, 48000, Some(400_000)).expect("every");
        assert_eq!(b.span(2).map(|s| (s.start, s.len)), Some((384_000, 16_000)));
        assert_eq!(b.span(3), None);
        let open = Boundaries::every(four, 48000, None).expect("every");
        assert_eq!(open.span(10).map(|s| s.start), Some(1_920_000));
        let tiny = Ratio {
            num: 1,
            den: 200_001,
        };
        assert!(Boundaries::every(tiny, 96000, None).is_err());
    }

    #[test]
    fn scene_errors() {
        let pal = Ratio { num: 25, den: 1 };
        assert!(matches!(
            Boundaries::from_scenes(&[(0, 10), (11, 20)], 48000, pal),
            Err(CutError::NotContiguous { index: 1, .. })
        ));
        assert!(matches!(
            Boundaries::from_scenes(&[(0, 1)], 1, Ratio { num: 1000, den: 1 }),
            Err(CutError::EmptyScene { .. })
        ));
    }

    fn fps() -> impl Strategy<Value = Ratio> {
        prop_oneof![
            Just(Ratio { num: 25, den: 1 }),
            Just(NTSC),
            Just(Ratio {
                num: 24000,
                den: 1001
            }),
            Just(Ratio {
                num: 60000,
                den: 1001
            }),
            (1u64..240, 1u64..1002).prop_map(|(num, den)| Ratio { num, den }),
        ]
    }

    fn rate() -> impl Strategy<Value = u32> {
        prop_oneof![
            Just(44100u32),
            Just(48000),
            Just(96000),
            Just(8000),
            8000u32..200_000
        ]
    }

    proptest! {
        #[test]
        fn scenes_tile_exactly(
            fps in fps(),
            rate in rate(),
            lens in proptest::collection::vec(1u64..5000, 1..30),
            offset in 0u64..10_000_000,
        ) {
            // Scenes late in a long clip as well as at its start: shift all by `offset` frames
            // (a leading scene covers 0..offset).
            let mut scenes = Vec::new();
            let mut next = 0;
            if offset > 0 {
                scenes.push((0, offset));
                next = offset;
            }
            for l in &lens {
                scenes.push((next, next + l));
                next += l;
            }
            let Ok(b) = Boundaries::from_scenes(&scenes, rate, fps) else {
                // Only when a scene is shorter than a sample.
                prop_assert!(u128::from(rate) * u128::from(fps.den) < u128::from(fps.num));
                return Ok(());
            };
            let Boundaries::Listed(spans) = &b else { unreachable!() };
            let mut pos = 0;
            for (s, &(f0, f1)) in spans.iter().zip(&scenes) {
                prop_assert_eq!(s.start, pos);
                pos = s.end();
                // |len - frames * rate * den / num| <= 1, in integers.
                let exact = u128::from(f1 - f0) * u128::from(rate) * u128::from(fps.den);
                let got = u128::from(s.len) * u128::from(fps.num);
                prop_assert!(got.abs_diff(exact) <= u128::from(fps.num));
                // No accumulation: every boundary is within half a sample of the exact time.
                let exact_end = u128::from(f1) * u128::from(rate) * u128::from(fps.den);
                let got_end = u128::from(s.end()) * u128::from(fps.num);
                prop_assert!(2 * got_end.abs_diff(exact_end) <= u128::from(fps.num));
            }
            prop_assert_eq!(Some(pos), b.total());
        }

        #[test]
        fn fixed_segments_tile(num in 1u64..100, den in 1u64..10, rate in rate(), total in 0u64..10_000_000) {
            let seconds = Ratio { num, den };
            let b = Boundaries::every(seconds, rate, Some(total)).expect("at least a sample");
            let mut pos = 0;
            let mut i = 0;
            while let Some(s) = b.span(i) {
                prop_assert_eq!(s.start, pos);
                prop_assert!(s.len > 0);
                let exact = u128::from(num) * u128::from(rate);
                let got = u128::from(s.len) * u128::from(den);
                prop_assert!(got.abs_diff(exact) <= u128::from(den) || s.end() == total);
                pos = s.end();
                i += 1;
            }
            prop_assert_eq!(pos, total);
        }
    }
}
