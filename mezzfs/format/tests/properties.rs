//! Property tests of the sealed object format: every range decrypts to the plaintext slice,
//! and every kind of tampering is detected.

mod common;

use common::{SealedObject, read_range, seal_object};
use mezz_format::{LocalKeyFile, TAG_LEN};
use proptest::prelude::*;

fn keys() -> LocalKeyFile {
    LocalKeyFile::from_parts("prop", [5; 32])
}

fn plaintext(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

/// (plaintext length, segment size, segments per part)
fn geometry() -> impl Strategy<Value = (usize, u32, u64)> {
    (
        0usize..200_000,
        prop::sample::select(vec![4096u32, 8192, 16384]),
        1u64..6,
    )
}

fn sealed(len: usize, seg: u32, spp: u64, seed: u8) -> (Vec<u8>, SealedObject) {
    let plain = plaintext(len, seed);
    let obj = seal_object(&keys(), "obj", &plain, spp * u64::from(seg), seg);
    (plain, obj)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_range_decrypts_to_the_plaintext_slice(
        (len, seg, spp) in geometry(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()
    ) {
        let (plain, obj) = sealed(len, seg, spp, 1);
        let (x, y) = (a.index(len + 1), b.index(len + 1));
        let (start, end) = (x.min(y), x.max(y));
        let got = read_range(&obj, &keys(), "obj", start as u64..end as u64).expect("authentic");
        prop_assert_eq!(&got[..], &plain[start..end]);
    }

    #[test]
    fn any_bit_flip_in_a_part_is_detected(
        (len, seg, spp) in geometry(), part in any::<prop::sample::Index>(),
        byte in any::<prop::sample::Index>(), bit in 0u8..8
    ) {
        prop_assume!(len > 0);
        let (_, mut obj) = sealed(len, seg, spp, 2);
        let p = part.index(obj.parts.len());
        let i = byte.index(obj.parts[p].len());
        obj.parts[p][i] ^= 1 << bit;
        prop_assert!(read_range(&obj, &keys(), "obj", 0..len as u64).is_err());
    }

    #[test]
    fn any_bit_flip_in_the_manifest_is_detected(
        (len, seg, spp) in geometry(), byte in any::<prop::sample::Index>(), bit in 0u8..8
    ) {
        let (_, mut obj) = sealed(len, seg, spp, 3);
        let i = byte.index(obj.manifest.len());
        obj.manifest[i] ^= 1 << bit;
        prop_assert!(read_range(&obj, &keys(), "obj", 0..len as u64).is_err());
    }

    #[test]
    fn swapping_two_segments_is_detected(
        (len, seg, spp) in geometry(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()
    ) {
        let (_, mut obj) = sealed(len, seg, spp, 4);
        let sealed_seg = seg as usize + TAG_LEN as usize;
        let full = obj.parts[0].len() / sealed_seg;
        prop_assume!(full >= 2);
        let (x, y) = (a.index(full), b.index(full));
        prop_assume!(x != y);
        let (lo, hi) = (x.min(y), x.max(y));
        let (head, tail) = obj.parts[0].split_at_mut(hi * sealed_seg);
        head[lo * sealed_seg..(lo + 1) * sealed_seg].swap_with_slice(&mut tail[..sealed_seg]);
        prop_assert!(read_range(&obj, &keys(), "obj", 0..len as u64).is_err());
    }

    #[test]
    fn dropping_a_part_is_detected((len, seg, spp) in geometry(), k in any::<prop::sample::Index>()) {
        let (_, mut obj) = sealed(len, seg, spp, 5);
        prop_assume!(obj.parts.len() >= 2);
        // The store renumbers what is left, as if the part had never been written.
        obj.parts.remove(k.index(obj.parts.len()));
        prop_assert!(read_range(&obj, &keys(), "obj", 0..len as u64).is_err());
    }

    #[test]
    fn truncating_at_a_segment_boundary_is_detected(
        (len, seg, spp) in geometry(), cut in any::<prop::sample::Index>()
    ) {
        let (_, mut obj) = sealed(len, seg, spp, 6);
        prop_assume!(!obj.parts.is_empty());
        let last = obj.parts.len() - 1;
        let sealed_seg = seg as usize + TAG_LEN as usize;
        let segments = obj.parts[last].len().div_ceil(sealed_seg);
        let keep = cut.index(segments);
        obj.parts[last].truncate(keep * sealed_seg);
        prop_assert!(read_range(&obj, &keys(), "obj", 0..len as u64).is_err());
    }

    #[test]
    fn splicing_a_segment_from_another_object_is_detected(
        (len, seg, spp) in geometry(), which in any::<prop::sample::Index>()
    ) {
        prop_assume!(len > 0);
        // Same key, same geometry, same plaintext: only the object version differs.
        let (_, mut a) = sealed(len, seg, spp, 7);
        let (_, b) = sealed(len, seg, spp, 7);
        let sealed_seg = seg as usize + TAG_LEN as usize;
        let segments = a.parts[0].len().div_ceil(sealed_seg);
        let s = which.index(segments);
        let end = ((s + 1) * sealed_seg).min(a.parts[0].len());
        a.parts[0][s * sealed_seg..end].copy_from_slice(&b.parts[0][s * sealed_seg..end]);
        prop_assert!(read_range(&a, &keys(), "obj", 0..len as u64).is_err());
    }
}

#[test]
fn manifest_read_under_another_name_is_refused() {
    let (_, obj) = sealed(10_000, 4096, 2, 8);
    let err = read_range(&obj, &keys(), "other", 0..10).expect_err("name bound");
    assert!(err.to_string().contains("not 'other'"), "{err}");
}

#[test]
fn wrong_key_and_wrong_key_id_are_named() {
    let (_, obj) = sealed(10_000, 4096, 2, 9);
    let wrong = LocalKeyFile::from_parts("prop", [6; 32]);
    let err = read_range(&obj, &wrong, "obj", 0..10).expect_err("wrong key");
    assert!(err.to_string().contains("cannot unwrap"), "{err}");
    let other_id = LocalKeyFile::from_parts("other-id", [5; 32]);
    let err = read_range(&obj, &other_id, "obj", 0..10).expect_err("wrong id");
    assert!(err.to_string().contains("key id 'prop'"), "{err}");
}

#[test]
fn newer_manifest_version_is_refused_clearly() {
    let (_, mut obj) = sealed(100, 4096, 1, 10);
    obj.manifest[9] = 9;
    let err = read_range(&obj, &keys(), "obj", 0..10).expect_err("newer");
    assert!(err.to_string().contains("newer than this mezzfs"), "{err}");
}

#[test]
fn random_64k_reads_fetch_at_most_a_quarter_more_with_the_default_segment() {
    // The reason DEFAULT_SEGMENT_SIZE is 16 KiB: a 64 KiB read at any offset spans at most
    // five 16 KiB segments (80 KiB, plus tags).
    let layout = mezz_format::Layout::new(1 << 30, 256 << 20, mezz_format::DEFAULT_SEGMENT_SIZE)
        .expect("layout");
    let mut worst: f64 = 0.0;
    for off in (0..(1u64 << 30) - 65536).step_by(1_000_003) {
        let fetched: u64 = layout
            .locate(off..off + 65536)
            .iter()
            .map(|s| s.ciphertext.end - s.ciphertext.start)
            .sum();
        worst = worst.max(fetched as f64 / 65536.0);
    }
    assert!(
        worst <= 1.25 + 5.0 * TAG_LEN as f64 / 65536.0,
        "worst amplification {worst}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Bytes from a bucket are untrusted: parsing garbage is an error, never a panic.
    #[test]
    fn garbage_manifests_are_rejected(data in prop::collection::vec(any::<u8>(), 0..600), magic in any::<bool>()) {
        let mut data = data;
        if magic && data.len() >= 16 {
            data[..8].copy_from_slice(b"MEZZMANI");
            data[8] = 0;
            data[9] = 1;
        }
        if let Ok(sealed) = mezz_format::SealedManifest::parse(data) {
            prop_assert!(common::block_on(sealed.open(&keys(), "obj")).is_err());
        }
    }

    #[test]
    fn garbage_segments_never_open(data in prop::collection::vec(any::<u8>(), 0..20_000), first in 0u64..100) {
        let cipher = mezz_format::ObjectCipher::new(
            &mezz_format::DataKey::from_bytes([1; 32]), mezz_format::ObjectId::from_bytes([2; 16]), 4096, 8192);
        let mut data = data;
        let empty = data.is_empty();
        prop_assert!(cipher.open_in_place(first, first + 3, &mut data).is_err() || empty);
    }
}
