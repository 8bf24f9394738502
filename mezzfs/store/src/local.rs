//! A directory that behaves like a bucket.
//!
//! Puts write a temporary file beside the target and rename it, so readers see the old or the
//! new object, never a torn one. Multipart uploads keep their pieces under `.mezz-uploads/`
//! (hidden from listings) and are assembled with one rename at completion. A copy is a hard
//! link (objects are never modified in place, only replaced, so the two names cannot drift),
//! or a byte copy where links are not possible, published the same way. File I/O runs on
//! tokio's blocking pool so the async callers are never stalled by a slow disk.

use std::fs;
use std::io::{Read, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;

use crate::{ObjectMeta, ObjectStore, PendingUpload, PieceTag, ReadStore, StoreError, UploadId};

const UPLOADS_DIR: &str = ".mezz-uploads";
/// The file in an upload's directory naming the key it will complete into.
const UPLOAD_KEY_FILE: &str = "key";

#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Opens a store rooted at `root`, creating the directory if its parent exists.
    pub fn open(root: &Path) -> Result<LocalStore, StoreError> {
        if !root.is_dir() {
            let parent_ok = root
                .parent()
                .is_none_or(|p| p.as_os_str().is_empty() || p.is_dir());
            if !parent_ok {
                return Err(StoreError::BucketNotFound {
                    bucket: root.display().to_string(),
                });
            }
            fs::create_dir(root).map_err(|e| StoreError::io(&root.display().to_string(), e))?;
        }
        Ok(LocalStore {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let invalid = |reason: &str| StoreError::InvalidKey {
            key: key.into(),
            reason: reason.into(),
        };
        if key.is_empty() || key.starts_with('/') || key.ends_with('/') {
            return Err(invalid("keys are non-empty relative paths"));
        }
        let p = Path::new(key);
        if key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
            || p.components().any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(invalid("'.', '..' and empty path segments are not allowed"));
        }
        if key.starts_with(UPLOADS_DIR) {
            return Err(invalid("the .mezz-uploads folder is reserved"));
        }
        Ok(self.root.join(p))
    }

    fn upload_dir(&self, upload: &UploadId) -> Result<PathBuf, StoreError> {
        if upload.0.is_empty() || !upload.0.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::InvalidKey {
                key: upload.0.clone(),
                reason: "not an upload id".into(),
            });
        }
        Ok(self.root.join(UPLOADS_DIR).join(&upload.0))
    }

    /// A read that found nothing may be missing its whole root: say which, without a stat of
    /// the root on every successful read.
    fn explain_missing(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::NotFound { .. } if !self.root.is_dir() => StoreError::BucketNotFound {
                bucket: self.root.display().to_string(),
            },
            e => e,
        }
    }

    fn publish_lock(&self) -> PathBuf {
        self.root.join(UPLOADS_DIR).join("publish.lock")
    }

    fn check_root(&self) -> Result<(), StoreError> {
        if self.root.is_dir() {
            Ok(())
        } else {
            Err(StoreError::BucketNotFound {
                bucket: self.root.display().to_string(),
            })
        }
    }
}

async fn blocking<T: Send + 'static>(
    key: &str,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Io {
            key: key.into(),
            error: std::io::Error::other(format!("blocking task failed: {e}")),
        })?
}

fn random_hex() -> String {
    let mut b = [0u8; 12];
    // Only names temporary files; a failure of the OS RNG falls back to the pid and time.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        b[..8].copy_from_slice(&(t.as_nanos() as u64).to_le_bytes());
        b[8..].copy_from_slice(&std::process::id().to_le_bytes());
    }
    hex::encode(b)
}

/// A version tag of an object's bytes (what S3's ETag is for a single PUT: a content hash).
fn content_tag(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// Where renames into place are serialised: a conditional replace checks and renames under
/// this lock, and every other publishing rename takes it too, so none lands in between
/// (also across processes sharing the directory).
struct Publish<'a> {
    lock: &'a Path,
    /// Replace only if the target's current bytes have this [`content_tag`].
    only_if: Option<&'a str>,
}

