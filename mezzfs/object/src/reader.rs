//! Reading any byte range of a stored object: one ranged GET per part span, each span
//! authenticated and decrypted before a single byte of it is handed out.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::stream::{self, Stream, StreamExt};
use mezz_format::{
    KeyProvider, Layout, Manifest, ObjectId, OpenedObject, PartSpan, SealedManifest,
};
use mezz_store::{ReadStore, StoreError};

use crate::{ObjectError, naming};

/// Decrypting a span this big or bigger moves to the blocking pool so the async workers keep
/// serving I/O.
const OFFLOAD_BYTES: usize = 256 * 1024;

/// An opened, authenticated object version.
#[derive(Clone, Debug)]
pub struct ObjectReader {
    store: Arc<dyn ReadStore>,
    name: String,
    object: Arc<OpenedObject>,
}

/// An object version whose manifest is fetched and parsed, but whose data key is not yet
/// unwrapped: its name, id, size and layout are known (unauthenticated) and nothing can be
/// read until [`LockedObject::unlock`]. A mount shows files from these and unwraps a data
/// key only when its file is opened.
#[derive(Clone, Debug)]
pub struct LockedObject {
    store: Arc<dyn ReadStore>,
    name: String,
    raw: Bytes,
    manifest: Manifest,
    id: ObjectId,
    layout: Layout,
}

impl LockedObject {
    /// Fetches and parses the manifest of `name`; checks its framing, id and geometry. No
    /// key is needed and nothing is authenticated yet.
    pub async fn fetch(store: Arc<dyn ReadStore>, name: &str) -> Result<LockedObject, ObjectError> {
        naming::check_name(name)?;
        let raw = match store.get(&naming::manifest_key(name)).await {
            Ok(raw) => raw,
            Err(StoreError::NotFound { .. }) => {
                return Err(ObjectError::NotFound {
                    name: name.into(),
                    store: store.describe(),
                });
            }
            Err(source) => {
                return Err(ObjectError::Store {
                    name: name.into(),
                    cause: source,
                });
            }
        };
        let sealed =
            SealedManifest::parse(raw.to_vec()).map_err(|e| ObjectError::format(name, e))?;
        let manifest = sealed.unverified().clone();
        let id = manifest.id().map_err(|e| ObjectError::format(name, e))?;
        let layout = manifest
            .layout()
            .map_err(|e| ObjectError::format(name, e))?;
        Ok(LockedObject {
            store,
            name: name.into(),
            raw,
            manifest,
            id,
            layout,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The object version this manifest claims (checked when unlocked).
    pub fn id(&self) -> ObjectId {
        self.id
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn size(&self) -> u64 {
        self.layout.plaintext_size()
    }

    /// The manifest as stored, not yet authenticated: for sizes and the key it names.
    pub fn unverified_manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Unwraps the data key through `keys` (one key-service call for KMS), authenticates the
    /// manifest and checks its name: the same checks as [`ObjectReader::open`], on the bytes
    /// fetched before, so the size and layout shown already are the authenticated ones.
    pub async fn unlock(&self, keys: &dyn KeyProvider) -> Result<ObjectReader, ObjectError> {
        let name = self.name.as_str();
        let sealed =
            SealedManifest::parse(self.raw.to_vec()).map_err(|e| ObjectError::format(name, e))?;
        let object = sealed
            .open(keys, name)
            .await
            .map_err(|e| ObjectError::format(name, e))?;
        Ok(ObjectReader {
            store: self.store.clone(),
            name: name.into(),
            object: Arc::new(object),
        })
    }
}

impl ObjectReader {
    /// Fetches and authenticates the manifest of `name`.
    pub async fn open(
        store: Arc<dyn ReadStore>,
        keys: &dyn KeyProvider,
        name: &str,
    ) -> Result<ObjectReader, ObjectError> {
        LockedObject::fetch(store, name).await?.unlock(keys).await
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn manifest(&self) -> &Manifest {
        &self.object.manifest
    }

    pub fn size(&self) -> u64 {
        self.object.layout.plaintext_size()
    }

    pub fn opened(&self) -> &OpenedObject {
        &self.object
    }

    /// Fetches one span and returns its plaintext (whole segments).
    pub async fn fetch_span(&self, span: &PartSpan) -> Result<Bytes, ObjectError> {
        let key = naming::part_key(&self.name, self.object.id, span.part);
        let sealed = match self.store.get_range(&key, span.ciphertext.clone()).await {
            Ok(b) => b,
            Err(StoreError::InvalidRange { .. } | StoreError::ShortRead { .. }) => {
                return Err(self.truncated(&key, span.part).await);
            }
            Err(e) => return Err(ObjectError::part(&self.name, span.part, e)),
        };
        let mut buf = BytesMut::from(sealed);
        let open = |buf: &mut BytesMut, object: &OpenedObject, span: &PartSpan| {
            object.open_span(span, buf).map(|n| buf.truncate(n))
        };
        if buf.len() >= OFFLOAD_BYTES {
            let object = self.object.clone();
            let s = span.clone();
            buf = tokio::task::spawn_blocking(move || open(&mut buf, &object, &s).map(|()| buf))
                .await
                .map_err(|e| ObjectError::Other(format!("decrypt task failed: {e}")))?
                .map_err(|e| ObjectError::format(&self.name, e))?;
        } else {
            open(&mut buf, &self.object, span).map_err(|e| ObjectError::format(&self.name, e))?;
        }
        Ok(buf.freeze())
    }

    /// Names the first missing segment of a part that is shorter than its layout says.
    async fn truncated(&self, key: &str, part: u64) -> ObjectError {
        let layout = &self.object.layout;
        let expected = layout.part_sealed_size(part);
        match self.store.head(key).await {
            Ok(meta) => ObjectError::TruncatedPart {
                name: self.name.clone(),
                part,
                stored: meta.size,
                expected,
                segment: layout.part_segments(part).start
                    + meta.size / layout.sealed_segment_size(),
            },
            Err(e) => ObjectError::part(&self.name, part, e),
        }
    }

    /// The plaintext of `range` (clamped to the object), fetched in chunks of at most
    /// `chunk_bytes`, `concurrency` at a time, yielded in order.
    pub fn stream_range(
        &self,
        range: Range<u64>,
        chunk_bytes: u64,
        concurrency: usize,
    ) -> impl Stream<Item = Result<Bytes, ObjectError>> + Send + 'static {
        let spans = self
            .object
            .layout
            .locate_bounded(range.clone(), chunk_bytes);
        let reader = self.clone();
        stream::iter(spans)
            .map(move |span| {
                let reader = reader.clone();
                let range = range.clone();
                async move {
                    let plain = reader.fetch_span(&span).await?;
                    let lo = range.start.max(span.plaintext.start) - span.plaintext.start;
                    let hi = range.end.min(span.plaintext.end) - span.plaintext.start;
                    Ok(plain.slice(lo as usize..hi as usize))
                }
            })
            .buffered(concurrency.max(1))
    }

    /// The plaintext of `range` in one buffer.
    pub async fn read_range(
        &self,
        range: Range<u64>,
        concurrency: usize,
    ) -> Result<Bytes, ObjectError> {
        let len = range.end.min(self.size()).saturating_sub(range.start);
        let mut out = BytesMut::with_capacity(len as usize);
        let mut s = std::pin::pin!(self.stream_range(range, 8 << 20, concurrency));
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.freeze())
    }
}
