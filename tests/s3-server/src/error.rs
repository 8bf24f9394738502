//! The one error type of this crate: why a server could not be started.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why [`S3TestServer::start`](crate::S3TestServer::start) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The data directory could not be created or resolved.
    #[error("cannot prepare data directory {path}: {source}")]
    Root {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A requested bucket name breaks the S3 bucket naming rules.
    #[error("invalid bucket name {0:?} (S3 rules: 3-63 chars of a-z, 0-9, '.', '-')")]
    InvalidBucketName(String),

    /// A requested bucket's directory could not be created.
    #[error("cannot create bucket {bucket:?} at {path}: {source}")]
    CreateBucket {
        bucket: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The `s3s-fs` backend refused the data directory.
    #[error("cannot open s3s-fs backend at {path}: {message}")]
    Backend { path: PathBuf, message: String },

    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    /// The server thread or its tokio runtime could not be started.
    #[error("cannot start server runtime: {0}")]
    Runtime(#[source] std::io::Error),
}
