//! S3 for mezzfs stores, in a crate of its own so that only what talks to S3 compiles the AWS
//! SDK.
//!
//! - [`S3Store`]: `aws-sdk-s3`, any endpoint, path-style addressing, credentials from the
//!   standard AWS chain; one request per call (the SDK's retries are off: `RetryStore` in
//!   `mezz-store` is the one retry owner).
//! - [`open_store`]: the one way to open the store a [`StoreUrl`] names, S3 or a local
//!   directory, with retries; [`connect_store`] opens it without (for stacks that add their
//!   own, like a mount's).
//! - [`credential_provider_name`]: which source of the AWS credential chain gives credentials.

mod credentials;
mod s3;

use std::sync::Arc;

use mezz_store::{LocalStore, ObjectStore, RetryConfig, RetryStore, StoreError, StoreUrl};

pub use credentials::credential_provider_name;
pub use s3::{S3Options, S3Store};

/// Opens the store a URL names, with retries: a [`RetryStore`](mezz_store::RetryStore) making up to
/// `s3.max_attempts` attempts per request, each bounded by `s3.attempt_timeout`. This is the
/// store for commands and libraries; a mount stacks its own retries on [`connect_store`].
pub async fn open_store(
    url: &StoreUrl,
    s3: &S3Options,
) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let attempts = s3.max_attempts.max(1);
    let retry = RetryConfig {
        max_attempts: attempts,
        attempt_timeout: s3.attempt_timeout,
        deadline: s3.attempt_timeout.saturating_mul(attempts),
        ..RetryConfig::default()
    };
    Ok(Arc::new(RetryStore::new(
        connect_store(url, s3).await?,
        retry,
    )))
}

/// Opens the store a URL names without retries: every call is one request.
pub async fn connect_store(
    url: &StoreUrl,
    s3: &S3Options,
) -> Result<Arc<dyn ObjectStore>, StoreError> {
    Ok(match url {
        StoreUrl::Local(path) => Arc::new(LocalStore::open(path)?),
        StoreUrl::S3 { bucket, prefix } => Arc::new(S3Store::connect(bucket, prefix, s3).await?),
    })
}
