//! Removing an object: the manifest first, so readers that open it afterwards find nothing,
//! then every part of every version (readers that already opened a version lose it).

use mezz_store::{ObjectStore, StoreError};

use crate::{ObjectError, naming};

/// Deletes object `name`; a missing object is an error ([`ObjectError::NotFound`]).
pub async fn delete_object(store: &dyn ObjectStore, name: &str) -> Result<(), ObjectError> {
    naming::check_name(name)?;
    let store_err = |cause| ObjectError::Store {
        name: name.into(),
        cause,
    };
    match store.head(&naming::manifest_key(name)).await {
        Err(StoreError::NotFound { .. }) => {
            return Err(ObjectError::NotFound {
                name: name.into(),
                store: store.describe(),
            });
        }
        Err(cause) => return Err(store_err(cause)),
        Ok(_) => {}
    }
    store
        .delete(&naming::manifest_key(name))
        .await
        .map_err(store_err)?;
    for k in store
        .list(&naming::object_folder(name))
        .await
        .map_err(store_err)?
    {
        store.delete(&k.key).await.map_err(store_err)?;
    }
    Ok(())
}
