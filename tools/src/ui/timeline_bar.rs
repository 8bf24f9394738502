//! The position in the replay: a bar from the first to the last event, the errors marked on
//! it, the current time on its left and the end on its right.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::Widget;

use crate::timeline::Timeline;
use crate::timespec::format_us;

#[derive(Debug)]
pub struct TimelineBar<'a> {
    pub timeline: &'a Timeline,
    pub now: u64,
}

impl Widget for TimelineBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.height == 0 || area.width < 8 {
            return;
        }
        let t = self.timeline;
        let left = format!(" {} ", format_us(self.now));
        let right = format!(" {} ", format_us(t.end_time));
        let y = area.y;
        buf.set_string(area.x, y, &left, Style::default().fg(Color::White));
        let bar_x = area.x + left.len() as u16;
        let bar_w = area.width.saturating_sub((left.len() + right.len()) as u16);
        buf.set_string(bar_x + bar_w, y, &right, Style::default().fg(Color::Gray));
        if bar_w == 0 {
            return;
        }
        let span = t.duration().max(1) as f64;
        let col = |at: u64| {
            let f = at.saturating_sub(t.start) as f64 / span;
            ((f * f64::from(bar_w - 1)).round() as u16).min(bar_w - 1)
        };
        let here = col(self.now);
        for x in 0..bar_w {
            let (ch, color) = match x.cmp(&here) {
                std::cmp::Ordering::Less => ('━', Color::Rgb(70, 130, 255)),
                std::cmp::Ordering::Equal => ('●', Color::White),
                std::cmp::Ordering::Greater => ('─', Color::DarkGray),
            };
            if let Some(c) = buf.cell_mut((bar_x + x, y)) {
                c.set_char(ch).set_fg(color);
            }
        }
        for at in &t.failures {
            if let Some(c) = buf.cell_mut((bar_x + col(*at), y)) {
                c.set_char('!').set_fg(Color::Red);
            }
        }
    }
}
