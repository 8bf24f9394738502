//! SVG charts written as plain strings: no drawing library, no system fonts. A session chart
//! is two panels per run, like the article's figures: bitrates (video, audio, link) over time
//! on top, both buffers below, stalls shaded. A summary chart shows one metric per rule as
//! the mean with a p10-p90 whisker.

use crate::sim::Sample;
use crate::stats::Summary;
use std::fmt::Write;

const W: f64 = 900.0;
const PANEL_H: f64 = 170.0;
/// Room for the widest y tick label ("100000 kbps").
const LEFT: f64 = 84.0;
const RIGHT: f64 = 30.0;
/// Above each panel: its title, then its legend.
const GAP: f64 = 52.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn nice_max(x: f64) -> f64 {
    if !(x > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&v| v >= x)
        .unwrap_or(10.0 * p)
}

struct Panel {
    top: f64,
    t_max: f64,
    y_max: f64,
}

impl Panel {
    fn x(&self, t: f64) -> f64 {
        LEFT + (W - LEFT - RIGHT) * (t / self.t_max)
    }
    fn y(&self, v: f64) -> f64 {
        self.top + PANEL_H * (1.0 - (v / self.y_max).clamp(0.0, 1.05))
    }
    fn frame(&self, out: &mut String, title: &str, unit: &str) {
        let _ = write!(
            out,
            r##"<rect x="{LEFT}" y="{}" width="{}" height="{PANEL_H}" fill="none" stroke="#999"/><text x="{LEFT}" y="{}" font-size="13">{}</text>"##,
            self.top,
            W - LEFT - RIGHT,
            self.top - 24.0,
            esc(title)
        );
        let ticks = nice_ticks(0.0, self.y_max, 4);
        let step = ticks.get(1).copied().unwrap_or(1.0);
        for (i, &v) in ticks.iter().enumerate() {
            let y = self.y(v);
            let _ = write!(
                out,
                r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="{}"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end">{}{}</text>"##,
                W - RIGHT,
                if v == 0.0 { "#333" } else { "#eee" },
                LEFT - 4.0,
                y + 3.0,
                tick_label(v, step),
                if i == ticks.len() - 1 { unit } else { "" }
            );
        }
        let ticks = nice_ticks(0.0, self.t_max, 8);
        let step = ticks.get(1).copied().unwrap_or(1.0);
        for &t in ticks.iter().filter(|&&t| t <= self.t_max + 1e-9) {
            let x = self.x(t);
            let _ = write!(
                out,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{}" y2="{}" stroke="#333"/><text x="{x:.1}" y="{:.1}" font-size="10" text-anchor="middle">{} s</text>"##,
                self.top + PANEL_H,
                self.top + PANEL_H + 4.0,
                self.top + PANEL_H + 15.0,
                tick_label(t, step)
            );
        }
    }
    /// A step line through `(t, v)` points.
    fn steps(
        &self,
        out: &mut String,
        pts: &[(f64, f64)],
        color: &str,
        label: &str,
        label_slot: usize,
    ) {
        let mut d = String::new();
        let mut last: Option<f64> = None;
        let mut end_x = None;
        for &(t, v) in pts {
            let (x, y) = (self.x(t), self.y(v));
            end_x = Some(x);
            match last {
                None => {
                    let _ = write!(d, "M{x:.1},{y:.1}");
                }
                // Sessions have thousands of events; moves under half a pixel are invisible.
                Some(ly) if (y - ly).abs() < 0.5 => continue,
                Some(ly) => {
                    let _ = write!(d, "L{x:.1},{ly:.1}L{x:.1},{y:.1}");
                }
            }
            last = Some(y);
        }
        if let (Some(x), Some(ly)) = (end_x, last) {
            let _ = write!(d, "L{x:.1},{ly:.1}");
        }
        let _ = write!(
            out,
            r##"<path d="{d}" fill="none" stroke="{color}" stroke-width="1.5"/><text x="{:.1}" y="{}" font-size="11" fill="{color}">{}</text>"##,
            LEFT + 110.0 * label_slot as f64,
            self.top - 7.0,
            esc(label)
        );
    }
    fn stalls(&self, out: &mut String, samples: &[Sample]) {
        for w in samples.windows(2) {
            if w[0].stalled {
                let (x0, x1) = (self.x(w[0].t_ms / 1000.0), self.x(w[1].t_ms / 1000.0));
                let _ = write!(
                    out,
                    r##"<rect x="{x0:.1}" y="{}" width="{:.1}" height="{PANEL_H}" fill="#e33" fill-opacity="0.18"/>"##,
                    self.top,
                    (x1 - x0).max(0.5)
                );
            }
        }
    }
}

