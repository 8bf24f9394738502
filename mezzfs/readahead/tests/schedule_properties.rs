//! Properties of the mount's read-ahead schedule, run against a model of the read path: a set
//! of segments present (cached or in flight) that grows with every request issued and loses
//! segments at random (evictions). Requests never repeat what is present or each other, stay
//! inside the object, the reader's bound and the memory split, and every byte a read needs is
//! present or requested once its misses are reported.

use std::collections::HashSet;
use std::ops::Range;

use mezz_readahead::{
    Config, Decision, Event, FIRST_REQUEST, Geometry, NetEstimate, Pattern, Schedule,
    Strategy as ReadStrategy,
};
use proptest::prelude::*;

/// The read path as the schedule sees it: which segments are cached or in flight.
#[derive(Default)]
struct Model {
    present: HashSet<(usize, u64)>,
    /// What the read path says it has in flight with each read (0: requests are present at
    /// once in this model).
    in_flight: u64,
}

impl Model {
    /// One step, with the checks every decision must pass; the requests become present.
    fn step(&mut self, s: &mut Schedule, geometries: &[Geometry], event: Event) -> Decision {
        let present = &self.present;
        let d = s.step(event.clone(), &|o, seg| present.contains(&(o, seg)));
        let request_size = s.config().request_size;
        let mut seen = HashSet::new();
        for r in &d.requests {
            let g = geometries[r.object];
            assert!(!r.segments.is_empty(), "{r:?}");
            assert!(
                r.bytes.end <= g.size,
                "{r:?} beyond the object ({})",
                g.size
            );
            assert_eq!(r.bytes.start, r.segments.start * g.segment, "{r:?}");
            assert_eq!(
                r.bytes.end,
                (r.segments.end * g.segment).min(g.size),
                "{r:?}"
            );
            let per_part = g.part / g.segment;
            assert_eq!(
                r.segments.start / per_part,
                (r.segments.end - 1) / per_part,
                "{r:?} crosses a part"
            );
            assert!(
                r.segments.end - r.segments.start <= (request_size / g.segment).max(1),
                "{r:?} larger than a request"
            );
            for seg in r.segments.clone() {
                assert!(
                    !self.present.contains(&(r.object, seg)),
                    "{r:?} repeats present segment {seg}"
                );
                assert!(
                    seen.insert((r.object, seg)),
                    "segment {seg} requested twice"
                );
            }
            if let Event::Read { bound, .. } = &event {
                let b_end = bound.end.min(g.size);
                assert!(
                    r.bytes.start < b_end,
                    "{r:?} starts beyond the bound {bound:?}"
                );
            }
        }
        self.present.extend(seen);
        d
    }

    /// A read as the read path makes it: the step, then a miss for every segment still absent.
    fn read(
        &mut self,
        s: &mut Schedule,
        geometries: &[Geometry],
        object: usize,
        range: Range<u64>,
        bound: Range<u64>,
    ) -> Decision {
        let d = self.step(
            s,
            geometries,
            Event::Read {
                object,
                range: range.clone(),
                bound: bound.clone(),
                in_flight: self.in_flight,
            },
        );
        let g = geometries[object];
        let r = range
            .start
            .clamp(bound.start.min(g.size), bound.end.min(g.size))
            ..range
                .end
                .clamp(bound.start.min(g.size), bound.end.min(g.size));
        if !r.is_empty() {
            for seg in r.start / g.segment..=(r.end - 1) / g.segment {
                if !self.present.contains(&(object, seg)) {
                    let m = self.step(
                        s,
                        geometries,
                        Event::Miss {
                            object,
                            segment: seg,
                            read_end: r.end,
                        },
                    );
                    assert!(
                        m.requests.iter().any(|q| q.segments.contains(&seg)),
                        "a miss of segment {seg} fetched {:?}",
                        m.requests
                    );
                }
            }
        }
        d
    }
}

fn geometry() -> impl Strategy<Value = Geometry> {
    (
        prop::sample::select(vec![4096u64, 16384, 65536]),
        1u64..64,
        1u64..(1 << 31),
    )
        .prop_map(|(segment, per_part, size)| Geometry {
            size,
            segment,
            part: segment * per_part,
        })
}

