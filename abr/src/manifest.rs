//! Manifests: a video ladder and an optional audio ladder, each a [`Track`] with its segment
//! duration, nominal bitrates and the size of every segment at every rung.
//!
//! Formats: Sabre's movie JSON (video only), Pensieve's `video_size_N` files (video only), and
//! our own JSON/TOML with separate audio and video tracks whose segment durations need not
//! match and optional per-segment quality scores (e.g. VMAF). See abr/README.md for the
//! format; [`OwnManifest`] is its schema.

use crate::error::{LoadError, ParseError};
use crate::jsonpos;
use crate::units::{Bits, Kbps, Ms};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Audio or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Video,
    Audio,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Video => "video",
            Kind::Audio => "audio",
        }
    }
}

/// One adaptation set: rungs sorted by bitrate, all segments of equal duration.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    pub kind: Kind,
    pub segment_duration: Ms,
    pub bitrates: Vec<Kbps>,
    /// `sizes[segment * rungs + rung]`, flat for cache-friendly lookups.
    sizes: Vec<Bits>,
    /// Per-segment quality scores in the same layout, if the manifest has them.
    quality: Option<Vec<f64>>,
}

impl Track {
    /// Builds a track, checking that every segment has one size per rung and that bitrates
    /// increase. `file` names the source in errors.
    pub fn new(
        file: &str,
        kind: Kind,
        segment_duration: Ms,
        bitrates: Vec<Kbps>,
        sizes: Vec<Vec<Bits>>,
        quality: Option<Vec<Vec<f64>>>,
    ) -> Result<Self, ParseError> {
        let k = kind.name();
        let err = |field: String, msg: String| ParseError::new(file, None, Some(&field), msg);
        if !(segment_duration.0 > 0.0 && segment_duration.0.is_finite()) {
            return Err(err(
                format!("{k}.segment_duration_ms"),
                format!("must be > 0, found {}", segment_duration.0),
            ));
        }
        if bitrates.is_empty() {
            return Err(err(
                format!("{k}.bitrates_kbps"),
                "needs at least one rung".into(),
            ));
        }
        for (i, w) in bitrates.windows(2).enumerate() {
            if !(w[1].0 > w[0].0) {
                return Err(err(
                    format!("{k}.bitrates_kbps[{}]", i + 1),
                    format!("bitrates must increase: {} after {}", w[1].0, w[0].0),
                ));
            }
        }
        if !(bitrates[0].0 > 0.0 && bitrates.iter().all(|b| b.0.is_finite())) {
            return Err(err(
                format!("{k}.bitrates_kbps[0]"),
                "bitrates must be finite and > 0".into(),
            ));
        }
        if sizes.is_empty() {
            return Err(err(
                format!("{k}.segment_sizes_bits"),
                "needs at least one segment".into(),
            ));
        }
        let rungs = bitrates.len();
        let mut flat = Vec::with_capacity(sizes.len() * rungs);
        for (s, row) in sizes.iter().enumerate() {
            if row.len() != rungs {
                return Err(err(
                    format!("{k}.segment_sizes_bits[{s}]"),
                    format!("has {} sizes for {rungs} rungs", row.len()),
                ));
            }
            for (r, b) in row.iter().enumerate() {
                if !(b.0 >= 0.0 && b.0.is_finite()) {
                    return Err(err(
                        format!("{k}.segment_sizes_bits[{s}][{r}]"),
                        format!("must be a finite size >= 0, found {}", b.0),
                    ));
                }
            }
            flat.extend_from_slice(row);
        }
        let quality = match quality {
            None => None,
            Some(q) => {
                if q.len() != sizes.len() {
                    return Err(err(
                        format!("{k}.quality"),
                        format!("has {} segments, sizes have {}", q.len(), sizes.len()),
                    ));
                }
                let mut fq = Vec::with_capacity(flat.len());
                for (s, row) in q.iter().enumerate() {
                    if row.len() != rungs || row.iter().any(|x| !x.is_finite()) {
                        return Err(err(
                            format!("{k}.quality[{s}]"),
                            format!("needs {rungs} finite scores"),
                        ));
                    }
                    fq.extend_from_slice(row);
                }
                Some(fq)
            }
        };
        Ok(Self {
            kind,
            segment_duration,
            bitrates,
            sizes: flat,
            quality,
        })
    }

    /// A constant-bitrate track: every segment is `bitrate * duration`.
    pub fn constant(
        kind: Kind,
        segment_duration: Ms,
        bitrates: &[Kbps],
        segments: usize,
    ) -> Result<Self, ParseError> {
        let row: Vec<Bits> = bitrates.iter().map(|&b| b * segment_duration).collect();
        Self::new(
            "<constant>",
            kind,
            segment_duration,
            bitrates.to_vec(),
            vec![row; segments.max(1)],
            None,
        )
    }

