//! SVG charts written as plain strings: no drawing library, no system fonts. A session chart
//! is two panels per run, like the article's figures: bitrates (video, audio, link) over time
//! on top, both buffers below, stalls shaded. A summary chart shows one metric per rule as
//! the mean with a p10-p90 whisker.

use crate::sim::Sample;
use crate::stats::Summary;
use std::fmt::Write;

const W: f64 = 900.0;
const PANEL_H: f64 = 170.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const GAP: f64 = 40.0;

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
            self.top - 6.0,
            esc(title)
        );
        for i in 0..=4 {
            let v = self.y_max * i as f64 / 4.0;
            let y = self.y(v);
            let _ = write!(
                out,
                r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end">{v:.0}{}</text>"##,
                W - RIGHT,
                LEFT - 4.0,
                y + 3.0,
                if i == 4 { unit } else { "" }
            );
        }
        for i in 0..=6 {
            let t = self.t_max * i as f64 / 6.0;
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{:.0} s</text>"##,
                self.x(t),
                self.top + PANEL_H + 12.0,
                t
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
            W - RIGHT - 110.0 * (label_slot as f64 + 1.0),
            self.top - 6.0,
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
    let rate_max = nice_max(
        runs.iter()
            .flat_map(|r| r.samples.iter())
            .map(|s| {
                s.bandwidth_kbps
                    .min(3.0 * (s.video_kbps + s.audio_kbps).max(1.0))
                    .max(s.video_kbps)
            })
            .fold(0.0, f64::max),
    );
    let buf_max = nice_max(
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

/// Mean (bar) and p10-p90 (whisker) of one metric per rule.
pub fn summary_svg(metric: &str, rows: &[(String, Summary)]) -> String {
    let lo = rows
        .iter()
        .map(|r| r.1.p10.min(r.1.mean))
        .fold(0.0, f64::min);
    let hi = nice_max(
        rows.iter()
            .map(|r| r.1.p90.max(r.1.mean))
            .fold(0.0, f64::max),
    );
    let lo = if lo < 0.0 { -nice_max(-lo) } else { 0.0 };
    let bar_h = 22.0;
    let h = 60.0 + rows.len() as f64 * (bar_h + 8.0);
    let left = 170.0;
    let x = |v: f64| left + (W - left - RIGHT) * ((v - lo) / (hi - lo));
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="{left}" y="20" font-size="13">{}: mean (bar), p10-p90 (line)</text>"##,
        esc(metric)
    );
    for (i, (name, s)) in rows.iter().enumerate() {
        let y = 40.0 + i as f64 * (bar_h + 8.0);
        let (x0, xm) = (x(0.0_f64.max(lo)), x(s.mean));
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text><rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{bar_h}" fill="#1f77b4" fill-opacity="0.6"/><line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="black"/><text x="{:.1}" y="{:.1}" font-size="10">{:.3}</text>"##,
            left - 6.0,
            y + 15.0,
            esc(name),
            x0.min(xm),
            (xm - x0).abs(),
            x(s.p10),
            x(s.p90),
            y + bar_h / 2.0,
            y + bar_h / 2.0,
            x(s.p90) + 4.0,
            y + 15.0,
            s.mean
        );
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
            &[(
                "joint".into(),
                Summary {
                    n: 3,
                    mean: 1.0,
                    p10: -0.5,
                    p50: 1.0,
                    p90: 2.0,
                },
            )],
        );
        assert!(sum.contains("joint") && sum.ends_with("</svg>\n"));
    }
}
