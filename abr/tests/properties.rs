//! Invariants of the session model over random traces, ladders, rules and settings:
//! buffers never negative, bits conserved (nothing arrives that the link could not carry,
//! everything downloaded is accounted for), time conserved (session = startup + content +
//! stalls), and on a constant link above the top pair every rule climbs to the top and never
//! stalls after startup.

use abr_sim::algo::NAMES;
use abr_sim::manifest::{Kind, Manifest, Track};
use abr_sim::optimum::Delivery;
use abr_sim::sim::{Requests, SessionLog, SimConfig, TraceEnd, run_named};
use abr_sim::trace::{Period, Trace};
use abr_sim::units::{Kbps, Ms};
use proptest::prelude::*;

fn ladder(kind: Kind, seg_s: f64, rates: &[f64], content_s: f64) -> Track {
    let n = (content_s / seg_s).ceil() as usize;
    Track::constant(
        kind,
        Ms::from_secs(seg_s),
        &rates.iter().map(|&r| Kbps(r)).collect::<Vec<_>>(),
        n,
    )
    .expect("valid ladder")
}

fn manifest(video_seg: f64, audio_seg: f64, content_s: f64) -> Manifest {
    Manifest {
        video: ladder(
            Kind::Video,
            video_seg,
            &[235.0, 560.0, 1050.0, 2350.0, 4300.0],
            content_s,
        ),
        audio: Some(ladder(
            Kind::Audio,
            audio_seg,
            &[64.0, 128.0, 192.0, 384.0, 640.0],
            content_s,
        )),
    }
}

fn trace_strategy() -> impl Strategy<Value = Trace> {
    prop::collection::vec(
        (
            100.0..5000.0f64,
            prop_oneof![Just(0.0), 50.0..20000.0f64],
            0.0..200.0f64,
        ),
        1..20,
    )
    .prop_map(|ps| {
        let mut periods: Vec<Period> = ps
            .into_iter()
            .map(|(d, b, l)| Period {
                duration: Ms(d),
                bandwidth: Kbps(b),
                latency: Ms(l),
            })
            .collect();
        // A trace that never delivers again is an error (DeadTrace), not a session: keep the
        // first and last periods alive.
        periods[0].bandwidth = Kbps(periods[0].bandwidth.0.max(100.0));
        let last = periods.len() - 1;
        periods[last].bandwidth = Kbps(periods[last].bandwidth.0.max(100.0));
        Trace {
            name: "random".into(),
            periods,
        }
    })
}

