//! The cache file format (pure): a fixed 56-byte header, then the block's bytes.
//!
//! ```text
//! 0   8  magic "MEZZCBK1" (format version in the last byte)
//! 8  16  key id: xxh3-128 of the store key, seeded with the block size (see `FileId`)
//! 24  8  block index, or SIZE_RECORD for the file that remembers the object's size
//! 32  4  length of the data
//! 36  4  zero (reserved)
//! 40  8  xxh3-64 of the data
//! 48  8  xxh3-64 of bytes 0..48, so a damaged header is caught before its length is used
//! 56     data
//! ```
//!
//! All integers little-endian. xxh3 is not a MAC: it catches torn writes, truncation, bit rot
//! and files renamed or copied to the wrong name. Tampering is caught later by the reader's
//! AES-GCM authentication, since the data is ciphertext.

use xxhash_rust::xxh3::{xxh3_64, xxh3_128_with_seed};

pub const MAGIC: [u8; 8] = *b"MEZZCBK1";
pub const HEADER_LEN: usize = 56;
/// The block index that marks a size record (its 8 data bytes are the object's size).
pub const SIZE_RECORD: u64 = u64::MAX;
/// A cache file holds one block; blocks are at most 64 MiB (`DiskCacheConfig` checks), so a
/// larger length field is damage.
pub const MAX_DATA: u32 = 64 << 20;

/// Which file: the key (hashed with the block size, so two mounts with different block sizes
/// sharing a directory never read each other's blocks as their own) and the block index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId {
    pub key: u128,
    pub block: u64,
}

impl FileId {
    pub fn key_id(key: &str, block_bytes: u64) -> u128 {
        xxh3_128_with_seed(key.as_bytes(), block_bytes)
    }

    /// The file's name in the cache directory: 32 + 1 + 16 hex digits and `.mzc`.
    pub fn file_name(&self) -> String {
        format!("{:032x}-{:016x}.mzc", self.key, self.block)
    }

    /// The inverse of [`FileId::file_name`]; `None` for any other name.
    pub fn parse_name(name: &str) -> Option<FileId> {
        let stem = name.strip_suffix(".mzc")?;
        let (key, block) = stem.split_once('-')?;
        if key.len() != 32 || block.len() != 16 {
            return None;
        }
        let hex = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        };
        if !hex(key) || !hex(block) {
            return None;
        }
        Some(FileId {
            key: u128::from_str_radix(key, 16).ok()?,
            block: u64::from_str_radix(block, 16).ok()?,
        })
    }
}

/// Why a cache file's bytes were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("{len} bytes, shorter than the {HEADER_LEN}-byte header")]
    TooShort { len: usize },
    #[error("not a mezzfs cache file (bad magic)")]
    BadMagic,
    #[error("header checksum mismatch")]
    HeaderChecksum,
    #[error("data length {len} is over the {MAX_DATA}-byte limit")]
    TooLong { len: u32 },
    #[error("header says {header} data bytes, file has {actual}")]
    Truncated { header: u32, actual: usize },
    #[error("data checksum mismatch")]
    DataChecksum,
    #[error("file is for {found:?}, expected {expected:?}")]
    WrongFile { found: FileId, expected: FileId },
}

/// A decoded cache file: whose block it is and its verified data.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub id: FileId,
    pub data: &'a [u8],
}

/// The header for `data` stored as file `id`. `data` must be at most `MAX_DATA` bytes.
pub fn encode_header(id: FileId, data: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..24].copy_from_slice(&id.key.to_le_bytes());
    h[24..32].copy_from_slice(&id.block.to_le_bytes());
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    h[32..36].copy_from_slice(&len.to_le_bytes());
    h[40..48].copy_from_slice(&xxh3_64(data).to_le_bytes());
    let sum = xxh3_64(&h[0..48]);
    h[48..56].copy_from_slice(&sum.to_le_bytes());
    h
}

fn le<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

