//! Issue 17: every chart `abr-sim plot` draws renders with an independent SVG renderer
//! (`rsvg-convert`, Debian's librsvg2-bin, installed by scripts/test.sh) at its declared size,
//! and no label reaches past the canvas (text extents estimated wider than real glyphs). The
//! summary chart has a panel per trace set, round ticks, a zero line, the optimum and the
//! confidence intervals; the session chart's time ticks are round.

use std::path::Path;
use std::process::{Command, Output};

fn abr_sim(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_abr-sim"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "abr-sim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An attribute of the element starting at `tag` (`<text x="1" ...>`).
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..].split('"').next()?.to_string())
}

fn num(tag: &str, name: &str) -> f64 {
    attr(tag, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {name} in {tag}"))
}

struct Text {
    x: f64,
    y: f64,
    size: f64,
    anchor: String,
    content: String,
}

fn texts(svg: &str) -> Vec<Text> {
    let mut out = Vec::new();
    for piece in svg.split("<text").skip(1) {
        let (tag, rest) = piece.split_once('>').expect("tag end");
        let content = rest.split("</text>").next().expect("text end");
        let content = content
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&");
        out.push(Text {
            x: num(tag, "x"),
            y: num(tag, "y"),
            size: num(tag, "font-size"),
            anchor: attr(tag, "text-anchor").unwrap_or_else(|| "start".into()),
            content,
        });
    }
    out
}

/// Checks the chart in `svg_path`: labels inside the canvas, and rsvg-convert renders it to a
/// PNG of the declared size. Returns the text elements.
fn check_chart(svg_path: &Path) -> Vec<Text> {
    let svg = std::fs::read_to_string(svg_path).expect("svg");
    let root = svg.split_once('>').expect("root").0;
    let (w, h) = (num(root, "width"), num(root, "height"));
    let texts = texts(&svg);
    for t in &texts {
        // Wider than any sans-serif glyph run of this many characters at this size.
        let width = t.content.chars().count() as f64 * t.size * 0.6;
        let (x0, x1) = match t.anchor.as_str() {
            "end" => (t.x - width, t.x),
            "middle" => (t.x - width / 2.0, t.x + width / 2.0),
            _ => (t.x, t.x + width),
        };
        assert!(
            x0 >= 0.0 && x1 <= w && t.y - t.size >= 0.0 && t.y + 0.3 * t.size <= h,
            "{}: label '{}' ({x0:.0}..{x1:.0} x {:.0}) leaves the {w} x {h} canvas",
            svg_path.display(),
            t.content,
            t.y
        );
    }
    let png = svg_path.with_extension("png");
    let out = Command::new("rsvg-convert")
        .arg("-o")
        .arg(&png)
        .arg(svg_path)
        .output()
        .expect("rsvg-convert runs (Debian's librsvg2-bin; scripts/test.sh installs it)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "rsvg-convert {}: {}",
        svg_path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).expect("png");
    assert_eq!(&bytes[1..4], b"PNG");
    let dim = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    assert_eq!(
        (f64::from(dim(16)), f64::from(dim(20))),
        (w.ceil(), h.ceil()),
        "PNG size"
    );
    texts
}

/// Tick values are a run of equal steps of 1, 2, 2.5 or 5 times a power of ten.
fn assert_round_ticks(values: &[f64], what: &str) {
    assert!(values.len() >= 3, "{what}: too few ticks {values:?}");
    let step = values[1] - values[0];
    let mantissa = step / 10f64.powf(step.log10().floor());
    assert!(
        [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .any(|m| (m - mantissa).abs() < 1e-6),
        "{what}: step {step} in {values:?}"
    );
    for w in values.windows(2) {
        assert!(
            (w[1] - w[0] - step).abs() < 1e-6 * step.max(1.0),
            "{what}: {values:?}"
        );
    }
}

#[test]
fn every_chart_renders_whole_with_round_ticks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = |n: &str| dir.path().join(n).display().to_string();
    for (set, kind) in [("wired", "high-bandwidth"), ("cellular", "cellular")] {
        abr_sim(&[
            "synth",
            "--kind",
            kind,
            "-n",
            "3",
            "--seed",
            "5",
            "--duration-s",
            "60",
            "-o",
            &d(set),
        ]);
    }
    abr_sim(&[
        "compare",
        "-t",
        &d("wired"),
        "-t",
        &d("cellular"),
        "--algos",
        "bola,joint",
        "--optimum",
        "--duration-s",
        "60",
        "--quiet",
        "--csv",
        &d("c.csv"),
    ]);
    abr_sim(&["plot", "--csv", &d("c.csv"), "-o", &d("summary.svg")]);
    let texts = check_chart(&dir.path().join("summary.svg"));
    let has = |s: &str| texts.iter().any(|t| t.content == s);
    assert!(has("wired") && has("cellular"), "a panel per trace set");
    assert!(texts.iter().any(|t| t.content.starts_with("optimum ")));
    assert!(texts.iter().any(|t| t.content == "mean [95% CI]"));
    // Axis labels of the first panel: round steps, and zero among them.
    let first_axis_y = texts
        .iter()
        .filter(|t| t.anchor == "middle" && t.size == 10.0)
        .map(|t| t.y)
        .fold(f64::INFINITY, f64::min);
    let ticks: Vec<f64> = texts
        .iter()
        .filter(|t| t.anchor == "middle" && t.y == first_axis_y)
        .map(|t| t.content.parse().expect("tick value"))
        .collect();
    assert_round_ticks(&ticks, "summary axis");
    assert!(ticks.contains(&0.0), "{ticks:?}");

    abr_sim(&["plot", "--drop", "4000,61,600", "-o", &d("session.svg")]);
    let texts = check_chart(&dir.path().join("session.svg"));
    let seconds: Vec<f64> = texts
        .iter()
        .filter(|t| t.anchor == "middle")
        .filter_map(|t| t.content.strip_suffix(" s").and_then(|v| v.parse().ok()))
        .collect();
    let first_panel: Vec<f64> = seconds
        .iter()
        .copied()
        .take(1 + seconds.iter().skip(1).take_while(|&&v| v > 0.0).count())
        .collect();
    assert_round_ticks(&first_panel, "session time axis");
}
