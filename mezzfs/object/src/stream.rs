//! Storing an object from bytes handed over as a program writes them (the mount's writable
//! directories): the same chunks, sealing, uploads and manifest-last commit as
//! [`put_object`](crate::put_object), driven by pushes instead of a source to read.
//!
//! Memory is bounded by the caller's semaphore, shared by every writer of a mount: the chunk
//! being filled holds a permit, and each chunk keeps its permit until its upload ends. A
//! writer that needs a permit waits for one, so a slow store slows the writers down instead
//! of growing memory.

use std::sync::Arc;

use mezz_format::{KeyProvider, Manifest, ObjectId};
use mezz_store::ObjectStore;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ObjectError;
use crate::PutProgress;
use crate::chunking::{ChunkGeometry, Cutter};
use crate::upload::{self, Uploads};

/// How a [`StreamWriter`] cuts its object.
#[derive(Clone, Copy, Debug)]
pub struct StreamOptions {
    pub part_size: u64,
    pub segment_size: u32,
    /// Plaintext bytes per upload request (and multipart piece); the unit of the permits.
    pub chunk_size: u64,
    /// Keep the parts of earlier versions when committing (readers that opened them keep
    /// reading); otherwise they are deleted as `put` does.
    pub keep_old_versions: bool,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            part_size: mezz_format::DEFAULT_PART_SIZE,
            segment_size: mezz_format::DEFAULT_SEGMENT_SIZE,
            chunk_size: 8 << 20,
            keep_old_versions: false,
        }
    }
}

/// A new object version written in order, committed by [`StreamWriter::commit`].
pub struct StreamWriter {
    uploads: Uploads,
    cutter: Cutter,
    permits: Arc<Semaphore>,
    /// The permit of the chunk being filled.
    filling: Option<OwnedSemaphorePermit>,
    keep_old_versions: bool,
    progress: Arc<PutProgress>,
}

impl std::fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamWriter")
            .field("name", &self.uploads.name())
            .field("len", &self.cutter.len())
            .finish_non_exhaustive()
    }
}

impl StreamWriter {
    /// Starts a new version of `name` (a fresh object id and data key); nothing is visible
    /// until [`commit`](Self::commit). Chunks take permits from `permits`.
    pub async fn create(
        store: Arc<dyn ObjectStore>,
        keys: &dyn KeyProvider,
        name: &str,
        opts: StreamOptions,
        permits: Arc<Semaphore>,
    ) -> Result<StreamWriter, ObjectError> {
        let progress = Arc::new(PutProgress::default());
        let uploads = Uploads::begin(
            store,
            keys,
            name,
            opts.part_size,
            opts.segment_size,
            progress.clone(),
        )
        .await?;
        Ok(StreamWriter {
            uploads,
            cutter: Cutter::new(ChunkGeometry::new(
                opts.part_size,
                opts.segment_size,
                opts.chunk_size,
            )),
            permits,
            filling: None,
            keep_old_versions: opts.keep_old_versions,
            progress,
        })
    }

    pub fn name(&self) -> &str {
        self.uploads.name()
    }

    /// The version being written.
    pub fn id(&self) -> ObjectId {
        self.uploads.id()
    }

    /// Bytes written so far: the offset the next write must start at.
    pub fn len(&self) -> u64 {
        self.cutter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cutter.is_empty()
    }

    /// Plaintext bytes whose upload has finished.
    pub fn uploaded(&self) -> u64 {
        self.progress
            .uploaded
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Appends `data`. Waits while the memory budget is spent; fails once an upload of this
    /// version has failed (the version can then only be abandoned).
    pub async fn write(&mut self, data: &[u8]) -> Result<(), ObjectError> {
        self.check()?;
        let mut rest = data;
        while !rest.is_empty() {
            if self.filling.is_none() {
                let permit =
                    self.permits.clone().acquire_owned().await.map_err(|_| {
                        ObjectError::Other("the writer's memory budget closed".into())
                    })?;
                self.filling = Some(permit);
            }
            let pushed = self.cutter.push(rest);
            rest = &rest[pushed.taken..];
            upload::count_read(&self.progress, pushed.taken);
            if let Some(chunk) = pushed.full {
                let permit = self.filling.take().ok_or_else(|| {
                    ObjectError::Other("a full chunk without its memory permit".into())
                })?;
                self.uploads.spawn(chunk, permit);
                self.check()?;
            }
        }
        Ok(())
    }

    /// Waits until every full chunk written so far is uploaded, and says whether they all
    /// were. The chunk being filled stays in memory: it is uploaded when full or at commit.
    pub async fn flush(&mut self) -> Result<(), ObjectError> {
        self.uploads.settle().await.map_err(ObjectError::Other)
    }

    fn check(&mut self) -> Result<(), ObjectError> {
        self.uploads.reap();
        match self.uploads.failed() {
            Some(e) => Err(ObjectError::Other(e)),
            None => Ok(()),
        }
    }

    /// Uploads the last chunk, waits for every upload, then writes the manifest: the version
    /// appears at once, whole. On failure nothing appears and the version's uploads are
    /// aborted and its parts deleted.
    pub async fn commit(self) -> Result<Manifest, ObjectError> {
        self.commit_inner(None).await
    }

    /// [`commit`](Self::commit) under the name `to` instead of the one it was created with
    /// (a file renamed while being written): the parts are copied inside the store to `to`
    /// and the data key re-wrapped for it by `keys` (the provider it was created with), so
    /// the object appears only under `to`.
    pub async fn commit_as(
        self,
        keys: &dyn KeyProvider,
        to: &str,
    ) -> Result<Manifest, ObjectError> {
        self.commit_inner(Some((keys, to))).await
    }

    async fn commit_inner(
        mut self,
        rename: Option<(&dyn KeyProvider, &str)>,
    ) -> Result<Manifest, ObjectError> {
        let size = self.cutter.len();
        let filling = self.filling.take();
        if let Some(last) = self.cutter.finish() {
            let permit =
                match filling {
                    Some(p) => p,
                    None => self.permits.clone().acquire_owned().await.map_err(|_| {
                        ObjectError::Other("the writer's memory budget closed".into())
                    })?,
                };
            self.uploads.spawn(last, permit);
        }
        self.uploads
            .publish_as(size, None, self.keep_old_versions, rename)
            .await
    }

    /// Gives the version up: nothing appears, its uploads are aborted and parts deleted.
    pub async fn abandon(self) {
        self.uploads.abandon().await;
    }
}
