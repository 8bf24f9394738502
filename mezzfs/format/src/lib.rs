//! The mezzanine object format: how one logical object of any size is stored as a small
//! authenticated manifest plus N part objects of AES-256-GCM sealed segments.
//!
//! - [`Layout`] is the pure offset arithmetic: which part, which segments and which ciphertext
//!   bytes hold a plaintext range (one ranged GET per part, nothing else read).
//! - [`ObjectCipher`] seals and opens segments (STREAM nonces: index + last flag, per-object
//!   HKDF key, geometry in the associated data).
//! - [`Manifest`] / [`SealedManifest`] are the versioned, HMAC-authenticated description of an
//!   object version; [`KeyProvider`] wraps each version's fresh [`DataKey`] (envelope
//!   encryption), with [`LocalKeyFile`] as the local implementation.
//!
//! No I/O happens here except reading and writing key files; stores live in `mezz-store`.
//!
//! ```
//! use mezz_format::{DataKey, Layout, ObjectCipher, ObjectId};
//! let layout = Layout::new(40_000, 32_768, 16_384).unwrap();
//! let cipher = ObjectCipher::new(&DataKey::from_bytes([1; 32]), ObjectId::from_bytes([2; 16]),
//!                                layout.segment_size(), layout.part_size());
//! let plain = vec![7u8; 40_000];
//! // Seal part 1 (segment 2, the final one), then open it again.
//! let mut sealed = Vec::new();
//! cipher.seal(2, &plain[32_768..], true, &mut sealed);
//! assert_eq!(sealed.len() as u64, layout.part_sealed_size(1));
//! let n = cipher.open_in_place(2, layout.segment_count() - 1, &mut sealed).unwrap();
//! assert_eq!(&sealed[..n], &plain[32_768..]);
//! ```

mod error;
mod ids;
mod keys;
mod layout;
mod manifest;
mod seal;

pub use error::FormatError;
pub use ids::ObjectId;
pub use keys::{
    KeyBinding, KeyProvider, LOCAL_PROVIDER, LocalKeyFile, WrappedKey, default_key_path,
};
pub use layout::{Layout, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE, PartSpan, TAG_LEN};
pub use manifest::{MANIFEST_VERSION, Manifest, OpenedObject, SealedManifest};
pub use seal::{DataKey, ObjectCipher};

/// Default plaintext bytes per segment; see BENCHMARKS.md ("segment size") for the measurement
/// behind it: small enough that a 64 KiB read at a random offset fetches at most 1.25x, large
/// enough that tag and per-call overhead cost under 1% of throughput.
pub const DEFAULT_SEGMENT_SIZE: u32 = 16 * 1024;

/// Default plaintext bytes per part object: big enough that a 1 GiB sequential read touches
/// only a few keys, small enough that a 100 GiB mezzanine spreads over hundreds of keys that a
/// fleet of readers can fetch in parallel.
pub const DEFAULT_PART_SIZE: u64 = 256 * 1024 * 1024;

/// A new version of object `name`: fresh id and data key, the key generated and wrapped by
/// `keys`.
pub async fn new_object_version(
    keys: &dyn KeyProvider,
    name: &str,
    segment_size: u32,
    part_size: u64,
) -> Result<(ObjectId, WrappedKey, ObjectCipher), FormatError> {
    Layout::new(0, part_size, segment_size)?;
    let id = ObjectId::random()?;
    let (data_key, wrapped) = keys.generate(KeyBinding { id, name }).await?;
    Ok((
        id,
        wrapped,
        ObjectCipher::new(&data_key, id, segment_size, part_size),
    ))
}
