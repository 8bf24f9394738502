//! Replays written by format version 1 keep decoding: `tests/golden/v1.mezzreplay` was written
//! once by this test (`MEZZ_BLESS=1 cargo test -p mezz-replays --test golden`) and is
//! committed; every later version must decode it to the same records.

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
