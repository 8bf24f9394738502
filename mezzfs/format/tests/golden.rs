//! Golden files: an object sealed by format version 1 with a fixed test key. Every future
//! version of mezzfs must keep opening it byte for byte.
//!
//! Regenerate only for a new format version (never overwrite v1):
//! `MEZZ_WRITE_GOLDEN=1 cargo test -p mezz-format --test golden`.

mod common;

use std::path::PathBuf;

use common::{SealedObject, read_range, seal_object};
use mezz_format::LocalKeyFile;

const NAME: &str = "golden/clip.y4m";
const LEN: usize = 70_000;

fn key() -> LocalKeyFile {
    LocalKeyFile::from_parts("golden-v1", [0x42; 32])
}

fn plaintext() -> Vec<u8> {
    (0..LEN).map(|i| ((i * 7) ^ (i >> 9)) as u8).collect()
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v1")
}

fn load() -> SealedObject {
    let read =
        |n: &str| std::fs::read(dir().join(n)).unwrap_or_else(|e| panic!("golden file {n}: {e}"));
    SealedObject {
        manifest: read("manifest"),
        parts: vec![
            read("part-000000"),
            read("part-000001"),
            read("part-000002"),
        ],
    }
}

#[test]
fn version_1_object_still_opens() {
    if std::env::var_os("MEZZ_WRITE_GOLDEN").is_some() {
        let obj = seal_object(&key(), NAME, &plaintext(), 32 * 1024, 4096);
        std::fs::create_dir_all(dir()).expect("mkdir");
        std::fs::write(dir().join("manifest"), &obj.manifest).expect("write");
        for (i, p) in obj.parts.iter().enumerate() {
            std::fs::write(dir().join(format!("part-{i:06}")), p).expect("write");
        }
    }
    let obj = load();
    assert_eq!(
        read_range(&obj, &key(), NAME, 0..LEN as u64).expect("opens"),
        plaintext()
    );
    assert_eq!(
        read_range(&obj, &key(), NAME, 33_000..40_000).expect("opens"),
        plaintext()[33_000..40_000]
    );
}
