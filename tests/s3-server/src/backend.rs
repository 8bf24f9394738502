//! The `s3s::S3` implementation: `s3s-fs` for everything but `GetObject`.
//!
//! Besides serving `GetObject` itself (with its ETag and `If-Match` / `If-None-Match`,
//! `etag.rs`) and the conditions of `PutObject` (`If-Match` / `If-None-Match`, checked and
//! written under a per-key lock that every PUT takes, so no write lands between a
//! condition's check and its write), the wrapper adds three small corrections on top of the
//! delegated calls:
//! writes into a bucket that does not exist answer `NoSuchBucket` (stock `s3s-fs` silently
//! creates the bucket directory), `ListParts` is sorted by part number (stock `s3s-fs`
//! returns directory order), and list entries carry their ETags, as S3's do. Stock `s3s-fs`
//! has no `ListMultipartUploads`; ours lists the uploads from the metadata files `s3s-fs`
//! keeps beside the buckets while an upload is in progress (`uploads.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};
use s3s_fs::FileSystem;

use crate::error::ServerError;
use crate::etag::check_put_conditions;
use crate::fast_get::FastGet;
use crate::throttle::Throttle;

/// `s3s-fs` plus our fast `GetObject`.
#[derive(Debug)]
pub(crate) struct Backend {
    root: PathBuf,
    fs: FileSystem,
    fast: FastGet,
    throttle: Arc<Throttle>,
    /// PUTs of keys hashing to the same stripe are serialised.
    put_locks: Vec<tokio::sync::Mutex<()>>,
}

const PUT_LOCK_STRIPES: usize = 64;

impl Backend {
    /// Opens the data directory `root`, which must exist.
    pub(crate) fn new(root: &Path, throttle: Arc<Throttle>) -> Result<Self, ServerError> {
        let canonical = root.canonicalize().map_err(|source| ServerError::Root {
            path: root.to_path_buf(),
            source,
        })?;
        let fs = FileSystem::new(&canonical).map_err(|err| ServerError::Backend {
            path: canonical.clone(),
            message: format!("{err:?}"),
        })?;
        Ok(Self {
            root: canonical.clone(),
            fs,
            fast: FastGet::new(canonical),
            throttle,
            put_locks: (0..PUT_LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        })
    }

    fn put_lock(&self, bucket: &str, key: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (bucket, key).hash(&mut h);
        &self.put_locks[(h.finish() % PUT_LOCK_STRIPES as u64) as usize]
    }

    /// Directory of `bucket` under the data directory, if the name is a plain file name.
    pub(crate) fn bucket_dir(&self, bucket: &str) -> Option<PathBuf> {
        self.fast.bucket_dir(bucket)
    }
}

#[async_trait::async_trait]
impl S3 for Backend {
    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.throttle.check(&req.input.key)?;
        self.fast.get_object(req.input).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.fs.delete_bucket(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.fast.require_bucket(&req.input.bucket).await?;
        let _writing = self
            .put_lock(&req.input.bucket, &req.input.key)
            .lock()
            .await;
        let input = &req.input;
        if input.if_match.is_some() || input.if_none_match.is_some() {
            let current = self.fast.current_etag(&input.bucket, &input.key).await?;
            check_put_conditions(
                current.as_ref(),
                input.if_match.as_ref(),
                input.if_none_match.as_ref(),
            )?;
        }
        self.fs.put_object(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.fs.head_object(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.fs.copy_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.fast.require_bucket(&req.input.bucket).await?;
        self.fs.delete_objects(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let mut resp = self.fs.list_objects(req).await?;
        if let Some(objects) = resp.output.contents.as_mut() {
            self.fast.fill_etags(&bucket, objects).await?;
        }
        Ok(resp)
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let bucket = req.input.bucket.clone();
        let mut resp = self.fs.list_objects_v2(req).await?;
        if let Some(objects) = resp.output.contents.as_mut() {
            self.fast.fill_etags(&bucket, objects).await?;
        }
        Ok(resp)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fast.require_bucket(&req.input.bucket).await?;
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.fs.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.fs.upload_part_copy(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.fast.require_bucket(&req.input.bucket).await?;
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        self.fast.require_bucket(&input.bucket).await?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let found = crate::uploads::pending(&self.root, &input.bucket, &prefix)
            .map_err(|e| s3s::s3_error!(InternalError, "listing uploads: {e}"))?;
        let uploads = found
            .into_iter()
            .map(|u| MultipartUpload {
                key: Some(u.key),
                upload_id: Some(u.upload_id),
                initiated: u.initiated.map(Timestamp::from),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            is_truncated: Some(false),
            uploads: Some(uploads),
            ..Default::default()
        }))
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let mut resp = self.fs.list_parts(req).await?;
        if let Some(parts) = resp.output.parts.as_mut() {
            parts.sort_by_key(|part| part.part_number);
        }
        Ok(resp)
    }
}