fn config() -> impl Strategy<Value = Config> {
    (
        (1u64 << 16)..(16 << 20),
        (1u64 << 20)..(256 << 20),
        (1u64 << 20)..(512 << 20),
    )
        .prop_map(|(request_size, max_buffer, budget)| Config {
            request_size,
            max_buffer,
            budget,
            ..Config::default()
        })
}

fn round_up(x: u64, to: u64) -> u64 {
    x.div_ceil(to) * to
}

/// A mix of sequential streams and random reads over two objects.
#[derive(Clone, Debug)]
enum Op {
    /// Read the next `len` bytes of stream `stream` (streams start at spread-out offsets).
    Next {
        stream: usize,
        len: u64,
    },
    Random {
        object: usize,
        at: u64,
        len: u64,
    },
    Evict {
        seed: u64,
    },
    Fetched {
        bytes: u64,
        millis: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..4, 1u64..(2 << 20)).prop_map(|(stream, len)| Op::Next { stream, len }),
        2 => (0usize..2, any::<u64>(), 1u64..(1 << 20)).prop_map(|(object, at, len)| Op::Random { object, at, len }),
        1 => any::<u64>().prop_map(|seed| Op::Evict { seed }),
        1 => (1u64..(64 << 20), 1u64..2000).prop_map(|(bytes, millis)| Op::Fetched { bytes, millis }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn requests_are_exact_never_repeat_and_respect_the_budget_split(
        geometries in prop::collection::vec(geometry(), 2),
        cfg in config(),
        ops in prop::collection::vec(op(), 1..120),
        bounded in any::<bool>(),
    ) {
        let mut s = Schedule::new(cfg.clone(), geometries.clone());
        let mut m = Model::default();
        let mut cursor = [0u64; 4];
        for (i, c) in cursor.iter_mut().enumerate() {
            *c = geometries[i % 2].size / 4 * (i as u64 / 2);
        }
        for op in ops {
            let (object, range) = match op {
                Op::Next { stream, len } => {
                    let object = stream % 2;
                    let r = cursor[stream]..cursor[stream] + len;
                    cursor[stream] = r.end;
                    (object, r)
                }
                Op::Random { object, at, len } => {
                    let at = at % geometries[object].size;
                    (object, at..at + len)
                }
                Op::Evict { seed } => {
                    m.present.retain(|(o, seg)| !(seg ^ seed ^ *o as u64).count_ones().is_multiple_of(3));
                    continue;
                }
                Op::Fetched { bytes, millis } => {
                    m.step(&mut s, &geometries, Event::Fetched { bytes, secs: millis as f64 / 1000.0 });
                    continue;
                }
            };
            let g = geometries[object];
            // A range file showing the middle half of the object, or the whole object.
            let bound = if bounded { g.size / 4..g.size / 4 * 3 } else { 0..u64::MAX };
            let streams_before = s.dense_streams().max(1) as u64;
            let d = m.read(&mut s, &geometries, object, range.clone(), bound.clone());
            let Some(plan) = d.plan else { continue };
            let read = plan.window.start..range.end.min(g.size).min(bound.end);
            // The memory split: no stream reads ahead more than its share of the budget.
            let ahead = cfg.max_buffer.min(cfg.budget / streams_before);
            let limit = round_up(read.start + (read.end - read.start).max(ahead), g.segment);
            for r in &d.requests {
                prop_assert!(r.bytes.start + g.segment > read.start, "{r:?} before the read {read:?}");
                prop_assert!(r.bytes.end <= limit, "{r:?} beyond the share {ahead} after {read:?} ({} dense streams)", streams_before);
            }
        }
    }

    #[test]
    fn a_sequential_readers_window_grows_monotonically_to_its_cap(
        geometry in geometry(),
        cfg in config(),
        read_len in 4096u64..(1 << 20),
        measured in prop::option::of((1u64..(64 << 20), 1u64..500)),
    ) {
        let g = Geometry { size: 1 << 40, ..geometry };
        let mut s = Schedule::new(cfg.clone(), [g]);
        let mut m = Model::default();
        if let Some((bytes, millis)) = measured {
            m.step(&mut s, &[g], Event::Fetched { bytes, secs: millis as f64 / 1000.0 });
        }
        let net: NetEstimate = *s.net();
        let mut last = 0;
        let mut window = 0..0;
        for i in 0..16u64 {
            let range = i * read_len..(i + 1) * read_len;
            let d = m.read(&mut s, &[g], 0, range, 0..u64::MAX);
            let plan = d.plan.expect("a read is planned");
            let len = plan.window.end - plan.window.start;
            prop_assert!(len >= last, "read {i}: window {len} after {last}");
            last = len;
            window = plan.window;
        }
        // The cap: what the network estimate asks for, at least one request, at most the
        // object's allowance and the mount's budget.
        let wanted = if measured.is_some() {
            (4.0 * (net.throughput * net.latency + cfg.request_size as f64)) as u64
        } else {
            2 * cfg.request_size
        };
        let cap = wanted.max(cfg.request_size).min(cfg.max_buffer).min(cfg.budget).max(read_len);
        prop_assert_eq!(last, cap);
        // What is scheduled lags the window by less than one request (whole-request top-ups).
        let covered = (0..).take_while(|seg| m.present.contains(&(0, *seg))).count() as u64 * g.segment;
        prop_assert!(covered + cfg.request_size >= window.end, "covered {covered} of {window:?}");
    }

    #[test]
    fn sparse_readers_get_no_read_ahead(
        geometry in geometry(),
        cfg in config(),
        seed in any::<u64>(),
        read_len in 1u64..(256 << 10),
    ) {
        let g = Geometry { size: 1 << 40, ..geometry };
        let mut s = Schedule::new(cfg, [g]);
        let mut m = Model::default();
        let mut rng = seed | 1;
        for i in 0..48u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            // Distinct 1 GiB slots: no two reads touch.
            let start = (i << 30) + rng % ((1 << 30) - read_len);
            let d = m.read(&mut s, &[g], 0, start..start + read_len, 0..u64::MAX);
            let plan = d.plan.expect("planned");
            prop_assert_ne!(plan.pattern, Pattern::Dense { clusters: 1 });
            let lo = start / g.segment * g.segment;
            let hi = round_up(start + read_len, g.segment);
            for r in &d.requests {
                prop_assert!(r.bytes.start >= lo && r.bytes.end <= hi, "read {start}+{read_len}: {r:?}");
            }
        }
    }
}

