//! Part bytes come from a bucket: any bytes must open to an error, never to plaintext, and
//! never panic, whatever the claimed position in the object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mezz_format::{DataKey, ObjectCipher, ObjectId};

fuzz_target!(|input: (u16, u8, Vec<u8>)| {
    let (first, extra, mut data) = input;
    let cipher = ObjectCipher::new(&DataKey::from_bytes([2; 32]), ObjectId::from_bytes([3; 16]), 4096, 8192);
    let first = u64::from(first);
    let last = first + u64::from(extra);
    assert!(cipher.open_in_place(first, last, &mut data).is_err() || data.is_empty());
});