/// One named session's time series.
#[derive(Debug)]
pub struct Run<'a> {
    pub title: String,
    pub samples: &'a [Sample],
}

/// Bitrate and buffer panels for each run, with a shared time axis.
pub fn session_svg(runs: &[Run<'_>]) -> String {
    let t_max = runs
        .iter()
        .flat_map(|r| r.samples.last())
        .map(|s| s.t_ms / 1000.0)
        .fold(1.0, f64::max);
    // The time axis ends on a round tick.
    let t_max = nice_ticks(0.0, t_max, 8).last().copied().unwrap_or(t_max);
    let round_up = |v: f64| {
        nice_ticks(0.0, nice_max(v), 4)
            .last()
            .copied()
            .unwrap_or(1.0)
    };
    let rate_max = round_up(
        runs.iter()
            .flat_map(|r| r.samples.iter())
            .map(|s| {
                s.bandwidth_kbps
                    .min(3.0 * (s.video_kbps + s.audio_kbps).max(1.0))
                    .max(s.video_kbps)
            })
            .fold(0.0, f64::max),
    );
    let buf_max = round_up(
        runs.iter()
            .flat_map(|r| r.samples.iter())
            .map(|s| s.video_buffer_ms.max(s.audio_buffer_ms) / 1000.0)
            .fold(0.0, f64::max),
    );
    let h = runs.len() as f64 * 2.0 * (PANEL_H + GAP) + GAP;
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>"##
    );
    for (i, r) in runs.iter().enumerate() {
        let top = GAP + i as f64 * 2.0 * (PANEL_H + GAP);
        let p = Panel {
            top,
            t_max,
            y_max: rate_max,
        };
        p.frame(&mut out, &format!("{}: bitrate", r.title), " kbps");
        p.stalls(&mut out, r.samples);
        let pts = |f: fn(&Sample) -> f64| {
            r.samples
                .iter()
                .map(|s| (s.t_ms / 1000.0, f(s)))
                .collect::<Vec<_>>()
        };
        p.steps(
            &mut out,
            &pts(|s| s.bandwidth_kbps),
            "#999",
            "throughput",
            2,
        );
        p.steps(&mut out, &pts(|s| s.video_kbps), "#1f77b4", "video", 1);
        p.steps(&mut out, &pts(|s| s.audio_kbps), "#d62728", "audio", 0);
        let q = Panel {
            top: top + PANEL_H + GAP,
            t_max,
            y_max: buf_max,
        };
        q.frame(&mut out, &format!("{}: buffers", r.title), " s");
        q.stalls(&mut out, r.samples);
        q.steps(
            &mut out,
            &pts(|s| s.video_buffer_ms / 1000.0),
            "#1f77b4",
            "video buffer",
            1,
        );
        q.steps(
            &mut out,
            &pts(|s| s.audio_buffer_ms / 1000.0),
            "#d62728",
            "audio buffer",
            0,
        );
    }
    out.push_str("</svg>\n");
    out
}

/// One rule's figures in one trace set.
#[derive(Clone, Debug)]
pub struct RuleRow {
    pub name: String,
    pub summary: Summary,
    /// 95% confidence interval of the mean (bootstrap over traces).
    pub ci: (f64, f64),
}

