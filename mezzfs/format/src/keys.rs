//! Envelope encryption: each object's data key is wrapped by a key-encryption key (KEK) that
//! has an id, and the wrapped key travels in the manifest.
//!
//! [`KeyProvider`] is the seam for key services: the local key file is the implementation
//! here; the KMS provider (`mezz-keys-kms`: `GenerateDataKey` / `Decrypt` with the object's
//! name and id as encryption context) fits the same async trait. Every call names the object
//! the key belongs to ([`KeyBinding`]) so a provider can bind the wrapped key to it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::Nonce;
use aes_gcm::aead::{AeadInOut, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::ids::fill_random;
use crate::{DataKey, FormatError, ObjectId};

/// A data key as stored in a manifest: sealed under the provider's key `key_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// Which kind of provider can unwrap it, e.g. `local-file`.
    pub provider: String,
    pub key_id: String,
    /// Provider-specific bytes (for `local-file`: nonce followed by ciphertext and tag), base64.
    pub wrapped: String,
}

/// The object version a data key belongs to: its id and its name in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyBinding<'a> {
    pub id: ObjectId,
    pub name: &'a str,
}

/// Wraps and unwraps per-object data keys.
#[async_trait::async_trait]
pub trait KeyProvider: Send + Sync + std::fmt::Debug {
    /// The key id that new objects are wrapped under.
    fn key_id(&self) -> &str;

    /// A fresh data key for `object` and its wrapped form. By default a random key, wrapped;
    /// a key service generates it itself (one call instead of two, and its own randomness).
    async fn generate(&self, object: KeyBinding<'_>) -> Result<(DataKey, WrappedKey), FormatError> {
        let key = DataKey::random()?;
        let wrapped = self.wrap(&key, object).await?;
        Ok((key, wrapped))
    }

    async fn wrap(&self, key: &DataKey, object: KeyBinding<'_>) -> Result<WrappedKey, FormatError>;

    async fn unwrap(
        &self,
        wrapped: &WrappedKey,
        object: KeyBinding<'_>,
    ) -> Result<DataKey, FormatError>;
}

/// What manifests call the key-file provider ([`LocalKeyFile`]).
pub const LOCAL_PROVIDER: &str = "local-file";
const KEY_FILE_HEADER: &str = "mezzfs-kek-v1";
const WRAP_AAD: &[u8] = b"mezzfs v1 wrapped data key";

/// A key-encryption key kept in a local file (mode 0600).
///
/// A wrapped key is bound to its object id (associated data); the name is bound by the
/// manifest, whose authenticated body names the object and is checked on every open. (The
/// name is not in the associated data so that keys wrapped before names were passed in still
/// unwrap.)
///
/// The file is text: a header line, `id=<16 hex digits>` and `key=<64 hex digits>`.
#[derive(Clone)]
pub struct LocalKeyFile {
    id: String,
    aead: Aes256Gcm,
}

impl std::fmt::Debug for LocalKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeyFile")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn key_file_error(path: &Path, reason: impl Into<String>) -> FormatError {
    FormatError::KeyFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl LocalKeyFile {
    /// Builds a key from raw bytes (tests and golden files use fixed keys).
    pub fn from_parts(id: &str, key: [u8; 32]) -> Self {
        LocalKeyFile {
            id: id.to_string(),
            aead: Aes256Gcm::new(&key.into()),
        }
    }

    /// Writes a new random key to `path`, created with mode 0600; never overwrites.
    pub fn generate(path: &Path) -> Result<Self, FormatError> {
        let mut id = [0u8; 8];
        let mut key = [0u8; 32];
        fill_random(&mut id)?;
        fill_random(&mut key)?;
        let id = hex::encode(id);
        let text = format!(
            "{KEY_FILE_HEADER}\n# mezzfs key-encryption key: anyone holding this file can read every object under it.\nid={id}\nkey={}\n",
            hex::encode(key)
        );
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| key_file_error(path, format!("cannot create: {e}")))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| key_file_error(path, format!("cannot write: {e}")))?;
        Ok(Self::from_parts(&id, key))
    }

    /// Reads a key file, refusing one that other users can read (as ssh does).
    pub fn load(path: &Path) -> Result<Self, FormatError> {
        let meta =
            fs::metadata(path).map_err(|e| key_file_error(path, format!("cannot read: {e}")))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(key_file_error(
                path,
                format!(
                    "is accessible by other users (mode {mode:04o}); run: chmod 600 {}",
                    path.display()
                ),
            ));
        }
        let text = fs::read_to_string(path)
            .map_err(|e| key_file_error(path, format!("cannot read: {e}")))?;
        Self::parse(&text).map_err(|reason| key_file_error(path, reason))
    }

    fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        if lines.next() != Some(KEY_FILE_HEADER) {
            return Err(format!(
                "not a mezzfs key file (first line must be '{KEY_FILE_HEADER}')"
            ));
        }
        let (mut id, mut key) = (None, None);
        for line in lines {
            match line.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("key", v)) => {
                    let mut k = [0u8; 32];
                    hex::decode_to_slice(v, &mut k)
                        .map_err(|_| "key must be 64 hex digits".to_string())?;
                    key = Some(k);
                }
                _ => return Err(format!("unexpected line '{line}'")),
            }
        }
        match (id, key) {
            (Some(id), Some(key)) if !id.is_empty() => Ok(Self::from_parts(&id, key)),
            _ => Err("needs both an id= and a key= line".into()),
        }
    }

    fn aad(&self, object: ObjectId) -> Vec<u8> {
        [WRAP_AAD, self.id.as_bytes(), b"\0", object.as_bytes()].concat()
    }
}

