//! The KMS provider: `Encrypt` to wrap, `Decrypt` to unwrap, object id as encryption context.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mezz_format::{DataKey, FormatError, KeyProvider, ObjectId, WrappedKey};

/// What manifests call this provider.
pub(crate) const KMS_PROVIDER: &str = "aws-kms";
/// The encryption-context entry binding a wrapped key to its object.
const CONTEXT_KEY: &str = "mezzfs-object-id";
/// A KMS call that takes longer fails: a mount must answer EIO, not hang, when KMS is gone.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Wraps data keys under one KMS key; unwraps keys of any KMS key the caller may use.
#[derive(Clone, Debug)]
pub struct KmsKeys {
    client: Client,
    key_id: String,
}

impl KmsKeys {
    /// A provider for `key_id` (key id, ARN or `alias/NAME`; empty when only unwrapping),
    /// with endpoint, region and credentials found the AWS SDK's way, `endpoint_url`
    /// overriding the endpoint.
    pub async fn connect(key_id: &str, endpoint_url: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(CALL_TIMEOUT)
                .connect_timeout(Duration::from_secs(3))
                .build(),
        );
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        Self {
            client: Client::new(&config),
            key_id: key_id.to_owned(),
        }
    }

    fn service_error(&self, key_id: &str, err: impl std::error::Error) -> FormatError {
        FormatError::KeyService {
            key_id: key_id.to_owned(),
            message: DisplayErrorContext(err).to_string(),
        }
    }
}

#[async_trait]
impl KeyProvider for KmsKeys {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    async fn wrap(&self, key: &DataKey, object: ObjectId) -> Result<WrappedKey, FormatError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(key.expose_bytes().to_vec()))
            .encryption_context(CONTEXT_KEY, object.to_string())
            .send()
            .await
            .map_err(|e| self.service_error(&self.key_id, e))?;
        let blob = out.ciphertext_blob.ok_or_else(|| FormatError::KeyService {
            key_id: self.key_id.clone(),
            message: "Encrypt answered without a ciphertext".into(),
        })?;
        Ok(WrappedKey {
            provider: KMS_PROVIDER.into(),
            // The key's ARN: an alias may later point elsewhere; the ARN keeps naming the key
            // this object needs.
            key_id: out.key_id.unwrap_or_else(|| self.key_id.clone()),
            wrapped: B64.encode(blob.into_inner()),
        })
    }

    async fn unwrap(&self, wrapped: &WrappedKey, object: ObjectId) -> Result<DataKey, FormatError> {
        if wrapped.provider != KMS_PROVIDER {
            return Err(FormatError::KeyProviderMismatch {
                expected: wrapped.provider.clone(),
                found: KMS_PROVIDER.into(),
            });
        }
        let refused = || FormatError::KeyUnwrap {
            key_id: wrapped.key_id.clone(),
        };
        let blob = B64.decode(&wrapped.wrapped).map_err(|_| refused())?;
        let out = self
            .client
            .decrypt()
            .key_id(&wrapped.key_id)
            .ciphertext_blob(Blob::new(blob))
            .encryption_context(CONTEXT_KEY, object.to_string())
            .send()
            .await
            .map_err(|e| {
                // Wrong context or altered ciphertext: the manifest, not the service, is at fault.
                if e.as_service_error()
                    .is_some_and(|s| s.is_invalid_ciphertext_exception())
                {
                    refused()
                } else {
                    self.service_error(&wrapped.key_id, e)
                }
            })?;
        let plain = out.plaintext.ok_or_else(refused)?.into_inner();
        let key: [u8; 32] = plain.as_slice().try_into().map_err(|_| refused())?;
        Ok(DataKey::from_bytes(key))
    }
}