/// Checks a whole cache file. Any bytes give an error or a verified block, never a panic.
pub fn parse(file: &[u8]) -> Result<Parsed<'_>, HeaderError> {
    if file.len() < HEADER_LEN {
        return Err(HeaderError::TooShort { len: file.len() });
    }
    let (h, data) = file.split_at(HEADER_LEN);
    if h[0..8] != MAGIC {
        return Err(HeaderError::BadMagic);
    }
    if xxh3_64(&h[0..48]) != u64::from_le_bytes(le(h, 48)) {
        return Err(HeaderError::HeaderChecksum);
    }
    let len = u32::from_le_bytes(le(h, 32));
    if len > MAX_DATA {
        return Err(HeaderError::TooLong { len });
    }
    if data.len() != len as usize {
        return Err(HeaderError::Truncated {
            header: len,
            actual: data.len(),
        });
    }
    if xxh3_64(data) != u64::from_le_bytes(le(h, 40)) {
        return Err(HeaderError::DataChecksum);
    }
    Ok(Parsed {
        id: FileId {
            key: u128::from_le_bytes(le(h, 8)),
            block: u64::from_le_bytes(le(h, 24)),
        },
        data,
    })
}

/// [`parse`], and the file must be the one expected.
pub fn parse_expected(file: &[u8], expected: FileId) -> Result<&[u8], HeaderError> {
    let parsed = parse(file)?;
    if parsed.id != expected {
        return Err(HeaderError::WrongFile {
            found: parsed.id,
            expected,
        });
    }
    Ok(parsed.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(id: FileId, data: &[u8]) -> Vec<u8> {
        let mut f = encode_header(id, data).to_vec();
        f.extend_from_slice(data);
        f
    }

    #[test]
    fn names_round_trip_and_refuse_others() {
        let id = FileId {
            key: 0x0123_4567_89ab_cdef_0011_2233_4455_6677,
            block: 42,
        };
        assert_eq!(FileId::parse_name(&id.file_name()), Some(id));
        for bad in [
            "x.mzc",
            ".tmp.1.2.mzc",
            "0123456789abcdef0011223344556677-000000000000002a.mzcx",
            "0123456789ABCDEF0011223344556677-000000000000002a.mzc",
            "0123456789abcdef0011223344556677-+00000000000002a.mzc",
        ] {
            assert_eq!(FileId::parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn detects_each_kind_of_damage() {
        let id = FileId { key: 7, block: 3 };
        let good = file(id, b"ciphertext bytes");
        assert_eq!(parse_expected(&good, id), Ok(&b"ciphertext bytes"[..]));
        assert_eq!(parse(&[]), Err(HeaderError::TooShort { len: 0 }));
        assert!(matches!(
            parse(&good[..good.len() - 1]),
            Err(HeaderError::Truncated {
                header: 16,
                actual: 15
            })
        ));
        let mut flipped = good.clone();
        flipped[HEADER_LEN + 3] ^= 0x10;
        assert_eq!(parse(&flipped), Err(HeaderError::DataChecksum));
        let mut header = good.clone();
        header[25] ^= 1;
        assert_eq!(parse(&header), Err(HeaderError::HeaderChecksum));
        let mut magic = good.clone();
        magic[0] = b'X';
        assert_eq!(parse(&magic), Err(HeaderError::BadMagic));
        let other = FileId { key: 7, block: 4 };
        assert!(matches!(
            parse_expected(&good, other),
            Err(HeaderError::WrongFile { .. })
        ));
    }

    #[test]
    fn block_size_changes_the_key_id() {
        assert_ne!(
            FileId::key_id("a/b", 1 << 20),
            FileId::key_id("a/b", 1 << 22)
        );
        assert_eq!(
            FileId::key_id("a/b", 1 << 20),
            FileId::key_id("a/b", 1 << 20)
        );
    }

    proptest! {
        #[test]
        fn any_bytes_give_an_error_or_a_consistent_file(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(p) = parse(&bytes) {
                prop_assert_eq!(file(p.id, p.data), bytes);
            }
        }

        #[test]
        fn round_trips(key in any::<u128>(), block in any::<u64>(), data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let id = FileId { key, block };
            let f = file(id, &data);
            prop_assert_eq!(parse_expected(&f, id), Ok(&data[..]));
        }

        /// Any single flipped bit anywhere in a file is detected.
        #[test]
        fn every_bit_flip_is_caught(data in proptest::collection::vec(any::<u8>(), 0..64), bit in any::<usize>()) {
            let id = FileId { key: 1, block: 2 };
            let mut f = file(id, &data);
            let bit = bit % (f.len() * 8);
            f[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(parse_expected(&f, id).is_err());
        }
    }
}
