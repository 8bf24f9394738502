//! Renaming a stored object without moving its bytes through the client.
//!
//! A part's segments are bound to the object id and geometry, not to the name; only the
//! manifest names the object (in its authenticated body, and in the wrapped data key's
//! binding). So a rename is: copy each part inside the store (S3 CopyObject) to the new
//! name's version folder, write a manifest naming the new name (the same data key, re-wrapped
//! for it), then delete the old object, manifest first. Nothing is re-encrypted or
//! downloaded; the cost is one copy request per part and a few small requests.
//!
//! Order is what keeps a half-done rename invisible: the new manifest goes in only after
//! every part is copied, so until then readers of the new name find nothing (or the version
//! it replaces) and the old object is intact. A failed copy deletes the parts copied so far
//! (best effort, a few tries each; a part left behind is invisible, since no manifest points
//! at it, and `put` of that name removes it). A rename interrupted after the new manifest
//! went in leaves both names readable: running it again with overwriting allowed finishes it
//! (the destination already holds this version, so only the old name is deleted).
//!
//! Not atomic against other writers: a writer that creates `to` between the existence
//! check and the manifest write is overwritten, and one that replaces `from` while it is
//! being renamed loses its version (the mount serialises its own writers per name).

use bytes::Bytes;
use futures::{StreamExt, stream};
use mezz_format::{KeyProvider, Manifest, ObjectId, SealedManifest};
use mezz_store::{ObjectStore, StoreError};

use crate::{ObjectError, naming};

/// Part copies in flight at once.
const COPIES_IN_FLIGHT: usize = 8;

/// Renames object `from` to `to`. An existing `to` is an error ([`ObjectError::Exists`])
/// unless `overwrite`; then it is replaced, and the parts of the version it replaces are
/// kept (readers that opened it keep reading, as for overwrites through the mount). A
/// missing `from` is [`ObjectError::NotFound`]. Returns the new manifest.
pub async fn rename_object(
    store: &dyn ObjectStore,
    keys: &dyn KeyProvider,
    from: &str,
    to: &str,
    overwrite: bool,
) -> Result<Manifest, ObjectError> {
    naming::check_name(from)?;
    naming::check_name(to)?;
    let not_found = |name: &str| ObjectError::NotFound {
        name: name.into(),
        store: store.describe(),
    };
    let store_err = |name: &str, cause: StoreError| match cause {
        StoreError::NotFound { .. } => not_found(name),
        cause => ObjectError::Store {
            name: name.into(),
            cause,
        },
    };
    let raw = store
        .get(&naming::manifest_key(from))
        .await
        .map_err(|e| store_err(from, e))?;
    let sealed = SealedManifest::parse(raw.to_vec()).map_err(|e| ObjectError::format(from, e))?;
    if from == to {
        let opened = sealed
            .open(keys, from)
            .await
            .map_err(|e| ObjectError::format(from, e))?;
        return Ok(opened.manifest);
    }
    let (manifest, resealed) = sealed
        .renamed(keys, from, to)
        .await
        .map_err(|e| ObjectError::format(from, e))?;
    let id = manifest.id().map_err(|e| ObjectError::format(from, e))?;

    // What `to` holds now decides whether we may go on, and whether this version is already
    // there (a rename interrupted after its manifest went in: only the old name is left to
    // delete).
    let already_there = match existing_version(store, to).await? {
        None => false,
        Some(_) if !overwrite => return Err(ObjectError::Exists { name: to.into() }),
        Some(None) => false,
        Some(Some(existing)) => existing.id == id && existing.open(keys, to).await.is_ok(),
    };
    if !already_there {
        if let Err(e) = copy_parts(store, from, to, id, manifest.part_count).await {
            remove_version(store, to, id).await;
            return Err(e);
        }
        if let Err(cause) = store
            .put(&naming::manifest_key(to), Bytes::from(resealed))
            .await
        {
            remove_version(store, to, id).await;
            return Err(ObjectError::Store {
                name: to.into(),
                cause,
            });
        }
    }
    crate::delete_object(store, from).await?;
    Ok(manifest)
}

/// A manifest found at the destination, with the version it claims (checked before it is
/// trusted).
struct Existing {
    id: ObjectId,
    sealed: SealedManifest,
}

impl Existing {
    async fn open(self, keys: &dyn KeyProvider, name: &str) -> Result<(), ObjectError> {
        let opened = self
            .sealed
            .open(keys, name)
            .await
            .map_err(|e| ObjectError::format(name, e))?;
        if opened.id == self.id {
            Ok(())
        } else {
            Err(ObjectError::Other(format!("'{name}' changed meanwhile")))
        }
    }
}

/// Whether object `name` exists, and (when its manifest parses) what it claims to be.
async fn existing_version(
    store: &dyn ObjectStore,
    name: &str,
) -> Result<Option<Option<Existing>>, ObjectError> {
    match store.get(&naming::manifest_key(name)).await {
        Ok(raw) => Ok(Some(SealedManifest::parse(raw.to_vec()).ok().and_then(
            |sealed| {
                let id = sealed.unverified().id().ok()?;
                Some(Existing { id, sealed })
            },
        ))),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(cause) => Err(ObjectError::Store {
            name: name.into(),
            cause,
        }),
    }
}

/// Copies parts `0..parts` of version `id` from `from`'s folder to `to`'s, a few at once.
/// Every copy started is waited for, even after one fails: a copy dropped in flight can still
/// land (the store finishes it, or a blocking local copy runs on), after the caller has
/// cleaned up, leaving a part no manifest points at.
pub(crate) async fn copy_parts(
    store: &dyn ObjectStore,
    from: &str,
    to: &str,
    id: ObjectId,
    parts: u64,
) -> Result<(), ObjectError> {
    let results: Vec<Result<(), ObjectError>> = stream::iter(0..parts)
        .map(|part| async move {
            store
                .copy(
                    &naming::part_key(from, id, part),
                    &naming::part_key(to, id, part),
                )
                .await
                .map_err(|e| ObjectError::part(from, part, e))
        })
        .buffer_unordered(COPIES_IN_FLIGHT)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Deletes the parts of version `id` of `name`. Best effort: the caller already failed, or
/// the parts are a copy no manifest points at any more.
pub(crate) async fn remove_version(store: &dyn ObjectStore, name: &str, id: ObjectId) {
    let Ok(keys) = store.list(&naming::version_folder(name, id)).await else {
        tracing::warn!(
            object = name,
            "could not list the parts of a failed or finished rename"
        );
        return;
    };
    for k in keys {
        let mut removed = false;
        for _ in 0..3 {
            if store.delete(&k.key).await.is_ok() {
                removed = true;
                break;
            }
        }
        if !removed {
            tracing::warn!(key = %k.key, "could not delete a part left by a rename");
        }
    }
}
