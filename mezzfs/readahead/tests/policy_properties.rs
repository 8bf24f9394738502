//! Properties of the read-ahead policy: windows cover reads and respect every budget,
//! sequential reads converge to large windows, random reads stay small.

use mezz_readahead::{Config, NetEstimate, ObjectPolicy, Pattern, Plan, Strategy as ReadStrategy};
use proptest::prelude::*;

const SIZE: u64 = 1 << 44;

fn net() -> impl Strategy<Value = NetEstimate> {
    (any::<bool>(), 1e6f64..2e9, 1e-4f64..0.2).prop_map(|(measured, tput, lat)| {
        let mut n = NetEstimate::default();
        if measured {
            n.observe((tput * 0.1) as u64, lat, lat + 0.1);
        }
        n
    })
}

proptest! {
    #[test]
    fn windows_cover_the_read_and_respect_budgets(
        reads in prop::collection::vec((0u64..SIZE, 1u64..(4 << 20)), 1..100),
        net in net(),
        streams in 1usize..64,
        budget in (1u64 << 20)..(1 << 30),
        max_buffer in (1u64 << 20)..(1 << 30),
    ) {
        let cfg = Config { budget, max_buffer, ..Config::default() };
        let mut p = ObjectPolicy::default();
        for (start, len) in reads {
            let start = start.min(SIZE - 1);
            let end = (start + len).min(SIZE);
            let plan = p.on_read(&cfg, &net, streams, start..end, SIZE);
            prop_assert!(plan.window.start == start && plan.window.end >= end);
            prop_assert!(plan.window.end <= SIZE);
            let ahead_cap = max_buffer.min(budget / streams as u64).max(cfg.request_size.min(max_buffer).min(budget / streams as u64));
            prop_assert!(plan.window.end - plan.window.start <= (end - start).max(ahead_cap),
                "window {:?} for read {start}..{end}", plan.window);
        }
    }

    #[test]
    fn sequential_reads_converge_to_large_windows(
        read_len in 4096u64..(1 << 20), start in 0u64..(1 << 34), net in net(),
    ) {
        let cfg = Config::default();
        let mut p = ObjectPolicy::default();
        let mut plan = None;
        for i in 0..12 {
            let s = start + i * read_len;
            plan = Some(p.on_read(&cfg, &net, 1, s..s + read_len, SIZE));
        }
        let plan = plan.expect("planned");
        prop_assert_eq!(plan.pattern, Pattern::Dense { clusters: 1 });
        prop_assert!(plan.window.end - plan.window.start >= cfg.request_size);
    }

    #[test]
    fn random_reads_stay_small(seed in any::<u64>(), read_len in 4096u64..(256 << 10)) {
        let cfg = Config::default();
        let mut p = ObjectPolicy::default();
        let mut rng = mezz_testkit::XorShift::new(seed);
        for i in 0..64 {
            let x = rng.next_u64();
            // Spread over distinct 1 GiB slots so no two reads touch.
            let start = (i << 30) + x % ((1 << 30) - read_len);
            let plan = p.on_read(&cfg, &NetEstimate::default(), 1, start..start + read_len, SIZE);
            prop_assert!(plan.window == (start..start + read_len), "read {i}: {:?}", plan);
            if i >= 4 {
                prop_assert_eq!(plan.pattern, Pattern::Sparse);
            }
        }
    }
}

#[test]
fn four_threads_reading_densely_share_the_object_allowance() {
    let cfg = Config::default();
    // A fast, far network: its bandwidth-delay product is far above any cap.
    let mut net = NetEstimate::default();
    net.observe(100_000_000, 0.1, 0.2);
    let mut p = ObjectPolicy::default();
    let mut last = None;
    for i in 0..16u64 {
        for t in 0..4u64 {
            let s = t * (1 << 32) + i * 131072;
            last = Some(p.on_read(&cfg, &net, 4, s..s + 131072, SIZE));
        }
    }
    let plan = last.expect("planned");
    assert_eq!(plan.pattern, Pattern::Dense { clusters: 4 });
    assert_eq!(plan.window.end - plan.window.start, cfg.max_buffer / 4);
}

#[test]
fn before_any_measurement_a_dense_reader_starts_with_two_requests() {
    let cfg = Config::default();
    let mut p = ObjectPolicy::default();
    let mut plan = None;
    for i in 0..8u64 {
        plan = Some(p.on_read(
            &cfg,
            &NetEstimate::default(),
            1,
            i * 65536..(i + 1) * 65536,
            SIZE,
        ));
    }
    let plan = plan.expect("planned");
    assert!(matches!(plan.pattern, Pattern::Dense { .. }));
    assert_eq!(plan.window.end - plan.window.start, 2 * cfg.request_size);
}

