//! The codec's promises: any records round-trip (durations to their stored precision), a file
//! cut at any byte decodes to a prefix, garbage and bit flips never panic, unknown kinds are
//! skipped (and skipping the write records changes no other record), a sequential read costs
//! at most 4 bytes and a sequential write at most 12.

use mezz_replays::codec::{self, stored};
use mezz_replays::{End, FileMeta, Meta, ObjectMeta, Record, ReplayWriter, decode};
use proptest::prelude::*;

fn meta() -> Meta {
    Meta {
        mezzfs_version: "0.1.0".into(),
        started_unix: 1_795_000_000,
        host: "test".into(),
        readahead: "adaptive".into(),
        settings: serde_json::Map::new(),
        objects: vec![ObjectMeta {
            source: "movie".into(),
            size: 1 << 30,
            version: "00ff".into(),
            segment_size: 16384,
        }],
        files: vec![FileMeta {
            path: "movie".into(),
            object: 0,
            offset: 0,
            len: 1 << 30,
        }],
    }
}

fn record() -> impl Strategy<Value = Record> {
    let t = 0u64..1 << 40;
    let small = 0u64..1 << 20;
    prop_oneof![
        (t.clone(), 0u64..8, 0u64..4).prop_map(|(t, handle, file)| Record::Open {
            t,
            handle,
            file
        }),
        (
            t.clone(),
            0u64..8,
            any::<u64>(),
            small.clone(),
            0u64..1 << 33,
            any::<bool>()
        )
            .prop_map(|(t, handle, offset, len, dur, ok)| Record::Read {
                t,
                handle,
                offset,
                len,
                dur,
                ok
            }),
        (t.clone(), 0u64..8).prop_map(|(t, handle)| Record::Release { t, handle }),
        (t.clone(), 0u64..3, any::<u64>(), small.clone()).prop_map(|(t, object, offset, len)| {
            Record::Schedule {
                t,
                object,
                offset,
                len,
            }
        }),
        (
            t.clone(),
            any::<u64>(),
            0u64..3,
            any::<u64>(),
            small.clone()
        )
            .prop_map(|(t, fetch, object, offset, len)| Record::FetchStart {
                t,
                fetch,
                object,
                offset,
                len
            }),
        (t.clone(), any::<u64>(), small.clone(), any::<bool>()).prop_map(
            |(t, fetch, bytes, ok)| Record::FetchDone {
                t,
                fetch,
                bytes,
                ok
            }
        ),
        (t.clone(), 0u64..3, any::<u64>(), 0u64..4096).prop_map(|(t, object, first, count)| {
            Record::CacheInsert {
                t,
                object,
                first,
                count,
            }
        }),
        (t.clone(), 0u64..3, any::<u64>(), 0u64..4096).prop_map(|(t, object, first, count)| {
            Record::CacheEvict {
                t,
                object,
                first,
                count,
            }
        }),
        (t, ".{0,40}").prop_map(|(t, message)| Record::Error { t, message }),
        (any::<u64>(), any::<u64>()).prop_map(|(reads, digest)| Record::Digest { reads, digest }),
        (32u64..1000, proptest::collection::vec(any::<u8>(), 0..50))
            .prop_map(|(kind, body)| Record::Unknown { kind, body }),
        write_record(),
    ]
}

/// Creates, writes, commits and renames; writes mostly in order on a few handles.
fn write_record() -> impl Strategy<Value = Record> {
    let t = 0u64..1 << 40;
    prop_oneof![
        (t.clone(), 0u64..8, "[a-z/.]{0,30}").prop_map(|(t, handle, path)| Record::Create {
            t,
            handle,
            path
        }),
        (
            t.clone(),
            0u64..8,
            prop_oneof![0u64..1 << 20, any::<u64>()],
            0u64..1 << 20,
            prop_oneof![0u64..1000, any::<u64>()],
            any::<bool>()
        )
            .prop_map(|(t, handle, offset, len, dur, ok)| Record::Write {
                t,
                handle,
                offset,
                len,
                dur,
                ok
            }),
        (
            t.clone(),
            0u64..8,
            ".{0,30}",
            any::<u64>(),
            any::<u64>(),
            any::<bool>()
        )
            .prop_map(|(t, handle, object, bytes, dur, ok)| Record::Commit {
                t,
                handle,
                object,
                bytes,
                dur,
                ok
            }),
        (t, ".{0,20}", ".{0,20}", any::<bool>()).prop_map(|(t, from, to, ok)| Record::Rename {
            t,
            from,
            to,
            ok
        }),
    ]
}

