//! The upload side of storing one object version, shared by [`put_object`](crate::put_object)
//! and [`StreamWriter`](crate::StreamWriter): seal each chunk in place on the blocking pool,
//! upload it (a PUT when it is a whole part, else a multipart piece; the part's upload is
//! completed by whichever piece finishes last), publish the manifest last, and on failure
//! abort the uploads and delete the version's parts.
//!
//! Each chunk's task holds the caller's semaphore permit until its upload finishes, so the
//! caller's permits bound the memory of everything in flight.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use mezz_format::{KeyBinding, KeyProvider, Layout, Manifest, ObjectCipher, ObjectId, WrappedKey};
use mezz_store::{ObjectStore, PieceTag, UploadId};
use tokio::sync::{OnceCell, OwnedSemaphorePermit};
use tokio::task::JoinSet;

use crate::chunking::Chunk;
use crate::{ObjectError, PutProgress, naming};

#[derive(Default)]
struct PartUpload {
    upload: OnceCell<UploadId>,
    /// Tags so far, and the number of pieces once the part's last chunk was seen.
    tags: Mutex<(Vec<PieceTag>, Option<usize>)>,
}

/// One new version being uploaded: its identity, cipher, parts and upload tasks.
pub(crate) struct Uploads {
    store: Arc<dyn ObjectStore>,
    name: String,
    id: ObjectId,
    cipher: ObjectCipher,
    wrapped: WrappedKey,
    part_size: u64,
    segment_size: u32,
    parts: HashMap<u64, Arc<PartUpload>>,
    tasks: JoinSet<Result<(), ObjectError>>,
    failure: Option<ObjectError>,
    progress: Arc<PutProgress>,
}

impl Uploads {
    /// A new version of `name` (a fresh object id and data key from `keys`).
    pub async fn begin(
        store: Arc<dyn ObjectStore>,
        keys: &dyn mezz_format::KeyProvider,
        name: &str,
        part_size: u64,
        segment_size: u32,
        progress: Arc<PutProgress>,
    ) -> Result<Uploads, ObjectError> {
        naming::check_name(name)?;
        Layout::new(0, part_size, segment_size).map_err(|e| ObjectError::format(name, e))?;
        let (id, wrapped, cipher) =
            mezz_format::new_object_version(keys, name, segment_size, part_size)
                .await
                .map_err(|e| ObjectError::format(name, e))?;
        Ok(Uploads {
            store,
            name: name.into(),
            id,
            cipher,
            wrapped,
            part_size,
            segment_size,
            parts: HashMap::new(),
            tasks: JoinSet::new(),
            failure: None,
            progress,
        })
    }

