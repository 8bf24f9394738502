//! `GetObject` served directly from the files `s3s-fs` writes, with ranged reads.
//!
//! Layout (as in `s3s_fs::FileSystem::get_object_path`): object `key` of `bucket` is the
//! file `ROOT/bucket/key`, `/` in keys being directory separators.

use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};

use s3s::dto::{ETag, GetObjectInput, GetObjectOutput, Range, Timestamp};
use s3s::{S3Error, S3Response, S3Result, s3_error};

use crate::etag::{check_conditions, object_etag};
use crate::file_stream::FileRangeStream;

/// Serves `GetObject` from the data directory of an `s3s_fs::FileSystem`.
#[derive(Debug, Clone)]
pub(crate) struct FastGet {
    /// Canonical data directory (the same path `s3s-fs` resolves against).
    root: PathBuf,
}

/// The bytes of an object a response carries: `start..start + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u64,
    pub(crate) len: u64,
}

impl FastGet {
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// ETags for the entries of a listing of `bucket` that lack one (`s3s-fs` lists none).
    pub(crate) async fn fill_etags(
        &self,
        bucket: &str,
        objects: &mut [s3s::dto::Object],
    ) -> S3Result<()> {
        let Some(bucket_dir) = self.bucket_dir(bucket) else {
            return Ok(());
        };
        let root = self.root.clone();
        let bucket = bucket.to_owned();
        let keys: Vec<Option<String>> = objects
            .iter()
            .map(|o| o.e_tag.is_none().then(|| o.key.clone()).flatten())
            .collect();
        let etags = tokio::task::spawn_blocking(move || {
            keys.into_iter()
                .map(|key| {
                    let key = key?;
                    let path = object_path(&bucket_dir, &key)?;
                    object_etag(&root, &bucket, &key, &path).ok()
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(S3Error::internal_error)?;
        for (object, etag) in objects.iter_mut().zip(etags) {
            if etag.is_some() {
                object.e_tag = etag;
            }
        }
        Ok(())
    }

    /// Directory of `bucket`, or `None` if the name could step outside the root.
    pub(crate) fn bucket_dir(&self, bucket: &str) -> Option<PathBuf> {
        let mut parts = Path::new(bucket).components();
        match (parts.next(), parts.next()) {
            (Some(Component::Normal(name)), None) => Some(self.root.join(name)),
            _ => None,
        }
    }

    /// Answers `NoSuchBucket` unless `bucket` exists.
    pub(crate) async fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        let dir = self
            .bucket_dir(bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        match tokio::fs::metadata(&dir).await {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(s3_error!(NoSuchBucket)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Err(s3_error!(NoSuchBucket)),
            Err(err) => Err(S3Error::internal_error(err)),
        }
    }

    /// The ETag of object `key` of `bucket` now, `None` when there is no such object.
    pub(crate) async fn current_etag(&self, bucket: &str, key: &str) -> S3Result<Option<ETag>> {
        let bucket_dir = self
            .bucket_dir(bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        let path = object_path(&bucket_dir, key).ok_or_else(|| s3_error!(NoSuchKey))?;
        let (root, bucket, key) = (self.root.clone(), bucket.to_owned(), key.to_owned());
        tokio::task::spawn_blocking(move || -> S3Result<Option<ETag>> {
            if !path.is_file() {
                return Ok(None);
            }
            object_etag(&root, &bucket, &key, &path)
                .map(Some)
                .map_err(S3Error::internal_error)
        })
        .await
        .map_err(S3Error::internal_error)?
    }

    pub(crate) async fn get_object(
        &self,
        input: GetObjectInput,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let bucket_dir = self
            .bucket_dir(&input.bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        let path = object_path(&bucket_dir, &input.key).ok_or_else(|| s3_error!(NoSuchKey))?;

        let (root, bucket, key) = (self.root.clone(), input.bucket.clone(), input.key.clone());
        let (file, meta, etag) = tokio::task::spawn_blocking(move || -> S3Result<_> {
            let (file, meta) = open_object(&bucket_dir, &path)?;
            let etag = object_etag(&root, &bucket, &key, &path).map_err(S3Error::internal_error)?;
            Ok((file, meta, etag))
        })
        .await
        .map_err(S3Error::internal_error)??;
        check_conditions(&etag, input.if_match.as_ref(), input.if_none_match.as_ref())?;

        let size = meta.len();
        let last_modified = meta.modified().map_err(S3Error::internal_error)?;
        let span = resolve_range(input.range.as_ref(), size)?;
        let content_range = input
            .range
            .is_some()
            .then(|| format!("bytes {}-{}/{size}", span.start, span.start + span.len - 1));
        let content_length = i64::try_from(span.len).map_err(S3Error::internal_error)?;

        let output = GetObjectOutput {
            body: Some(FileRangeStream::new(file, span.start, span.len).into_blob()),
            content_length: Some(content_length),
            content_range,
            accept_ranges: Some("bytes".to_owned()),
            last_modified: Some(Timestamp::from(last_modified)),
            e_tag: Some(etag),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }
}

/// `bucket_dir/key`, or `None` for keys that would leave the bucket directory.
pub(crate) fn object_path(bucket_dir: &Path, key: &str) -> Option<PathBuf> {
    let mut path = bucket_dir.to_path_buf();
    let mut depth = 0usize;
    for part in Path::new(key).components() {
        match part {
            Component::Normal(name) => {
                path.push(name);
                depth += 1;
            }
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => {
                path.pop();
                depth -= 1;
            }
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (depth > 0).then_some(path)
}

/// Opens the object file; maps "not there" to `NoSuchKey` or `NoSuchBucket`.
fn open_object(bucket_dir: &Path, path: &Path) -> S3Result<(File, std::fs::Metadata)> {
    let missing = || {
        if bucket_dir.is_dir() {
            s3_error!(NoSuchKey)
        } else {
            s3_error!(NoSuchBucket)
        }
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(missing());
        }
        Err(err) => return Err(S3Error::internal_error(err)),
    };
    let meta = file.metadata().map_err(S3Error::internal_error)?;
    if !meta.is_file() {
        // Keys ending in '/' are directories in s3s-fs; they have no bytes to serve.
        return Err(missing());
    }
    Ok((file, meta))
}

/// The span a `Range` selects from an object of `size` bytes (RFC 9110 §14.1.2, as S3 does
/// it: an end past the object is clamped, a suffix longer than the object means all of it,
/// any range of an empty object is unsatisfiable).
pub(crate) fn resolve_range(range: Option<&Range>, size: u64) -> S3Result<Span> {
    let unsatisfiable = || s3_error!(InvalidRange, "The requested range is not satisfiable");
    let Some(range) = range else {
        return Ok(Span {
            start: 0,
            len: size,
        });
    };
    match *range {
        Range::Int { first, last } => {
            if first >= size {
                return Err(unsatisfiable());
            }
            let last = last.map_or(size - 1, |last| last.min(size - 1));
            if last < first {
                return Err(unsatisfiable());
            }
            Ok(Span {
                start: first,
                len: last - first + 1,
            })
        }
        Range::Suffix { length } => {
            if length == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            let len = length.min(size);
            Ok(Span {
                start: size - len,
                len,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(range: Range, size: u64) -> Option<(u64, u64)> {
        resolve_range(Some(&range), size)
            .ok()
            .map(|s| (s.start, s.len))
    }

    #[test]
    fn int_ranges() {
        let r = |first, last| Range::Int { first, last };
        assert_eq!(span(r(0, Some(0)), 10), Some((0, 1)));
        assert_eq!(span(r(2, Some(5)), 10), Some((2, 4)));
        assert_eq!(span(r(8, Some(100)), 10), Some((8, 2)));
        assert_eq!(span(r(9, None), 10), Some((9, 1)));
        assert_eq!(span(r(10, None), 10), None);
        assert_eq!(span(r(10, Some(12)), 10), None);
        assert_eq!(span(r(0, None), 0), None);
    }

    #[test]
    fn suffix_ranges() {
        let s = |length| Range::Suffix { length };
        assert_eq!(span(s(3), 10), Some((7, 3)));
        assert_eq!(span(s(10), 10), Some((0, 10)));
        assert_eq!(span(s(50), 10), Some((0, 10)));
        assert_eq!(span(s(0), 10), None);
        assert_eq!(span(s(5), 0), None);
    }

    #[test]
    fn no_range_is_whole_object() {
        assert_eq!(resolve_range(None, 0).ok(), Some(Span { start: 0, len: 0 }));
        assert_eq!(resolve_range(None, 7).ok(), Some(Span { start: 0, len: 7 }));
    }

    #[test]
    fn object_paths_stay_inside_the_bucket() {
        let b = Path::new("/data/bkt");
        assert_eq!(
            object_path(b, "a/b.bin"),
            Some(PathBuf::from("/data/bkt/a/b.bin"))
        );
        assert_eq!(
            object_path(b, "a//./b.bin"),
            Some(PathBuf::from("/data/bkt/a/b.bin"))
        );
        assert_eq!(object_path(b, "a/../c"), Some(PathBuf::from("/data/bkt/c")));
        assert_eq!(object_path(b, "../other/x"), None);
        assert_eq!(object_path(b, "/etc/passwd"), None);
        assert_eq!(object_path(b, "a/.."), None);
        assert_eq!(object_path(b, ""), None);
    }
}
