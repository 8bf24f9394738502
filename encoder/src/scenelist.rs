//! The scene list (JSON) and the mezzfs range spec written from it.
//!
//! The scene list is the contract between `segment-encode scenes` and everything after it:
//! the encoder, other machines sharing the work, and mezzfs. It carries the mezzanine's Y4M
//! header line (so a worker that sees only its scene's bytes knows the geometry) and, for each
//! scene, its frames and the byte range those frames occupy in the mezzanine. The mezzfs spec
//! turns each range into a file of its own (`scene-0003.y4m`), plus `header.y4m` for the
//! header line, in the format of `mezzfs mount --spec`.

use serde::{Deserialize, Serialize};

use crate::plan::Scene;
use crate::y4m::{self, Y4mError, Y4mHeader};

/// Value of the `format` field, so that a wrong file is recognised as such.
pub const FORMAT: &str = "segment-encode scene list";
pub const VERSION: u32 = 1;

/// The scene list file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneList {
    pub format: String,
    pub version: u32,
    /// The mezzanine the scenes were detected in, as given on the command line.
    pub source: String,
    /// The mezzanine's Y4M header line, `\n` included.
    pub header: String,
    pub width: usize,
    pub height: usize,
    pub bit_depth: u8,
    /// Frames per second, `num:den`.
    pub fps: String,
    pub frames: u64,
    /// Bytes of the header line: the offset of frame 0.
    pub header_bytes: u64,
    /// Bytes per frame, `FRAME\n` marker included.
    pub frame_bytes: u64,
    pub min_scene_len: u64,
    pub max_scene_len: u64,
    /// Frames where the detector saw a cut (before the length limits were applied).
    pub detected_cuts: Vec<u64>,
    pub scenes: Vec<SceneEntry>,
}

