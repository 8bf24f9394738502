//! Drawing the whole screen from an [`App`]: a status bar, the byte map with the side panel,
//! the timeline bar and a line of key hints. [`render`] draws into any buffer, so the
//! terminal, text snapshots and the tests share one code path.

pub mod byte_map;
pub mod format;
pub mod help;
pub mod panel;
pub mod theme;
pub mod timeline_bar;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use mezz_replays::End;

use crate::app::App;
use crate::timespec::format_us;
use byte_map::ByteMap;
use help::Help;
use panel::Panel;
use timeline_bar::TimelineBar;

/// The side panel needs this many columns; narrower screens show the map alone.
pub const PANEL_WIDTH: u16 = 48;
const MIN_WIDTH_FOR_PANEL: u16 = PANEL_WIDTH + 30;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let [status, body, bar, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    status_line(app).render(status, buf);
    let (map_area, panel_area) = if body.width >= MIN_WIDTH_FOR_PANEL {
        let [m, p] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(PANEL_WIDTH)]).areas(body);
        (m, Some(p))
    } else {
        (body, None)
    };
    render_map(app, map_area, buf);
    if let Some(p) = panel_area {
        Panel { app }.render(p, buf);
    }
    TimelineBar {
        timeline: app.timeline(),
        now: app.player.now(),
    }
    .render(bar, buf);
    hint_line(app).render(hints, buf);
    if app.help {
        Help.render(area, buf);
    }
}

fn render_map(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.timeline();
    let o = app.object;
    let Some(obj) = t.meta.objects.get(o) else {
        // A mount of writable directories alone: nothing was read, the panel shows the writes.
        Paragraph::new(" no objects mounted: this replay only wrote (see the totals)")
            .fg(Color::DarkGray)
            .block(Block::bordered().border_style(Style::default().fg(Color::DarkGray)))
            .render(area, buf);
        return;
    };
    let block = Block::bordered().border_style(Style::default().fg(Color::DarkGray));
    let inner = block.inner(area);
    let title = format!(
        " object {}/{}: {} · {} · 1 px ≈ {} ",
        o + 1,
        t.meta.objects.len(),
        obj.source,
        format::bytes(obj.size),
        format::bytes(ByteMap::pixel_bytes(obj.size, inner)),
    );
    block.title(title).render(area, buf);
    let s = app.player.state();
    ByteMap {
        geometry: &s.geometry[o],
        cells: &s.cells[o],
        glyphs: app.glyphs,
        focus: app.focus_span(),
    }
    .render(inner, buf);
}

fn status_line(app: &App) -> Line<'static> {
    let t = app.timeline();
    let p = &app.player;
    let play = if p.playing { "▶" } else { "⏸" };
    let mut spans = vec![
        Span::styled(
            " replay-viz ",
            Style::default().bold().fg(Color::Black).bg(Color::Cyan),
        ),
        Span::raw(format!(" {} ", app.name)),
        Span::styled(
            format!(" {play} {}× ", trim_speed(p.speed())),
            Style::default().bold(),
        ),
        Span::raw(format!(
            " {} / {} · event {}/{} ",
            format_us(p.now()),
            format_us(t.end_time),
            p.state().applied,
            t.events.len()
        )),
    ];
    if app.frame_us > 0 {
        spans.push(Span::styled(
            format!(" frame {:.1} ms ", app.frame_us as f64 / 1e3),
            Style::default().fg(Color::DarkGray),
        ));
    }
    let warn = Style::default().fg(Color::Black).bg(Color::Yellow);
    match &t.end {
        End::Complete if t.clean_end => {}
        End::Complete => spans.push(Span::styled(
            " no end statistics: the mount did not unmount cleanly ",
            warn,
        )),
        End::Truncated { at } => spans.push(Span::styled(
            format!(" TRUNCATED at byte {at}: the mount was killed while recording "),
            warn,
        )),
        End::Corrupt { at, reason } => spans.push(Span::styled(
            format!(" CORRUPT at byte {at} ({reason}): showing what came before "),
            Style::default().fg(Color::White).bg(Color::Red),
        )),
    }
    Line::from(spans)
}

fn trim_speed(s: f64) -> String {
    if s >= 10.0 || s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.2}").trim_end_matches('0').to_string()
    }
}

fn hint_line(app: &App) -> Paragraph<'static> {
    if let Some(line) = &app.prompt {
        return Paragraph::new(format!(" go to (1.5s, 250ms, 75%, end): {line}█"))
            .fg(Color::Yellow);
    }
    if let Some(m) = &app.message {
        return Paragraph::new(format!(" {m}")).fg(Color::Red);
    }
    Paragraph::new(
        " space play · [ ] speed · , . step · ← → seek · g go to · tab object · f file · m chars · ? help · q quit",
    )
    .fg(Color::DarkGray)
}

/// The frame as plain text, one line per row, trailing spaces trimmed: for `--snapshot-at`
/// and the tests.
pub fn to_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
