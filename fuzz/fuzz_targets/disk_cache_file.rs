//! Cache files come from a local directory that other processes, crashes and bit rot can
//! change: any bytes must parse to an error or a file that re-encodes to exactly those bytes.
//! The codec is a pure module of mezz-store, compiled here from its source.
#![no_main]

#[allow(dead_code)]
#[path = "../../mezzfs/store/src/disk_cache/header.rs"]
mod header;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = header::parse(data) {
        let mut again = header::encode_header(p.id, p.data).to_vec();
        again.extend_from_slice(p.data);
        assert_eq!(again, data, "accepted bytes must be canonical");
        assert_eq!(header::parse_expected(data, p.id), Ok(p.data));
    }
});