/// Writes to a fresh temporary beside `target`, fsyncs it, and renames it into place (under
/// the publish lock, when given).
fn write_atomically(
    key: &str,
    target: &Path,
    publish: Option<Publish<'_>>,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    place_atomically(key, target, publish, |tmp| {
        let mut f = fs::File::create(tmp)?;
        write(&mut f)?;
        f.sync_data()
    })
}

/// Makes a fresh temporary beside `target` with `make` (which creates the file at the path
/// it is given), and renames it into place (under the publish lock, when given).
fn place_atomically(
    key: &str,
    target: &Path,
    publish: Option<Publish<'_>>,
    make: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    let dir = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| StoreError::io(key, e))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", random_hex()));
    let result = (|| {
        make(&tmp)?;
        let Some(p) = &publish else {
            return fs::rename(&tmp, target).map(|()| Ok(()));
        };
        if let Some(dir) = p.lock.parent() {
            fs::create_dir_all(dir)?;
        }
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(p.lock)?;
        lock.lock()?;
        if let Some(tag) = p.only_if {
            match fs::read(target) {
                Ok(now) if content_tag(&now) == tag => {}
                Ok(_) => {
                    return Ok(Err(StoreError::PreconditionFailed { key: key.into() }));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(Err(StoreError::NotFound { key: key.into() }));
                }
                Err(e) => return Err(e),
            }
        }
        // The lock is released when `lock` is closed, after the rename.
        fs::rename(&tmp, target).map(|()| Ok(()))
    })();
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(refused)) => {
            let _ = fs::remove_file(&tmp);
            Err(refused)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(StoreError::io(key, e))
        }
    }
}

