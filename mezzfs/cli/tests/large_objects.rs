//! Multi-GiB objects: a sparse source with random islands of data, stored through the CLI
//! and read back at random ranges, every byte compared with the source.

mod common;

use std::os::unix::fs::FileExt;
use std::sync::Arc;

use common::{Kind, World};
use mezz_format::LocalKeyFile;
use mezz_object::ObjectReader;
use mezz_s3_server::{ACCESS_KEY, REGION, SECRET_KEY};
use mezz_store::{LocalStore, ObjectStore};
use mezz_store_s3::{S3Options, S3Store};
use mezz_testkit::random_bytes;

const SIZE: u64 = (2 << 30) + 12_345;

/// Writes a sparse file with 48 islands of 256 KiB random bytes; returns the islands.
fn sparse_source(path: &std::path::Path) -> Vec<(u64, Vec<u8>)> {
    let f = std::fs::File::create(path).expect("create");
    f.set_len(SIZE).expect("set_len");
    let mut islands = Vec::new();
    for i in 0..48u64 {
        let off = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % (SIZE - (256 << 10))) & !0xfff;
        let data = random_bytes(256 << 10, i + 100);
        f.write_all_at(&data, off).expect("write island");
        islands.push((off, data));
    }
    // The last byte too, so the final short segment carries data.
    f.write_all_at(&[0xAB], SIZE - 1).expect("write tail");
    islands.push((SIZE - 1, vec![0xAB]));
    islands
}

fn expected(islands: &[(u64, Vec<u8>)], start: u64, len: u64) -> Vec<u8> {
    let mut v = vec![0u8; len as usize];
    for (off, data) in islands {
        let (a, b) = (start.max(*off), (start + len).min(off + data.len() as u64));
        if a < b {
            v[(a - start) as usize..(b - start) as usize]
                .copy_from_slice(&data[(a - off) as usize..(b - off) as usize]);
        }
    }
    v
}

fn large(kind: Kind) {
    let w = World::new(kind);
    let src = w.path("sparse");
    let islands = sparse_source(&src);
    w.ok(&[
        "put",
        src.to_str().expect("utf-8"),
        "big/movie.y4m",
        "--part-size",
        "512MiB",
    ]);

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store: Arc<dyn ObjectStore> = match (&w.server, kind) {
        (Some(server), Kind::S3) => {
            let opts = S3Options {
                endpoint_url: Some(server.endpoint()),
                region: Some(REGION.into()),
                static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
                ..S3Options::default()
            };
            Arc::new(
                rt.block_on(S3Store::connect(common::BUCKET, "prefix/", &opts))
                    .expect("connect"),
            )
        }
        _ => Arc::new(LocalStore::open(&w.dir.path().join("store")).expect("open")),
    };
    let keys = LocalKeyFile::load(&w.key).expect("key");
    let reader = rt
        .block_on(ObjectReader::open(store, &keys, "big/movie.y4m"))
        .expect("open");
    assert_eq!(reader.size(), SIZE);

    // Ranges that start on islands, straddle part boundaries, and land anywhere.
    let mut ranges: Vec<(u64, u64)> = islands
        .iter()
        .map(|(o, _)| (o.saturating_sub(1000), 300_000))
        .collect();
    ranges.extend([(512 << 20) - 5000, (1 << 30) - 1, (3 << 29) - 77].map(|o| (o, 10_000)));
    let mut rng = mezz_testkit::XorShift::new(0x1234_5678_9abc_def1);
    for _ in 0..200 {
        let x = rng.next_u64();
        let len = 1 + x % (1 << 20);
        ranges.push((x % (SIZE - len), len));
    }
    ranges.push((SIZE - 70_000, 70_000));
    for (start, len) in ranges {
        let len = len.min(SIZE - start);
        let got = rt
            .block_on(reader.read_range(start..start + len, 4))
            .expect("read");
        assert!(
            got[..] == expected(&islands, start, len)[..],
            "range {start}+{len} differs"
        );
    }
    // And through the CLI, including a range across the first part boundary.
    let got = w
        .ok(&[
            "get",
            "big/movie.y4m",
            "--range",
            &format!("{}+{}", (512u64 << 20) - 3, 1 << 20),
        ])
        .stdout;
    assert!(got == expected(&islands, (512 << 20) - 3, 1 << 20));
}

#[test]
fn multi_gib_sparse_object_on_a_local_store() {
    large(Kind::Local);
}

#[test]
fn multi_gib_sparse_object_on_s3() {
    large(Kind::S3);
}
