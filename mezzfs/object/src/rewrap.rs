//! Rotation: re-wrapping objects' data keys under another key-encryption key.
//!
//! Only manifests are read and written: the data key does not change, so every part sealed
//! under it stays valid, and the cost is one manifest GET, one unwrap, one wrap and one PUT
//! per object whatever its size. [`plan_rewrap`] decides, without I/O, what to do with each
//! object (a manifest already under the target key is skipped, which is what makes an
//! interrupted rewrap resume); [`read_manifest`] and [`rewrap_object`] are the store side.
//! Each manifest is replaced by a conditional write on the version read, so a put racing
//! the rewrap wins and its manifest is reported, never overwritten.

use std::sync::Arc;

use bytes::Bytes;
use mezz_format::{KeyProvider, SealedManifest, WrappedKey};
use mezz_store::{ObjectStore, StoreError};

use crate::{ObjectError, naming};

/// The key a rewrap moves objects to, as manifests record it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewrapTarget {
    pub provider: String,
    pub key_id: String,
}

/// What a rewrap does with one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RewrapStep {
    /// Wrapped by another key: unwrap, wrap under the target, replace the manifest.
    Rewrap { name: String },
    /// Already under the target key (done by an earlier, perhaps interrupted, run).
    Skip { name: String },
    /// Its manifest could not be read or parsed: reported, left as it is.
    Refuse { name: String, reason: String },
}

/// One object's manifest as read for planning: its wrapped key, or why it has none.
pub type ManifestKey = (String, Result<WrappedKey, String>);

/// What to do with each object, in name order.
pub fn plan_rewrap(manifests: &[ManifestKey], target: &RewrapTarget) -> Vec<RewrapStep> {
    let mut steps: Vec<RewrapStep> = manifests
        .iter()
        .map(|(name, key)| {
            let name = name.clone();
            match key {
                Err(reason) => RewrapStep::Refuse {
                    name,
                    reason: reason.clone(),
                },
                Ok(k) if k.provider == target.provider && k.key_id == target.key_id => {
                    RewrapStep::Skip { name }
                }
                Ok(_) => RewrapStep::Rewrap { name },
            }
        })
        .collect();
    steps.sort_by(|a, b| step_name(a).cmp(step_name(b)));
    steps
}

fn step_name(step: &RewrapStep) -> &str {
    match step {
        RewrapStep::Rewrap { name }
        | RewrapStep::Skip { name }
        | RewrapStep::Refuse { name, .. } => name,
    }
}

/// The names of every object whose name starts with `prefix`, in order.
pub async fn list_objects(
    store: &dyn ObjectStore,
    prefix: &str,
) -> Result<Vec<String>, ObjectError> {
    let keys = store
        .list(prefix)
        .await
        .map_err(|cause| ObjectError::Store {
            name: prefix.into(),
            cause,
        })?;
    Ok(keys
        .iter()
        .filter_map(|k| naming::name_of_manifest(&k.key))
        .map(str::to_owned)
        .collect())
}

/// The (unauthenticated) wrapped key of object `name`'s manifest, for planning.
pub async fn read_manifest(store: &dyn ObjectStore, name: &str) -> ManifestKey {
    let key = async {
        let raw = store
            .get(&naming::manifest_key(name))
            .await
            .map_err(|e| e.to_string())?;
        let sealed = SealedManifest::parse(raw.to_vec()).map_err(|e| e.to_string())?;
        Ok(sealed.wrapped_key().clone())
    };
    (name.to_owned(), key.await)
}

/// How one object's rewrap ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrapped {
    /// The manifest now names the target key.
    Done,
    /// A put replaced the object while it was being rewrapped; its new manifest was left
    /// alone (run the rewrap again).
    Replaced,
}

/// Re-wraps object `name`'s data key: the manifest is authenticated with `from`, its data
/// key wrapped by `to`, and the new manifest written in one conditional PUT (S3 `If-Match`
/// on the ETag read): a reader sees the old manifest or the new one, and both open the same
/// parts. If a put replaced the object (or it was deleted) after the manifest was read, the
/// store refuses the write and the newer manifest is left alone ([`Rewrapped::Replaced`]):
/// a rewrap never overwrites a version it did not read.
pub async fn rewrap_object(
    store: Arc<dyn ObjectStore>,
    from: &dyn KeyProvider,
    to: &dyn KeyProvider,
    name: &str,
) -> Result<Rewrapped, ObjectError> {
    naming::check_name(name)?;
    let key = naming::manifest_key(name);
    let store_error = |cause: StoreError| match cause {
        StoreError::NotFound { .. } => ObjectError::NotFound {
            name: name.into(),
            store: store.describe(),
        },
        cause => ObjectError::Store {
            name: name.into(),
            cause,
        },
    };
    let (raw, tag) = store.get_tagged(&key).await.map_err(store_error)?;
    let sealed = SealedManifest::parse(raw.to_vec()).map_err(|e| ObjectError::format(name, e))?;
    let (_, resealed) = sealed
        .rewrap(from, to, name)
        .await
        .map_err(|e| ObjectError::format(name, e))?;
    match store.put_if_match(&key, Bytes::from(resealed), &tag).await {
        Ok(()) => Ok(Rewrapped::Done),
        Err(StoreError::PreconditionFailed { .. } | StoreError::NotFound { .. }) => {
            Ok(Rewrapped::Replaced)
        }
        Err(cause) => Err(store_error(cause)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(provider: &str, id: &str) -> Result<WrappedKey, String> {
        Ok(WrappedKey {
            provider: provider.into(),
            key_id: id.into(),
            wrapped: "AAAA".into(),
        })
    }

    #[test]
    fn objects_under_the_target_are_skipped_others_rewrapped_unreadable_refused() {
        let target = RewrapTarget {
            provider: "aws-kms".into(),
            key_id: "arn:aws:kms:us-east-1:1:key/new".into(),
        };
        let manifests = vec![
            ("c".to_owned(), key("local-file", "abcd")),
            (
                "a".to_owned(),
                key("aws-kms", "arn:aws:kms:us-east-1:1:key/new"),
            ),
            (
                "b".to_owned(),
                key("aws-kms", "arn:aws:kms:us-east-1:1:key/old"),
            ),
            ("d".to_owned(), Err("not a mezzfs manifest".to_owned())),
            // Same key id under another provider is not the target.
            (
                "e".to_owned(),
                key("local-file", "arn:aws:kms:us-east-1:1:key/new"),
            ),
        ];
        let plan = plan_rewrap(&manifests, &target);
        assert_eq!(
            plan,
            vec![
                RewrapStep::Skip { name: "a".into() },
                RewrapStep::Rewrap { name: "b".into() },
                RewrapStep::Rewrap { name: "c".into() },
                RewrapStep::Refuse {
                    name: "d".into(),
                    reason: "not a mezzfs manifest".into()
                },
                RewrapStep::Rewrap { name: "e".into() },
            ]
        );
    }

    #[test]
    fn a_finished_rewrap_plans_nothing_more() {
        let target = RewrapTarget {
            provider: "local-file".into(),
            key_id: "k2".into(),
        };
        let manifests: Vec<ManifestKey> = (0..5)
            .map(|i| (format!("o{i}"), key("local-file", "k2")))
            .collect();
        assert!(
            plan_rewrap(&manifests, &target)
                .iter()
                .all(|s| matches!(s, RewrapStep::Skip { .. }))
        );
        assert!(plan_rewrap(&[], &target).is_empty());
    }
}
