//! Audio files come from outside: any bytes must probe to a track or an error, and decoding
//! the first chunks must give whole frames or an error, never a panic (symphonia's demuxers
//! and decoders, and our MP4 edit-list reader that runs before them).
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use segment_encode::audio::Decoder;
use segment_encode::audio::mp4edit;

fuzz_target!(|bytes: &[u8]| {
    let movie = mp4edit::parse_moov(bytes);
    for t in &movie.tracks {
        let _ = movie.trim(t.track_id, 48000);
    }
    let source = Box::new(Cursor::new(bytes.to_vec()));
    let Ok(mut decoder) = Decoder::from_source(source, None, None) else {
        return;
    };
    let channels = decoder.info().channels;
    assert!(channels > 0 && decoder.info().sample_rate > 0);
    for _ in 0..8 {
        match decoder.next_chunk() {
            Ok(Some(chunk)) => assert_eq!(chunk.samples.len() % channels, 0),
            Ok(None) | Err(_) => break,
        }
    }
});