    pub fn rungs(&self) -> usize {
        self.bitrates.len()
    }

    pub fn segments(&self) -> usize {
        self.sizes.len() / self.bitrates.len()
    }

    pub fn duration(&self) -> Ms {
        self.segment_duration * self.segments() as f64
    }

    #[inline]
    pub fn size(&self, segment: usize, rung: usize) -> Bits {
        self.sizes[segment * self.bitrates.len() + rung]
    }

    /// The manifest's quality score, or `None` if it has none.
    pub fn score(&self, segment: usize, rung: usize) -> Option<f64> {
        self.quality
            .as_ref()
            .map(|q| q[segment * self.bitrates.len() + rung])
    }

    pub fn has_scores(&self) -> bool {
        self.quality.is_some()
    }

    /// The track cut or repeated to `segments` segments (Sabre's `--movie-length`).
    pub fn with_segments(&self, segments: usize) -> Self {
        let rungs = self.rungs();
        let n = self.segments();
        fn pick<T: Copy>(v: &[T], segments: usize, n: usize, rungs: usize) -> Vec<T> {
            (0..segments.max(1))
                .flat_map(|s| v[(s % n) * rungs..(s % n + 1) * rungs].iter().copied())
                .collect()
        }
        let mut t = self.clone();
        t.sizes = pick(&self.sizes, segments, n, rungs);
        t.quality = self.quality.as_ref().map(|q| pick(q, segments, n, rungs));
        t
    }
}

/// What a session plays: video always, audio when the manifest has it.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub video: Track,
    pub audio: Option<Track>,
}

/// The audio ladder the article describes for 5.1 audio (192 to 640 kbps) with stereo rungs
/// below it, used when a manifest has no audio track.
pub const DEFAULT_AUDIO_LADDER_KBPS: [f64; 5] = [64.0, 128.0, 192.0, 384.0, 640.0];

impl Manifest {
    /// The manifest with a constant-bitrate audio track added when it has none; the audio
    /// segments cover at least the video's duration.
    pub fn with_default_audio(
        mut self,
        ladder: &[Kbps],
        segment_duration: Ms,
    ) -> Result<Self, ParseError> {
        if self.audio.is_none() {
            let n = (self.video.duration().0 / segment_duration.0).ceil() as usize;
            self.audio = Some(Track::constant(Kind::Audio, segment_duration, ladder, n)?);
        }
        Ok(self)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SabreMovie {
    segment_duration_ms: f64,
    bitrates_kbps: Vec<f64>,
    segment_sizes_bits: Vec<Vec<f64>>,
}

/// Sabre's movie JSON: `{segment_duration_ms, bitrates_kbps, segment_sizes_bits[seg][rung]}`.
pub fn parse_sabre_movie(name: &str, text: &str) -> Result<Manifest, ParseError> {
    let m: SabreMovie = serde_json::from_str(text).map_err(|e| json_error(name, text, &e))?;
    let sizes = m
        .segment_sizes_bits
        .iter()
        .map(|r| r.iter().map(|&b| Bits(b)).collect())
        .collect();
    let video = Track::new(
        name,
        Kind::Video,
        Ms(m.segment_duration_ms),
        m.bitrates_kbps.into_iter().map(Kbps).collect(),
        sizes,
        None,
    )
    .map_err(|e| with_json_line(e, text))?;
    Ok(Manifest { video, audio: None })
}

fn json_error(name: &str, _text: &str, e: &serde_json::Error) -> ParseError {
    let msg = e.to_string();
    // serde names the missing or unknown field in its message; pull it out for `field`.
    let field = msg.split('`').nth(1).map(str::to_owned);
    ParseError::new(name, Some(e.line()), field.as_deref(), msg)
}

/// Adds the line of `segment_sizes_bits[s]` to an error raised after parsing.
fn with_json_line(mut e: ParseError, text: &str) -> ParseError {
    if let Some(field) = &e.at.field
        && let Some(rest) = field.split("segment_sizes_bits[").nth(1)
        && let Some(s) = rest.split(']').next().and_then(|s| s.parse::<usize>().ok())
    {
        e.at.line = jsonpos::line_of_keyed_element(text, "segment_sizes_bits", s);
    }
    e
}

/// Pensieve's chunk sizes: `files[n]` is the text of `video_size_n`, one size in bytes per
/// line. Pensieve's clip has 4 s chunks and bitrates 300..4300 kbps; when `bitrates` is `None`
/// each rung's bitrate is its mean size over the chunk duration.
pub fn parse_pensieve_sizes(
    files: &[(String, String)],
    segment_duration: Ms,
    bitrates: Option<Vec<Kbps>>,
) -> Result<Manifest, ParseError> {
    let first = files.first().map_or("<none>", |f| f.0.as_str());
    if files.is_empty() {
        return Err(ParseError::new(first, None, None, "no video_size files"));
    }
    let mut per_rung: Vec<Vec<Bits>> = Vec::with_capacity(files.len());
    for (name, text) in files {
        let mut sizes = Vec::new();
        for (i, l) in text.lines().enumerate() {
            let l = l.trim();
            if l.is_empty() {
                continue;
            }
            let bytes: u64 = l.parse().map_err(|_| {
                ParseError::new(
                    name,
                    Some(i + 1),
                    Some("size_bytes"),
                    format!("expected a whole number of bytes, found `{l}`"),
                )
            })?;
            sizes.push(Bits::from_bytes(bytes));
        }
        per_rung.push(sizes);
    }
    let n = per_rung[0].len();
    if let Some((i, r)) = per_rung.iter().enumerate().find(|(_, r)| r.len() != n) {
        return Err(ParseError::new(
            &files[i].0,
            None,
            None,
            format!("has {} chunks, {} has {n}", r.len(), first),
        ));
    }
    let bitrates = bitrates.unwrap_or_else(|| {
        per_rung
            .iter()
            .map(|r| {
                Kbps(
                    (r.iter().map(|b| b.0).sum::<f64>() / n.max(1) as f64 / segment_duration.0)
                        .round(),
                )
            })
            .collect()
    });
    let sizes = (0..n)
        .map(|s| per_rung.iter().map(|r| r[s]).collect())
        .collect();
    Ok(Manifest {
        video: Track::new(first, Kind::Video, segment_duration, bitrates, sizes, None)?,
        audio: None,
    })
}

/// Our manifest format (JSON or TOML): `video` and optional `audio` tracks.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OwnManifest {
    pub video: OwnTrack,
    pub audio: Option<OwnTrack>,
}

/// One track of [`OwnManifest`]. Give either `segment_sizes_bits` (one row per segment, one
/// size per rung) or `segments` for a constant-bitrate track.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OwnTrack {
    pub segment_duration_ms: f64,
    pub bitrates_kbps: Vec<f64>,
    #[serde(default)]
    pub segment_sizes_bits: Option<Vec<Vec<f64>>>,
    #[serde(default)]
    pub segments: Option<usize>,
    /// Optional per-segment, per-rung quality (e.g. VMAF 0-100 for video).
    #[serde(default)]
    pub quality: Option<Vec<Vec<f64>>>,
}

