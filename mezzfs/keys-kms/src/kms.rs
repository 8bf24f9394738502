//! The KMS provider: `GenerateDataKey` for new objects, `Encrypt` to re-wrap an existing
//! data key (rotation), `Decrypt` to unwrap; the object's name and id as encryption context.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mezz_format::{DataKey, FormatError, KeyBinding, KeyProvider, WrappedKey};

/// What manifests call this provider.
pub const KMS_PROVIDER: &str = "aws-kms";
/// The encryption-context entries binding a wrapped key to its object version: KMS refuses
/// to decrypt under any other context, and logs the context with every call (CloudTrail).
const CONTEXT_ID: &str = "mezzfs-object-id";
const CONTEXT_NAME: &str = "mezzfs-object-name";
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

    /// The ARN of the key new objects are wrapped under (resolving an alias), as manifests
    /// record it.
    pub async fn resolve_key_arn(&self) -> Result<String, FormatError> {
        let out = self
            .client
            .describe_key()
            .key_id(&self.key_id)
            .send()
            .await
            .map_err(|e| self.service_error(&self.key_id, e))?;
        out.key_metadata
            .and_then(|m| m.arn)
            .ok_or_else(|| FormatError::KeyService {
                key_id: self.key_id.clone(),
                message: "DescribeKey answered without the key's ARN".into(),
            })
    }

    fn wrapped(
        &self,
        arn: Option<String>,
        blob: Option<Blob>,
        call: &str,
    ) -> Result<WrappedKey, FormatError> {
        let blob = blob.ok_or_else(|| FormatError::KeyService {
            key_id: self.key_id.clone(),
            message: format!("{call} answered without a ciphertext"),
        })?;
        Ok(WrappedKey {
            provider: KMS_PROVIDER.into(),
            // The key's ARN: an alias may later point elsewhere; the ARN keeps naming the key
            // this object needs.
            key_id: arn.unwrap_or_else(|| self.key_id.clone()),
            wrapped: B64.encode(blob.into_inner()),
        })
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

    async fn generate(&self, object: KeyBinding<'_>) -> Result<(DataKey, WrappedKey), FormatError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .number_of_bytes(32)
            .set_encryption_context(Some(context(object)))
            .send()
            .await
            .map_err(|e| self.service_error(&self.key_id, e))?;
        let plain = out
            .plaintext
            .ok_or_else(|| FormatError::KeyService {
                key_id: self.key_id.clone(),
                message: "GenerateDataKey answered without a plaintext key".into(),
            })?
            .into_inner();
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| FormatError::KeyService {
                key_id: self.key_id.clone(),
                message: format!("GenerateDataKey answered a {}-byte key", plain.len()),
            })?;
        let wrapped = self.wrapped(out.key_id, out.ciphertext_blob, "GenerateDataKey")?;
        Ok((DataKey::from_bytes(key), wrapped))
    }

    async fn wrap(&self, key: &DataKey, object: KeyBinding<'_>) -> Result<WrappedKey, FormatError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(key.expose_bytes().to_vec()))
            .set_encryption_context(Some(context(object)))
            .send()
            .await
            .map_err(|e| self.service_error(&self.key_id, e))?;
        self.wrapped(out.key_id, out.ciphertext_blob, "Encrypt")
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedKey,
        object: KeyBinding<'_>,
    ) -> Result<DataKey, FormatError> {
        if wrapped.provider != KMS_PROVIDER {
            return Err(FormatError::KeyProviderMismatch {
                expected: wrapped.provider.clone(),
                found: KMS_PROVIDER.into(),
            });
        }
        let refused = || FormatError::KeyNotBound {
            key_id: wrapped.key_id.clone(),
            name: object.name.to_owned(),
        };
        let blob = B64.decode(&wrapped.wrapped).map_err(|_| refused())?;
        let out = self
            .client
            .decrypt()
            .key_id(&wrapped.key_id)
            .ciphertext_blob(Blob::new(blob))
            .set_encryption_context(Some(context(object)))
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

fn context(object: KeyBinding<'_>) -> HashMap<String, String> {
    HashMap::from([
        (CONTEXT_ID.to_owned(), object.id.to_string()),
        (CONTEXT_NAME.to_owned(), object.name.to_owned()),
    ])
}
