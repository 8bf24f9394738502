//! abr-sim's own manifest (`abr/README.md`, "Manifests") from a video ladder's `ladder.json`
//! and, optionally, an audio ladder's `audio-ladder.json`: per track the segment duration,
//! each rung's measured bitrate, the real size of every segment at every rung, and (video) the
//! per-segment quality of every rung. Pure: parsed JSON in, a serialisable manifest out.
//!
//! abr-sim models a track as segments of one duration (the last may be shorter). A ladder
//! made with `--segment-seconds` lists its `segments` (each one or more units, see
//! [`super::segments`]): a segment's size is the sum of its units' and its quality the
//! frame-weighted mean of their per-frame means. A ladder without segments qualifies only if
//! its scenes happen to be equal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum ManifestError {
    #[error(
        "{track} segment {index} lasts {len} {unit} where segment 0 lasts {first}: abr-sim needs \
         segments of one duration (all but the last); make the video ladder with \
         --segment-seconds, the audio ladder with --segment-seconds"
    )]
    Unequal {
        track: &'static str,
        index: usize,
        len: u64,
        first: u64,
        unit: &'static str,
    },
    #[error("{track} rung {rung} has {got} segments, the track has {want}")]
    Segments {
        track: &'static str,
        rung: usize,
        got: usize,
        want: usize,
    },
    #[error(
        "video rung {rung}, scene {scene}: no size or no `{metric}` score (the ladder has {have:?})"
    )]
    NoScore {
        rung: usize,
        scene: usize,
        metric: String,
        have: Vec<String>,
    },
    #[error("segment {segment} names scenes {first}..{end}, the ladder has {scenes}")]
    BadSegment {
        segment: usize,
        first: usize,
        end: usize,
        scenes: usize,
    },
    #[error(
        "{track} rung {rung} averages {kbps:.1} kbps, not above rung {}'s {prev:.1}: abr-sim needs \
         increasing bitrates", rung - 1
    )]
    NotIncreasing {
        track: &'static str,
        rung: usize,
        kbps: f64,
        prev: f64,
    },
    #[error("{0} has no segments or no rungs")]
    Empty(&'static str),
}

/// What is read of `ladder.json`.
#[derive(Debug, Deserialize)]
pub struct VideoLadder {
    pub fps: f64,
    pub scenes: Vec<VideoScene>,
    #[serde(default)]
    pub segments: Option<Vec<VideoSegment>>,
    pub rungs: Vec<VideoRung>,
    pub fixed: Vec<Option<VideoRung>>,
    pub metrics: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct VideoScene {
    pub index: usize,
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Deserialize)]
pub struct VideoSegment {
    pub start: u64,
    pub end: u64,
    pub first: usize,
    pub units: usize,
}

#[derive(Debug, Deserialize)]
pub struct VideoRung {
    pub kbps: f64,
    pub scenes: Vec<VideoRungScene>,
}

#[derive(Debug, Deserialize)]
pub struct VideoRungScene {
    pub scene: usize,
    pub bytes: Option<u64>,
    pub scores: Option<BTreeMap<String, f64>>,
}

/// What is read of `audio-ladder.json`.
#[derive(Debug, Deserialize)]
pub struct AudioLadder {
    pub input: AudioInput,
    pub segments: Vec<AudioSegment>,
    pub rungs: Vec<AudioRung>,
}

#[derive(Debug, Deserialize)]
pub struct AudioInput {
    pub sample_rate: u32,
}

#[derive(Debug, Deserialize)]
pub struct AudioSegment {
    pub samples: u64,
}

#[derive(Debug, Deserialize)]
pub struct AudioRung {
    pub kbps: f64,
    pub segments: Vec<AudioRungSegment>,
}

#[derive(Debug, Deserialize)]
pub struct AudioRungSegment {
    pub bytes: u64,
}

/// One track of abr-sim's manifest (its `OwnTrack`).
#[derive(Debug, Serialize, PartialEq)]
pub struct Track {
    pub segment_duration_ms: f64,
    pub bitrates_kbps: Vec<f64>,
    pub segment_sizes_bits: Vec<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<Vec<Vec<f64>>>,
}

/// abr-sim's manifest.
#[derive(Debug, Serialize, PartialEq)]
pub struct Manifest {
    pub video: Track,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<Track>,
}

/// Which of the ladder's two ladders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The per-scene convex-hull rungs (the ladder's files).
    Hull,
    /// The peer: one resolution and quantizer per rung for the whole title (rungs no single
    /// configuration fits are left out).
    Fixed,
}

/// The common length of `lens` (all but the last equal, the last not longer).
fn common_len(track: &'static str, lens: &[u64], unit: &'static str) -> Result<u64, ManifestError> {
    let first = *lens.first().ok_or(ManifestError::Empty(track))?;
    for (index, &len) in lens.iter().enumerate() {
        let last = index + 1 == lens.len();
        if len != first && !(last && len < first) {
            return Err(ManifestError::Unequal {
                track,
                index,
                len,
                first,
                unit,
            });
        }
    }
    Ok(first)
}

