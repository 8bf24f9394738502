//! Properties of the state model on arbitrary record streams, including records that name
//! objects, files, handles and fetches the replay never introduced: the timeline never panics,
//! seeking anywhere equals playing from the start, and totals (reads and writes) add up.

use mezz_replays::{Decoded, End, FileMeta, Meta, ObjectMeta, Record};
use mezz_tools::player::Player;
use mezz_tools::state::State;
use mezz_tools::timeline::{Kind, Timeline};
use proptest::prelude::*;

const SEG: u64 = 4096;

fn meta() -> Meta {
    Meta {
        objects: vec![
            ObjectMeta {
                source: "a".into(),
                size: 64 * SEG,
                version: "1".into(),
                segment_size: SEG,
            },
            ObjectMeta {
                source: "b".into(),
                size: 10 * SEG + 17,
                version: "2".into(),
                segment_size: 0,
            },
        ],
        files: vec![
            FileMeta {
                path: "a".into(),
                object: 0,
                offset: 0,
                len: 64 * SEG,
            },
            FileMeta {
                path: "scene".into(),
                object: 0,
                offset: 8 * SEG,
                len: 8 * SEG,
            },
            FileMeta {
                path: "b".into(),
                object: 1,
                offset: 0,
                len: 10 * SEG + 17,
            },
            FileMeta {
                path: "broken".into(),
                object: 9,
                offset: 0,
                len: 1,
            },
        ],
        ..Meta::default()
    }
}

fn record() -> impl Strategy<Value = Record> {
    let t = 0u64..5_000;
    let off = 0u64..80 * SEG;
    let len = 0u64..16 * SEG;
    prop_oneof![
        (t.clone(), 0u64..4, 0u64..5).prop_map(|(t, handle, file)| Record::Open {
            t,
            handle,
            file
        }),
        (t.clone(), 0u64..4).prop_map(|(t, handle)| Record::Release { t, handle }),
        (
            t.clone(),
            0u64..4,
            off.clone(),
            len.clone(),
            0u64..500,
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
        (t.clone(), 0u64..3, off.clone(), len.clone()).prop_map(|(t, object, offset, len)| {
            Record::Schedule {
                t,
                object,
                offset,
                len,
            }
        }),
        (t.clone(), 0u64..8, 0u64..3, off.clone(), len.clone()).prop_map(
            |(t, fetch, object, offset, len)| Record::FetchStart {
                t,
                fetch,
                object,
                offset,
                len
            }
        ),
        (t.clone(), 0u64..8, 0u64..100_000, any::<bool>()).prop_map(|(t, fetch, bytes, ok)| {
            Record::FetchDone {
                t,
                fetch,
                bytes,
                ok,
            }
        }),
        (t.clone(), 0u64..3, 0u64..80, 0u64..20).prop_map(|(t, object, first, count)| {
            Record::CacheInsert {
                t,
                object,
                first,
                count,
            }
        }),
        (t.clone(), 0u64..3, 0u64..80, 0u64..20).prop_map(|(t, object, first, count)| {
            Record::CacheEvict {
                t,
                object,
                first,
                count,
            }
        }),
        (t.clone(), ".{0,10}").prop_map(|(t, message)| Record::Error { t, message }),
        (t.clone(), 0u64..4, ".{0,10}").prop_map(|(t, handle, path)| Record::Create {
            t,
            handle,
            path
        }),
        (
            t.clone(),
            0u64..4,
            off,
            len.clone(),
            0u64..500,
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
        (t.clone(), 0u64..4, len, 0u64..500, any::<bool>()).prop_map(
            |(t, handle, bytes, dur, ok)| Record::Commit {
                t,
                handle,
                object: "o".into(),
                bytes,
                dur,
                ok
            }
        ),
        (t, any::<bool>()).prop_map(|(t, ok)| Record::Rename {
            t,
            from: "a".into(),
            to: "b".into(),
            ok
        }),
    ]
}

fn timeline(records: Vec<Record>) -> Timeline {
    let mut all = vec![Record::Meta(meta())];
    all.extend(records);
    Timeline::from_decoded(&Decoded {
        records: all,
        end: End::Complete,
        chunks: 1,
    })
    .expect("a meta with objects always makes a timeline")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn seeking_equals_playing_from_the_start(
        records in prop::collection::vec(record(), 0..400),
        targets in prop::collection::vec(0u64..6_000, 1..12),
    ) {
        let t = timeline(records);
        prop_assert!(t.events.windows(2).all(|w| w[0].t <= w[1].t), "time ordered");
        let mut p = Player::new(t.clone());
        for target in targets {
            p.seek(target);
            let mut s = State::empty(&t);
            let upto = target.clamp(t.start, t.end_time);
            for e in t.events.iter().take_while(|e| e.t <= upto) {
                s.apply(e);
            }
            prop_assert_eq!(p.state(), &s);
        }
    }

    #[test]
    fn totals_match_the_events_and_reads_pair_up(records in prop::collection::vec(record(), 0..400)) {
        let t = timeline(records);
        let mut s = State::empty(&t);
        for e in &t.events {
            s.apply(e);
        }
        let starts = t.events.iter().filter(|e| matches!(e.kind, Kind::ReadStart { .. })).count();
        let dones = t.events.iter().filter(|e| matches!(e.kind, Kind::ReadDone { .. })).count();
        prop_assert_eq!(starts, dones);
        prop_assert_eq!((s.totals.reads + s.totals.failed_reads) as usize, dones);
        prop_assert!(s.reads.is_empty(), "every read is answered by the end");
        prop_assert!(s.totals.hits <= s.totals.reads + s.totals.failed_reads);
        let writes = t.events.iter().filter(|e| matches!(e.kind, Kind::Write { .. })).count();
        prop_assert_eq!((s.totals.writes + s.totals.failed_writes) as usize, writes);
        for (g, cells) in s.geometry.iter().zip(&s.cells) {
            prop_assert_eq!(cells.len(), g.blocks);
        }
    }
}
