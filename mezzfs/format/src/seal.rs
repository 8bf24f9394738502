//! Sealing and opening segments: AES-256-GCM with the STREAM nonce construction.
//!
//! Each object has its own segment key, derived with HKDF-SHA256 from the object's random data
//! key and salted with its object id. A segment's 96-bit nonce is its global index (88 bits,
//! big-endian) followed by a byte that is 1 only for the object's final segment: the
//! construction of Hoang, Reyhanitabar, Rogaway and Vizár ("online AE", used by Tink's
//! streaming AEAD and by age). Reordering segments changes their nonces, cutting the object
//! short loses the final flag, and segments of another object were sealed under another key;
//! all three fail authentication. The associated data binds the geometry (segment and part
//! size) so a manifest cannot be paired with parts cut differently.

use aes_gcm::aead::Nonce;
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Tag};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::layout::TAG_LEN;
use crate::{FormatError, ObjectId};

const SEGMENT_KEY_INFO: &[u8] = b"mezzfs v1 segment key";
const MANIFEST_MAC_INFO: &[u8] = b"mezzfs v1 manifest mac";

/// A fresh 256-bit data key, one per stored object version.
#[derive(Clone)]
pub struct DataKey(pub(crate) [u8; 32]);

impl DataKey {
    pub fn random() -> Result<Self, FormatError> {
        let mut k = [0u8; 32];
        crate::ids::fill_random(&mut k)?;
        Ok(DataKey(k))
    }

    pub fn from_bytes(k: [u8; 32]) -> Self {
        DataKey(k)
    }

    /// The plaintext key, for providers that wrap it in a key service (KMS `Encrypt`).
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

// Plaintext data keys live only as long as an object is open; wipe them when they go.
impl Drop for DataKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// The keys and bound parameters needed to seal or open the segments of one object version.
#[derive(Clone)]
pub struct ObjectCipher {
    aead: Aes256Gcm,
    mac_key: [u8; 32],
    aad: [u8; 28],
    segment_size: u32,
    segments_per_part: u64,
}

// The segment key's schedule is wiped by `Aes256Gcm`'s own drop (aes-gcm's `zeroize`).
impl Drop for ObjectCipher {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.mac_key);
    }
}

impl std::fmt::Debug for ObjectCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectCipher")
            .field("segment_size", &self.segment_size)
            .finish_non_exhaustive()
    }
}

fn nonce(index: u64, last: bool) -> Nonce<Aes256Gcm> {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::<Aes256Gcm>::from(n)
}

impl ObjectCipher {
    pub fn new(key: &DataKey, id: ObjectId, segment_size: u32, part_size: u64) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(id.as_bytes()), &key.0);
        let mut seg_key = [0u8; 32];
        let mut mac_key = [0u8; 32];
        // 32-byte outputs are far below HKDF-SHA256's 8160-byte limit.
        hk.expand(SEGMENT_KEY_INFO, &mut seg_key)
            .unwrap_or_default();
        hk.expand(MANIFEST_MAC_INFO, &mut mac_key)
            .unwrap_or_default();
        let mut aad = [0u8; 28];
        aad[..16].copy_from_slice(id.as_bytes());
        aad[16..20].copy_from_slice(&segment_size.to_be_bytes());
        aad[20..28].copy_from_slice(&part_size.to_be_bytes());
        let aead = Aes256Gcm::new(&seg_key.into());
        zeroize::Zeroize::zeroize(&mut seg_key);
        ObjectCipher {
            aead,
            mac_key,
            aad,
            segment_size,
            segments_per_part: part_size / u64::from(segment_size).max(1),
        }
    }

    pub(crate) fn mac_key(&self) -> &[u8; 32] {
        &self.mac_key
    }

    /// Size of `plain_len` plaintext bytes once cut into segments and sealed.
    pub fn sealed_len(&self, plain_len: usize) -> usize {
        let seg = self.segment_size as usize;
        plain_len + plain_len.div_ceil(seg) * TAG_LEN as usize
    }

    /// Seals `plain`, which starts at segment `first_segment` and holds whole segments (only the
    /// object's final segment may be short), appending the sealed bytes to `out`. When
    /// `ends_object` is set, the last segment in `plain` is sealed as the object's final one.
    pub fn seal(&self, first_segment: u64, plain: &[u8], ends_object: bool, out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(self.sealed_len(plain.len()));
        out.extend_from_slice(plain);
        self.seal_tail(first_segment, out, start, ends_object);
    }

    /// Like [`ObjectCipher::seal`], but the plaintext is `buf[start..]` and is sealed where it
    /// lies: no second buffer, so a pipeline holds one copy of each chunk. Reserve
    /// [`ObjectCipher::sealed_len`] bytes up front to avoid a reallocation.
    pub fn seal_tail(
        &self,
        first_segment: u64,
        buf: &mut Vec<u8>,
        start: usize,
        ends_object: bool,
    ) {
        let seg = self.segment_size as usize;
        let tag_len = TAG_LEN as usize;
        let plain_len = buf.len() - start;
        let count = plain_len.div_ceil(seg);
        buf.resize(start + self.sealed_len(plain_len), 0);
        // Back to front, so each segment moves into space no unsealed segment still needs.
        for i in (0..count).rev() {
            let from = start + i * seg;
            let len = seg.min(plain_len - i * seg);
            let to = start + i * (seg + tag_len);
            buf.copy_within(from..from + len, to);
            let index = first_segment + i as u64;
            let last = ends_object && i + 1 == count;
            // Encryption of a slice this size cannot fail: GCM's limit is 64 GiB per message.
            if let Ok(tag) = self.aead.encrypt_inout_detached(
                &nonce(index, last),
                &self.aad,
                (&mut buf[to..to + len]).into(),
            ) {
                buf[to + len..to + len + tag_len].copy_from_slice(&tag);
            }
        }
    }

    /// Opens sealed segments in place: `sealed` holds whole sealed segments starting at global
    /// segment `first_segment`; `last_segment` is the object's final segment index. On success
    /// the plaintext is compacted to the front of `sealed` and its length returned; no byte of
    /// a segment that failed authentication is ever exposed as plaintext.
    pub fn open_in_place(
        &self,
        first_segment: u64,
        last_segment: u64,
        sealed: &mut [u8],
    ) -> Result<usize, FormatError> {
        let sealed_seg = self.segment_size as usize + TAG_LEN as usize;
        let mut read = 0;
        let mut write = 0;
        let mut index = first_segment;
        while read < sealed.len() {
            let part = index / self.segments_per_part.max(1);
            let is_last = index == last_segment;
            let len = (sealed.len() - read).min(sealed_seg);
            let full = len == sealed_seg;
            if index > last_segment || len <= TAG_LEN as usize || (!full && !is_last) {
                return Err(FormatError::SegmentLength {
                    segment: index,
                    part,
                    expected: if is_last {
                        len as u64
                    } else {
                        sealed_seg as u64
                    },
                    got: len as u64,
                });
            }
            let body_len = len - TAG_LEN as usize;
            let (body, tag) = sealed[read..read + len].split_at_mut(body_len);
            let tag = Tag::try_from(&*tag).map_err(|_| FormatError::SegmentAuth {
                segment: index,
                part,
            })?;
            self.aead
                .decrypt_inout_detached(&nonce(index, is_last), &self.aad, body.into(), &tag)
                .map_err(|_| FormatError::SegmentAuth {
                    segment: index,
                    part,
                })?;
            sealed.copy_within(read..read + body_len, write);
            read += len;
            write += body_len;
            index += 1;
        }
        Ok(write)
    }
}
