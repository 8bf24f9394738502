//! The side panel: legend, totals (writes too, when the replay holds any), what is in
//! flight, the object's files, throughput.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span as TextSpan};
use ratatui::widgets::{Block, Paragraph, Sparkline, Widget, Wrap};

use mezz_replays::analysis::classify;

use crate::app::App;
use crate::blocks::{READ, Shade};
use crate::state::Flight;
use crate::timespec::format_us;
use crate::ui::byte_map::legend_swatch;
use crate::ui::format;

const FILES_SHOWN: usize = 6;
const READ_COLOR: Color = Color::Rgb(70, 130, 255);
const FETCHED: Color = Color::Rgb(245, 205, 0);
const WRITTEN: Color = Color::Rgb(80, 220, 120);

#[derive(Debug)]
pub struct Panel<'a> {
    pub app: &'a App,
}

impl Widget for Panel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let files = app.files_of_object().len().min(FILES_SHOWN) as u16;
        let error = app.player.state().last_error.is_some();
        let writes = app.timeline().writes;
        let [legend, totals, flight, files_area, chart, err] = Layout::vertical([
            Constraint::Length(6),
            Constraint::Length(if writes { 10 } else { 8 }),
            Constraint::Min(3),
            Constraint::Length(if files > 1 { files + 2 } else { 0 }),
            Constraint::Length(if writes { 11 } else { 8 }),
            Constraint::Length(if error { 4 } else { 0 }),
        ])
        .areas(area);
        render_legend(app, legend, buf);
        render_totals(app, totals, buf);
        render_flight(app, flight, buf);
        if files > 1 {
            render_files(app, files_area, buf);
        }
        render_chart(app, chart, buf);
        if error {
            render_error(app, err, buf);
        }
    }
}

fn section(title: &str) -> Block<'_> {
    Block::bordered()
        .title(format!(" {title} "))
        .border_style(Style::default().fg(Color::DarkGray))
}

fn render_legend(app: &App, area: Rect, buf: &mut Buffer) {
    let entry = |s: Shade| -> Vec<TextSpan<'static>> {
        let (sw, color) = legend_swatch(s, app.glyphs);
        vec![
            TextSpan::styled(sw, Style::default().fg(color)),
            TextSpan::raw(format!(" {:<17}", s.name())),
        ]
    };
    // Most important first, two columns.
    let order: Vec<Shade> = Shade::ALL.iter().rev().copied().collect();
    let lines: Vec<Line<'_>> = order
        .chunks(2)
        .map(|pair| Line::from(pair.iter().flat_map(|s| entry(*s)).collect::<Vec<_>>()))
        .collect();
    Paragraph::new(lines)
        .block(section("legend"))
        .render(area, buf);
}

fn render_totals(app: &App, area: Rect, buf: &mut Buffer) {
    let s = app.player.state();
    let t = &s.totals;
    let (share, class, clusters) = classify(&app.recent_reads());
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.0}%", v * 100.0));
    let amp = t
        .amplification()
        .map_or("-".to_string(), |a| format!("{a:.2}×"));
    let failed = if t.failed_reads + t.failed_fetches > 0 {
        format!("  failed {}r {}f", t.failed_reads, t.failed_fetches)
    } else {
        String::new()
    };
    let mut lines = vec![
        Line::from(format!(
            "read    {:>10}  {} reads",
            format::bytes(t.bytes_read),
            t.reads
        )),
        Line::from(format!(
            "fetched {:>10}  {} fetches",
            format::bytes(t.bytes_fetched),
            t.fetches
        )),
        Line::from(format!(
            "fetched/read {amp}   cache hits {}",
            pct(t.hit_ratio())
        )),
        Line::from(format!("windows {}   opens {}{failed}", t.windows, t.opens)),
        Line::from(vec![
            "pattern ".into(),
            TextSpan::styled(class.to_string(), Style::default().bold()),
            format!(" ({:.0}% dense, {clusters} clusters)", share * 100.0).into(),
        ]),
        Line::from(format!(
            "in flight {} fetches, {} reads",
            s.fetches.len(),
            s.reads.len()
        )),
    ];
    if app.timeline().writes {
        let refused = if t.failed_writes > 0 {
            format!(", {} refused", t.failed_writes)
        } else {
            String::new()
        };
        lines.push(
            Line::from(format!(
                "written {:>10}  {} writes{refused}",
                format::bytes(t.bytes_written),
                t.writes
            ))
            .fg(WRITTEN),
        );
        lines.push(
            Line::from(format!(
                "files   {} created, {} stored, {} not stored",
                t.files_created, t.commits, t.failed_commits
            ))
            .fg(WRITTEN),
        );
    }
    Paragraph::new(lines)
        .block(section("totals"))
        .render(area, buf);
}

