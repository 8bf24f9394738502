//! The `?` overlay.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

pub const KEYS: [(&str, &str); 14] = [
    ("space, p", "play / pause"),
    ("] + ↑  [ - ↓", "speed ×2 / ÷2 (0.1× to 1000×)"),
    ("0", "speed 1×"),
    (". l  , h", "one event forward / back"),
    ("→ ←", "seek 1% forward / back"),
    ("PgDn PgUp", "seek 10% forward / back"),
    ("Home End", "start / end"),
    ("g :", "go to a time: 1.5s, 250ms, 75%, end"),
    ("Tab o / S-Tab O", "next / previous object"),
    ("f", "highlight the next file of this object"),
    ("m", "colours / characters"),
    ("?", "this help (any key closes it)"),
    ("q, Ctrl-C", "quit"),
    ("", "times are on the mount's clock"),
];

#[derive(Debug)]
pub struct Help;

impl Widget for Help {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let w = 62.min(area.width);
        let h = (KEYS.len() as u16 + 2).min(area.height);
        let popup = Rect::new(
            area.x + (area.width - w) / 2,
            area.y + (area.height - h) / 2,
            w,
            h,
        );
        Clear.render(popup, buf);
        let lines: Vec<Line<'_>> = KEYS
            .iter()
            .map(|(k, what)| {
                Line::from(vec![format!(" {k:<17}").fg(Color::Yellow), (*what).into()])
            })
            .collect();
        Paragraph::new(lines)
            .block(Block::bordered().title(" keys ").style(Style::default()))
            .render(popup, buf);
    }
}
