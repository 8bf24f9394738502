//! Sizes and byte ranges come from command lines and spec files: any text must parse to a
//! clear error or to a range that reads back the same from its canonical form. The grammar is
//! a pure module of mezz-mount, compiled here from its source.
#![no_main]

#[allow(dead_code)]
#[path = "../../mezzfs/mount/src/spec/grammar.rs"]
mod grammar;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = grammar::parse_size(text);
    if let Ok(r) = grammar::parse_range(text) {
        assert!(r.start <= r.end, "{text}: {r:?}");
        assert_eq!(grammar::parse_range(&grammar::format_range(&r)), Ok(r));
    }
});
