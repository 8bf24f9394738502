//! Cache files come from a local directory that other processes, crashes and bit rot can
//! change: any bytes must parse to an error or a file that re-encodes to exactly those bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mezz_store::{encode_cache_file, parse_cache_file};

fuzz_target!(|data: &[u8]| {
    if let Ok((id, body)) = parse_cache_file(data) {
        assert_eq!(
            encode_cache_file(id, body),
            data,
            "accepted bytes must be canonical"
        );
    }
});
