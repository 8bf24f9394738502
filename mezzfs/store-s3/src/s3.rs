//! The S3 adapter: `aws-sdk-s3` with the SDK's timeouts and without its retries: one
//! request per call, errors mapped to [`StoreError`] so that `RetryStore`, the one retry
//! owner, decides what is tried again.
//!
//! Request checksums are computed only when S3 requires them: every byte mezzfs stores is
//! already authenticated end to end by AES-GCM, so a CRC per request would only cost CPU.

use std::ops::Range;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};

use mezz_store::{
    ObjectMeta, ObjectStore, PendingUpload, PieceTag, ReadStore, StoreError, UploadId,
};

/// How to reach S3. Unset fields come from the standard AWS configuration chain
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, profiles, credentials).
#[derive(Clone, Debug)]
pub struct S3Options {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`); defaults to on when an endpoint is given,
    /// as S3-compatible servers expect.
    pub path_style: Option<bool>,
    /// Attempts per request, the first included, made by the `RetryStore` that
    /// [`open_store`](crate::open_store) puts around the store (the SDK itself makes one).
    pub max_attempts: u32,
    pub connect_timeout: Duration,
    /// Upper bound for one attempt of one request.
    pub attempt_timeout: Duration,
    /// Fixed access key and secret, instead of the credential chain (tests, scripts).
    pub static_credentials: Option<(String, String)>,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            endpoint_url: None,
            region: None,
            path_style: None,
            max_attempts: 5,
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(60),
            static_credentials: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    endpoint: String,
}

impl S3Store {
    pub async fn connect(
        bucket: &str,
        prefix: &str,
        opts: &S3Options,
    ) -> Result<S3Store, StoreError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // RetryStore is the one retry owner; the SDK's retries would multiply its attempts.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(opts.connect_timeout)
                    .operation_attempt_timeout(opts.attempt_timeout)
                    .build(),
            );
        if let Some(e) = &opts.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        if let Some((id, secret)) = &opts.static_credentials {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                id,
                secret,
                None,
                None,
                "mezzfs-static",
            ));
        }
        if let Some(r) = &opts.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        let shared = loader.load().await;
        let endpoint = opts
            .endpoint_url
            .clone()
            .or_else(|| shared.endpoint_url().map(str::to_string))
            .unwrap_or_else(|| "AWS S3".to_string());
        let mut conf = aws_sdk_s3::config::Builder::from(&shared)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if shared.region().is_none() {
            conf = conf.region(aws_config::Region::new("us-east-1"));
        }
        let path_style = opts.path_style.unwrap_or(shared.endpoint_url().is_some());
        conf = conf.force_path_style(path_style);
        Ok(S3Store {
            client: Client::from_conf(conf.build()),
            bucket: bucket.into(),
            prefix: prefix.into(),
            endpoint,
        })
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn err<E>(
        &self,
        key: &str,
        e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let detail = DisplayErrorContext(&e).to_string();
        let key = format!("s3://{}/{}", self.bucket, self.full(key));
        match &e {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                return StoreError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    detail,
                };
            }
            SdkError::ConstructionFailure(_) => {
                return StoreError::Remote {
                    key,
                    status: 0,
                    detail,
                };
            }
            _ => {}
        }
        let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
        match (e.code(), status) {
            (Some("NoSuchBucket"), _) => StoreError::BucketNotFound {
                bucket: self.bucket.clone(),
            },
            (Some("NoSuchKey" | "NotFound" | "NoSuchUpload"), _) | (_, 404) => {
                StoreError::NotFound { key }
            }
            (Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch"), _)
            | (_, 401 | 403) => StoreError::PermissionDenied { key, detail },
            (Some("SlowDown" | "Throttling" | "RequestLimitExceeded"), _) | (_, 429 | 503) => {
                StoreError::Throttled { key, detail }
            }
            (_, 416) | (Some("InvalidRange"), _) => StoreError::InvalidRange { key, range: 0..0 },
            // A conditional write lost: the object changed (412), or another conditional
            // write to it was in progress (409, real S3).
            (Some("PreconditionFailed" | "ConditionalRequestConflict"), _) | (_, 412) => {
                StoreError::PreconditionFailed { key }
            }
            _ => StoreError::Remote {
                key,
                status,
                detail,
            },
        }
    }

    async fn read_body(
        &self,
        key: &str,
        mut body: ByteStream,
        expected: Option<u64>,
    ) -> Result<Bytes, StoreError> {
        let mut buf = BytesMut::with_capacity(expected.unwrap_or(0) as usize);
        while let Some(chunk) = body.next().await {
            // A body cut off after the response started: worth another try.
            let chunk = chunk.map_err(|e| StoreError::Io {
                key: self.full(key),
                error: std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    DisplayErrorContext(&e).to_string(),
                ),
            })?;
            buf.extend_from_slice(&chunk);
        }
        if let Some(n) = expected
            && buf.len() as u64 != n
        {
            return Err(StoreError::ShortRead {
                key: self.full(key),
                expected: n,
                got: buf.len() as u64,
            });
        }
        Ok(buf.freeze())
    }
}

#[async_trait::async_trait]
impl ReadStore for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        if range.start >= range.end {
            return Ok(Bytes::new());
        }
        let resp = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await
            .map_err(|e| match self.err(key, e) {
                StoreError::InvalidRange { key, .. } => StoreError::InvalidRange {
                    key,
                    range: range.clone(),
                },
                other => other,
            })?;
        self.read_body(key, resp.body, Some(range.end - range.start))
            .await
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        let resp = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
            .map_err(|e| self.err(key, e))?;
        let len = resp.content_length().and_then(|n| u64::try_from(n).ok());
        self.read_body(key, resp.body, len).await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        let resp = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
            .map_err(|e| self.err(key, e))?;
        Ok(ObjectMeta {
            key: key.into(),
            size: resp.content_length().unwrap_or(0).max(0) as u64,
        })
    }
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| self.err(key, e))?;
        Ok(())
    }

    async fn get_tagged(&self, key: &str) -> Result<(Bytes, String), StoreError> {
        let resp = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
            .map_err(|e| self.err(key, e))?;
        let Some(etag) = resp.e_tag().map(str::to_owned) else {
            return Err(StoreError::Unsupported {
                key: key.into(),
                what: "a GET without an ETag (conditional writes need one)",
            });
        };
        let len = resp.content_length().and_then(|n| u64::try_from(n).ok());
        let body = self.read_body(key, resp.body, len).await?;
        Ok((body, etag))
    }

    /// A PUT with `If-Match` (S3 conditional writes).
    async fn put_if_match(&self, key: &str, body: Bytes, tag: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .if_match(tag)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| self.err(key, e))?;
        Ok(())
    }

    /// CopyObject: the store copies the bytes; errors name the source.
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(self.full(to))
            .copy_source(copy_source(&self.bucket, &self.full(from)))
            .send()
            .await
            .map_err(|e| self.err(from, e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full(prefix))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.err(prefix, e))?;
            for o in page.contents() {
                let Some(k) = o.key() else { continue };
                let rel = k.strip_prefix(&self.prefix).unwrap_or(k);
                out.push(ObjectMeta {
                    key: rel.into(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                });
            }
        }
        Ok(out)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match self.err(key, e) {
                StoreError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn create_upload(&self, key: &str) -> Result<UploadId, StoreError> {
        let resp = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
            .map_err(|e| self.err(key, e))?;
        resp.upload_id()
            .map(|s| UploadId(s.into()))
            .ok_or_else(|| StoreError::Remote {
                key: self.full(key),
                status: 200,
                detail: "CreateMultipartUpload returned no upload id".into(),
            })
    }

    async fn upload_piece(
        &self,
        key: &str,
        upload: &UploadId,
        number: u32,
        body: Bytes,
    ) -> Result<PieceTag, StoreError> {
        let resp = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(self.full(key))
            .upload_id(&upload.0)
            .part_number(number as i32)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| self.err(key, e))?;
        Ok(PieceTag {
            number,
            etag: resp.e_tag().unwrap_or_default().into(),
        })
    }

    async fn complete_upload(
        &self,
        key: &str,
        upload: &UploadId,
        mut pieces: Vec<PieceTag>,
    ) -> Result<(), StoreError> {
        pieces.sort_by_key(|p| p.number);
        let parts = pieces
            .into_iter()
            .map(|p| {
                CompletedPart::builder()
                    .part_number(p.number as i32)
                    .e_tag(p.etag)
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(self.full(key))
            .upload_id(&upload.0)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.err(key, e))?;
        Ok(())
    }

    async fn abort_upload(&self, key: &str, upload: &UploadId) -> Result<(), StoreError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(self.full(key))
            .upload_id(&upload.0)
            .send()
            .await
            .map_err(|e| self.err(key, e))?;
        Ok(())
    }

    async fn list_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>, StoreError> {
        let mut out = Vec::new();
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        // Bounded: S3 returns up to 1000 uploads a page; a million is far past any real use.
        for _ in 0..1000 {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(self.full(prefix))
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .map_err(|e| self.err(prefix, e))?;
            for u in page.uploads() {
                let (Some(k), Some(id)) = (u.key(), u.upload_id()) else {
                    continue;
                };
                out.push(PendingUpload {
                    key: k.strip_prefix(&self.prefix).unwrap_or(k).into(),
                    upload: UploadId(id.into()),
                    initiated: u
                        .initiated()
                        .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
                });
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(Into::into);
            id_marker = page.next_upload_id_marker().map(Into::into);
            if key_marker.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

/// `x-amz-copy-source`: `bucket/key`, URL-encoded except for the `/` separators.
fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = format!("{bucket}/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod copy_tests {
    #[test]
    fn copy_sources_are_url_encoded_but_keep_slashes() {
        assert_eq!(
            super::copy_source("b", "p/a b+c.mezz/000001"),
            "b/p/a%20b%2Bc.mezz/000001"
        );
        assert_eq!(super::copy_source("b", "é"), "b/%C3%A9");
    }
}
