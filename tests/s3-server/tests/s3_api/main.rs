//! The server against the real AWS SDK over loopback HTTP.

mod lifecycle;
mod multipart;
mod objects;
mod ranges;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub const BUCKET: &str = "media";

/// A server on a fresh temp directory plus a client for it.
#[derive(Debug)]
pub struct Fixture {
    pub server: S3TestServer,
    pub client: Client,
    _dir: tempfile::TempDir,
}

pub fn fixture() -> Result<Fixture, Box<dyn std::error::Error + Send + Sync>> {
    let dir = tempfile::tempdir()?;
    let server = S3TestServer::start(&dir.path().join("data"), &[BUCKET])?;
    let client = client_for(&server.endpoint());
    Ok(Fixture {
        server,
        client,
        _dir: dir,
    })
}

pub fn client_for(endpoint: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            None,
            None,
            "mezz-s3-server-tests",
        ))
        .build();
    Client::from_conf(config)
}

/// Deterministic pseudo-random bytes (xorshift64*), different per seed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub async fn put(client: &Client, bucket: &str, key: &str, data: &[u8]) -> TestResult {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await?;
    Ok(())
}

pub async fn get(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let out = client.get_object().bucket(bucket).key(key).send().await?;
    Ok(out.body.collect().await?.into_bytes().to_vec())
}

/// The S3 error code of a failed call, e.g. `"NoSuchKey"`.
pub fn error_code<T, E: ProvideErrorMetadata>(result: &Result<T, E>) -> Option<String> {
    result
        .as_ref()
        .err()
        .and_then(|e| e.code())
        .map(str::to_owned)
}
