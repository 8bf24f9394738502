use std::fmt;
use std::path::PathBuf;

use crate::StoreError;

/// Where objects live: an S3 bucket and prefix, or a local directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    S3 { bucket: String, prefix: String },
    Local(PathBuf),
}

impl StoreUrl {
    /// Accepts `s3://bucket[/prefix]`, `file:///abs/path` and plain paths.
    pub fn parse(s: &str) -> Result<StoreUrl, StoreError> {
        let bad = |reason: &str| StoreError::InvalidUrl {
            url: s.into(),
            reason: reason.into(),
        };
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !valid {
                return Err(bad(
                    "bucket names are 3-63 characters of a-z, 0-9, '-' and '.'",
                ));
            }
            let prefix = prefix.trim_matches('/');
            let prefix = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            };
            return Ok(StoreUrl::S3 {
                bucket: bucket.into(),
                prefix,
            });
        }
        if let Some(rest) = s.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(bad("file URLs need an absolute path: file:///path"));
            }
            return Ok(StoreUrl::Local(PathBuf::from(rest)));
        }
        if s.contains("://") {
            return Err(bad("supported schemes are s3:// and file://"));
        }
        if s.is_empty() {
            return Err(bad("empty"));
        }
        Ok(StoreUrl::Local(PathBuf::from(s)))
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            StoreUrl::Local(p) => write!(f, "{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            StoreUrl::parse("s3://my-bucket/movies/2026/").expect("ok"),
            StoreUrl::S3 {
                bucket: "my-bucket".into(),
                prefix: "movies/2026/".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("s3://my-bucket").expect("ok"),
            StoreUrl::S3 {
                bucket: "my-bucket".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            StoreUrl::parse("file:///srv/mezz").expect("ok"),
            StoreUrl::Local("/srv/mezz".into())
        );
        assert_eq!(
            StoreUrl::parse("./store").expect("ok"),
            StoreUrl::Local("./store".into())
        );
    }

    #[test]
    fn rejects_what_it_cannot_serve() {
        for bad in ["s3://", "s3://A_B/x", "gs://b/x", "file://relative", ""] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