#[test]
fn a_waiting_reader_gets_a_small_first_request() {
    // A fixed 8 MiB window from a cold read: the reader waits only for the first MiB; the
    // rest of the window follows in a request of its own.
    let g = Geometry {
        size: 1 << 30,
        segment: 16384,
        part: 64 << 20,
    };
    let cfg = Config {
        strategy: ReadStrategy::Fixed(8 << 20),
        ..Config::default()
    };
    let mut s = Schedule::new(cfg, [g]);
    let mut m = Model::default();
    let d = m.read(&mut s, &[g], 0, 65536..131072, 0..u64::MAX);
    let bytes: Vec<Range<u64>> = d.requests.iter().map(|r| r.bytes.clone()).collect();
    assert_eq!(
        bytes,
        vec![
            65536..65536 + FIRST_REQUEST,
            65536 + FIRST_REQUEST..65536 + (8 << 20)
        ]
    );
    // The next read inside the window needs nothing new.
    let d = m.read(&mut s, &[g], 0, 131072..196608, 0..u64::MAX);
    assert!(d.requests.is_empty(), "{:?}", d.requests);
}

#[test]
fn two_objects_read_densely_share_the_mount_budget() {
    let g = Geometry {
        size: 1 << 40,
        segment: 65536,
        part: 64 << 20,
    };
    let cfg = Config {
        budget: 48 << 20,
        ..Config::default()
    };
    let mut s = Schedule::new(cfg.clone(), [g, g]);
    let mut m = Model::default();
    m.step(
        &mut s,
        &[g, g],
        Event::Fetched {
            bytes: 100_000_000,
            secs: 0.2,
        },
    );
    let mut windows = [0u64; 2];
    for i in 0..16u64 {
        for (o, window) in windows.iter_mut().enumerate() {
            let d = m.read(&mut s, &[g, g], o, i << 20..(i + 1) << 20, 0..u64::MAX);
            let w = d.plan.expect("planned").window;
            *window = w.end - w.start;
        }
    }
    assert_eq!(s.dense_streams(), 2);
    assert_eq!(windows, [cfg.budget / 2; 2]);
}

