//! What a name holds in the store, read from its manifest alone (no data key, no parts): how
//! a mount's writable directories show objects stored before it started.

use mezz_format::SealedManifest;
use mezz_store::{ObjectStore, StoreError};

use crate::{ObjectError, naming};

/// The plaintext size of object `name`, or `None` when there is no such object. The size is
/// the manifest's claim, not yet authenticated (reading the object checks it).
pub async fn stored_size(store: &dyn ObjectStore, name: &str) -> Result<Option<u64>, ObjectError> {
    match store.get(&naming::manifest_key(name)).await {
        Ok(raw) => {
            let sealed =
                SealedManifest::parse(raw.to_vec()).map_err(|e| ObjectError::format(name, e))?;
            Ok(Some(sealed.unverified().plaintext_size))
        }
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(cause) => Err(ObjectError::Store {
            name: name.into(),
            cause,
        }),
    }
}
