//! The key ring: wrap with the chosen provider, unwrap with the one each manifest names.

use std::path::PathBuf;

use async_trait::async_trait;
use mezz_format::{
    DataKey, FormatError, KeyBinding, KeyProvider, LOCAL_PROVIDER, LocalKeyFile, WrappedKey,
};
use tokio::sync::OnceCell;

use crate::kms::{KMS_PROVIDER, KmsKeys};

/// The local key file, or where it was looked for.
#[derive(Debug)]
enum LocalKey {
    Loaded(Box<LocalKeyFile>),
    Missing(Option<PathBuf>),
}

/// Every provider a tool may need, each opened only when an object needs it.
#[derive(Debug)]
pub struct KeyRing {
    local: LocalKey,
    /// New objects are wrapped by KMS under this key when set, else by the key file.
    kms_key_id: Option<String>,
    kms_endpoint: Option<String>,
    kms: OnceCell<KmsKeys>,
}

impl KeyRing {
    /// A ring with the key file `local` (loaded by the caller, or `Err` with the path it
    /// looked for, used in the error when an object needs it), wrapping new objects under
    /// `kms_key_id` when given.
    pub fn new(
        local: Result<LocalKeyFile, Option<PathBuf>>,
        kms_key_id: Option<String>,
        kms_endpoint: Option<String>,
    ) -> Self {
        Self {
            local: match local {
                Ok(file) => LocalKey::Loaded(Box::new(file)),
                Err(path) => LocalKey::Missing(path),
            },
            kms_key_id,
            kms_endpoint,
            kms: OnceCell::new(),
        }
    }

    /// Fails, before any work is done, when new objects cannot be wrapped: no KMS key and
    /// no key file.
    pub fn check_can_wrap(&self) -> Result<(), FormatError> {
        match self.kms_key_id {
            Some(_) => Ok(()),
            None => self.local().map(|_| ()),
        }
    }

    /// The provider and key id new wraps go under, as a manifest records them (for KMS the
    /// key's ARN, so an alias is resolved with `DescribeKey`).
    pub async fn wrapping_key(&self) -> Result<(String, String), FormatError> {
        match self.kms_key_id {
            Some(_) => Ok((
                KMS_PROVIDER.into(),
                self.kms().await.resolve_key_arn().await?,
            )),
            None => Ok((LOCAL_PROVIDER.into(), self.local()?.key_id().to_owned())),
        }
    }

    async fn kms(&self) -> &KmsKeys {
        self.kms
            .get_or_init(|| {
                KmsKeys::connect(
                    self.kms_key_id.as_deref().unwrap_or_default(),
                    self.kms_endpoint.as_deref(),
                )
            })
            .await
    }

    fn local(&self) -> Result<&LocalKeyFile, FormatError> {
        match &self.local {
            LocalKey::Loaded(file) => Ok(file),
            LocalKey::Missing(path) => Err(FormatError::KeyFile {
                path: path.clone().unwrap_or_default(),
                reason: match path {
                    Some(p) => format!(
                        "does not exist; create one with `mezzfs key generate {}`, or wrap \
                         with KMS (--kms-key-id)",
                        p.display()
                    ),
                    None => "no key file given and no default location (set HOME or \
                             MEZZFS_KEY_FILE), and no --kms-key-id"
                        .into(),
                },
            }),
        }
    }
}

#[async_trait]
impl KeyProvider for KeyRing {
    fn key_id(&self) -> &str {
        match (&self.kms_key_id, &self.local) {
            (Some(id), _) => id,
            (None, LocalKey::Loaded(file)) => file.key_id(),
            (None, LocalKey::Missing(_)) => "",
        }
    }

    async fn generate(&self, object: KeyBinding<'_>) -> Result<(DataKey, WrappedKey), FormatError> {
        match self.kms_key_id {
            Some(_) => self.kms().await.generate(object).await,
            None => self.local()?.generate(object).await,
        }
    }

    async fn wrap(&self, key: &DataKey, object: KeyBinding<'_>) -> Result<WrappedKey, FormatError> {
        match self.kms_key_id {
            Some(_) => self.kms().await.wrap(key, object).await,
            None => self.local()?.wrap(key, object).await,
        }
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedKey,
        object: KeyBinding<'_>,
    ) -> Result<DataKey, FormatError> {
        match wrapped.provider.as_str() {
            KMS_PROVIDER => self.kms().await.unwrap(wrapped, object).await,
            LOCAL_PROVIDER => self.local()?.unwrap(wrapped, object).await,
            other => Err(FormatError::KeyProviderMismatch {
                expected: other.to_owned(),
                found: format!("{LOCAL_PROVIDER} or {KMS_PROVIDER}"),
            }),
        }
    }
}