/// One scene: frames `start..end`, bytes `offset..offset + len` of the mezzanine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneEntry {
    pub index: usize,
    pub start: u64,
    pub end: u64,
    pub offset: u64,
    pub len: u64,
    /// File name of the scene's range file in a mount made from the mezzfs spec.
    pub file: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SceneListError {
    #[error("scene list is not valid JSON")]
    Json(#[from] serde_json::Error),
    #[error("scene list: not a scene list (format is '{0}', expected '{FORMAT}')")]
    Format(String),
    #[error("scene list: version {0} is not supported (this build reads version {VERSION})")]
    Version(u32),
    #[error("scene list: its Y4M header")]
    Header(#[from] Y4mError),
    #[error("scene list: {0}")]
    Inconsistent(String),
}

/// Name of scene `index`'s range file.
pub fn scene_file_name(index: usize) -> String {
    format!("scene-{index:04}.y4m")
}

/// Name of the range file holding only the header line.
pub const HEADER_FILE: &str = "header.y4m";

impl SceneList {
    pub fn new(
        source: &str,
        header: &Y4mHeader,
        frames: u64,
        limits: (u64, u64),
        detected_cuts: Vec<u64>,
        scenes: &[Scene],
    ) -> Self {
        SceneList {
            format: FORMAT.into(),
            version: VERSION,
            source: source.into(),
            header: header.line.clone(),
            width: header.width,
            height: header.height,
            bit_depth: header.depth.0,
            fps: header.fps.to_string(),
            frames,
            header_bytes: header.header_len(),
            frame_bytes: header.frame_stride(),
            min_scene_len: limits.0,
            max_scene_len: limits.1,
            detected_cuts,
            scenes: scenes
                .iter()
                .map(|s| SceneEntry {
                    index: s.index,
                    start: s.start,
                    end: s.end,
                    offset: header.frame_offset(s.start),
                    len: s.len() * header.frame_stride(),
                    file: scene_file_name(s.index),
                })
                .collect(),
        }
    }

    /// Parses and checks a scene list: its header parses, and its scenes are contiguous, cover
    /// its frames and have the byte ranges the header implies.
    pub fn parse(text: &str) -> Result<(SceneList, Y4mHeader), SceneListError> {
        let list: SceneList = serde_json::from_str(text)?;
        if list.format != FORMAT {
            return Err(SceneListError::Format(list.format));
        }
        if list.version != VERSION {
            return Err(SceneListError::Version(list.version));
        }
        let header = y4m::parse_header(list.header.as_bytes())?;
        let bad = |s: String| Err(SceneListError::Inconsistent(s));
        if header.frame_stride() != list.frame_bytes || header.header_len() != list.header_bytes {
            return bad("frame_bytes or header_bytes do not match the header".into());
        }
        let mut next = 0;
        for (i, s) in list.scenes.iter().enumerate() {
            if s.index != i || s.start != next || s.end <= s.start {
                return bad(format!("scene {i} does not follow on from the one before"));
            }
            if s.offset != header.frame_offset(s.start)
                || Some(s.len) != (s.end - s.start).checked_mul(header.frame_stride())
            {
                return bad(format!("scene {i}'s byte range does not match its frames"));
            }
            next = s.end;
        }
        if next != list.frames {
            return bad(format!(
                "the scenes end at frame {next}, the clip has {}",
                list.frames
            ));
        }
        Ok((list, header))
    }

    pub fn scenes(&self) -> Vec<Scene> {
        self.scenes
            .iter()
            .map(|s| Scene {
                index: s.index,
                start: s.start,
                end: s.end,
            })
            .collect()
    }

    /// A mezzfs mount spec showing each scene of object `source` as its own file.
    pub fn mezzfs_spec(&self, source: &str) -> MezzfsSpec {
        let mut ranges = vec![MezzfsRange {
            file: HEADER_FILE.into(),
            source: source.into(),
            offset: 0,
            len: self.header_bytes,
        }];
        ranges.extend(self.scenes.iter().map(|s| MezzfsRange {
            file: s.file.clone(),
            source: source.into(),
            offset: s.offset,
            len: s.len,
        }));
        MezzfsSpec {
            objects: Vec::new(),
            ranges,
        }
    }
}

/// `mezzfs mount --spec` file: `{"objects": [], "ranges": [{file, source, offset, len}]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MezzfsSpec {
    pub objects: Vec<MezzfsObject>,
    pub ranges: Vec<MezzfsRange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MezzfsObject {
    pub file: String,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MezzfsRange {
    pub file: String,
    pub source: String,
    pub offset: u64,
    pub len: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{SceneLimits, plan_scenes};
    use proptest::prelude::*;

    fn list(cuts: &[u64], frames: u64) -> SceneList {
        let header = y4m::parse_header(b"YUV4MPEG2 W64 H32 F25:1 C420jpeg\n").expect("header");
        let limits = SceneLimits::new(2, 100).expect("limits");
        let scenes = plan_scenes(cuts, frames, limits);
        SceneList::new(
            "clip.y4m",
            &header,
            frames,
            (2, 100),
            cuts.to_vec(),
            &scenes,
        )
    }

    #[test]
    fn byte_ranges_follow_frames() {
        let l = list(&[10, 30], 50);
        let stride = 64 * 32 * 3 / 2 + 6;
        assert_eq!(l.scenes[1].offset, 33 + 10 * stride);
        assert_eq!(l.scenes[1].len, 20 * stride);
        let spec = l.mezzfs_spec("s3://bucket/clip");
        assert_eq!(spec.ranges[0].len, 33);
        assert_eq!(spec.ranges[2].file, "scene-0001.y4m");
        assert_eq!(spec.ranges[2].offset, l.scenes[1].offset);
    }

    #[test]
    fn tampered_lists_are_rejected() {
        let mut l = list(&[10, 30], 50);
        l.scenes[1].offset += 1;
        let text = serde_json::to_string(&l).expect("json");
        assert!(matches!(
            SceneList::parse(&text),
            Err(SceneListError::Inconsistent(_))
        ));
        assert!(matches!(
            SceneList::parse("{}"),
            Err(SceneListError::Json(_))
        ));
    }

    proptest! {
        #[test]
        fn json_round_trip(cuts in proptest::collection::vec(1u64..500, 0..10), frames in 1u64..500) {
            let l = list(&cuts, frames);
            let text = serde_json::to_string_pretty(&l).expect("json");
            let (back, _) = SceneList::parse(&text).expect("parse");
            prop_assert_eq!(back, l);
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,300}") {
            let _ = SceneList::parse(&text);
        }
    }
}
