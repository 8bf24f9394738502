//! The manifest: one small object that describes a stored object version.
//!
//! Wire format (all integers big-endian):
//!
//! ```text
//! magic "MEZZMANI" (8) | format version u16 | reserved u16 | body length u32
//! body: UTF-8 JSON (see `Manifest`)
//! HMAC-SHA256 over everything before it (32)
//! ```
//!
//! The version sits in the binary header so a reader can refuse a newer format before it
//! tries to understand the body. The MAC key is derived from the object's data key, which only
//! the key provider can unwrap: nobody without the key can forge or alter a manifest, and a
//! manifest cannot be moved to another name because the name is in the authenticated body.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{
    DataKey, FormatError, KeyBinding, KeyProvider, Layout, ObjectCipher, ObjectId, WrappedKey,
};

pub const MANIFEST_MAGIC: &[u8; 8] = b"MEZZMANI";
pub const MANIFEST_VERSION: u16 = 1;
const HEADER_LEN: usize = 16;
const MAC_LEN: usize = 32;
/// Manifests are a few hundred bytes; anything near this is not one.
pub const MAX_MANIFEST_LEN: usize = 1 << 20;

/// What a manifest says about one object version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The object's name in its store; checked on every open.
    pub name: String,
    pub object_id: String,
    pub plaintext_size: u64,
    pub part_size: u64,
    pub segment_size: u32,
    pub part_count: u64,
    pub created_unix: u64,
    pub key: WrappedKey,
}

impl Manifest {
    pub fn id(&self) -> Result<ObjectId, FormatError> {
        self.object_id.parse()
    }

    pub fn layout(&self) -> Result<Layout, FormatError> {
        let l = Layout::new(self.plaintext_size, self.part_size, self.segment_size)?;
        if l.part_count() != self.part_count {
            return Err(FormatError::ManifestMalformed(format!(
                "part count {} does not match {} bytes in {}-byte parts",
                self.part_count, self.plaintext_size, self.part_size
            )));
        }
        Ok(l)
    }

    /// Serialises and authenticates the manifest with the object's MAC key.
    pub fn seal(&self, cipher: &ObjectCipher) -> Vec<u8> {
        // Serialising a struct of strings and integers cannot fail.
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER_LEN + body.len() + MAC_LEN);
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&MANIFEST_VERSION.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        let tag = mac(cipher, &out);
        out.extend_from_slice(&tag);
        out
    }
}

fn mac(cipher: &ObjectCipher, bytes: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(cipher.mac_key()).unwrap_or_else(|_| {
        // HMAC accepts keys of any length; a 32-byte key cannot be rejected.
        unreachable!("HMAC rejected a 32-byte key")
    });
    m.update(bytes);
    m.finalize().into_bytes().into()
}

/// A manifest parsed but not yet authenticated: only good for finding its key.
#[derive(Debug)]
pub struct SealedManifest {
    raw: Vec<u8>,
    unverified: Manifest,
}

impl SealedManifest {
    /// Parses the framing and body. Nothing here is trusted until [`SealedManifest::open`].
    pub fn parse(raw: Vec<u8>) -> Result<Self, FormatError> {
        if raw.len() < HEADER_LEN || &raw[..8] != MANIFEST_MAGIC {
            return Err(FormatError::NotAManifest);
        }
        let version = u16::from_be_bytes([raw[8], raw[9]]);
        if version > MANIFEST_VERSION {
            return Err(FormatError::NewerManifestVersion {
                found: version,
                supported: MANIFEST_VERSION,
            });
        }
        if version == 0 {
            return Err(FormatError::ManifestMalformed("format version 0".into()));
        }
        let body_len = u32::from_be_bytes([raw[12], raw[13], raw[14], raw[15]]) as usize;
        if raw.len() > MAX_MANIFEST_LEN || raw.len() != HEADER_LEN + body_len + MAC_LEN {
            return Err(FormatError::ManifestMalformed(format!(
                "{} bytes, but the header announces a {body_len}-byte body",
                raw.len()
            )));
        }
        let unverified: Manifest = serde_json::from_slice(&raw[HEADER_LEN..HEADER_LEN + body_len])
            .map_err(|e| FormatError::ManifestMalformed(e.to_string()))?;
        Ok(SealedManifest { raw, unverified })
    }

    /// The manifest as it claims to be: sizes and layout to show before the data key is
    /// unwrapped. Unauthenticated until [`open`](Self::open) succeeds on the same bytes.
    pub fn unverified(&self) -> &Manifest {
        &self.unverified
    }

    /// The wrapped data key, to hand to a key provider. Unauthenticated.
    pub fn wrapped_key(&self) -> &WrappedKey {
        &self.unverified.key
    }