/// One trace set's panel: its rules and, when known, the offline optimum's mean.
#[derive(Clone, Debug)]
pub struct SetPanel {
    pub set: String,
    pub rows: Vec<RuleRow>,
    pub optimum: Option<f64>,
}

/// Width in pixels `text` takes at `size`: a conservative estimate for sans-serif (wider
/// than the real glyphs), so a label placed by it is never cut at the canvas edge.
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.62
}

/// Round tick positions covering `lo..=hi`: steps of 1, 2, 2.5 or 5 times a power of ten.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
    let raw = (hi - lo) / target.max(1) as f64;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&v| v >= raw)
        .unwrap_or(10.0 * p);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A tick label with just the decimals its step needs.
fn tick_label(v: f64, step: f64) -> String {
    let decimals = (0..=6)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(6) as usize;
    let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
    format!("{v:.decimals$}")
}

/// A metric value: three significant digits, never cut short.
fn value_label(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// One panel per trace set: per rule the mean (bar), its 95% confidence interval (thick
/// black line) and p10-p90 (thin grey line), the offline optimum's mean (dashed), a zero line
/// and an x axis with round ticks shared by all panels.
pub fn summary_svg(metric: &str, sets: &[SetPanel]) -> String {
    let rows = || sets.iter().flat_map(|s| s.rows.iter());
    let values = rows()
        .flat_map(|r| [r.summary.mean, r.summary.p10, r.summary.p90, r.ci.0, r.ci.1])
        .chain(sets.iter().filter_map(|s| s.optimum))
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let ticks = nice_ticks(lo, hi, 6);
    let step = if ticks.len() > 1 {
        ticks[1] - ticks[0]
    } else {
        1.0
    };
    let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
    let label = |r: &RuleRow| {
        format!(
            "{} [{}, {}]",
            value_label(r.summary.mean),
            value_label(r.ci.0),
            value_label(r.ci.1)
        )
    };
    let names_w = rows()
        .map(|r| text_width(&r.name, 12.0))
        .fold(text_width("rule", 12.0), f64::max);
    let values_w = rows()
        .map(|r| text_width(&label(r), 11.0))
        .fold(text_width("mean [95% CI]", 11.0), f64::max);
    let left = 16.0 + names_w;
    let right = 16.0 + values_w;
    // Wide enough for every label, then the plot area gets what is left (at least 360 px).
    let w = (left + right + 360.0).max(W);
    let plot_right = w - right;
    let x = |v: f64| left + (plot_right - left) * ((v - lo) / (hi - lo));
    let (bar_h, row_h, head, axis_h, gap) = (18.0, 26.0, 28.0, 34.0, 18.0);
    let top = 58.0;
    let panel_h = |s: &SetPanel| head + s.rows.len() as f64 * row_h + axis_h;
    let h = top + sets.iter().map(|s| panel_h(s) + gap).sum::<f64>();
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="12" y="20" font-size="14">{}: one panel per trace set</text><text x="12" y="40" font-size="11" fill="#444">bar: mean; black: 95% CI of the mean; grey: p10-p90; dashed: offline optimum (mean)</text>"##,
        esc(metric)
    );
    let mut y0 = top;
    for s in sets {
        let plot_top = y0 + head;
        let plot_bottom = plot_top + s.rows.len() as f64 * row_h;
        let _ = write!(
            out,
            r##"<text x="12" y="{:.1}" font-size="13" font-weight="bold">{}</text><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#444">mean [95% CI]</text>"##,
            y0 + 16.0,
            esc(&s.set),
            w - 8.0,
            y0 + 16.0
        );
        for &t in &ticks {
            let xt = x(t);
            let _ = write!(
                out,
                r##"<line x1="{xt:.1}" x2="{xt:.1}" y1="{plot_top:.1}" y2="{:.1}" stroke="#eee"/><line x1="{xt:.1}" x2="{xt:.1}" y1="{plot_bottom:.1}" y2="{:.1}" stroke="#333"/><text x="{xt:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"##,
                plot_bottom,
                plot_bottom + 4.0,
                plot_bottom + 15.0,
                tick_label(t, step)
            );
        }
        let _ = write!(
            out,
            r##"<line x1="{left:.1}" x2="{plot_right:.1}" y1="{plot_bottom:.1}" y2="{plot_bottom:.1}" stroke="#333"/><line x1="{0:.1}" x2="{0:.1}" y1="{plot_top:.1}" y2="{plot_bottom:.1}" stroke="#333" stroke-width="1.5"/>"##,
            x(0.0)
        );
        for (i, r) in s.rows.iter().enumerate() {
            let y = plot_top + i as f64 * row_h + (row_h - bar_h) / 2.0;
            let mid = y + bar_h / 2.0;
            let (x0, xm) = (x(0.0), x(r.summary.mean));
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text><rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{bar_h}" fill="#1f77b4" fill-opacity="0.55"/><line x1="{:.1}" x2="{:.1}" y1="{mid:.1}" y2="{mid:.1}" stroke="#999"/><line x1="{:.1}" x2="{:.1}" y1="{mid:.1}" y2="{mid:.1}" stroke="black" stroke-width="3"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
                left - 8.0,
                mid + 4.0,
                esc(&r.name),
                x0.min(xm),
                (xm - x0).abs(),
                x(r.summary.p10),
                x(r.summary.p90),
                x(r.ci.0),
                x(r.ci.1),
                w - 8.0,
                mid + 4.0,
                label(r)
            );
        }
        if let Some(o) = s.optimum.filter(|o| o.is_finite()) {
            let xo = x(o);
            let _ = write!(
                out,
                r##"<line x1="{xo:.1}" x2="{xo:.1}" y1="{:.1}" y2="{plot_bottom:.1}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="5,3"/><text x="{xo:.1}" y="{:.1}" font-size="10" text-anchor="{}" fill="#2ca02c">optimum {}</text>"##,
                plot_top - 4.0,
                plot_top - 6.0,
                if xo > (left + plot_right) / 2.0 {
                    "end"
                } else {
                    "start"
                },
                value_label(o)
            );
        }
        y0 += panel_h(s) + gap;
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_wellformed_svg() {
        let s = |t: f64, stalled| Sample {
            t_ms: t,
            bandwidth_kbps: 3000.0,
            video_buffer_ms: t,
            audio_buffer_ms: t / 2.0,
            video_kbps: 1000.0,
            audio_kbps: 128.0,
            stalled,
        };
        let samples = [s(0.0, false), s(1000.0, true), s(2000.0, false)];
        let svg = session_svg(&[Run {
            title: "a<b".into(),
            samples: &samples,
        }]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a&lt;b") && svg.contains("fill-opacity=\"0.18\""));
        let sum = summary_svg(
            "joint_score",
            &[SetPanel {
                set: "fcc".into(),
                rows: vec![RuleRow {
                    name: "joint".into(),
                    summary: Summary {
                        n: 3,
                        mean: 1.0,
                        p10: -0.5,
                        p50: 1.0,
                        p90: 2.0,
                    },
                    ci: (0.5, 1.5),
                }],
                optimum: Some(1.8),
            }],
        );
        assert!(sum.contains("joint") && sum.contains("optimum 1.80"));
        assert!(sum.ends_with("</svg>\n"));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 122.0, 6),
            [0.0, 25.0, 50.0, 75.0, 100.0, 125.0]
        );
        let t = nice_ticks(-0.3, 0.358, 6);
        assert!(
            (t[0] + 0.4).abs() < 1e-9 && (t[t.len() - 1] - 0.4).abs() < 1e-9,
            "{t:?}"
        );
        assert_eq!(tick_label(0.1 * 3.0, 0.1), "0.3");
        assert_eq!(tick_label(0.75, 0.25), "0.75");
        assert_eq!(tick_label(-0.0, 1.0), "0");
        assert_eq!(value_label(0.358), "0.358");
        assert_eq!(value_label(10000.0), "10000");
    }
}