fn increasing(track: &'static str, kbps: &[f64]) -> Result<(), ManifestError> {
    for (i, w) in kbps.windows(2).enumerate() {
        // NaN never increases.
        if w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater) {
            return Err(ManifestError::NotIncreasing {
                track,
                rung: i + 1,
                kbps: w[1],
                prev: w[0],
            });
        }
    }
    Ok(())
}

/// The video track of `which` ladder: sizes per segment and rung, quality each segment's
/// `metric` (e.g. `psnr_y`), frame-weighted over its units.
pub fn video_track(l: &VideoLadder, which: Which, metric: &str) -> Result<Track, ManifestError> {
    let rungs: Vec<&VideoRung> = match which {
        Which::Hull => l.rungs.iter().collect(),
        Which::Fixed => l.fixed.iter().flatten().collect(),
    };
    if rungs.is_empty() || l.scenes.is_empty() {
        return Err(ManifestError::Empty("the video ladder"));
    }
    // (start, end, first unit, units) per segment.
    let segments: Vec<(u64, u64, usize, usize)> = match &l.segments {
        Some(s) => s
            .iter()
            .map(|s| (s.start, s.end, s.first, s.units))
            .collect(),
        None => l
            .scenes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.start, s.end, i, 1))
            .collect(),
    };
    let lens: Vec<u64> = segments.iter().map(|s| s.1 - s.0).collect();
    let frames = common_len("video", &lens, "frames")?;
    for (segment, &(_, _, first, units)) in segments.iter().enumerate() {
        if units == 0 || first + units > l.scenes.len() {
            return Err(ManifestError::BadSegment {
                segment,
                first,
                end: first + units,
                scenes: l.scenes.len(),
            });
        }
    }
    let n = segments.len();
    let mut sizes = vec![Vec::with_capacity(rungs.len()); n];
    let mut quality = vec![Vec::with_capacity(rungs.len()); n];
    for (r, rung) in rungs.iter().enumerate() {
        if rung.scenes.len() != l.scenes.len() {
            return Err(ManifestError::Segments {
                track: "video",
                rung: r,
                got: rung.scenes.len(),
                want: l.scenes.len(),
            });
        }
        for (s, &(_, _, first, units)) in segments.iter().enumerate() {
            let (mut bits, mut score_frames, mut frames_sum) = (0.0, 0.0, 0u64);
            for scene in &l.scenes[first..first + units] {
                let choice = rung.scenes.iter().find(|c| c.scene == scene.index);
                let score = choice
                    .and_then(|c| c.scores.as_ref())
                    .and_then(|m| m.get(metric).copied());
                let (Some(bytes), Some(score)) = (choice.and_then(|c| c.bytes), score) else {
                    return Err(ManifestError::NoScore {
                        rung: r,
                        scene: scene.index,
                        metric: metric.to_string(),
                        have: l.metrics.clone(),
                    });
                };
                let len = scene.end - scene.start;
                bits += bytes as f64 * 8.0;
                score_frames += score * len as f64;
                frames_sum += len;
            }
            sizes[s].push(bits);
            quality[s].push(score_frames / frames_sum.max(1) as f64);
        }
    }
    let bitrates: Vec<f64> = rungs.iter().map(|r| r.kbps).collect();
    increasing("video", &bitrates)?;
    Ok(Track {
        segment_duration_ms: frames as f64 * 1000.0 / l.fps,
        bitrates_kbps: bitrates,
        segment_sizes_bits: sizes,
        quality: Some(quality),
    })
}

/// The audio track (no quality scores: abr-sim weighs audio by bitrate).
pub fn audio_track(l: &AudioLadder) -> Result<Track, ManifestError> {
    if l.rungs.is_empty() {
        return Err(ManifestError::Empty("the audio ladder"));
    }
    let lens: Vec<u64> = l.segments.iter().map(|s| s.samples).collect();
    let samples = common_len("audio", &lens, "samples")?;
    let n = l.segments.len();
    let mut sizes = vec![Vec::with_capacity(l.rungs.len()); n];
    for (r, rung) in l.rungs.iter().enumerate() {
        if rung.segments.len() != n {
            return Err(ManifestError::Segments {
                track: "audio",
                rung: r,
                got: rung.segments.len(),
                want: n,
            });
        }
        for (row, seg) in sizes.iter_mut().zip(&rung.segments) {
            row.push(seg.bytes as f64 * 8.0);
        }
    }
    let bitrates: Vec<f64> = l.rungs.iter().map(|r| r.kbps).collect();
    increasing("audio", &bitrates)?;
    Ok(Track {
        segment_duration_ms: samples as f64 * 1000.0 / f64::from(l.input.sample_rate.max(1)),
        bitrates_kbps: bitrates,
        segment_sizes_bits: sizes,
        quality: None,
    })
}

