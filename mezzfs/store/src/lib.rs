//! Object stores behind two traits, without S3 (that is `mezz-store-s3`).
//!
//! [`ReadStore`] is what a reader needs (ranged get, get, head); [`ObjectStore`] adds what
//! putting objects needs (put, list, delete, multipart uploads) and a conditional replace
//! (`get_tagged` / `put_if_match`, S3's `If-Match`) for rewriting manifests in place, and a
//! server-side `copy` (S3 CopyObject, a hard link in a directory) for renaming objects without
//! moving their bytes through the client. Keys are relative to the store's root (an S3 prefix
//! or a directory).
//!
//! - [`LocalStore`]: a directory that behaves like a bucket (atomic puts, multipart uploads),
//!   the embedded default that needs no cloud account.
//! - [`RetryStore`]: the one retry owner; wraps any store (its read side, or all of it),
//!   retries transient failures with full-jitter backoff within a shared [`RetryBudget`],
//!   bounds every read attempt (body included) and every read in time.
//! - [`RangeCache`]: the caches in front of a store, read through a [`CachedStore`] (the one
//!   place a read meets a cache): [`DiskCache`] keeps fetched blocks on local disk across
//!   mounts; [`RegionalCache`] uses a near bucket as a cache of a far one (misses served from
//!   the origin and copied nearby in the background under a lease, so other workers read
//!   nearby). Caches have no write side.
//! - [`ShapedStore`]: adds latency and bandwidth limits to reads, so that `mezzfs replay
//!   rerun` and tests can imitate a distant store. (The fault-injecting store for tests is in
//!   `mezz-testkit`.)
//!
//! [`StoreUrl`] parses `s3://bucket/prefix`, `file:///path` and plain paths. S3 is a crate of
//! its own (`mezz-store-s3`, with `open_store`, which turns a URL into a store), so that the
//! crates built on this one do not compile the AWS SDK.

mod budget;
mod cached;
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
pub use cached::{CachedStore, RangeCache};
pub use counters::{StoreCounters, StoreSnapshot};
pub use disk_cache::{
    CacheFileError, CacheFileId, DiskCache, DiskCacheConfig, DiskCacheError, DiskCacheSnapshot,
    DiskCacheStats, encode_cache_file, parse_cache_file,
};
pub use error::StoreError;
pub use local::LocalStore;
pub use regional::{
    Lease, RegionalCache, RegionalConfig, RegionalCounters, RegionalSnapshot, near_store_url,
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

/// A multipart upload begun and neither completed nor aborted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingUpload {
    pub key: String,
    pub upload: UploadId,
    /// When it was begun, when the store says.
    pub initiated: Option<std::time::SystemTime>,
}

/// What the store returned for one uploaded piece, needed to complete the upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PieceTag {
    pub number: u32,
    pub etag: String,
}

/// The read side of a bucket: what a reader of stored objects needs. Keys are relative to the
/// store's root.
#[async_trait::async_trait]
pub trait ReadStore: Send + Sync + Debug {
    /// Where this store points, for messages (`s3://bucket/prefix`, `/path`).
    fn describe(&self) -> String;

    /// Bytes `range` of `key`; exactly `range.end - range.start` bytes or an error.
    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError>;

    /// The whole object.
    async fn get(&self, key: &str) -> Result<Bytes, StoreError>;

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError>;
}

/// A whole bucket: the read side and the writes, listings and multipart uploads that putting
/// objects needs.
#[async_trait::async_trait]
pub trait ObjectStore: ReadStore {
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

    /// The whole object and a tag naming this version of it (S3: its ETag), to replace it
    /// later only if it is unchanged ([`put_if_match`](Self::put_if_match)).
    async fn get_tagged(&self, key: &str) -> Result<(Bytes, String), StoreError> {
        Err(StoreError::Unsupported {
            key: key.into(),
            what: "reading an object with its version tag",
        })
    }

    /// Replaces `key` with `body` only if it is still the version `tag` names (S3: a PUT
    /// with `If-Match`). No other write can land between the check and the replacement:
    /// [`StoreError::PreconditionFailed`] when one came first, `NotFound` when it is gone.
    async fn put_if_match(&self, key: &str, _body: Bytes, _tag: &str) -> Result<(), StoreError> {
        Err(StoreError::Unsupported {
            key: key.into(),
            what: "a conditional write",
        })
    }

    /// Copies object `from` to `to` inside the store, replacing any object at `to`, without
    /// the bytes passing through the caller (S3: CopyObject, up to 5 GiB per object).
    /// `NotFound` when `from` is missing. Readers of `to` see the old or the new object.
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let _ = to;
        Err(StoreError::Unsupported {
            key: from.into(),
            what: "a server-side copy",
        })
    }

    /// Multipart uploads in progress (or abandoned) whose key starts with `prefix`, in key
    /// order.
    async fn list_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>, StoreError>;
}
