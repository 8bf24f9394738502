//! Replays written by format version 1 keep decoding: `tests/golden/v1.mezzreplay` and
//! `v1-writes.mezzreplay` (the write records, kinds 16-19) were written once by this test
//! (`MEZZ_BLESS=1 cargo test -p mezz-replays --test golden`) and are committed; every later
//! version must decode them to the same records.

use mezz_replays::{End, FileMeta, Meta, ObjectMeta, Record, ReplayWriter, decode};

fn records() -> (Meta, Vec<Record>) {
    let meta = Meta {
        mezzfs_version: "0.1.0".into(),
        started_unix: 1_795_000_000,
        host: "golden".into(),
        readahead: "adaptive".into(),
        settings: serde_json::Map::new(),
        objects: vec![ObjectMeta {
            source: "movies/film".into(),
            size: 1 << 30,
            version: "0123456789abcdef0123456789abcdef".into(),
            segment_size: 16384,
        }],
        files: vec![
            FileMeta {
                path: "film".into(),
                object: 0,
                offset: 0,
                len: 1 << 30,
            },
            FileMeta {
                path: "scenes/s1".into(),
                object: 0,
                offset: 1 << 20,
                len: 1 << 24,
            },
        ],
    };
    let mut rs = vec![
        Record::Open {
            t: 10,
            handle: 1,
            file: 0,
        },
        Record::Schedule {
            t: 12,
            object: 0,
            offset: 0,
            len: 1 << 20,
        },
        Record::FetchStart {
            t: 13,
            fetch: 1,
            object: 0,
            offset: 0,
            len: 1 << 20,
        },
        Record::FetchDone {
            t: 900,
            fetch: 1,
            bytes: 1_049_600,
            ok: true,
        },
        Record::CacheInsert {
            t: 901,
            object: 0,
            first: 0,
            count: 64,
        },
    ];
    for i in 0..10u64 {
        rs.push(Record::Read {
            t: 20 + i * 100,
            handle: 1,
            offset: i * 131072,
            len: 131072,
            dur: 880,
            ok: true,
        });
    }
    rs.extend([
        Record::Open {
            t: 2000,
            handle: 2,
            file: 1,
        },
        Record::Read {
            t: 2010,
            handle: 2,
            offset: 5 << 20,
            len: 65536,
            dur: 25_000,
            ok: false,
        },
        Record::FetchDone {
            t: 2020,
            fetch: 2,
            bytes: 0,
            ok: false,
        },
        Record::Error {
            t: 2021,
            message: "segment 4 (part 0) failed authentication".into(),
        },
        Record::CacheEvict {
            t: 3000,
            object: 0,
            first: 0,
            count: 64,
        },
        Record::Release { t: 3001, handle: 2 },
        Record::Release { t: 3002, handle: 1 },
    ]);
    (meta, rs)
}

#[test]
fn version_1_replays_still_decode() {
    let (meta, rs) = records();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v1.mezzreplay");
    if std::env::var_os("MEZZ_BLESS").is_some() {
        let mut w = ReplayWriter::new(Vec::new(), meta.clone()).expect("writer");
        for (i, r) in rs.iter().enumerate() {
            if matches!(r, Record::Read { ok: true, .. }) {
                w.push_read(r, &[i as u8; 16]).expect("push");
            } else {
                w.push(r).expect("push");
            }
        }
        let bytes = w
            .finish(serde_json::json!({"bytes_read": 1310720}))
            .expect("finish");
        std::fs::write(&path, bytes).expect("write golden");
    }
    let bytes = std::fs::read(&path).expect("the golden replay is committed");
    let d = decode(&bytes).expect("decode");
    assert_eq!(d.end, End::Complete);
    assert_eq!(d.meta(), Some(&meta));
    let events: Vec<Record> = d
        .records
        .iter()
        .filter(|r| {
            !matches!(
                r,
                Record::Meta(_) | Record::Digest { .. } | Record::Stats(_)
            )
        })
        .cloned()
        .collect();
    let want: Vec<Record> = rs.iter().map(mezz_replays::codec::stored).collect();
    assert_eq!(events, want);
    assert!(
        d.records
            .iter()
            .any(|r| matches!(r, Record::Digest { reads: 10, .. }))
    );
    assert_eq!(
        d.records.last(),
        Some(&Record::Stats(serde_json::json!({"bytes_read": 1310720})))
    );
}

/// The write records (kinds 16-19), interleaved with reads, as first written:
/// `tests/golden/v1-writes.mezzreplay` (blessed like the file above) must keep decoding to
/// them, and every record around them to what it was.
fn write_records() -> Vec<Record> {
    let mut rs = vec![
        Record::Open {
            t: 5,
            handle: 1,
            file: 0,
        },
        Record::Create {
            t: 8,
            handle: 3,
            path: "out/.clip.ivf.tmp".into(),
        },
    ];
    for i in 0..4u64 {
        rs.push(Record::Read {
            t: 10 + i * 300,
            handle: 1,
            offset: i << 17,
            len: 1 << 17,
            dur: 120,
            ok: true,
        });
        rs.push(Record::Write {
            t: 150 + i * 300,
            handle: 3,
            offset: i << 20,
            len: 1 << 20,
            dur: 95 + i,
            ok: true,
        });
    }
    rs.extend([
        Record::Rename {
            t: 1500,
            from: "out/.clip.ivf.tmp".into(),
            to: "out/clip.ivf".into(),
            ok: true,
        },
        Record::Commit {
            t: 1600,
            handle: 3,
            object: "encodes/clip.ivf".into(),
            bytes: 4 << 20,
            dur: 40_000,
            ok: true,
        },
        Record::Create {
            t: 42_000,
            handle: 4,
            path: "out/bad.bin".into(),
        },
        Record::Write {
            t: 42_010,
            handle: 4,
            offset: 0,
            len: 4096,
            dur: 30,
            ok: true,
        },
        Record::Write {
            t: 42_100,
            handle: 4,
            offset: 100,
            len: 10,
            dur: 2,
            ok: false,
        },
        Record::Commit {
            t: 42_200,
            handle: 4,
            object: "encodes/bad.bin".into(),
            bytes: 4096,
            dur: 15,
            ok: false,
        },
        Record::Error {
            t: 42_215,
            message: "encodes/bad.bin not stored: write at offset 100".into(),
        },
        Record::Release {
            t: 43_000,
            handle: 1,
        },
    ]);
    rs
}

#[test]
fn version_1_write_records_still_decode() {
    let (meta, _) = records();
    let rs = write_records();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v1-writes.mezzreplay");
    if std::env::var_os("MEZZ_BLESS").is_some() {
        let mut w = ReplayWriter::new(Vec::new(), meta.clone()).expect("writer");
        for r in &rs {
            w.push(r).expect("push");
        }
        let bytes = w.finish(serde_json::json!({})).expect("finish");
        std::fs::write(&path, bytes).expect("write golden");
    }
    let bytes = std::fs::read(&path).expect("the golden replay is committed");
    let d = decode(&bytes).expect("decode");
    assert_eq!(d.end, End::Complete);
    let events: Vec<Record> = d
        .records
        .iter()
        .filter(|r| {
            !matches!(
                r,
                Record::Meta(_) | Record::Digest { .. } | Record::Stats(_)
            )
        })
        .cloned()
        .collect();
    assert_eq!(events, rs);
}