    pub fn id(&self) -> ObjectId {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts sealing and uploading `chunk`; `permit` is held until its upload ends.
    pub fn spawn(&mut self, chunk: Chunk, permit: OwnedSemaphorePermit) {
        let state = self.parts.entry(chunk.place.part).or_default().clone();
        if chunk.place.ends_part {
            let mut t = state.tags.lock().unwrap_or_else(|p| p.into_inner());
            t.1 = Some(chunk.place.piece as usize);
        }
        let (store, cipher, progress) = (
            self.store.clone(),
            self.cipher.clone(),
            self.progress.clone(),
        );
        let (object, key) = (
            self.name.clone(),
            naming::part_key(&self.name, self.id, chunk.place.part),
        );
        self.tasks.spawn(async move {
            let _permit = permit;
            upload_chunk(&*store, &object, &key, cipher, chunk, &state, &progress).await
        });
        self.reap();
    }

    /// Collects finished uploads; the first failure is kept.
    pub fn reap(&mut self) {
        while let Some(done) = self.tasks.try_join_next() {
            if let Err(e) = flatten(done, &self.name) {
                self.failure.get_or_insert(e);
            }
        }
    }

    /// The first upload failure so far, as text (the error itself is returned at the end).
    pub fn failed(&self) -> Option<String> {
        self.failure.as_ref().map(|e| e.to_string())
    }

    /// Waits for every upload started so far.
    pub async fn settle(&mut self) -> Result<(), String> {
        while let Some(done) = self.tasks.join_next().await {
            if let Err(e) = flatten(done, &self.name) {
                self.failure.get_or_insert(e);
            }
        }
        match &self.failure {
            Some(e) => Err(e.to_string()),
            None => Ok(()),
        }
    }

    /// Waits for the uploads, then writes the manifest of a `size`-byte object: the moment
    /// the version appears. Any failure (an upload's, or `source_error`) aborts the uploads
    /// and deletes the version's parts instead. With `keep_others`, parts of earlier versions
    /// stay (readers that opened them keep reading); otherwise they are deleted.
    pub async fn publish(
        self,
        size: u64,
        source_error: Option<ObjectError>,
        keep_others: bool,
    ) -> Result<Manifest, ObjectError> {
        self.publish_as(size, source_error, keep_others, None).await
    }

    /// [`publish`](Self::publish), under the name `rename` gives when it is another one (a
    /// file renamed while it was written): once every upload is done, the parts are copied
    /// inside the store to the new name's version folder and the data key re-wrapped for it
    /// (unwrapped and wrapped by `keys`), then the manifest goes in under the new name and the
    /// parts under the old one are deleted. Nothing ever appears under the old name.
    pub async fn publish_as(
        mut self,
        size: u64,
        source_error: Option<ObjectError>,
        keep_others: bool,
        rename: Option<(&dyn KeyProvider, &str)>,
    ) -> Result<Manifest, ObjectError> {
        let _ = self.settle().await;
        if let Some(e) = self.failure.take().or(source_error) {
            self.clean_up().await;
            return Err(e);
        }
        let layout = Layout::new(size, self.part_size, self.segment_size)
            .map_err(|e| ObjectError::format(&self.name, e))?;
        let mut moved_from = None;
        if let Some((keys, to)) = rename.filter(|(_, to)| *to != self.name) {
            if let Err(e) = self.move_parts(keys, to, layout.part_count()).await {
                self.clean_up().await;
                return Err(e);
            }
            moved_from = Some(std::mem::replace(&mut self.name, to.into()));
        }
        let name = self.name.clone();
        let manifest = Manifest {
            name: name.clone(),
            object_id: self.id.to_string(),
            plaintext_size: size,
            part_size: self.part_size,
            segment_size: self.segment_size,
            part_count: layout.part_count(),
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            key: self.wrapped.clone(),
        };
        let put = self
            .store
            .put(
                &naming::manifest_key(&name),
                Bytes::from(manifest.seal(&self.cipher)),
            )
            .await;
        if let Some(old) = &moved_from {
            crate::rename::remove_version(&*self.store, old, self.id).await;
        }
        if let Err(cause) = put {
            self.clean_up().await;
            return Err(ObjectError::Store { name, cause });
        }
        if !keep_others {
            remove_other_versions(&*self.store, &name, self.id).await;
        }
        Ok(manifest)
    }

    /// Copies the finished parts to `to`'s version folder and re-wraps the data key for
    /// `to`. On failure the copies are deleted; the parts under the current name stay (the
    /// caller cleans them up).
    async fn move_parts(
        &mut self,
        keys: &dyn KeyProvider,
        to: &str,
        parts: u64,
    ) -> Result<(), ObjectError> {
        naming::check_name(to)?;
        let data_key = keys
            .unwrap(
                &self.wrapped,
                KeyBinding {
                    id: self.id,
                    name: &self.name,
                },
            )
            .await
            .map_err(|e| ObjectError::format(&self.name, e))?;
        let wrapped = keys
            .wrap(
                &data_key,
                KeyBinding {
                    id: self.id,
                    name: to,
                },
            )
            .await
            .map_err(|e| ObjectError::format(to, e))?;
        let copied = crate::rename::copy_parts(&*self.store, &self.name, to, self.id, parts).await;
        if let Err(e) = copied {
            crate::rename::remove_version(&*self.store, to, self.id).await;
            return Err(e);
        }
        self.wrapped = wrapped;
        Ok(())
    }

    /// Gives the version up: waits for its uploads, aborts them and deletes its parts.
    pub async fn abandon(mut self) {
        let _ = self.settle().await;
        self.clean_up().await;
    }

    /// Best effort: the version already failed, and its error is the one to report.
    async fn clean_up(&mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        let store = &*self.store;
        for (part, state) in &self.parts {
            if let Some(upload) = state.upload.get() {
                let _ = store
                    .abort_upload(&naming::part_key(&self.name, self.id, *part), upload)
                    .await;
            }
        }
        if let Ok(keys) = store
            .list(&naming::version_folder(&self.name, self.id))
            .await
        {
            for k in keys {
                // A few quick tries; what is left is removed by the next successful put.
                for _ in 0..3 {
                    if store.delete(&k.key).await.is_ok() {
                        break;
                    }
                }
            }
        }
    }
}

fn flatten(
    done: Result<Result<(), ObjectError>, tokio::task::JoinError>,
    name: &str,
) -> Result<(), ObjectError> {
    done.map_err(|e| ObjectError::Other(format!("upload of '{name}' failed: {e}")))?
}

/// Seals one chunk and uploads it; errors name the object (`name`), not the part's key.
async fn upload_chunk(
    store: &dyn ObjectStore,
    name: &str,
    key: &str,
    cipher: ObjectCipher,
    chunk: Chunk,
    state: &PartUpload,
    progress: &PutProgress,
) -> Result<(), ObjectError> {
    let place = chunk.place;
    let plain_len = chunk.data.len() as u64;
    let single = place.piece == 1 && place.ends_part;
    let sealed = tokio::task::spawn_blocking(move || {
        let mut data = chunk.data;
        cipher.seal_tail(place.first_segment, &mut data, 0, place.ends_object);
        data
    })
    .await
    .map_err(|e| ObjectError::Other(format!("sealing failed: {e}")))?;
    let body = Bytes::from(sealed);
    let err = |e| ObjectError::part(name, place.part, e);
    if single {
        store.put(key, body).await.map_err(err)?;
    } else {
        let upload = state
            .upload
            .get_or_try_init(|| store.create_upload(key))
            .await
            .map_err(err)?;
        let tag = store
            .upload_piece(key, upload, place.piece, body)
            .await
            .map_err(err)?;
        let complete = {
            let mut t = state.tags.lock().unwrap_or_else(|p| p.into_inner());
            t.0.push(tag);
            (t.1 == Some(t.0.len())).then(|| t.0.clone())
        };
        if let Some(tags) = complete {
            store
                .complete_upload(key, upload, tags)
                .await
                .map_err(err)?;
        }
    }
    progress.uploaded.fetch_add(plain_len, Ordering::Relaxed);
    Ok(())
}

/// Deletes parts of earlier versions (and leftovers of failed puts) once the new manifest is
/// in place. Failures only leave garbage behind, so they are logged, not returned.
async fn remove_other_versions(store: &dyn ObjectStore, name: &str, id: ObjectId) {
    let keep = naming::version_folder(name, id);
    let manifest = naming::manifest_key(name);
    match store.list(&naming::object_folder(name)).await {
        Ok(keys) => {
            for k in keys
                .into_iter()
                .filter(|k| k.key != manifest && !k.key.starts_with(&keep))
            {
                if let Err(e) = store.delete(&k.key).await {
                    tracing::warn!(key = %k.key, error = %e, "could not delete a part of an older version");
                }
            }
        }
        Err(e) => tracing::warn!(object = name, error = %e, "could not list older versions"),
    }
}

/// Counts bytes handed to the uploads (kept here so the two writers count alike).
pub(crate) fn count_read(progress: &PutProgress, n: usize) {
    progress.read.fetch_add(n as u64, Ordering::Relaxed);
}
