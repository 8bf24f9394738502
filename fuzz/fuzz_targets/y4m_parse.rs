//! Y4M mezzanines come from outside: any bytes must parse to a header or an error, never
//! panic, and a parsed header's frame arithmetic must stay consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use segment_encode::y4m;

fuzz_target!(|input: (u32, &[u8])| {
    let (extra, bytes) = input;
    let Ok(header) = y4m::parse_header(bytes) else { return };
    assert!(header.header_len() as usize <= bytes.len());
    assert!(header.width > 0 && header.height > 0);
    let stride = header.frame_stride();
    let len = header.header_len() + u64::from(extra);
    match header.frame_count(len) {
        Ok(frames) => assert_eq!(header.frame_offset(frames), len),
        Err(_) => assert!(u64::from(extra) % stride != 0),
    }
    let rest = &bytes[header.header_len() as usize..];
    let _ = y4m::check_frame_marker(rest, 0, header.header_len());
});
