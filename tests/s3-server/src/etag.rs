//! ETags as S3 sends them, and the `If-Match` / `If-None-Match` checks of `GetObject` and of
//! `PutObject` (conditional writes).
//!
//! Real S3 sends an object's ETag with every GET, HEAD and list entry, and clients built on
//! the AWS CRT refuse a GET without one. `s3s-fs` computes the ETag when an object is written
//! (the MD5 for a single PUT, `MD5-of-part-MD5s-N` for a multipart upload) and keeps it in
//! its internal info file beside the buckets, but answers it only on PUT and HEAD. We read
//! the same record so GET and list answer the same value; an object written behind the
//! server's back (no record) gets the MD5 of its bytes, as `s3s-fs`'s HEAD does.

use std::io::{self, Read};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use md5::{Digest, Md5};
use s3s::dto::{ETag, ETagCondition};
use s3s::{S3Result, s3_error};

/// The ETag of object `key` of `bucket`, whose bytes are in `object`; `root` is the data
/// directory. Blocking: call it from the blocking pool.
pub(crate) fn object_etag(root: &Path, bucket: &str, key: &str, object: &Path) -> io::Result<ETag> {
    match recorded_etag(root, bucket, key)? {
        Some(value) => Ok(ETag::Strong(value)),
        None => md5_of_file(object).map(ETag::Strong),
    }
}

/// The `e_tag` field of the internal info file `s3s-fs` writes with every object (layout as
/// in `s3s_fs::FileSystem::get_internal_info_path`, s3s-fs 0.14).
fn recorded_etag(root: &Path, bucket: &str, key: &str) -> io::Result<Option<String>> {
    let name = format!(
        ".bucket-{}.object-{}.internal.json",
        URL_SAFE_NO_PAD.encode(bucket),
        URL_SAFE_NO_PAD.encode(key)
    );
    let bytes = match std::fs::read(root.join(name)) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let info: serde_json::Value = serde_json::from_slice(&bytes).map_err(io::Error::other)?;
    Ok(info
        .get("e_tag")
        .and_then(|v| v.as_str())
        .map(str::to_owned))
}

fn md5_of_file(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hash = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// RFC 9110 §13.1.1-2 as S3 applies them to GET: a failed `If-Match` (strong comparison)
/// answers 412 Precondition Failed; a matching `If-None-Match` (weak comparison) answers 304
/// Not Modified. `*` matches any existing object.
pub(crate) fn check_conditions(
    etag: &ETag,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<()> {
    if let Some(cond) = if_match {
        let holds = match cond {
            ETagCondition::Any => true,
            ETagCondition::ETag(want) => want.strong_cmp(etag),
        };
        if !holds {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
    }
    if let Some(cond) = if_none_match {
        let matches = match cond {
            ETagCondition::Any => true,
            ETagCondition::ETag(other) => other.weak_cmp(etag),
        };
        if matches {
            return Err(s3_error!(NotModified));
        }
    }
    Ok(())
}

/// The conditions of a PUT, as S3's conditional writes apply them: `If-None-Match: *`
/// refuses to overwrite an existing object (412); `If-Match` replaces only the version with
/// that ETag (412 when it differs, 404 when there is no object). `current` is the object's
/// ETag now, `None` if it does not exist.
pub(crate) fn check_put_conditions(
    current: Option<&ETag>,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<()> {
    let failed = || {
        s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        )
    };
    if let Some(cond) = if_none_match {
        let exists_as = match (cond, current) {
            (_, None) => false,
            (ETagCondition::Any, Some(_)) => true,
            (ETagCondition::ETag(other), Some(etag)) => other.weak_cmp(etag),
        };
        if exists_as {
            return Err(failed());
        }
    }
    if let Some(cond) = if_match {
        let Some(etag) = current else {
            return Err(s3_error!(NoSuchKey));
        };
        let holds = match cond {
            ETagCondition::Any => true,
            ETagCondition::ETag(want) => want.strong_cmp(etag),
        };
        if !holds {
            return Err(failed());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strong(v: &str) -> ETag {
        ETag::Strong(v.to_owned())
    }

    #[test]
    fn if_match_needs_the_same_strong_etag() {
        let e = strong("abc");
        let ok = |c: ETagCondition| check_conditions(&e, Some(&c), None).is_ok();
        assert!(ok(ETagCondition::Any));
        assert!(ok(ETagCondition::ETag(strong("abc"))));
        assert!(!ok(ETagCondition::ETag(strong("abd"))));
        assert!(!ok(ETagCondition::ETag(ETag::Weak("abc".to_owned()))));
    }

    #[test]
    fn if_none_match_refuses_a_match_even_a_weak_one() {
        let e = strong("abc");
        let ok = |c: ETagCondition| check_conditions(&e, None, Some(&c)).is_ok();
        assert!(!ok(ETagCondition::Any));
        assert!(!ok(ETagCondition::ETag(strong("abc"))));
        assert!(!ok(ETagCondition::ETag(ETag::Weak("abc".to_owned()))));
        assert!(ok(ETagCondition::ETag(strong("other"))));
        assert!(check_conditions(&e, None, None).is_ok());
    }

    #[test]
    fn a_put_if_match_replaces_only_that_version_and_if_none_match_only_creates() {
        let e = strong("abc");
        let put = |current: Option<&ETag>, m: Option<ETagCondition>, n: Option<ETagCondition>| {
            check_put_conditions(current, m.as_ref(), n.as_ref())
                .map_err(|err| err.code().as_str().to_owned())
        };
        assert_eq!(
            put(Some(&e), Some(ETagCondition::ETag(strong("abc"))), None),
            Ok(())
        );
        assert_eq!(
            put(Some(&e), Some(ETagCondition::ETag(strong("old"))), None),
            Err("PreconditionFailed".to_owned())
        );
        assert_eq!(
            put(None, Some(ETagCondition::ETag(strong("abc"))), None),
            Err("NoSuchKey".to_owned())
        );
        assert_eq!(put(None, None, Some(ETagCondition::Any)), Ok(()));
        assert_eq!(
            put(Some(&e), None, Some(ETagCondition::Any)),
            Err("PreconditionFailed".to_owned())
        );
        assert_eq!(put(Some(&e), None, None), Ok(()));
    }

    #[test]
    fn the_recorded_etag_wins_and_the_md5_is_the_fallback() {
        let dir = tempfile::tempdir().expect("temp dir");
        let object = dir.path().join("obj");
        std::fs::write(&object, b"hello").expect("write");
        let etag = object_etag(dir.path(), "b", "k/x", &object).expect("etag");
        assert_eq!(etag, strong("5d41402abc4b2a76b9719d911017c592"));
        let info = format!(
            ".bucket-{}.object-{}.internal.json",
            URL_SAFE_NO_PAD.encode("b"),
            URL_SAFE_NO_PAD.encode("k/x")
        );
        std::fs::write(dir.path().join(info), br#"{"e_tag":"feed-2"}"#).expect("write");
        let etag = object_etag(dir.path(), "b", "k/x", &object).expect("etag");
        assert_eq!(etag, strong("feed-2"));
    }
}
