//! A manifest comes from a bucket: any bytes must parse to a clear error or a manifest, and
//! opening must refuse anything not sealed by the key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mezz_format::{LocalKeyFile, SealedManifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(sealed) = SealedManifest::parse(data.to_vec()) {
        let keys = LocalKeyFile::from_parts("fuzz", [1; 32]);
        let mut fut = std::pin::pin!(sealed.open(&keys, "fuzz"));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        // The local provider never waits: one poll completes it.
        if let std::task::Poll::Ready(Ok(_)) = fut.as_mut().poll(&mut cx) {
            panic!("an unsealed manifest was accepted");
        }
    }
});