#[test]
fn a_dense_streams_window_goes_out_in_half_size_requests() {
    // One connection carries a fraction of the link, so a sequential reader's window is
    // spread over twice as many requests; a fixed window keeps whole ones.
    let g = Geometry {
        size: 1 << 30,
        segment: 16384,
        part: 256 << 20,
    };
    let largest = |strategy| {
        let cfg = Config {
            strategy,
            ..Config::default()
        };
        let half = cfg.request_size / 2;
        let mut s = Schedule::new(cfg, [g]);
        let mut m = Model::default();
        m.step(
            &mut s,
            &[g],
            Event::Fetched {
                bytes: 8 << 20,
                secs: 0.1,
            },
        );
        let mut largest = 0;
        for i in 0..32u64 {
            let d = m.read(&mut s, &[g], 0, i << 20..(i + 1) << 20, 0..u64::MAX);
            for r in &d.requests {
                largest = largest.max(r.bytes.end - r.bytes.start);
            }
        }
        (largest, half)
    };
    let (dense, half) = largest(ReadStrategy::Adaptive);
    assert_eq!(dense, half, "the adaptive reader's largest request");
    let (fixed, half) = largest(ReadStrategy::Fixed(8 << 20));
    assert!(fixed > half, "fixed windows keep whole requests: {fixed}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn read_ahead_fills_only_the_room_the_fetches_in_flight_leave(
        geometry in geometry(),
        cfg in config(),
        fixed in any::<bool>(),
        reads in prop::collection::vec((1u64..(2 << 20), any::<u64>()), 1..40),
    ) {
        let cfg = Config {
            strategy: if fixed { ReadStrategy::Fixed(8 << 20) } else { ReadStrategy::Adaptive },
            ..cfg
        };
        let g = geometry;
        let mut s = Schedule::new(cfg.clone(), [g]);
        let mut m = Model::default();
        let mut at = 0u64;
        for (len, seed) in reads {
            // Anything from nothing to twice the budget in flight.
            m.in_flight = seed % (2 * cfg.budget + 1);
            let room = cfg.budget.saturating_sub(m.in_flight);
            let range = at..at + len;
            at = range.end;
            let d = m.read(&mut s, &[g], 0, range.clone(), 0..u64::MAX);
            let past = round_up(range.end.min(g.size), g.segment);
            let beyond: u64 = d
                .requests
                .iter()
                .map(|r| r.bytes.end.saturating_sub(r.bytes.start.max(past)))
                .sum();
            prop_assert!(
                beyond <= room + g.segment,
                "{beyond} bytes beyond the read {range:?} with room for {room}: {:?}",
                d.requests
            );
        }
    }
}

#[test]
fn the_fixed_window_shrinks_to_the_room_left_in_the_budget() {
    let g = Geometry {
        size: 1 << 30,
        segment: 65536,
        part: 64 << 20,
    };
    let cfg = Config {
        strategy: ReadStrategy::Fixed(8 << 20),
        budget: 48 << 20,
        ..Config::default()
    };
    let mut s = Schedule::new(cfg, [g]);
    let mut m = Model::default();
    let fetched = |m: &mut Model, s: &mut Schedule, at: u64, in_flight: u64| {
        m.in_flight = in_flight;
        let d = m.read(s, &[g], 0, at..at + 65536, 0..u64::MAX);
        d.requests
            .iter()
            .map(|r| r.bytes.end - r.bytes.start)
            .sum::<u64>()
    };
    assert_eq!(fetched(&mut m, &mut s, 0, 0), 8 << 20);
    assert_eq!(
        fetched(&mut m, &mut s, 100 << 20, 44 << 20),
        (4 << 20) + 65536
    );
    assert_eq!(fetched(&mut m, &mut s, 200 << 20, 48 << 20), 65536);
    assert_eq!(fetched(&mut m, &mut s, 300 << 20, 90 << 20), 65536);
}
