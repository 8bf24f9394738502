//! Manifests come from users and encoders: any bytes, as Sabre movie JSON, our JSON or TOML,
//! or Pensieve size files, must parse to a consistent manifest or a clear error.
#![no_main]

use abr_sim::manifest::{Manifest, parse_own_json, parse_own_toml, parse_pensieve_sizes, parse_sabre_movie};
use abr_sim::units::Ms;
use libfuzzer_sys::fuzz_target;

fn check(m: &Manifest) {
    for t in std::iter::once(&m.video).chain(m.audio.as_ref()) {
        assert!(t.segments() >= 1 && t.rungs() >= 1);
        let _ = t.size(t.segments() - 1, t.rungs() - 1);
        let _ = t.score(0, 0);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for r in [parse_sabre_movie("fuzz", text), parse_own_json("fuzz", text), parse_own_toml("fuzz", text)] {
        if let Ok(m) = r {
            check(&m);
        }
    }
    // Split into two "files" at the first blank line.
    let (a, b) = text.split_once("\n\n").unwrap_or((text, ""));
    let files = vec![("video_size_0".to_owned(), a.to_owned()), ("video_size_1".to_owned(), b.to_owned())];
    if let Ok(m) = parse_pensieve_sizes(&files, Ms(4000.0), None) {
        check(&m);
    }
});
