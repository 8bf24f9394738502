//! What a mount shows: files backed by whole objects or by byte ranges of objects.
//!
//! A spec comes from command-line arguments (`--object FILE[=SOURCE]`,
//! `--range FILE=SOURCE:START+LENGTH` or `FILE=SOURCE:START..END`) or from a JSON spec file
//! (what the encoder writes for a movie's scenes). A source names an object: a plain object
//! name in the mount's default store, or a URL whose last path segment is the object and the
//! rest its store (`s3://bucket/movies/film` is object `film` in store `s3://bucket/movies`).
//! Sizes and ranges follow one grammar everywhere ([`grammar`]): the same text means the same
//! bytes in `mezzfs get --range`, `mezzfs mount --range` and a spec file's `"range"`.
//!
//! Parsing and validation are pure; opening the sources is the caller's job.

pub mod grammar;

pub use grammar::{GrammarError, format_range, parse_range, parse_size};

use std::collections::BTreeSet;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Files of a mount. File paths may contain `/` (directories are created as needed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountSpec {
    #[serde(default)]
    pub objects: Vec<ObjectFile>,
    #[serde(default)]
    pub ranges: Vec<RangeFile>,
}

/// A file showing a whole object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectFile {
    pub file: String,
    pub source: String,
}

/// A file showing `len` bytes of an object from `offset`. In a spec file the bytes are given
/// either as `"offset"` and `"len"` numbers or as a `"range"` string in the command line's
/// grammar (`"1GiB+96MiB"`, `"100..200"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RangeFileJson")]
pub struct RangeFile {
    pub file: String,
    pub source: String,
    pub offset: u64,
    pub len: u64,
}

impl RangeFile {
    pub fn range(&self) -> Range<u64> {
        self.offset..self.offset.saturating_add(self.len)
    }
}

/// A range file as a spec file may write it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeFileJson {
    file: String,
    source: String,
    offset: Option<u64>,
    len: Option<u64>,
    range: Option<String>,
}

impl TryFrom<RangeFileJson> for RangeFile {
    type Error = String;

    fn try_from(j: RangeFileJson) -> Result<Self, String> {
        let range = match (j.offset, j.len, &j.range) {
            (Some(offset), Some(len), None) => {
                let end = offset
                    .checked_add(len)
                    .ok_or_else(|| format!("range file '{}': offset + len overflows", j.file))?;
                offset..end
            }
            (None, None, Some(r)) => {
                parse_range(r).map_err(|e| format!("range file '{}': \"range\" {e}", j.file))?
            }
            _ => {
                return Err(format!(
                    "range file '{}': give \"offset\" and \"len\", or \"range\" \
                     ({})",
                    j.file,
                    grammar::RANGE_FORMS
                ));
            }
        };
        Ok(RangeFile {
            file: j.file,
            source: j.source,
            offset: range.start,
            len: range.end - range.start,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("--object '{arg}': {reason}")]
    ObjectArg { arg: String, reason: String },
    #[error("--range '{arg}': {reason}")]
    RangeArg { arg: String, reason: String },
    #[error("spec file line {line}, column {column}: {reason}")]
    File {
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("file path '{path}': {reason}")]
    BadPath { path: String, reason: String },
    #[error("'{path}' is listed twice")]
    Duplicate { path: String },
    #[error("'{path}' is both a file and a directory")]
    FileIsDirectory { path: String },
    #[error("nothing to mount: give --object, --range or --spec")]
    Empty,
}

/// Parses `FILE[=SOURCE]`; without `=SOURCE` the file is named after the object.
pub fn parse_object_arg(arg: &str) -> Result<ObjectFile, SpecError> {
    let bad = |reason: &str| SpecError::ObjectArg {
        arg: arg.into(),
        reason: reason.into(),
    };
    let (file, source) = match arg.split_once('=') {
        Some((f, s)) => (f.to_string(), s.to_string()),
        None => {
            let file = source_object_name(arg).to_string();
            (file, arg.to_string())
        }
    };
    if source.is_empty() {
        return Err(bad("the object source is empty"));
    }
    if file.is_empty() {
        return Err(bad("the file name is empty"));
    }
    Ok(ObjectFile { file, source })
}

/// Parses `FILE=SOURCE:START+LENGTH` or `FILE=SOURCE:START..END` (END exclusive), with sizes
/// in the [`grammar`] shared with `mezzfs get --range`.
pub fn parse_range_arg(arg: &str) -> Result<RangeFile, SpecError> {
    let bad = |reason: String| SpecError::RangeArg {
        arg: arg.into(),
        reason,
    };
    let expected = || {
        format!(
            "expected FILE=SOURCE:RANGE, RANGE being {}",
            grammar::RANGE_FORMS
        )
    };
    let (file, rest) = arg
        .split_once('=')
        .ok_or_else(|| bad(format!("no '=' ({})", expected())))?;
    // The source may itself contain ':' (s3://...), so the range is after the last one.
    let (source, range) = rest
        .rsplit_once(':')
        .ok_or_else(|| bad(format!("no ':' before the range ({})", expected())))?;
    if file.is_empty() || source.is_empty() {
        return Err(bad(format!("empty file name or source ({})", expected())));
    }
    let range = parse_range(range).map_err(|e| bad(e.0))?;
    Ok(RangeFile {
        file: file.into(),
        source: source.into(),
        offset: range.start,
        len: range.end - range.start,
    })
}

/// Parses a JSON spec file, naming the line and column of a mistake.
pub fn parse_spec_file(text: &str) -> Result<MountSpec, SpecError> {
    serde_json::from_str(text).map_err(|e| SpecError::File {
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })
}

impl MountSpec {
    /// Appends `other`'s files after this spec's.
    pub fn extend(&mut self, other: MountSpec) {
        self.objects.extend(other.objects);
        self.ranges.extend(other.ranges);
    }

    /// Checks paths: non-empty, relative, no `.`/`..`/empty segments, no duplicates, and no
    /// file that is also another file's directory.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.objects.is_empty() && self.ranges.is_empty() {
            return Err(SpecError::Empty);
        }
        let mut files = BTreeSet::new();
        let paths = self
            .objects
            .iter()
            .map(|o| &o.file)
            .chain(self.ranges.iter().map(|r| &r.file));
        for p in paths {
            check_path(p)?;
            if !files.insert(p.as_str()) {
                return Err(SpecError::Duplicate { path: p.clone() });
            }
        }
        for p in &files {
            let mut dir = String::new();
            for seg in p
                .split('/')
                .collect::<Vec<_>>()
                .split_last()
                .map_or(&[][..], |x| x.1)
            {
                if !dir.is_empty() {
                    dir.push('/');
                }
                dir.push_str(seg);
                if files.contains(dir.as_str()) {
                    return Err(SpecError::FileIsDirectory { path: dir });
                }
            }
        }
        Ok(())
    }

