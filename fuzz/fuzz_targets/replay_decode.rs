//! A replay file may be cut short or damaged: any bytes must decode to a prefix of records or a
//! clear error, and analysing what decoded must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // As a whole file, and as the payload of a chunk with a lying record count.
    if let Ok(d) = mezz_replays::decode(data) {
        let _ = mezz_replays::analysis::Summary::of(&d);
        let _ = mezz_replays::analysis::chrome_trace(&d);
        // Every kind, the write records' included, as `replay dump --json` prints it.
        for r in &d.records {
            let _ = mezz_replays::analysis::record_json(r);
        }
    }
    let mut file = mezz_replays::codec::header().to_vec();
    file.extend_from_slice(data);
    if let Ok(d) = mezz_replays::decode(&file) {
        let _ = mezz_replays::analysis::Summary::of(&d);
    }
    let _ = mezz_replays::codec::decode_chunk(data, u32::MAX);
});