fn config_strategy() -> impl Strategy<Value = SimConfig> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        8.0..40.0f64,
        0.0..6.0f64,
    )
        .prop_map(|(par, hold, abandon, buf, startup)| SimConfig {
            max_buffer: Ms::from_secs(buf),
            startup: Ms::from_secs(startup),
            requests: if par {
                Requests::Parallel
            } else {
                Requests::Sequential
            },
            trace_end: if hold { TraceEnd::Hold } else { TraceEnd::Loop },
            abandon_every: abandon.then_some(Ms(250.0)),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn buffers_bits_and_time_are_conserved(
        trace in trace_strategy(),
        cfg in config_strategy(),
        algo in 0..NAMES.len(),
        segs in prop_oneof![Just((4.0, 2.0)), Just((2.0, 2.0)), Just((3.0, 1.92))],
    ) {
        let m = manifest(segs.0, segs.1, 40.0);
        let mut log = SessionLog::default();
        let r = run_named(&trace, &m, NAMES[algo], &cfg, Some(&mut log)).expect("session runs");
        for s in &log.samples {
            prop_assert!(s.video_buffer_ms >= -1e-6 && s.audio_buffer_ms >= -1e-6, "negative buffer {s:?}");
            prop_assert!(s.video_buffer_ms <= cfg.max_buffer.0 + 1e-6 && s.audio_buffer_ms <= cfg.max_buffer.0 + 1e-6, "over max {s:?}");
        }
        // Bits: what arrived fits in what the link carried over the session, and equals the
        // completed segments plus the abandoned partial downloads.
        let cap = Delivery::new(&trace, cfg.trace_end).expect("live trace").capacity(Ms::from_secs(r.session_s));
        prop_assert!(r.bits_downloaded <= cap.0 * (1.0 + 1e-9) + 1e-3, "{} > {}", r.bits_downloaded, cap.0);
        let completed: f64 = log.segments.iter().filter(|s| !s.abandoned).map(|s| s.size_bits).sum();
        prop_assert!((completed + r.bits_wasted - r.bits_downloaded).abs() <= 1e-6 * r.bits_downloaded.max(1.0));
        // Time: the session is startup, content and stalls, nothing else.
        let parts = r.startup_delay_s + r.played_s + r.rebuffer_s;
        prop_assert!((r.session_s - parts).abs() <= 1e-6 * r.session_s.max(1.0), "{} != {}", r.session_s, parts);
        prop_assert!((r.rebuffer_video_s + r.rebuffer_audio_s - r.rebuffer_s).abs() <= 1e-9 * r.rebuffer_s.max(1.0));
        prop_assert_eq!(r.rebuffer_video_count + r.rebuffer_audio_count, r.rebuffer_count);
        // Every segment of both tracks arrived once.
        for k in [Kind::Video, Kind::Audio] {
            let t = if k == Kind::Video { &m.video } else { m.audio.as_ref().expect("audio") };
            let n = log.segments.iter().filter(|s| s.kind == k && !s.abandoned).count();
            prop_assert_eq!(n, t.segments());
        }
    }

    #[test]
    fn a_constant_link_above_the_top_pair_converges_to_it_without_stalls(
        algo in 0..NAMES.len(),
        headroom in 1.0..2.5f64,
        latency in 0.0..60.0f64,
        par in any::<bool>(),
    ) {
        // Above the top pair for each request: with parallel requests each gets half the link.
        let headroom = if par { 2.0 * headroom + 0.2 } else { headroom + 0.6 };
        let m = manifest(4.0, 2.0, 240.0);
        let top = 4300.0 + 640.0;
        let trace = Trace { name: "flat".into(), periods: vec![Period { duration: Ms(1000.0), bandwidth: Kbps(top * headroom), latency: Ms(latency) }] };
        let cfg = SimConfig { requests: if par { Requests::Parallel } else { Requests::Sequential }, ..SimConfig::default() };
        let mut log = SessionLog::default();
        let r = run_named(&trace, &m, NAMES[algo], &cfg, Some(&mut log)).expect("session runs");
        prop_assert_eq!(r.rebuffer_count, 0, "{} stalled", NAMES[algo]);
        let video: Vec<usize> = log.segments.iter().filter(|s| s.kind == Kind::Video && !s.abandoned).map(|s| s.rung).collect();
        let tail = &video[video.len() * 3 / 4..];
        prop_assert!(tail.iter().all(|&q| q == 4), "{}: video tail {:?}", NAMES[algo], tail);
        let audio: Vec<usize> = log.segments.iter().filter(|s| s.kind == Kind::Audio && !s.abandoned).map(|s| s.rung).collect();
        let tail = &audio[audio.len() * 3 / 4..];
        prop_assert!(tail.iter().all(|&q| q == 4), "{}: audio tail {:?}", NAMES[algo], tail);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The offline optimum is an upper bound: no rule beats it on its own objective.
    #[test]
    fn no_rule_beats_the_offline_optimum(trace in trace_strategy(), algo in 0..NAMES.len(), hold in any::<bool>()) {
        let m = manifest(4.0, 2.0, 40.0);
        let cfg = SimConfig { trace_end: if hold { TraceEnd::Hold } else { TraceEnd::Loop }, ..SimConfig::default() };
        let r = run_named(&trace, &m, NAMES[algo], &cfg, None).expect("session runs");
        let o = abr_sim::optimum::optimum(&trace, &m, cfg.max_buffer, cfg.trace_end, Ms(100.0)).expect("optimum runs");
        prop_assert!(r.joint_score <= o.joint_score + 1e-9, "{} scored {} above the optimum {}", NAMES[algo], r.joint_score, o.joint_score);
    }
}

/// A random increasing ladder of `n` rungs from `low`, steps of 1.2x to 3x.
fn rates_strategy(
    low: std::ops::Range<f64>,
    n: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<f64>> {
    (low, prop::collection::vec(1.2..3.0f64, n)).prop_map(|(l, steps)| {
        let mut r = vec![l];
        for s in steps {
            r.push(r[r.len() - 1] * s);
        }
        r
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Issue 22: video never *plays* below audio under `joint`, whatever the trace, the
    /// ladders (audio's lowest rung not above video's), segment durations and settings.
    #[test]
    fn joint_never_plays_video_below_audio(
        trace in trace_strategy(),
        cfg in config_strategy(),
        video in rates_strategy(100.0..400.0, 1..8),
        audio in rates_strategy(32.0..100.0, 0..5),
        segs in prop_oneof![Just((4.0, 2.0)), Just((2.0, 2.0)), Just((3.0, 1.92)), Just((2.0, 4.0)), Just((6.0, 2.5))],
        scale in prop_oneof![Just(1.0), Just(10.0), Just(40.0)],
    ) {
        let trace = trace.scaled(scale);
        let m = Manifest {
            video: ladder(Kind::Video, segs.0, &video, 60.0),
            audio: Some(ladder(Kind::Audio, segs.1, &audio, 60.0)),
        };
        for name in ["joint", "joint-nohyst", "joint:mpc=5"] {
            let r = run_named(&trace, &m, name, &cfg, None).expect("session runs");
            prop_assert_eq!(r.video_below_audio_s, 0.0, "{} {:?}", name, r);
        }
    }

    /// Issue 22: on a stable network audio switches at most once per two minutes.
    #[test]
    fn joint_switches_audio_at_most_once_per_two_minutes_on_a_stable_link(
        kbps in 150.0..100_000.0f64,
        latency in 0.0..100.0f64,
        par in any::<bool>(),
    ) {
        let m = manifest(4.0, 2.0, 240.0);
        let trace = Trace { name: "flat".into(), periods: vec![Period { duration: Ms(1000.0), bandwidth: Kbps(kbps), latency: Ms(latency) }] };
        let cfg = SimConfig { requests: if par { Requests::Parallel } else { Requests::Sequential }, ..SimConfig::default() };
        let r = run_named(&trace, &m, "joint", &cfg, None).expect("session runs");
        prop_assert!(f64::from(r.audio_switches) <= r.played_s / 120.0, "{} switches in {} s", r.audio_switches, r.played_s);
    }
}

/// Found by the property above in CI: 1050 + 640 kbps fits a 1724 kbps estimate, but with
/// 96 ms per request the link does not sustain it, and audio rose, fell and rose again.
#[test]
fn joint_does_not_raise_audio_past_what_round_trips_leave_of_the_link() {
    let m = manifest(4.0, 2.0, 240.0);
    let trace = Trace {
        name: "flat".into(),
        periods: vec![Period {
            duration: Ms(1000.0),
            bandwidth: Kbps(1724.396091381798),
            latency: Ms(95.9625784828615),
        }],
    };
    let cfg = SimConfig {
        requests: Requests::Sequential,
        ..SimConfig::default()
    };
    let r = run_named(&trace, &m, "joint", &cfg, None).expect("session runs");
    assert!(r.audio_switches <= 1, "{r:?}");
    assert_eq!(r.rebuffer_count, 0, "{r:?}");
}

#[test]
fn the_same_session_twice_gives_the_same_result() {
    let m = manifest(4.0, 2.0, 120.0);
    let t = abr_sim::scenario::drop_trace(Kbps(6000.0), Ms::from_secs(40.0), Kbps(800.0));
    for name in NAMES {
        let a = run_named(&t, &m, name, &SimConfig::default(), None).expect("runs");
        let b = run_named(&t, &m, name, &SimConfig::default(), None).expect("runs");
        assert_eq!(a, b, "{name}");
    }
}

/// The article's scenario: the joint rule never stalls where fixed high audio does, never
/// plays video below audio, keeps more audio than a safe static default, and scores higher
/// than either.
#[test]
fn joint_beats_fixed_audio_on_a_sudden_drop() {
    let m = abr_sim::scenario::manifest(Ms::from_secs(180.0));
    let t = abr_sim::scenario::drop_trace(Kbps(6000.0), Ms::from_secs(60.0), Kbps(800.0));
    let cfg = SimConfig::default();
    let joint = run_named(&t, &m, "joint", &cfg, None).expect("runs");
    let high = run_named(&t, &m, "bola", &cfg, None).expect("runs");
    let safe = run_named(&t, &m, "bola+fixed@192", &cfg, None).expect("runs");
    assert!(
        high.rebuffer_count > 0 && high.rebuffer_audio_count > 0,
        "{high:?}"
    );
    assert_eq!(joint.rebuffer_count, 0);
    assert!(joint.video_below_audio_s == 0.0 && high.video_below_audio_s > 60.0);
    assert!(joint.audio_bitrate_kbps > safe.audio_bitrate_kbps + 50.0);
    assert!(joint.joint_score > high.joint_score && joint.joint_score > safe.joint_score);
}

/// Issue 22's start-up: on a fast link the joint rule drops the blind first video segment
/// (lowest rung, fetched before any estimate) before anything plays and fetches it again at
/// the measured rung, so audio starts at its top rung and never switches; the dropped bits
/// count as downloaded and wasted. No baseline replaces anything, and on a slow link (where
/// the refetch's start-up delay, priced like a stall, costs more than it gains) joint does
/// not either.
#[test]
fn joint_replaces_the_blind_first_segment_only_when_it_is_cheap() {
    let m = manifest(4.0, 2.0, 120.0);
    let flat = |kbps: f64| Trace {
        name: "flat".into(),
        periods: vec![Period {
            duration: Ms(1000.0),
            bandwidth: Kbps(kbps),
            latency: Ms(20.0),
        }],
    };
    let cfg = SimConfig::default();
    let mut log = SessionLog::default();
    let fast = run_named(&flat(50_000.0), &m, "joint", &cfg, Some(&mut log)).expect("runs");
    assert_eq!(fast.replaced, 1, "{fast:?}");
    assert_eq!(fast.audio_switches, 0, "{fast:?}");
    assert!(fast.video_below_audio_s == 0.0 && fast.rebuffer_count == 0);
    let first = &log.segments[0];
    assert!(first.kind == Kind::Video && first.segment == 0 && first.rung == 0 && first.abandoned);
    assert!(
        (fast.bits_wasted - first.size_bits).abs() < 1e-6,
        "{fast:?}"
    );
    let video: Vec<_> = log
        .segments
        .iter()
        .filter(|s| s.kind == Kind::Video && !s.abandoned)
        .collect();
    assert!(video[0].segment == 0 && video[0].rung > 0, "{video:?}");
    let audio: Vec<_> = log
        .segments
        .iter()
        .filter(|s| s.kind == Kind::Audio)
        .map(|s| s.rung)
        .collect();
    assert!(audio.iter().all(|&r| r == 4), "{audio:?}");
    for name in NAMES.iter().filter(|n| !n.starts_with("joint")) {
        let r = run_named(&flat(50_000.0), &m, name, &cfg, None).expect("runs");
        assert_eq!(r.replaced, 0, "{name}");
    }
    let slow = run_named(&flat(3_000.0), &m, "joint", &cfg, None).expect("runs");
    assert_eq!(slow.replaced, 0, "{slow:?}");
    let off = run_named(&flat(50_000.0), &m, "joint:probe=0", &cfg, None).expect("runs");
    assert_eq!((off.replaced, off.bits_wasted), (0, 0.0), "{off:?}");
}