    /// Every distinct source, in first-use order.
    pub fn sources(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.objects
            .iter()
            .map(|o| &o.source)
            .chain(self.ranges.iter().map(|r| &r.source))
            .filter(|s| seen.insert(s.as_str()))
            .cloned()
            .collect()
    }
}

/// Reserved for the mount's own statistics file.
pub const STATS_FILE: &str = ".mezzfs-stats";

fn check_path(p: &str) -> Result<(), SpecError> {
    let bad = |reason: &str| {
        Err(SpecError::BadPath {
            path: p.into(),
            reason: reason.into(),
        })
    };
    if p.is_empty() || p.len() > 4096 {
        return bad("paths are 1 to 4096 bytes long");
    }
    if p.split('/')
        .any(|s| s.is_empty() || s == "." || s == ".." || s.len() > 255)
    {
        return bad(
            "no empty, '.' or '..' segments, no leading or trailing '/', segments up to 255 bytes",
        );
    }
    if p.contains('\0') {
        return bad("no NUL bytes");
    }
    if p == STATS_FILE {
        return bad("the name is reserved for the mount's statistics");
    }
    Ok(())
}

/// The object name a source points at (its last path segment for URLs).
pub fn source_object_name(source: &str) -> &str {
    if source.contains("://") {
        source
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(source)
    } else {
        source
    }
}

/// Splits a source into (store URL, object name); `None` for the store means "the mount's
/// default store".
pub fn split_source(source: &str) -> (Option<&str>, &str) {
    if let Some(idx) = source.find("://") {
        let after = &source[idx + 3..];
        if let Some(slash) = after.trim_end_matches('/').rfind('/') {
            let (store, name) = source.split_at(idx + 3 + slash);
            return (
                Some(store),
                name.trim_start_matches('/').trim_end_matches('/'),
            );
        }
    }
    (None, source)
}

