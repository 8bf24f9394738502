//! Colours of states. The original's palette where it had one (scheduled green, downloading
//! yellow, returned blue); the states it did not have get colours far from those.

use ratatui::style::Color;

use crate::blocks::Shade;

pub fn color(s: Shade) -> Color {
    match s {
        Shade::Untouched => Color::Rgb(44, 44, 48),
        Shade::ReturnedEvicted => Color::Rgb(36, 58, 120),
        Shade::Wasted => Color::Rgb(140, 60, 150),
        Shade::Cached => Color::Rgb(0, 175, 175),
        Shade::Scheduled => Color::Rgb(40, 185, 70),
        Shade::Returned => Color::Rgb(70, 130, 255),
        Shade::Downloading => Color::Rgb(245, 205, 0),
        Shade::Error => Color::Rgb(235, 35, 35),
    }
}

/// The colour of bytes outside the highlighted file.
pub fn dimmed(s: Shade) -> Color {
    match color(s) {
        Color::Rgb(r, g, b) => Color::Rgb(r / 3, g / 3, b / 3),
        c => c,
    }
}