fn own_track(name: &str, kind: Kind, t: OwnTrack) -> Result<Track, ParseError> {
    let dur = Ms(t.segment_duration_ms);
    let bitrates: Vec<Kbps> = t.bitrates_kbps.into_iter().map(Kbps).collect();
    let sizes = match (t.segment_sizes_bits, t.segments) {
        (Some(s), None) => s
            .into_iter()
            .map(|r| r.into_iter().map(Bits).collect())
            .collect(),
        (None, Some(n)) if n > 0 && n <= 10_000_000 => {
            vec![bitrates.iter().map(|&b| b * dur).collect(); n]
        }
        (None, Some(n)) => {
            return Err(ParseError::new(
                name,
                None,
                Some(&format!("{}.segments", kind.name())),
                format!("must be 1..=10000000, found {n}"),
            ));
        }
        _ => {
            return Err(ParseError::new(
                name,
                None,
                Some(kind.name()),
                "give exactly one of `segment_sizes_bits` and `segments`",
            ));
        }
    };
    Track::new(name, kind, dur, bitrates, sizes, t.quality)
}

/// Our JSON manifest.
pub fn parse_own_json(name: &str, text: &str) -> Result<Manifest, ParseError> {
    let m: OwnManifest = serde_json::from_str(text).map_err(|e| json_error(name, text, &e))?;
    own(name, m)
}

/// Our TOML manifest.
pub fn parse_own_toml(name: &str, text: &str) -> Result<Manifest, ParseError> {
    let m: OwnManifest = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| {
            1 + text.as_bytes()[..s.start.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        });
        ParseError::new(name, line, None, e.message().to_owned())
    })?;
    own(name, m)
}

fn own(name: &str, m: OwnManifest) -> Result<Manifest, ParseError> {
    Ok(Manifest {
        video: own_track(name, Kind::Video, m.video)?,
        audio: m
            .audio
            .map(|a| own_track(name, Kind::Audio, a))
            .transpose()?,
    })
}

/// Parses a manifest file's text, telling Sabre's movie JSON from ours by its keys.
pub fn parse(name: &str, text: &str) -> Result<Manifest, ParseError> {
    if name.ends_with(".toml") {
        return parse_own_toml(name, text);
    }
    if text.contains("\"segment_sizes_bits\"") && !text.contains("\"video\"") {
        parse_sabre_movie(name, text)
    } else {
        parse_own_json(name, text)
    }
}