/// Durations like `10s`, `500ms`, `2m` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("'{s}' is not a duration (e.g. 500ms, 10s, 2m)");
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit.trim() {
        "ms" => n / 1e3,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        _ => return Err(bad()),
    };
    std::time::Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["", "0s", "-1s", "ten", "5h", "1e999"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_args() {
        let o = parse_object_arg("movie.y4m=s3://bucket/mezz/movie").expect("parse");
        assert_eq!(
            (o.file.as_str(), o.source.as_str()),
            ("movie.y4m", "s3://bucket/mezz/movie")
        );
        let o = parse_object_arg("s3://bucket/mezz/movie").expect("parse");
        assert_eq!(o.file, "movie");
        let o = parse_object_arg("clips/a").expect("parse");
        assert_eq!((o.file.as_str(), o.source.as_str()), ("clips/a", "clips/a"));
        assert!(parse_object_arg("x=").is_err());
        assert!(parse_object_arg("=y").is_err());
    }

    #[test]
    fn range_args() {
        let r = parse_range_arg("scene-0007.yuv=s3://b/movie:1MiB+4096").expect("parse");
        assert_eq!(r.source, "s3://b/movie");
        assert_eq!(r.range(), (1 << 20)..(1 << 20) + 4096);
        let r = parse_range_arg("a=movie:100..250").expect("parse");
        assert_eq!(r.range(), 100..250);
        let e = parse_range_arg("a=movie:100-199").expect_err("ambiguous");
        assert!(e.to_string().contains("write 100..200"), "{e}");
        let e = parse_range_arg("a=movie:10+").expect_err("no length");
        assert!(
            e.to_string()
                .starts_with("--range 'a=movie:10+': '10+': LENGTH is missing"),
            "{e}"
        );
        for bad in [
            "a",
            "a=movie",
            "a=movie:5",
            "a=movie:9..3",
            "a=movie:100-250",
            "a=movie:x+1",
            "=m:1+1",
            "a=:1+1",
            "a=m:18446744073709551615+2",
        ] {
            assert!(parse_range_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sources_split_into_store_and_name() {
        assert_eq!(
            split_source("s3://bucket/a/b/film"),
            (Some("s3://bucket/a/b"), "film")
        );
        assert_eq!(
            split_source("s3://bucket/film"),
            (Some("s3://bucket"), "film")
        );
        assert_eq!(
            split_source("file:///srv/store/film"),
            (Some("file:///srv/store"), "film")
        );
        assert_eq!(split_source("a/b/film"), (None, "a/b/film"));
    }

    #[test]
    fn spec_files_parse_and_name_mistakes() {
        let spec = parse_spec_file(
            r#"{"objects":[{"file":"movie","source":"m"}],
                "ranges":[{"file":"scenes/s1","source":"m","offset":0,"len":10}]}"#,
        )
        .expect("parse");
        assert_eq!(spec.sources(), vec!["m".to_string()]);
        spec.validate().expect("valid");
        let err = parse_spec_file("{\"objects\":[{\"file\":1}]}").expect_err("bad");
        assert!(matches!(err, SpecError::File { line: 1, .. }), "{err}");
        let err = parse_spec_file("{\"object\":[]}").expect_err("unknown field");
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn spec_files_take_the_command_line_range_grammar() {
        let spec = parse_spec_file(
            r#"{"ranges":[{"file":"a","source":"m","range":"1KiB+10"},
                          {"file":"b","source":"m","range":"100..200"},
                          {"file":"c","source":"m","offset":5,"len":6}]}"#,
        )
        .expect("parse");
        let ranges: Vec<_> = spec.ranges.iter().map(RangeFile::range).collect();
        assert_eq!(ranges, vec![1024..1034, 100..200, 5..11]);
        // What the encoder writes (offset and len) reads back the same.
        let again = parse_spec_file(&serde_json::to_string(&spec).expect("json")).expect("parse");
        assert_eq!(again, spec);
        for (bad, says) in [
            (r#""range":"100-199""#, "write 100..200"),
            (r#""range":"1KB+1""#, "decimal units"),
            (r#""offset":1"#, "give \"offset\" and \"len\", or \"range\""),
            (r#""offset":1,"len":2,"range":"1+2""#, "or \"range\""),
            (r#""offset":18446744073709551615,"len":2"#, "overflows"),
        ] {
            let text = format!(r#"{{"ranges":[{{"file":"f","source":"m",{bad}}}]}}"#);
            let err = parse_spec_file(&text).expect_err(bad).to_string();
            assert!(err.contains(says) && err.contains("line 1"), "{bad}: {err}");
        }
    }

    #[test]
    fn validation() {
        let obj = |f: &str| ObjectFile {
            file: f.into(),
            source: "s".into(),
        };
        let spec = |files: &[&str]| MountSpec {
            objects: files.iter().map(|f| obj(f)).collect(),
            ranges: vec![],
        };
        assert_eq!(MountSpec::default().validate(), Err(SpecError::Empty));
        assert!(spec(&["a", "b/c", "b/d"]).validate().is_ok());
        assert!(matches!(
            spec(&["a", "a"]).validate(),
            Err(SpecError::Duplicate { .. })
        ));
        assert!(matches!(
            spec(&["b", "b/c"]).validate(),
            Err(SpecError::FileIsDirectory { .. })
        ));
        for bad in ["", "/a", "a/", "a//b", "a/./b", "../a", STATS_FILE] {
            assert!(
                matches!(spec(&[bad]).validate(), Err(SpecError::BadPath { .. })),
                "{bad}"
            );
        }
    }
}
