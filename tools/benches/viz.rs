//! How fast the visualizer is on a replay of a million events: opening it (decode, timeline,
//! keyframes), drawing a frame while playing at 1000×, and seeking anywhere.
//!
//! `cargo bench -p mezz-tools --bench viz`. The replay is synthetic but shaped like real ones:
//! an 8 GiB object (128 Ki blocks, the most the map tracks), dense phases of 128 KiB reads
//! under 8 MiB read-ahead windows, and sparse phases of 64 KiB reads each with its own fetch.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use mezz_replays::{FileMeta, Meta, ObjectMeta, Record, ReplayWriter};

const SEG: u64 = 64 << 10;
const SIZE: u64 = 8 << 30;

/// A replay whose timeline holds about `target` events.
fn replay(target: usize) -> Vec<u8> {
    let meta = Meta {
        mezzfs_version: "bench".into(),
        readahead: "adaptive".into(),
        objects: vec![ObjectMeta {
            source: "bench/movie".into(),
            size: SIZE,
            version: "0".into(),
            segment_size: SEG,
        }],
        files: vec![FileMeta {
            path: "movie".into(),
            object: 0,
            offset: 0,
            len: SIZE,
        }],
        ..Meta::default()
    };
    let mut w = ReplayWriter::new(Vec::new(), meta).expect("writer");
    let mut events = 0usize;
    let mut t = 0u64;
    let mut fetch = 0u64;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    w.push(&Record::Open {
        t,
        handle: 1,
        file: 0,
    })
    .expect("push");
    let mut pos = 0u64;
    while events < target {
        let dense = (events / 200_000).is_multiple_of(2);
        if dense {
            // One 8 MiB window: schedule, two fetches, inserts, 64 reads of 128 KiB, evictions.
            let win = 8 << 20;
            if pos + win > SIZE {
                pos = 0;
            }
            w.push(&Record::Schedule {
                t,
                object: 0,
                offset: pos,
                len: win,
            })
            .expect("push");
            for half in 0..2 {
                fetch += 1;
                let off = pos + half * win / 2;
                w.push(&Record::FetchStart {
                    t,
                    fetch,
                    object: 0,
                    offset: off,
                    len: win / 2,
                })
                .expect("push");
                w.push(&Record::FetchDone {
                    t: t + 20_000,
                    fetch,
                    bytes: win / 2,
                    ok: true,
                })
                .expect("push");
                w.push(&Record::CacheInsert {
                    t: t + 20_000,
                    object: 0,
                    first: off / SEG,
                    count: win / 2 / SEG,
                })
                .expect("push");
            }
            for i in 0..64 {
                let rt = t + 20_000 + i * 500;
                w.push(&Record::Read {
                    t: rt,
                    handle: 1,
                    offset: pos + i * (128 << 10),
                    len: 128 << 10,
                    dur: 100,
                    ok: true,
                })
                .expect("push");
            }
            w.push(&Record::CacheEvict {
                t: t + 52_000,
                object: 0,
                first: pos / SEG,
                count: win / SEG,
            })
            .expect("push");
            events += 1 + 2 * 3 + 64 * 2 + 1;
            pos += win;
            t += 32_000;
        } else {
            let off = (next() % (SIZE / SEG)) * SEG;
            fetch += 1;
            w.push(&Record::Schedule {
                t,
                object: 0,
                offset: off,
                len: SEG,
            })
            .expect("push");
            w.push(&Record::FetchStart {
                t,
                fetch,
                object: 0,
                offset: off,
                len: SEG,
            })
            .expect("push");
            w.push(&Record::FetchDone {
                t: t + 25_000,
                fetch,
                bytes: SEG,
                ok: true,
            })
            .expect("push");
            w.push(&Record::CacheInsert {
                t: t + 25_000,
                object: 0,
                first: off / SEG,
                count: 1,
            })
            .expect("push");
            w.push(&Record::Read {
                t,
                handle: 1,
                offset: off,
                len: SEG,
                dur: 25_100,
                ok: true,
            })
            .expect("push");
            events += 6;
            t += 3_000;
        }
    }
    w.push(&Record::Release { t, handle: 1 }).expect("push");
    w.finish(serde_json::json!({})).expect("finish")
}

fn bench(c: &mut Criterion) {
    let bytes = replay(1_000_000);
    // Kept for the real-terminal measurement (bench/viz-terminal.sh).
    let saved = std::env::temp_dir().join("mezz-viz-1M.mezzreplay");
    std::fs::write(&saved, &bytes).expect("write the replay");
    eprintln!("saved the replay as {}", saved.display());
    let app = mezz_tools::open(&bytes, "bench".into()).expect("open");
    let t = app.timeline();
    eprintln!(
        "replay: {} bytes, {} timeline events, {:.1} s, keyframe every {} events",
        bytes.len(),
        t.events.len(),
        t.duration() as f64 / 1e6,
        app.player.keyframe_interval()
    );
    let (start, end) = (t.start, t.end_time);
    let mut g = c.benchmark_group("viz-1M-events");
    g.sample_size(10);
    g.bench_function("open (decode, timeline, keyframes)", |b| {
        b.iter(|| mezz_tools::open(black_box(&bytes), "bench".into()).expect("open"))
    });
    drop(g);

    let mut app = mezz_tools::open(&bytes, "bench".into()).expect("open");
    let mut g = c.benchmark_group("viz-1M-events");
    // A frame while playing at 1000× at 60 fps: 16.7 ms of wall time is 16.7 s of replay.
    let area = Rect::new(0, 0, 200, 50);
    let mut buf = Buffer::empty(area);
    g.bench_function("frame 200x50 playing at 1000x", |b| {
        app.player.seek(start);
        app.player.set_speed(1000.0);
        app.player.playing = true;
        b.iter(|| {
            if app.player.at_end() {
                app.player.seek(start);
                app.player.playing = true;
            }
            app.player.advance(16_667);
            buf.reset();
            mezz_tools::ui::render(&app, area, &mut buf);
            black_box(&buf);
        })
    });
    app.player.playing = false;
    let mut rng = 12345u64;
    g.bench_function("seek to a random time", |b| {
        b.iter(|| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = start + (rng >> 11) % (end - start + 1);
            app.player.seek(at);
            black_box(app.player.state().applied)
        })
    });
    // The peer: no keyframes, every seek replays the events from the start.
    let timeline = app.timeline().clone();
    g.bench_function("seek to a random time by replaying from the start", |b| {
        b.iter(|| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = start + (rng >> 11) % (end - start + 1);
            let mut s = mezz_tools::state::State::empty(&timeline);
            for e in timeline.events.iter().take_while(|e| e.t <= at) {
                s.apply(e);
            }
            black_box(s.applied)
        })
    });
    // The worst seek: backwards, to the event just before a keyframe, so the whole interval
    // is applied on top of a restored keyframe.
    let k = app.player.keyframe_interval();
    let events = &app.timeline().events;
    let worst: Vec<u64> = (1..events.len() / k)
        .map(|i| events[i * k - 1].t.saturating_sub(1))
        .collect();
    let mut i = 0;
    g.bench_function("seek backwards to a keyframe's last event", |b| {
        b.iter(|| {
            app.player.seek(end);
            i = (i + 1) % worst.len();
            app.player.seek(worst[worst.len() - 1 - i]);
            black_box(app.player.state().applied)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
