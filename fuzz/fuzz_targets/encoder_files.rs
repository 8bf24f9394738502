//! Files the encoder reads back (IVF, its work directory's packet files, MP4 boxes, WebM
//! elements, scene lists) and the packets it frames (AV1 OBU headers) may be damaged or
//! hostile: any bytes give a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use segment_encode::{SceneList, ivf, mp4, obu, webm, workdir};

fuzz_target!(|bytes: &[u8]| {
    if let Ok((_, frames)) = ivf::parse(bytes) {
        let total: usize = frames.iter().map(|f| f.data.len() + ivf::FRAME_HEADER_LEN).sum();
        assert!(total + ivf::FILE_HEADER_LEN <= bytes.len());
    }
    if let Ok(packets) = workdir::decode_packets(bytes) {
        assert_eq!(workdir::encode_packets(&packets), bytes);
    }
    let _ = mp4::boxes(bytes);
    let _ = webm::elements(bytes);
    assert!(bytes.ends_with(obu::strip_temporal_delimiters(bytes)));
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = SceneList::parse(text);
    }
});