/// The title `times` times in a row: every track's segments repeated (a shorter last segment
/// too; abr-sim counts every segment as one full duration anyway, so use clips of whole
/// segments for long repeats).
pub fn repeat(m: &mut Manifest, times: usize) {
    for t in std::iter::once(&mut m.video).chain(m.audio.as_mut()) {
        if times <= 1 {
            continue;
        }
        t.segment_sizes_bits = repeated(&t.segment_sizes_bits, times);
        if let Some(q) = &mut t.quality {
            *q = repeated(q, times);
        }
    }
}

/// Every size and bitrate of `t` times `factor`.
pub fn scale_bits(t: &mut Track, factor: f64) {
    t.bitrates_kbps.iter_mut().for_each(|b| *b *= factor);
    t.segment_sizes_bits
        .iter_mut()
        .flatten()
        .for_each(|b| *b *= factor);
}

fn repeated(rows: &[Vec<f64>], times: usize) -> Vec<Vec<f64>> {
    (0..times).flat_map(|_| rows.iter().cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ladder of units `lens`, grouped into segments `groups` (units per segment) if given.
    fn video(lens: &[u64], groups: Option<&[usize]>) -> VideoLadder {
        let mut start = 0;
        let scenes: Vec<VideoScene> = lens
            .iter()
            .enumerate()
            .map(|(index, l)| {
                start += l;
                VideoScene {
                    index,
                    start: start - l,
                    end: start,
                }
            })
            .collect();
        let segments = groups.map(|g| {
            let mut first = 0;
            g.iter()
                .map(|&units| {
                    let seg = VideoSegment {
                        start: scenes[first].start,
                        end: scenes[first + units - 1].end,
                        first,
                        units,
                    };
                    first += units;
                    seg
                })
                .collect()
        });
        let rung = |k: f64| VideoRung {
            kbps: k,
            scenes: (0..lens.len())
                .map(|s| VideoRungScene {
                    scene: s,
                    bytes: Some((k as u64) * 100 + s as u64),
                    scores: Some([("psnr_y".to_string(), k / 10.0 + s as f64)].into()),
                })
                .collect(),
        };
        VideoLadder {
            fps: 25.0,
            scenes,
            segments,
            rungs: vec![rung(100.0), rung(200.0)],
            fixed: vec![None, Some(rung(150.0))],
            metrics: vec!["psnr_y".into()],
        }
    }

    #[test]
    fn sizes_and_scores_per_segment_and_rung() {
        let t = video_track(&video(&[50, 50, 20], None), Which::Hull, "psnr_y").expect("track");
        assert_eq!(t.segment_duration_ms, 2000.0);
        assert_eq!(t.bitrates_kbps, [100.0, 200.0]);
        assert_eq!(
            t.segment_sizes_bits[2],
            [(10_002 * 8) as f64, (20_002 * 8) as f64]
        );
        assert_eq!(t.quality.as_ref().expect("q")[1], [11.0, 21.0]);
        let f = video_track(&video(&[50, 50, 20], None), Which::Fixed, "psnr_y").expect("fixed");
        assert_eq!(f.bitrates_kbps, [150.0]);
    }

    #[test]
    fn segments_sum_their_units_and_weigh_scores_by_frames() {
        // Units 30+20 | 26+24 | 20: segments of 50 frames.
        let l = video(&[30, 20, 26, 24, 20], Some(&[2, 2, 1]));
        let t = video_track(&l, Which::Hull, "psnr_y").expect("track");
        assert_eq!(t.segment_duration_ms, 2000.0);
        assert_eq!(t.segment_sizes_bits.len(), 3);
        assert_eq!(t.segment_sizes_bits[0][0], ((10_000 + 10_001) * 8) as f64);
        let q = &t.quality.as_ref().expect("q")[1][0];
        assert!((q - (12.0 * 26.0 + 13.0 * 24.0) / 50.0).abs() < 1e-12);
    }

    #[test]
    fn unequal_segments_missing_scores_and_flat_rungs_are_named() {
        assert!(matches!(
            video_track(&video(&[50, 30, 50], None), Which::Hull, "psnr_y"),
            Err(ManifestError::Unequal {
                index: 1,
                len: 30,
                first: 50,
                ..
            })
        ));
        assert!(matches!(
            video_track(&video(&[50, 60], None), Which::Hull, "psnr_y"),
            Err(ManifestError::Unequal { index: 1, .. })
        ));
        assert!(matches!(
            video_track(&video(&[50], None), Which::Hull, "vmaf"),
            Err(ManifestError::NoScore { .. })
        ));
        let mut l = video(&[50], None);
        l.rungs[1].kbps = 100.0;
        let e = video_track(&l, Which::Hull, "psnr_y").expect_err("flat");
        assert!(e.to_string().contains("not above rung 0"), "{e}");
    }
}
