//! Criterion benches: rule decisions alone, whole sessions in the general model, and whole
//! Sabre-compatible sessions. `cargo bench -p abr-sim`; the figures and how they compare with
//! Sabre are in abr/BENCHMARKS.md.

use abr_sim::algo::{self, View};
use abr_sim::manifest::{self, Kind};
use abr_sim::sabre::{self, SabreConfig, SabreRule};
use abr_sim::sim::{self, SimConfig};
use abr_sim::trace::{self, TraceOptions};
use abr_sim::units::{Kbps, Ms};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn decisions(c: &mut Criterion) {
    let m = abr_sim::scenario::manifest(Ms::from_secs(600.0));
    let mut g = c.benchmark_group("decision");
    const N: u64 = 1000;
    g.throughput(Throughput::Elements(N));
    for name in ["throughput", "bba", "bola", "joint", "mpc"] {
        let mut rule =
            algo::by_name(name, &m.video, m.audio.as_ref(), Ms(25000.0)).expect("known rule");
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut acc = 0;
                for i in 0..N {
                    // Vary the inputs so nothing is hoisted out of the loop.
                    let x = (i % 97) as f64;
                    let v = View {
                        now: Ms(i as f64 * 4000.0),
                        video: &m.video,
                        audio: m.audio.as_ref(),
                        level: [Ms(1000.0 + 200.0 * x), Ms(1500.0 + 150.0 * x)],
                        next: [(i % 100) as usize, (i % 200) as usize],
                        last: [Some((i % 9) as usize), Some((i % 5) as usize)],
                        rungs: [&[], &[]],
                        throughput: Some(Kbps(500.0 + 60.0 * x)),
                        harmonic: Some(Kbps(450.0 + 55.0 * x)),
                        max_error: 0.1,
                        latency: Ms(40.0),
                        max_buffer: Ms(25000.0),
                        playing: true,
                    };
                    acc += rule.choose(
                        if i % 3 == 0 { Kind::Audio } else { Kind::Video },
                        black_box(&v),
                    );
                }
                acc
            })
        });
    }
    g.finish();
}

fn sessions(c: &mut Criterion) {
    let t = trace::load(
        &data("3g_2010-09-13_1003.json"),
        None,
        &TraceOptions::default(),
    )
    .expect("trace");
    let m = manifest::load(&data("bbb.json"))
        .expect("movie")
        .with_default_audio(&manifest::DEFAULT_AUDIO_LADDER_KBPS.map(Kbps), Ms(2000.0))
        .expect("audio");
    let segments = (m.video.segments() + m.audio.as_ref().map_or(0, |a| a.segments())) as u64;
    let mut g = c.benchmark_group("session");
    g.throughput(Throughput::Elements(segments));
    for name in ["throughput", "bola", "joint", "mpc"] {
        g.bench_function(name, |b| {
            b.iter(|| {
                sim::run_named(black_box(&t), &m, name, &SimConfig::default(), None).expect("runs")
            })
        });
    }
    g.finish();

    let movie = manifest::load(&data("bbb4k.json")).expect("movie");
    let t4 = trace::load(&data("4g_bus_0001.json"), None, &TraceOptions::default()).expect("trace");
    let mut g = c.benchmark_group("sabre_session");
    g.throughput(Throughput::Elements(movie.video.segments() as u64));
    for (rule, no_abandon) in [
        (SabreRule::Bola, false),
        (SabreRule::Bolae, false),
        (SabreRule::Throughput, false),
        (SabreRule::Throughput, true),
    ] {
        let cfg = SabreConfig {
            rule,
            no_abandon,
            ..SabreConfig::default()
        };
        let name = format!("{rule:?}{}", if no_abandon { "-noa" } else { "" }).to_lowercase();
        g.bench_function(name, |b| {
            b.iter(|| sabre::run_metrics(black_box(&t4), &movie.video, &cfg).expect("runs"))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("optimum");
    g.sample_size(10);
    g.bench_function("dp_100ms", |b| {
        b.iter(|| {
            abr_sim::optimum::optimum(
                black_box(&t),
                &m,
                Ms(25000.0),
                sim::TraceEnd::Loop,
                Ms(100.0),
            )
            .expect("runs")
        })
    });
    g.finish();
}

criterion_group!(benches, decisions, sessions);
criterion_main!(benches);