    /// Unwraps the data key, verifies the manifest and checks it names `expected_name`.
    /// Returns the trusted manifest, its layout and the object's cipher.
    pub async fn open(
        self,
        keys: &dyn KeyProvider,
        expected_name: &str,
    ) -> Result<OpenedObject, FormatError> {
        let (_, id, cipher) = self.authenticate(keys, expected_name).await?;
        let layout = self.unverified.layout()?;
        Ok(OpenedObject {
            manifest: self.unverified,
            id,
            layout,
            cipher,
        })
    }

    /// The same object version with its data key wrapped by `to` instead of the provider
    /// that wrapped it (unwrapped through `from`): the manifest is authenticated as
    /// [`open`](Self::open) does, then resealed. The data key does not change, so the parts
    /// sealed under it stay valid and are not touched. Returns the new manifest and its bytes.
    pub async fn rewrap(
        self,
        from: &dyn KeyProvider,
        to: &dyn KeyProvider,
        expected_name: &str,
    ) -> Result<(Manifest, Vec<u8>), FormatError> {
        let (data_key, id, cipher) = self.authenticate(from, expected_name).await?;
        self.unverified.layout()?;
        let mut manifest = self.unverified;
        manifest.key = to
            .wrap(
                &data_key,
                KeyBinding {
                    id,
                    name: expected_name,
                },
            )
            .await?;
        let sealed = manifest.seal(&cipher);
        Ok((manifest, sealed))
    }

    /// The same object version under another name: the manifest is authenticated as
    /// `from_name` (as [`open`](Self::open) does), then names `to_name`, its data key
    /// re-wrapped for that name (a key service that binds keys to names sees the new one) and
    /// resealed. The data key and object id do not change, and segments are bound to the id,
    /// not the name: the parts, copied to the new name's folder, stay valid as they are.
    /// Returns the new manifest and its bytes.
    pub async fn renamed(
        self,
        keys: &dyn KeyProvider,
        from_name: &str,
        to_name: &str,
    ) -> Result<(Manifest, Vec<u8>), FormatError> {
        let (data_key, id, cipher) = self.authenticate(keys, from_name).await?;
        self.unverified.layout()?;
        let mut manifest = self.unverified;
        manifest.name = to_name.into();
        manifest.key = keys
            .wrap(&data_key, KeyBinding { id, name: to_name })
            .await?;
        let sealed = manifest.seal(&cipher);
        Ok((manifest, sealed))
    }

    async fn authenticate(
        &self,
        keys: &dyn KeyProvider,
        expected_name: &str,
    ) -> Result<(DataKey, ObjectId, ObjectCipher), FormatError> {
        let m = &self.unverified;
        let id = m.id()?;
        // The name being opened, not the one the manifest claims: a key service that binds
        // keys to names refuses a manifest moved here from another name.
        let binding = KeyBinding {
            id,
            name: expected_name,
        };
        let data_key = keys.unwrap(&m.key, binding).await?;
        // Geometry feeds the cipher's associated data; validate it before use, authenticate
        // it right after.
        let layout_shape = Layout::new(0, m.part_size, m.segment_size)?;
        let cipher = ObjectCipher::new(
            &data_key,
            id,
            layout_shape.segment_size(),
            layout_shape.part_size(),
        );
        let body_end = self.raw.len() - MAC_LEN;
        let expected = mac(&cipher, &self.raw[..body_end]);
        if !constant_time_eq(&expected, &self.raw[body_end..]) {
            return Err(FormatError::ManifestAuth);
        }
        if m.name != expected_name {
            return Err(FormatError::NameMismatch {
                expected: expected_name.into(),
                found: m.name.clone(),
            });
        }
        Ok((data_key, id, cipher))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An authenticated object version, ready to open segments.
#[derive(Clone, Debug)]
pub struct OpenedObject {
    pub manifest: Manifest,
    pub id: ObjectId,
    pub layout: Layout,
    pub cipher: ObjectCipher,
}

impl OpenedObject {
    /// Opens the sealed bytes fetched for `span` in place and returns the plaintext length.
    /// A short or long fetch (a truncated part) is reported as such, naming the segment.
    pub fn open_span(
        &self,
        span: &crate::PartSpan,
        sealed: &mut [u8],
    ) -> Result<usize, FormatError> {
        let expected = span.ciphertext.end - span.ciphertext.start;
        if sealed.len() as u64 != expected {
            // Name the first segment whose bytes are missing.
            let seg = self.layout.sealed_segment_size();
            let segment =
                span.first_segment + (sealed.len() as u64 / seg).min(span.segment_count - 1);
            return Err(FormatError::SegmentLength {
                segment,
                part: span.part,
                expected,
                got: sealed.len() as u64,
            });
        }
        let last = self.layout.segment_count().saturating_sub(1);
        self.cipher.open_in_place(span.first_segment, last, sealed)
    }
}
