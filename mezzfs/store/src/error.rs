use std::ops::Range;

/// Why a store operation failed, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{key}: not found")]
    NotFound { key: String },
    #[error("bucket or store root '{bucket}' does not exist")]
    BucketNotFound { bucket: String },
    #[error("{key}: permission denied ({detail})")]
    PermissionDenied { key: String, detail: String },
    #[error("cannot reach {endpoint}: {detail}")]
    Unreachable { endpoint: String, detail: String },
    #[error("{key}: throttled by the store after retries ({detail})")]
    Throttled { key: String, detail: String },
    #[error("{key}: asked for {expected} bytes, got {got}")]
    ShortRead {
        key: String,
        expected: u64,
        got: u64,
    },
    #[error("{key}: range {range:?} is outside the object")]
    InvalidRange { key: String, range: Range<u64> },
    #[error("{key}: no space left on device")]
    NoSpace { key: String },
    #[error("{key}: {error}")]
    Io { key: String, error: std::io::Error },
    #[error("{key}: the store answered {status}: {detail}")]
    Remote {
        key: String,
        status: u16,
        detail: String,
    },
    #[error("invalid key '{key}': {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("invalid store URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("{key}: no answer within {after:?}")]
    TimedOut {
        key: String,
        after: std::time::Duration,
    },
    #[error("{key}: changed since it was read (another write came first; nothing was replaced)")]
    PreconditionFailed { key: String },
    #[error("{key}: {what} is not supported by this store")]
    Unsupported { key: String, what: &'static str },
    #[error("{key}: injected fault ({kind})")]
    Injected { key: String, kind: &'static str },
}

impl StoreError {
    /// Whether trying again later could succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unreachable { .. }
            | StoreError::Throttled { .. }
            | StoreError::ShortRead { .. }
            | StoreError::TimedOut { .. }
            | StoreError::Injected { .. } => true,
            StoreError::Remote { status, .. } => *status >= 500 || *status == 429,
            StoreError::Io { error, .. } => matches!(
                error.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }

    pub(crate) fn io(key: &str, e: std::io::Error) -> StoreError {
        match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound { key: key.into() },
            std::io::ErrorKind::PermissionDenied => StoreError::PermissionDenied {
                key: key.into(),
                detail: e.to_string(),
            },
            std::io::ErrorKind::StorageFull => StoreError::NoSpace { key: key.into() },
            _ => StoreError::Io {
                key: key.into(),
                error: e,
            },
        }
    }
}