fn is_write(r: &Record) -> bool {
    matches!(
        r,
        Record::Create { .. }
            | Record::Write { .. }
            | Record::Commit { .. }
            | Record::Rename { .. }
    )
}

fn write(records: &[Record], chunk_bytes: usize) -> Vec<u8> {
    let mut w = ReplayWriter::new(Vec::new(), meta())
        .expect("writer")
        .with_chunk_bytes(chunk_bytes);
    for r in records {
        w.push(r).expect("push");
    }
    w.finish(serde_json::json!({"bytes_read": 1}))
        .expect("finish")
}

proptest! {
    #[test]
    fn records_round_trip(records in proptest::collection::vec(record(), 0..300), chunk in 64usize..4096) {
        let bytes = write(&records, chunk);
        let d = decode(&bytes).expect("decode");
        prop_assert_eq!(&d.end, &End::Complete);
        let mut want = vec![Record::Meta(meta())];
        want.extend(records.iter().map(stored));
        want.push(Record::Stats(serde_json::json!({"bytes_read": 1})));
        prop_assert_eq!(d.records, want);
    }

    /// A reader that does not know the write kinds skips them as unknown (as version-1 readers
    /// before them do): every other record must decode the same.
    #[test]
    fn write_records_leave_the_other_records_alone(records in proptest::collection::vec(record(), 0..300)) {
        let skipped: Vec<Record> = records
            .iter()
            .map(|r| if is_write(r) { Record::Unknown { kind: 99, body: vec![7; 5] } } else { r.clone() })
            .collect();
        let others = |rs: Vec<Record>| -> Vec<Record> {
            rs.into_iter().filter(|r| !is_write(r) && !matches!(r, Record::Unknown { .. })).collect()
        };
        let with = decode(&write(&records, 4096)).expect("decode");
        let without = decode(&write(&skipped, 4096)).expect("decode");
        prop_assert_eq!(others(with.records), others(without.records));
    }

    #[test]
    fn garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut bytes = codec::header().to_vec();
        bytes.extend_from_slice(&body);
        let _ = decode(&bytes);
        let _ = decode(&body);
        let _ = codec::decode_chunk(&body, u32::MAX);
    }

    #[test]
    fn a_flipped_bit_is_caught_or_harmless(records in proptest::collection::vec(record(), 1..50), bit in any::<usize>()) {
        let mut bytes = write(&records, 256);
        let bit = bit % ((bytes.len() - codec::HEADER_LEN) * 8) + codec::HEADER_LEN * 8;
        bytes[bit / 8] ^= 1 << (bit % 8);
        let full = decode(&write(&records, 256)).expect("decode").records;
        let d = decode(&bytes).expect("the header is intact");
        // Every chunk is checksummed: a flip loses the chunk and what follows, never changes a record.
        prop_assert!(d.records.len() < full.len() || d.records == full);
        prop_assert_eq!(&d.records[..], &full[..d.records.len()]);
        prop_assert!(d.end != End::Complete || d.records == full);
    }
}

