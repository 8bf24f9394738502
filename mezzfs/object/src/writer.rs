//! Storing an object: read the source in chunks, seal them, upload parts in parallel, then
//! publish the manifest.
//!
//! Memory is bounded by `concurrency` chunks in flight (plus one being read and one waiting),
//! whatever the object's size: a blocking thread reads the source into chunks that never cross
//! a part boundary, and each chunk holds a semaphore permit from before it is read until its
//! upload finishes. A part that fits in one chunk is one PUT; a bigger part is a multipart
//! upload whose pieces are the chunks, completed by whichever piece finishes last.
//!
//! Nothing is visible until the manifest is written; a failed put aborts its uploads and
//! deletes its parts, leaving any previous version of the object untouched.

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use mezz_format::{KeyProvider, Layout, Manifest, ObjectCipher, ObjectId};
use mezz_store::{ObjectStore, PieceTag, UploadId};
use tokio::sync::{OnceCell, Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::{ObjectError, naming};

/// How to cut and upload an object.
#[derive(Clone, Debug)]
pub struct PutOptions {
    pub part_size: u64,
    pub segment_size: u32,
    /// Plaintext bytes per upload request (and multipart piece).
    pub chunk_size: u64,
    /// Chunks read, sealed or uploading at once.
    pub concurrency: usize,
}

impl Default for PutOptions {
    fn default() -> Self {
        PutOptions {
            part_size: mezz_format::DEFAULT_PART_SIZE,
            segment_size: mezz_format::DEFAULT_SEGMENT_SIZE,
            chunk_size: 8 << 20,
            concurrency: 8,
        }
    }
}

/// Counters a caller can watch while a put runs.
#[derive(Debug, Default)]
pub struct PutProgress {
    pub read: AtomicU64,
    pub uploaded: AtomicU64,
}

struct Chunk {
    part: u64,
    piece: u32,
    first_segment: u64,
    data: Vec<u8>,
    ends_part: bool,
    ends_object: bool,
}

#[derive(Default)]
struct PartUpload {
    upload: OnceCell<UploadId>,
    /// Tags so far, and the number of pieces once the part's last chunk was seen.
    tags: Mutex<(Vec<PieceTag>, Option<usize>)>,
}

/// Reads up to `buf.len()` bytes, fewer only at end of input.
fn read_full(src: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn sealed_capacity(plain: u64, segment: u64) -> usize {
    (plain + plain.div_ceil(segment) * mezz_format::TAG_LEN) as usize
}

/// Cuts the source into chunks, holding one back to learn whether it is the last.
fn read_chunks(
    mut src: Box<dyn Read + Send>,
    layout: Layout,
    chunk_size: u64,
    permits: Arc<Semaphore>,
    tx: mpsc::Sender<(Chunk, tokio::sync::OwnedSemaphorePermit)>,
    progress: Arc<PutProgress>,
) -> Result<u64, ObjectError> {
    let seg = u64::from(layout.segment_size());
    let mut offset = 0u64;
    let mut pending: Option<(Chunk, tokio::sync::OwnedSemaphorePermit)> = None;
    loop {
        let Ok(permit) =
            tokio::runtime::Handle::current().block_on(permits.clone().acquire_owned())
        else {
            return Err(ObjectError::Other("upload pipeline closed".into()));
        };
        let in_part = offset % layout.part_size();
        let want = chunk_size.min(layout.part_size() - in_part);
        // Room for the tags too: the chunk is sealed where it lies.
        let mut data = Vec::with_capacity(sealed_capacity(want, seg));
        data.resize(want as usize, 0);
        let n = read_full(&mut *src, &mut data).map_err(ObjectError::Source)?;
        data.truncate(n);
        progress.read.fetch_add(n as u64, Ordering::Relaxed);
        if let Some((mut prev, prev_permit)) = pending.take() {
            if n == 0 {
                prev.ends_part = true;
                prev.ends_object = true;
            }
            if tx.blocking_send((prev, prev_permit)).is_err() {
                // The uploader stopped: it reports its own error.
                return Ok(offset);
            }
        }
        if n == 0 {
            return Ok(offset);
        }
        let part = offset / layout.part_size();
        pending = Some((
            Chunk {
                part,
                piece: (in_part / chunk_size) as u32 + 1,
                first_segment: offset / seg,
                ends_part: in_part + n as u64 == layout.part_size(),
                ends_object: false,
                data,
            },
            permit,
        ));
        offset += n as u64;
    }
}

/// Stores `source` as object `name` and returns its manifest.
pub async fn put_object(
    store: Arc<dyn ObjectStore>,
    keys: &dyn KeyProvider,
    name: &str,
    source: Box<dyn Read + Send>,
    opts: &PutOptions,
    progress: Arc<PutProgress>,
) -> Result<Manifest, ObjectError> {
    naming::check_name(name)?;
    let shape = Layout::new(0, opts.part_size, opts.segment_size)
        .map_err(|e| ObjectError::format(name, e))?;
    let seg = u64::from(opts.segment_size);
    let chunk_size = (opts.chunk_size.max(seg) / seg * seg).min(opts.part_size);
    let (id, wrapped, cipher) =
        mezz_format::new_object_version(keys, name, opts.segment_size, opts.part_size)
            .await
            .map_err(|e| ObjectError::format(name, e))?;

    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let (tx, mut rx) = mpsc::channel(1);
    let reader = {
        let (permits, progress) = (permits.clone(), progress.clone());
        tokio::task::spawn_blocking(move || {
            read_chunks(source, shape, chunk_size, permits, tx, progress)
        })
    };

    let mut parts: HashMap<u64, Arc<PartUpload>> = HashMap::new();
    let mut tasks = JoinSet::new();
    let mut failure = None;
    while let Some((chunk, permit)) = rx.recv().await {
        let state = parts.entry(chunk.part).or_default().clone();
        if chunk.ends_part {
            let mut t = state.tags.lock().unwrap_or_else(|p| p.into_inner());
            t.1 = Some(chunk.piece as usize);
        }
        let (store, cipher, progress) = (store.clone(), cipher.clone(), progress.clone());
        let (object, key) = (name.to_string(), naming::part_key(name, id, chunk.part));
        tasks.spawn(async move {
            let _permit = permit;
            upload_chunk(&*store, &object, &key, cipher, chunk, &state, &progress).await
        });
        while let Some(done) = tasks.try_join_next() {
            if let Err(e) = flatten(done, name) {
                failure.get_or_insert(e);
            }
        }
        if failure.is_some() {
            break;
        }
    }
    drop(rx);
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = flatten(done, name) {
            failure.get_or_insert(e);
        }
    }
    let read_result = reader
        .await
        .map_err(|e| ObjectError::Other(format!("source reader failed: {e}")));
    let size = match (failure, read_result) {
        (Some(e), _) | (None, Err(e)) | (None, Ok(Err(e))) => {
            clean_up_failed(&*store, name, id, &parts).await;
            return Err(e);
        }
        (None, Ok(Ok(size))) => size,
    };

    let layout = Layout::new(size, opts.part_size, opts.segment_size)
        .map_err(|e| ObjectError::format(name, e))?;
    let manifest = Manifest {
        name: name.into(),
        object_id: id.to_string(),
        plaintext_size: size,
        part_size: opts.part_size,
        segment_size: opts.segment_size,
        part_count: layout.part_count(),
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        key: wrapped,
    };
    if let Err(source) = store
        .put(
            &naming::manifest_key(name),
            Bytes::from(manifest.seal(&cipher)),
        )
        .await
    {
        clean_up_failed(&*store, name, id, &parts).await;
        return Err(ObjectError::Store {
            name: name.into(),
            cause: source,
        });
    }
    remove_other_versions(&*store, name, id).await;
    Ok(manifest)
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
    let part = chunk.part;
    let plain_len = chunk.data.len() as u64;
    let (piece, single) = (chunk.piece, chunk.piece == 1 && chunk.ends_part);
    let sealed = tokio::task::spawn_blocking(move || {
        let mut data = chunk.data;
        cipher.seal_tail(chunk.first_segment, &mut data, 0, chunk.ends_object);
        data
    })
    .await
    .map_err(|e| ObjectError::Other(format!("sealing failed: {e}")))?;
    let body = Bytes::from(sealed);
    let err = |e| ObjectError::part(name, part, e);
    if single {
        store.put(key, body).await.map_err(err)?;
    } else {
        let upload = state
            .upload
            .get_or_try_init(|| store.create_upload(key))
            .await
            .map_err(err)?;
        let tag = store
            .upload_piece(key, upload, piece, body)
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

/// Best effort: the put already failed, and its error is the one to report.
async fn clean_up_failed(
    store: &dyn ObjectStore,
    name: &str,
    id: ObjectId,
    parts: &HashMap<u64, Arc<PartUpload>>,
) {
    for (part, state) in parts {
        if let Some(upload) = state.upload.get() {
            let _ = store
                .abort_upload(&naming::part_key(name, id, *part), upload)
                .await;
        }
    }
    if let Ok(keys) = store.list(&naming::version_folder(name, id)).await {
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