/// Loads a manifest: a JSON/TOML file, or a directory of Pensieve `video_size_N` files.
pub fn load(path: &Path) -> Result<Manifest, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    if path.is_dir() {
        let mut files = Vec::new();
        for n in 0.. {
            let p = path.join(format!("video_size_{n}"));
            if !p.exists() {
                break;
            }
            files.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).map_err(io)?,
            ));
        }
        // Pensieve's Envivio clip: 4 s chunks at these nominal bitrates.
        let bitrates = (files.len() == 6).then(|| {
            [300.0, 750.0, 1200.0, 1850.0, 2850.0, 4300.0]
                .map(Kbps)
                .to_vec()
        });
        return Ok(parse_pensieve_sizes(&files, Ms(4000.0), bitrates)?);
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    Ok(parse(&path.display().to_string(), &text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sabre_movie_parses_and_locates_bad_rows() {
        let m = parse_sabre_movie("m.json", r#"{"segment_duration_ms": 3000, "bitrates_kbps": [100, 200], "segment_sizes_bits": [[300000, 600000]]}"#).expect("valid test input");
        assert_eq!(m.video.size(0, 1), Bits(600000.0));
        assert_eq!(m.video.segments(), 1);
        let bad = "{\"segment_duration_ms\": 3000, \"bitrates_kbps\": [100, 200],\n \"segment_sizes_bits\": [\n[1, 2],\n[3]]}";
        let e = parse_sabre_movie("m.json", bad).expect_err("must be rejected");
        assert_eq!(e.at.line, Some(4));
        assert_eq!(e.at.field.as_deref(), Some("video.segment_sizes_bits[1]"));
        let e = parse_sabre_movie("m.json", "{\"segment_duration_ms\": 3000,\n \"bitrates_kbps\": [200, 100], \"segment_sizes_bits\": [[1, 2]]}").expect_err("must be rejected");
        assert!(e.to_string().contains("bitrates must increase"), "{e}");
        let e = parse_sabre_movie("m.json", "{\"segment_duration_ms\": 3000}")
            .expect_err("must be rejected");
        assert_eq!(e.at.field.as_deref(), Some("bitrates_kbps"));
    }

    #[test]
    fn own_format_in_json_and_toml() {
        let toml = r#"
[video]
segment_duration_ms = 4000
bitrates_kbps = [1000, 3000]
segment_sizes_bits = [[4000000, 12000000], [3900000, 11000000]]
quality = [[60, 90], [62, 91]]

[audio]
segment_duration_ms = 2000
bitrates_kbps = [128, 640]
segments = 4
"#;
        let m = parse_own_toml("m.toml", toml).expect("valid test input");
        let a = m.audio.as_ref().expect("valid test input");
        assert_eq!((a.segments(), a.size(3, 1)), (4, Bits(1_280_000.0)));
        assert_eq!(m.video.score(1, 1), Some(91.0));
        let e = parse_own_toml(
            "m.toml",
            "[video]\nsegment_duration_ms = 4000\nbitrates_kbps = [1]\nsegmnts = 3\n",
        )
        .expect_err("must be rejected");
        assert_eq!(e.at.line, Some(4), "{e}");
        let e = parse_own_json(
            "m.json",
            r#"{"video": {"segment_duration_ms": 0, "bitrates_kbps": [1], "segments": 3}}"#,
        )
        .expect_err("must be rejected");
        assert_eq!(e.at.field.as_deref(), Some("video.segment_duration_ms"));
        let e = parse_own_json(
            "m.json",
            r#"{"video": {"segment_duration_ms": 10, "bitrates_kbps": [1]}}"#,
        )
        .expect_err("must be rejected");
        assert!(e.to_string().contains("exactly one"), "{e}");
        let e = parse_own_json("m.json", r#"{"video": {"segment_duration_ms": 10, "bitrates_kbps": [1], "segments": 2, "quality": [[1]]}}"#).expect_err("must be rejected");
        assert_eq!(e.at.field.as_deref(), Some("video.quality"));
    }

    #[test]
    fn pensieve_sizes_are_bytes() {
        let files = vec![
            ("video_size_0".to_owned(), "500000\n500000\n".to_owned()),
            ("video_size_1".to_owned(), "1000000\n1000000\n".to_owned()),
        ];
        let m = parse_pensieve_sizes(&files, Ms(4000.0), None).expect("valid test input");
        assert_eq!(m.video.size(1, 1), Bits(8_000_000.0));
        assert_eq!(m.video.bitrates, vec![Kbps(1000.0), Kbps(2000.0)]);
        let bad = vec![("video_size_0".to_owned(), "100\nabc\n".to_owned())];
        let e = parse_pensieve_sizes(&bad, Ms(4000.0), Some(vec![Kbps(1.0)]))
            .expect_err("must be rejected");
        assert_eq!((e.at.file.as_str(), e.at.line), ("video_size_0", Some(2)));
    }
}