#[async_trait::async_trait]
impl KeyProvider for LocalKeyFile {
    fn key_id(&self) -> &str {
        &self.id
    }

    async fn wrap(&self, key: &DataKey, object: KeyBinding<'_>) -> Result<WrappedKey, FormatError> {
        let mut nonce = [0u8; 12];
        fill_random(&mut nonce)?;
        let mut buf = key.0;
        let tag = self
            .aead
            .encrypt_inout_detached(
                &Nonce::<Aes256Gcm>::from(nonce),
                &self.aad(object.id),
                (&mut buf[..]).into(),
            )
            .map_err(|_| FormatError::KeyUnwrap {
                key_id: self.id.clone(),
            })?;
        let blob = [&nonce[..], &buf[..], &tag[..]].concat();
        Ok(WrappedKey {
            provider: LOCAL_PROVIDER.into(),
            key_id: self.id.clone(),
            wrapped: B64.encode(blob),
        })
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedKey,
        object: KeyBinding<'_>,
    ) -> Result<DataKey, FormatError> {
        if wrapped.provider != LOCAL_PROVIDER {
            return Err(FormatError::KeyProviderMismatch {
                expected: wrapped.provider.clone(),
                found: LOCAL_PROVIDER.into(),
            });
        }
        if wrapped.key_id != self.id {
            return Err(FormatError::KeyIdMismatch {
                object_key_id: wrapped.key_id.clone(),
                provider_key_id: self.id.clone(),
            });
        }
        let fail = || FormatError::KeyUnwrap {
            key_id: self.id.clone(),
        };
        let blob = B64.decode(&wrapped.wrapped).map_err(|_| fail())?;
        if blob.len() != 12 + 32 + 16 {
            return Err(fail());
        }
        let nonce: [u8; 12] = blob[..12].try_into().map_err(|_| fail())?;
        let mut key: [u8; 32] = blob[12..44].try_into().map_err(|_| fail())?;
        let tag = aes_gcm::Tag::try_from(&blob[44..]).map_err(|_| fail())?;
        self.aead
            .decrypt_inout_detached(
                &Nonce::<Aes256Gcm>::from(nonce),
                &self.aad(object.id),
                (&mut key[..]).into(),
                &tag,
            )
            .map_err(|_| fail())?;
        Ok(DataKey(key))
    }
}

/// Where the key file comes from when none is named: `MEZZFS_KEY_FILE`, else
/// `$XDG_CONFIG_HOME/mezzfs/key` (or `~/.config/mezzfs/key`).
pub fn default_key_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MEZZFS_KEY_FILE") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("mezzfs").join("key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures_lite_block_on(f)
    }

    // A minimal executor: the local provider never awaits anything.
    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn wrap_unwrap_round_trip_and_binding() {
        let kek = LocalKeyFile::from_parts("k1", [7; 32]);
        let id = KeyBinding {
            id: ObjectId::from_bytes([1; 16]),
            name: "a",
        };
        let dk = DataKey::from_bytes([9; 32]);
        let w = block_on(kek.wrap(&dk, id)).expect("wrap");
        let back = block_on(kek.unwrap(&w, id)).expect("unwrap");
        assert_eq!(back.0, dk.0);
        // Bound to the object id.
        let other = KeyBinding {
            id: ObjectId::from_bytes([2; 16]),
            ..id
        };
        assert!(matches!(
            block_on(kek.unwrap(&w, other)),
            Err(FormatError::KeyUnwrap { .. })
        ));
        // Another key with the same id cannot unwrap it.
        let wrong = LocalKeyFile::from_parts("k1", [8; 32]);
        assert!(matches!(
            block_on(wrong.unwrap(&w, id)),
            Err(FormatError::KeyUnwrap { .. })
        ));
        // A key with another id says so.
        let other_id = LocalKeyFile::from_parts("k2", [7; 32]);
        assert!(matches!(
            block_on(other_id.unwrap(&w, id)),
            Err(FormatError::KeyIdMismatch { .. })
        ));
    }

    #[test]
    fn key_file_generate_load_and_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kek");
        let k = LocalKeyFile::generate(&path).expect("generate");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = LocalKeyFile::load(&path).expect("load");
        assert_eq!(loaded.key_id(), k.key_id());
        assert!(LocalKeyFile::generate(&path).is_err(), "never overwrites");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = LocalKeyFile::load(&path)
            .expect_err("world-readable refused")
            .to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn key_file_parse_errors_are_clear() {
        assert!(LocalKeyFile::parse("hello").is_err());
        assert!(LocalKeyFile::parse("mezzfs-kek-v1\nid=a\nkey=zz").is_err());
        assert!(LocalKeyFile::parse("mezzfs-kek-v1\nid=a").is_err());
        let ok = format!("mezzfs-kek-v1\n# c\nid=abc\nkey={}\n", "00".repeat(32));
        assert_eq!(LocalKeyFile::parse(&ok).expect("parses").key_id(), "abc");
    }
}