#[test]
fn a_file_cut_at_any_byte_decodes_to_a_prefix() {
    let records: Vec<Record> = (0..200u64)
        .map(|i| Record::Read {
            t: i * 1000,
            handle: i % 3,
            offset: (i / 3) * 4096,
            len: 4096,
            dur: 100 + i,
            ok: true,
        })
        .collect();
    let bytes = write(&records, 256);
    let full = decode(&bytes).expect("decode").records;
    for cut in 0..bytes.len() {
        match decode(&bytes[..cut]) {
            Err(e) => assert!(cut < codec::HEADER_LEN, "cut at {cut}: {e}"),
            Ok(d) => {
                assert!(full.starts_with(&d.records), "cut at {cut}");
                assert!(
                    matches!(d.end, End::Truncated { .. } | End::Complete),
                    "cut at {cut}: {:?}",
                    d.end
                );
            }
        }
    }
}

#[test]
fn unknown_record_kinds_are_skipped_not_fatal() {
    let records = vec![
        Record::Open {
            t: 5,
            handle: 1,
            file: 0,
        },
        Record::Unknown {
            kind: 99,
            body: vec![1, 2, 3],
        },
        Record::Release { t: 9, handle: 1 },
    ];
    let d = decode(&write(&records, 4096)).expect("decode");
    let known: Vec<_> = d
        .records
        .iter()
        .filter(|r| {
            !matches!(
                r,
                Record::Unknown { .. } | Record::Meta(_) | Record::Stats(_)
            )
        })
        .collect();
    assert_eq!(known.len(), 2);
}

#[test]
fn a_sequential_write_costs_at_most_twelve_bytes() {
    // 64 MiB written in 128 KiB writes taking 20-300 µs, interleaved with nothing else.
    let mut w = ReplayWriter::new(Vec::new(), meta()).expect("writer");
    w.push(&Record::Create {
        t: 0,
        handle: 3,
        path: "out/a.ivf".into(),
    })
    .expect("push");
    let empty = w.bytes_written();
    let n = 512u64;
    for i in 0..n {
        w.push(&Record::Write {
            t: 10 + i * 400,
            handle: 3,
            offset: i * (128 << 10),
            len: 128 << 10,
            dur: 20 + (i * 37) % 280,
            ok: true,
        })
        .expect("push");
    }
    let bytes = w.finish(serde_json::json!({})).expect("finish");
    let per_write = (bytes.len() as u64 - empty) as f64 / n as f64;
    println!("{per_write:.2} bytes per sequential write ({n} writes)");
    assert!(per_write <= 12.0, "{per_write:.2} bytes per write");
}

#[test]
fn other_files_and_newer_versions_are_refused() {
    assert!(decode(b"not a replay at all, clearly").is_err());
    let mut h = codec::header().to_vec();
    h[8] = 9;
    assert_eq!(decode(&h), Err(mezz_replays::DecodeError::NewerVersion(9)));
}

#[test]
fn a_sequential_read_costs_at_most_four_bytes() {
    // 1 GiB read sequentially in 128 KiB reads (the kernel's default read-ahead size), each
    // answered in 50-400 µs and the next arriving 10-200 µs after (a reader waiting on each).
    let n = (1u64 << 30) / (128 << 10);
    let mut w = ReplayWriter::new(Vec::new(), meta()).expect("writer");
    w.push(&Record::Open {
        t: 0,
        handle: 1,
        file: 0,
    })
    .expect("push");
    let empty = w.bytes_written();
    let mut t = 10;
    for i in 0..n {
        let dur = 50 + (i * 37) % 350;
        let r = Record::Read {
            t,
            handle: 1,
            offset: i * (128 << 10),
            len: 128 << 10,
            dur,
            ok: true,
        };
        w.push_read(&r, &[0u8; 16]).expect("push");
        t += codec::stored_duration(dur) + 10 + (i * 13) % 190;
    }
    let bytes = w.finish(serde_json::json!({})).expect("finish");
    let per_read = (bytes.len() as u64 - empty) as f64 / n as f64;
    println!("{per_read:.2} bytes per sequential read ({n} reads)");
    assert!(per_read <= 4.0, "{per_read:.2} bytes per read");
    let reads = decode(&bytes)
        .expect("decode")
        .records
        .iter()
        .filter(|r| matches!(r, Record::Read { .. }))
        .count() as u64;
    assert_eq!(reads, n);
}
