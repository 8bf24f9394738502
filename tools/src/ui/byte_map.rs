//! The object's bytes as pixels: top-left is the object's first byte, bottom-right its last.
//! Every cell is two pixels (the upper-half block `▀`, foreground = upper pixel, background =
//! lower pixel), so a 200 × 50 map shows 20,000 pixels, each covering an equal byte span and
//! showing the most important state under it. In glyph mode a cell is one character per state
//! (the more important of its two pixels), for plain-text snapshots and colourless terminals.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use crate::blocks::{self, Geometry, Shade};
use crate::timeline::Span;
use crate::ui::theme;

#[derive(Debug)]
pub struct ByteMap<'a> {
    pub geometry: &'a Geometry,
    pub cells: &'a [u8],
    pub glyphs: bool,
    /// Bytes to highlight (a range file); the rest is dimmed.
    pub focus: Option<Span>,
}

impl ByteMap<'_> {
    /// Bytes one pixel covers in `area`.
    pub fn pixel_bytes(size: u64, area: Rect) -> u64 {
        let pixels = u64::from(area.width) * u64::from(area.height) * 2;
        size.div_ceil(pixels.max(1))
    }
}

impl Widget for ByteMap<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (w, h) = (area.width as usize, area.height as usize);
        if w == 0 || h == 0 {
            return;
        }
        let n = w * h * 2;
        let mut px = Vec::with_capacity(n);
        blocks::pixels(self.geometry, self.cells, n, &mut px);
        let size = self.geometry.size as u128;
        let inside = |i: usize| match self.focus {
            None => true,
            Some(f) => {
                // Pixel i's bytes: [i·size/n, (i+1)·size/n).
                let a = (i as u128 * size / n as u128) as u64;
                let b = ((i as u128 + 1) * size / n as u128) as u64;
                a < f.end && b > f.start
            }
        };
        let paint = |i: usize| -> Color {
            if inside(i) {
                theme::color(px[i])
            } else {
                theme::dimmed(px[i])
            }
        };
        for y in 0..h {
            for x in 0..w {
                let (top, bottom) = ((2 * y) * w + x, (2 * y + 1) * w + x);
                let Some(cell) = buf.cell_mut((area.x + x as u16, area.y + y as u16)) else {
                    continue;
                };
                if self.glyphs {
                    let s = px[top].max(px[bottom]);
                    let i = if px[top] >= px[bottom] { top } else { bottom };
                    let glyph = if inside(i) { s.glyph() } else { ' ' };
                    cell.set_char(glyph)
                        .set_fg(theme::color(s))
                        .set_bg(Color::Reset);
                } else {
                    cell.set_char('▀').set_fg(paint(top)).set_bg(paint(bottom));
                }
            }
        }
    }
}

/// One legend entry: a swatch (or glyph) and the state's name.
pub fn legend_swatch(s: Shade, glyphs: bool) -> (String, Color) {
    if glyphs {
        (format!("{0}{0}", s.glyph()), theme::color(s))
    } else {
        ("██".to_string(), theme::color(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::{CACHED, DOWNLOADING, NONE, READ};

    fn render(cells: &[u8], glyphs: bool, focus: Option<Span>, w: u16, h: u16) -> Buffer {
        let g = Geometry::new(cells.len() as u64 * 4096, 4096);
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        ByteMap {
            geometry: &g,
            cells,
            glyphs,
            focus,
        }
        .render(area, &mut buf);
        buf
    }

    #[test]
    fn each_cell_is_two_pixels_upper_in_fg_lower_in_bg() {
        // 4 × 2 cells = 16 pixels over 16 blocks: the first pixel row (blocks 0-3) is read,
        // the second (4-7) downloading, the rest untouched.
        let mut cells = vec![NONE; 16];
        cells[..4].fill(CACHED | READ);
        cells[4..8].fill(DOWNLOADING);
        let buf = render(&cells, false, None, 4, 2);
        for x in 0..4 {
            let c = &buf[(x, 0)];
            assert_eq!(c.symbol(), "▀");
            assert_eq!(c.fg, theme::color(Shade::Returned));
            assert_eq!(c.bg, theme::color(Shade::Downloading));
            assert_eq!(buf[(x, 1)].fg, theme::color(Shade::Untouched));
        }
    }

    #[test]
    fn glyph_mode_and_focus_dimming() {
        let mut cells = vec![NONE; 16];
        cells[..4].fill(CACHED | READ);
        let buf = render(&cells, true, None, 4, 2);
        let row = |y| {
            (0..4)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        };
        assert_eq!(row(0), "####");
        assert_eq!(row(1), "....");
        // Focus on the last 8 blocks: the first row is outside and drawn dimmed.
        let focus = Some(Span::new(8 * 4096, 8 * 4096));
        let buf = render(&cells, false, focus, 4, 2);
        assert_eq!(buf[(0, 0)].fg, theme::dimmed(Shade::Returned));
        assert_eq!(buf[(0, 1)].fg, theme::color(Shade::Untouched));
    }
}
