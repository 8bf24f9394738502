//! Object stores behind one trait, without S3 (that is `mezz-store-s3`).
//!
//! [`ObjectStore`] is the small set of bucket operations mezzfs needs: ranged get, put, head,
//! list, delete, and multipart upload for parts too big to send in one request. Keys are
//! relative to the store's root (an S3 prefix or a directory).
//!
//! - [`LocalStore`]: a directory that behaves like a bucket (atomic puts, multipart uploads),
//!   the embedded default that needs no cloud account.
//! - [`RetryStore`]: the one retry owner; wraps any store, retries transient failures with
//!   full-jitter backoff within a shared [`RetryBudget`], bounds every read attempt (body
//!   included) and every read in time.
//! - [`RegionalStore`]: a near bucket as a cache of a far one; misses are served from the
//!   origin and copied nearby in the background under a lease, so other workers read nearby.
//! - [`CachedStore`] over a [`DiskCache`]: fetched blocks kept on local disk across mounts.
//! - [`ShapedStore`]: adds latency and bandwidth limits, so that `mezzfs replay rerun` and
//!   tests can imitate a distant store. (The fault-injecting store for tests is in
//!   `mezz-testkit`.)
//!
//! [`StoreUrl`] parses `s3://bucket/prefix`, `file:///path` and plain paths. S3 is a crate of
//! its own (`mezz-store-s3`, with `open_store`, which turns a URL into a store), so that the
//! crates built on this one do not compile the AWS SDK.

mod budget;
mod counters;
mod disk_cache;
mod error;
mod local;
mod regional;
mod retry;
mod shaped;
mod url;

use std::fmt::Debug;
use std::ops::Range;

use bytes::Bytes;

pub use budget::RetryBudget;
pub use counters::{StoreCounters, StoreSnapshot};
pub use disk_cache::{
    CacheFileError, CacheFileId, CachedStore, DiskCache, DiskCacheConfig, DiskCacheError,
    DiskCacheSnapshot, DiskCacheStats, encode_cache_file, parse_cache_file,
};
pub use error::StoreError;
pub use local::LocalStore;
pub use regional::{
    Lease, LeaseDecision, RegionalConfig, RegionalCounters, RegionalSnapshot, RegionalStore,
    decide as lease_decision, near_store_url,
};
pub use retry::{RetryConfig, RetryCounters, RetrySnapshot, RetryStore, backoff};
pub use shaped::{Shape, ShapedStore};
pub use url::StoreUrl;

/// What a listing or head returns about one stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
}

/// Identifies a multipart upload in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadId(pub String);

/// What the store returned for one uploaded piece, needed to complete the upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PieceTag {
    pub number: u32,
    pub etag: String,
}

/// The operations mezzfs needs from a bucket. Keys are relative to the store's root.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync + Debug {
    /// Where this store points, for messages (`s3://bucket/prefix`, `/path`).
    fn describe(&self) -> String;

    /// Bytes `range` of `key`; exactly `range.end - range.start` bytes or an error.
    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError>;

    /// The whole object.
    async fn get(&self, key: &str) -> Result<Bytes, StoreError>;

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError>;

    /// Stores `body` under `key`, replacing any object there. Readers see old or new, never
    /// a mix.
    async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError>;

    /// Every object whose key starts with `prefix`, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError>;

    /// Removes `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    async fn create_upload(&self, key: &str) -> Result<UploadId, StoreError>;

    /// Uploads piece `number` (1-based). Every piece but the last must be at least 5 MiB on S3.
    async fn upload_piece(
        &self,
        key: &str,
        upload: &UploadId,
        number: u32,
        body: Bytes,
    ) -> Result<PieceTag, StoreError>;

    /// Assembles the pieces, in number order, into the object `key`.
    async fn complete_upload(
        &self,
        key: &str,
        upload: &UploadId,
        pieces: Vec<PieceTag>,
    ) -> Result<(), StoreError>;

    async fn abort_upload(&self, key: &str, upload: &UploadId) -> Result<(), StoreError>;
}