fn flight_line(kind: char, id: u64, f: &Flight, now: u64, object: usize) -> Line<'static> {
    let here = f.object as usize == object;
    let text = format!(
        "{kind}{id:<6} o{} {:>9} @ {:>9} {:>9}",
        f.object,
        format::bytes(f.span.len()),
        format::bytes(f.span.start),
        format_us(now.saturating_sub(f.since)),
    );
    if here {
        Line::from(text)
    } else {
        Line::from(text).fg(Color::DarkGray)
    }
}

fn render_flight(app: &App, area: Rect, buf: &mut Buffer) {
    let s = app.player.state();
    let now = app.player.now();
    let room = area.height.saturating_sub(2) as usize;
    let mut lines: Vec<Line<'_>> = Vec::new();
    // Oldest first: the ones holding things up.
    lines.extend(
        s.fetches
            .iter()
            .take(room)
            .map(|(id, f)| flight_line('#', *id, f, now, app.object)),
    );
    let left = room.saturating_sub(lines.len());
    lines.extend(
        s.reads
            .iter()
            .take(left)
            .map(|(id, f)| flight_line('r', u64::from(*id), f, now, app.object)),
    );
    if lines.is_empty() {
        lines.push(Line::from("nothing in flight").fg(Color::DarkGray));
    }
    Paragraph::new(lines)
        .block(section("fetches (#) and reads (r) in flight"))
        .render(area, buf);
}

fn render_files(app: &App, area: Rect, buf: &mut Buffer) {
    let s = app.player.state();
    let o = app.object;
    let (g, cells) = (&s.geometry[o], &s.cells[o]);
    let meta = &app.timeline().meta;
    let lines: Vec<Line<'_>> = app
        .files_of_object()
        .into_iter()
        .take(FILES_SHOWN)
        .map(|i| {
            let f = &meta.files[i];
            let blocks = g.blocks_of(f.offset, f.offset.saturating_add(f.len));
            let total = blocks.len().max(1);
            let read = cells[blocks].iter().filter(|c| *c & READ != 0).count();
            let mark = if app.focus == Some(i) { "▶" } else { " " };
            let line = format!(
                "{mark}{:<16} {:>9} +{:>9} {:>3}%",
                truncate(&f.path, 16),
                format::bytes(f.offset),
                format::bytes(f.len),
                read * 100 / total
            );
            if app.focus == Some(i) {
                Line::from(line).fg(Color::Yellow)
            } else {
                Line::from(line)
            }
        })
        .collect();
    Paragraph::new(lines)
        .block(section("files (f: highlight)"))
        .render(area, buf);
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(n - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

fn render_chart(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.timeline();
    let block = section(if t.writes {
        "throughput: read / fetched / written"
    } else {
        "throughput: read / fetched"
    });
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 2 {
        return;
    }
    let (now, width) = (app.player.now(), inner.width as usize);
    let (read, fetched) = app.series.rates(now, t.end_time, width);
    let mut rows = vec![("read", read, READ_COLOR), ("fetched", fetched, FETCHED)];
    if t.writes {
        let written = app.series.written_rates(now, t.end_time, width);
        rows.push(("written", written, WRITTEN));
    }
    let max = rows
        .iter()
        .flat_map(|(_, v, _)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    // The newest column is usually partial; the label averages the last few whole ones.
    let last = |v: &[u64]| {
        let whole = &v[..v.len().saturating_sub(1)];
        let tail = &whole[whole.len().saturating_sub(3)..];
        tail.iter().sum::<u64>() / (tail.len().max(1) as u64)
    };
    let areas = Layout::vertical(
        rows.iter()
            .flat_map(|_| [Constraint::Length(1), Constraint::Fill(1)]),
    )
    .split(inner);
    for (i, (name, v, color)) in rows.iter().enumerate() {
        Paragraph::new(format!("{name} {}", format::rate(last(v))))
            .fg(*color)
            .render(areas[2 * i], buf);
        Sparkline::default()
            .data(v)
            .max(max)
            .style(Style::default().fg(*color))
            .render(areas[2 * i + 1], buf);
    }
}

fn render_error(app: &App, area: Rect, buf: &mut Buffer) {
    let s = app.player.state();
    let msg = s
        .last_error
        .and_then(|i| app.timeline().errors.get(i as usize))
        .cloned()
        .unwrap_or_default();
    Paragraph::new(msg)
        .wrap(Wrap { trim: true })
        .fg(Color::Red)
        .block(section(&format!("errors: {}", s.totals.errors)))
        .render(area, buf);
}
