//! Whole screens of the visualizer on the corpus replays, rendered into ratatui's
//! `TestBackend` and checked cell by cell: symbols, colours, panels, overlays.

use std::path::PathBuf;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use mezz_replays::codec;
use mezz_tools::blocks::Shade;
use mezz_tools::timespec::TimeSpec;
use mezz_tools::ui::{self, theme};
use mezz_tools::{App, Key};

fn corpus(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../replays/corpus")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn open(name: &str) -> App {
    mezz_tools::open(&corpus(name), name.into()).expect("open")
}

fn screen(app: &App, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| ui::render(app, f.area(), f.buffer_mut()))
        .expect("draw");
    term.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    ui::to_text(buf)
}

/// The byte map's pixels (upper then lower half of each cell, row by row) as shades, read
/// back from the colours on screen.
fn map_pixels(buf: &Buffer, map_width: u16) -> Vec<Shade> {
    let by_color = |c| Shade::ALL.into_iter().find(|s| theme::color(*s) == c);
    let mut out = Vec::new();
    for y in 2..buf.area.height - 3 {
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for x in 1..=map_width {
            let cell = &buf[(x, y)];
            assert_eq!(cell.symbol(), "▀", "map cell ({x},{y})");
            top.push(by_color(cell.fg).expect("a state colour"));
            bottom.push(by_color(cell.bg).expect("a state colour"));
        }
        out.extend(top);
        out.extend(bottom);
    }
    out
}

#[test]
fn dense_replay_fills_a_band_from_the_top_left() {
    let mut app = open("dense.mezzreplay");
    let (w, h) = (130, 36);
    let map_w = w - ui::PANEL_WIDTH - 2;
    let mut read_before = 0;
    for pct in [25.0, 50.0, 75.0] {
        app.seek_to(TimeSpec::Fraction(pct / 100.0));
        let px = map_pixels(&screen(&app, w, h), map_w);
        let read = |s: &Shade| matches!(s, Shade::Returned | Shade::ReturnedEvicted);
        let n = px.iter().filter(|s| read(s)).count();
        // The returned bytes are one prefix of the object: no untouched pixel before the last
        // returned one.
        let last = px.iter().rposition(read).expect("some bytes returned");
        assert!(
            px[..last].iter().all(|s| *s != Shade::Untouched),
            "{pct}%: a gap in the band"
        );
        assert!(
            n > read_before,
            "{pct}%: the band grows ({n} after {read_before})"
        );
        read_before = n;
    }
}

#[test]
fn sparse_replay_shows_scattered_marks() {
    let mut app = open("sparse.mezzreplay");
    app.seek_to(TimeSpec::Fraction(1.0));
    let px = map_pixels(&screen(&app, 130, 36), 130 - ui::PANEL_WIDTH - 2);
    let returned: Vec<usize> = (0..px.len())
        .filter(|i| matches!(px[*i], Shade::Returned | Shade::ReturnedEvicted))
        .collect();
    let runs = 1 + returned.windows(2).filter(|w| w[1] != w[0] + 1).count();
    assert!(runs >= 20, "{runs} separate marks");
    assert!(
        returned.len() < px.len() / 10,
        "sparse reads cover a small share"
    );
    let wasted = px
        .iter()
        .filter(|s| matches!(s, Shade::Wasted | Shade::Cached))
        .count();
    assert!(
        wasted > returned.len() * 5,
        "fixed 8 MiB read-ahead over-fetches, visibly"
    );
}

#[test]
fn status_panels_legend_and_timeline_say_what_is_happening() {
    let mut app = open("scenes.mezzreplay");
    app.seek_to(TimeSpec::Fraction(0.5));
    let buf = screen(&app, 130, 36);
    let t = text(&buf);
    let first = t.lines().next().unwrap_or_default();
    assert!(
        first.contains("scenes.mezzreplay") && first.contains("⏸ 1×"),
        "{first}"
    );
    for want in [
        "object 1/1: corpus/b · 96.0 MiB",
        "legend",
        "downloading",
        "fetched, never read",
        "pattern dense",
        "files (f: highlight)",
        "scene-0003",
        "throughput: read / fetched",
        "fetches (#) and reads (r) in flight",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    // The legend swatches carry the state colours.
    let (lx, ly) = find(&buf, "downloading").expect("legend entry");
    assert_eq!(buf[(lx - 3, ly)].fg, theme::color(Shade::Downloading));
    // The timeline's marker sits halfway along the bar.
    let bar = t.lines().nth(34).unwrap_or_default();
    let dot = bar.chars().position(|c| c == '●').expect("position marker");
    let len = bar.chars().count();
    assert!((len * 4 / 10..len * 6 / 10).contains(&dot), "{bar}");
}

#[test]
fn focus_dims_everything_outside_the_range_file_and_help_overlays() {
    let mut app = open("scenes.mezzreplay");
    app.seek_to(TimeSpec::Fraction(1.0));
    app.on_key(Key::Char('f'));
    app.on_key(Key::Char('f'));
    let buf = screen(&app, 130, 36);
    assert!(text(&buf).contains("▶"), "the focused file is marked");
    // scene-0001 is 20-48 MiB of 96 MiB: the first map row is outside it and dimmed.
    assert_eq!(buf[(1, 2)].fg, theme::dimmed(Shade::Returned));
    app.on_key(Key::Char('?'));
    let t = text(&screen(&app, 130, 36));
    assert!(t.contains(" keys ") && t.contains("go to a time"), "{t}");
}

#[test]
fn a_truncated_replay_opens_and_says_so() {
    let bytes = corpus("dense.mezzreplay");
    let cut = &bytes[..bytes.len() - 100];
    let app = mezz_tools::open(cut, "cut".into()).expect("a cut replay opens");
    let d = mezz_replays::decode(cut).expect("decode");
    assert!(matches!(d.end, codec::End::Truncated { .. }));
    let t = text(&screen(&app, 130, 36));
    assert!(
        t.lines()
            .next()
            .unwrap_or_default()
            .contains("TRUNCATED at byte"),
        "{t}"
    );
    assert!(mezz_tools::open(b"not a replay", "x".into()).is_err());
}

#[test]
fn tiny_and_huge_terminals_render_without_panicking() {
    let mut app = open("parallel4.mezzreplay");
    app.seek_to(TimeSpec::Fraction(0.3));
    for (w, h) in [(1, 1), (20, 8), (60, 10), (79, 24), (400, 120)] {
        let t = text(&screen(&app, w, h));
        assert_eq!(t.lines().count(), h as usize);
    }
}

fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    for y in 0..buf.area.height {
        let row: Vec<String> = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        let line = row.concat();
        if let Some(byte) = line.find(needle) {
            // Map the byte offset back to a column: symbols are one column each here.
            let col = row.iter().scan(0, |acc, s| {
                let at = *acc;
                *acc += s.len();
                Some(at)
            });
            let x = col.take_while(|at| *at < byte).count();
            return Some((x as u16, y));
        }
    }
    None
}