#[test]
fn measured_network_sizes_the_window() {
    // s3-like: 90 MB/s per connection, 25 ms to first byte.
    let mut net = NetEstimate::default();
    net.observe(9_000_000, 0.025, 0.125);
    let cfg = Config::default();
    let mut p = ObjectPolicy::default();
    let mut plan = None;
    for i in 0..8u64 {
        plan = Some(p.on_read(&cfg, &net, 1, i * 131072..(i + 1) * 131072, SIZE));
    }
    let w = plan.expect("planned").window;
    // Four requests of 8 MiB in flight plus four times what arrives during a round trip
    // (90 MB/s x 25 ms): 4 x (2.25 MB + 8 MiB).
    assert_eq!(w.end - w.start, 4 * (2_250_000 + (8 << 20)));

    // A far, fast connection: its bandwidth-delay product dominates, up to the cap.
    let mut far = NetEstimate::default();
    far.observe(100_000_000, 0.1, 0.2);
    let plan = p.on_read(&cfg, &far, 1, 8 * 131072..9 * 131072, SIZE);
    assert_eq!(plan.window.end - plan.window.start, cfg.max_buffer);
}

#[test]
fn fixed_strategy_always_reads_its_buffer() {
    let cfg = Config {
        strategy: ReadStrategy::Fixed(8 << 20),
        ..Config::default()
    };
    let mut p = ObjectPolicy::default();
    for start in [0u64, 5 << 30, 123_456] {
        let plan = p.on_read(&cfg, &NetEstimate::default(), 1, start..start + 65536, SIZE);
        assert_eq!(plan.window, start..start + (8 << 20));
    }
    let plan = p.on_read(&cfg, &NetEstimate::default(), 1, SIZE - 10..SIZE, SIZE);
    assert_eq!(plan.window, SIZE - 10..SIZE);
}

/// Four threads start reading their own regions at once (a first read of 256 KiB each, then a
/// second of `second` bytes right after it): the plans of their second reads, and the policy.
fn four_threads_second_reads(cfg: &Config, second: u64) -> (Vec<Plan>, ObjectPolicy) {
    let mut p = ObjectPolicy::default();
    for t in 0..4u64 {
        let s = t * (1 << 32);
        p.on_read(cfg, &NetEstimate::default(), 1, s..s + 262144, SIZE);
    }
    let plans = (0..4u64)
        .map(|t| {
            let s = t * (1 << 32) + 262144;
            p.on_read(cfg, &NetEstimate::default(), 4, s..s + second, SIZE)
        })
        .collect();
    (plans, p)
}

#[test]
fn the_kernels_read_ahead_ramp_gets_half_a_request_at_its_second_read() {
    // Four buffered readers, interleaved: the kernel grows each one's reads (256 then
    // 512 KiB), which it does only for a stream it has seen. Their second read gets half a
    // request, not twice the 768 KiB covered.
    let cfg = Config::default();
    let (plans, _) = four_threads_second_reads(&cfg, 524288);
    for (t, plan) in plans.iter().enumerate() {
        assert_eq!(
            plan.window.end - plan.window.start,
            cfg.request_size / 2,
            "thread {t}"
        );
    }
    // Reads side by side of the same size, or a little larger (a random read overlapping
    // pages read before arrives as the rest of it, right after), are no ramp: twice what they
    // covered.
    for second in [262144, 262144 + 4096, 491520] {
        let mut p = ObjectPolicy::default();
        let s = 9 << 32;
        p.on_read(&cfg, &NetEstimate::default(), 4, s..s + 262144, SIZE);
        let plan = p.on_read(
            &cfg,
            &NetEstimate::default(),
            4,
            s + 262144..s + 262144 + second,
            SIZE,
        );
        assert_eq!(
            plan.window.end - plan.window.start,
            2 * (262144 + second),
            "second read {second}"
        );
    }
}

#[test]
fn each_reader_is_its_own_stream_from_its_second_read() {
    // Four threads start reading their own regions at once: on their second read each is
    // already a dense stream, though the object as a whole looked scattered a moment ago.
    let cfg = Config::default();
    let (plans, mut p) = four_threads_second_reads(&cfg, 262144);
    for (t, plan) in plans.iter().enumerate() {
        assert!(
            matches!(plan.pattern, Pattern::Dense { .. }),
            "thread {t}: {plan:?}"
        );
        // A young run reads ahead twice what it has covered (2 x 512 KiB) until it is longer.
        assert_eq!(plan.window.end - plan.window.start, 1 << 20, "thread {t}");
    }
    // A read of the same bytes again is not a run.
    let plan = p.on_read(
        &cfg,
        &NetEstimate::default(),
        4,
        5 << 40..(5 << 40) + 65536,
        SIZE,
    );
    assert_eq!(plan.pattern, Pattern::Sparse);
    let again = p.on_read(
        &cfg,
        &NetEstimate::default(),
        4,
        5 << 40..(5 << 40) + 65536,
        SIZE,
    );
    assert_eq!(again.pattern, Pattern::Sparse);
}