fn walk(root: &Path, dir: &Path, prefix: &str, out: &mut Vec<ObjectMeta>) -> std::io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            // Temporaries, the uploads folder and dotfiles are not objects.
            continue;
        }
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            let as_dir = format!("{rel}/");
            if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                walk(root, &path, prefix, out)?;
            }
        } else if ft.is_file() && rel.starts_with(prefix) {
            out.push(ObjectMeta {
                key: rel,
                size: entry.metadata()?.len(),
            });
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl ReadStore for LocalStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        blocking(key, move || {
            let f = fs::File::open(&path).map_err(|e| StoreError::io(&k, e))?;
            let size = f.metadata().map_err(|e| StoreError::io(&k, e))?.len();
            if range.start > range.end || range.end > size {
                return Err(StoreError::InvalidRange { key: k, range });
            }
            let mut buf = vec![0u8; (range.end - range.start) as usize];
            f.read_exact_at(&mut buf, range.start)
                .map_err(|e| StoreError::io(&k, e))?;
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(|e| self.explain_missing(e))
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        blocking(key, move || {
            let mut buf = Vec::new();
            fs::File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut buf))
                .map_err(|e| StoreError::io(&k, e))?;
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(|e| self.explain_missing(e))
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        blocking(key, move || {
            let m = fs::metadata(&path).map_err(|e| StoreError::io(&k, e))?;
            if !m.is_file() {
                return Err(StoreError::NotFound { key: k });
            }
            Ok(ObjectMeta {
                key: k,
                size: m.len(),
            })
        })
        .await
        .map_err(|e| self.explain_missing(e))
    }
}

#[async_trait::async_trait]
impl ObjectStore for LocalStore {
    async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        let path = self.path(key)?;
        self.check_root()?;
        let k = key.to_string();
        let lock = self.publish_lock();
        blocking(key, move || {
            let publish = Publish {
                lock: &lock,
                only_if: None,
            };
            write_atomically(&k, &path, Some(publish), |f| f.write_all(&body))
        })
        .await
    }

    async fn get_tagged(&self, key: &str) -> Result<(Bytes, String), StoreError> {
        let bytes = self.get(key).await?;
        let tag = content_tag(&bytes);
        Ok((bytes, tag))
    }

    async fn put_if_match(&self, key: &str, body: Bytes, tag: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        self.check_root()?;
        let (k, tag) = (key.to_string(), tag.to_string());
        let lock = self.publish_lock();
        blocking(key, move || {
            let publish = Publish {
                lock: &lock,
                only_if: Some(&tag),
            };
            write_atomically(&k, &path, Some(publish), |f| f.write_all(&body))
        })
        .await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let source = self.path(from)?;
        let target = self.path(to)?;
        self.check_root()?;
        let (f, t) = (from.to_string(), to.to_string());
        let lock = self.publish_lock();
        blocking(to, move || {
            if !source.is_file() {
                return Err(StoreError::NotFound { key: f });
            }
            let publish = Publish {
                lock: &lock,
                only_if: None,
            };
            place_atomically(&t, &target, Some(publish), |tmp| {
                fs::hard_link(&source, tmp).or_else(|_| fs::copy(&source, tmp).map(|_| ()))
            })
        })
        .await
        .map_err(|e| self.explain_missing(e))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.check_root()?;
        let root = self.root.clone();
        let p = prefix.to_string();
        blocking(prefix, move || {
            let mut out = Vec::new();
            walk(&root, &root, &p, &mut out).map_err(|e| StoreError::io(&p, e))?;
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        let root = self.root.clone();
        blocking(key, move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(StoreError::io(&k, e)),
            }
            // Like a bucket, no empty "folders" stay behind.
            let mut dir = path.parent();
            while let Some(d) = dir {
                if d == root || fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
            Ok(())
        })
        .await
    }

    async fn create_upload(&self, key: &str) -> Result<UploadId, StoreError> {
        self.path(key)?;
        self.check_root()?;
        let id = UploadId(random_hex());
        let dir = self.upload_dir(&id)?;
        let k = key.to_string();
        blocking(key, move || {
            fs::create_dir_all(&dir).map_err(|e| StoreError::io(&k, e))?;
            fs::write(dir.join(UPLOAD_KEY_FILE), k.as_bytes()).map_err(|e| StoreError::io(&k, e))
        })
        .await?;
        Ok(id)
    }

    async fn upload_piece(
        &self,
        key: &str,
        upload: &UploadId,
        number: u32,
        body: Bytes,
    ) -> Result<PieceTag, StoreError> {
        let dir = self.upload_dir(upload)?;
        if !dir.is_dir() {
            return Err(StoreError::NotFound {
                key: format!("{key} (upload {})", upload.0),
            });
        }
        let k = key.to_string();
        let piece = dir.join(format!("{number:06}"));
        blocking(key, move || {
            write_atomically(&k, &piece, None, |f| f.write_all(&body))
        })
        .await?;
        Ok(PieceTag {
            number,
            etag: format!("{number}"),
        })
    }

    async fn complete_upload(
        &self,
        key: &str,
        upload: &UploadId,
        mut pieces: Vec<PieceTag>,
    ) -> Result<(), StoreError> {
        let target = self.path(key)?;
        let dir = self.upload_dir(upload)?;
        pieces.sort_by_key(|p| p.number);
        let k = key.to_string();
        let lock = self.publish_lock();
        blocking(key, move || {
            let publish = Publish {
                lock: &lock,
                only_if: None,
            };
            write_atomically(&k, &target, Some(publish), |out| {
                for p in &pieces {
                    let mut f = fs::File::open(dir.join(format!("{:06}", p.number)))?;
                    std::io::copy(&mut f, out)?;
                }
                Ok(())
            })?;
            let _ = fs::remove_dir_all(&dir);
            Ok(())
        })
        .await
    }

    async fn abort_upload(&self, key: &str, upload: &UploadId) -> Result<(), StoreError> {
        let dir = self.upload_dir(upload)?;
        let k = key.to_string();
        blocking(key, move || match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(&k, e)),
            _ => Ok(()),
        })
        .await
    }

    async fn list_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>, StoreError> {
        self.check_root()?;
        let dir = self.root.join(UPLOADS_DIR);
        let p = prefix.to_string();
        blocking(prefix, move || {
            let mut out = Vec::new();
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                Err(e) => return Err(StoreError::io(&p, e)),
            };
            for entry in entries.flatten() {
                let id = entry.file_name().to_string_lossy().into_owned();
                // Uploads begun before keys were recorded cannot be attributed: skipped.
                let Ok(key) = fs::read_to_string(entry.path().join(UPLOAD_KEY_FILE)) else {
                    continue;
                };
                if key.starts_with(&p) {
                    out.push(PendingUpload {
                        key,
                        upload: UploadId(id),
                        initiated: entry.metadata().and_then(|m| m.modified()).ok(),
                    });
                }
            }
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
        .await
    }
}
