//! `mezz-s3-server`: a real S3-compatible HTTP server on loopback for the project's
//! integration tests and benchmarks.
//!
//! # What it is
//!
//! Storage and nearly every S3 operation come from [`s3s_fs::FileSystem`] (the file-system
//! backend of the `s3s` project): bucket `b`, key `k/x` lives at `ROOT/b/k/x`, metadata and
//! in-progress multipart parts sit beside the buckets as hidden files in `ROOT`. The request
//! parsing, SigV4 checking and XML come from [`s3s`].
//!
//! # Why it exists
//!
//! Stock `s3s-fs` is correct but too slow to benchmark a client against, for two measured
//! reasons, and this crate fixes both with its own code:
//!
//! 1. **Nagle.** The stock accept loop leaves `TCP_NODELAY` off, so every small ranged GET
//!    waits for a delayed ACK (~24 ms per 64 KiB range). Our accept loop (`server.rs`) sets
//!    `TCP_NODELAY` on every accepted socket.
//! 2. **4 KiB reads.** Stock `GetObject` streams the file through `tokio::fs` in 4 KiB reads,
//!    each one a trip through the blocking pool. We serve `GetObject` ourselves
//!    (`fast_get.rs`, `file_stream.rs`): positional reads (`pread`) of up to 1 MiB on the
//!    blocking pool, one chunk read ahead, so memory per GET stays at about 2 MiB whatever the
//!    object size. Every other operation is delegated to `s3s-fs` unchanged (`backend.rs`).
//!
//! Requests must be signed with the fixed test credentials [`ACCESS_KEY`] / [`SECRET_KEY`] in
//! region [`REGION`]; clients must use path-style addressing.
//!
//! # How tests use it
//!
//! ```no_run
//! use mezz_s3_server::{S3TestServer, ACCESS_KEY, SECRET_KEY, REGION};
//!
//! let dir = std::env::temp_dir().join("my-test-s3");
//! let server = S3TestServer::start(&dir, &["media"])?;
//! // Point any S3 client at `server.endpoint()` ("http://127.0.0.1:PORT") with
//! // path-style addressing, region REGION and the credentials ACCESS_KEY / SECRET_KEY.
//! println!("{} {ACCESS_KEY} {SECRET_KEY} {REGION}", server.endpoint());
//! server.shutdown(); // dropping it does the same
//! # Ok::<(), mezz_s3_server::ServerError>(())
//! ```
//!
//! The server runs on its own thread with its own tokio runtime, so it works from plain
//! `#[test]` functions and from inside any async runtime alike. Scripts can use the
//! `mezz-s3-server` binary instead, which prints `listening on http://ADDR` once ready.

mod backend;
mod error;
mod etag;
mod fast_get;
mod file_stream;
mod server;
mod throttle;
mod uploads;

pub use error::ServerError;
pub use server::S3TestServer;
pub use throttle::{Throttle, ThrottleCounts};

/// Access key every request must be signed with.
pub const ACCESS_KEY: &str = "mezz-test-access-key";
/// Secret key every request must be signed with.
pub const SECRET_KEY: &str = "mezz-test-secret-key";
/// Region clients should sign for.
pub const REGION: &str = "us-east-1";
