//! `segment-encode bdrate`: Bjøntegaard delta rate of one rate-quality CSV against another.

use std::path::Path;

use anyhow::{Context, bail};
use segment_encode::bdrate::{self, Interpolation, RdPoint};

use super::{BdMethod, BdrateArgs};

pub fn run(a: BdrateArgs) -> anyhow::Result<()> {
    let anchor = read_curve(&a.anchor, &a.rate, &a.metric)?;
    let test = read_curve(&a.test, &a.rate, &a.metric)?;
    let methods: &[(Interpolation, &str)] = match a.method {
        BdMethod::Pchip => &[(Interpolation::Pchip, "piecewise cubic (PCHIP)")],
        BdMethod::Cubic => &[(Interpolation::Cubic, "cubic fit")],
        BdMethod::Both => &[
            (Interpolation::Pchip, "piecewise cubic (PCHIP)"),
            (Interpolation::Cubic, "cubic fit"),
        ],
    };
    for &(method, name) in methods {
        let r = bdrate::bd_rate(&anchor, &test, method).with_context(|| {
            format!(
                "BD-rate of {} against {}",
                a.test.display(),
                a.anchor.display()
            )
        })?;
        println!(
            "BD-rate {name}, {}: {:+.2} % ({} against {}; {} {:.3}-{:.3})",
            a.metric,
            r.percent,
            a.test.display(),
            a.anchor.display(),
            a.metric,
            r.interval.0,
            r.interval.1
        );
        if r.overlap < 0.75 {
            eprintln!(
                "warning: the curves overlap on {:.0} % of their {} range; below 75 % the \
                 figure says little",
                r.overlap * 100.0,
                a.metric
            );
        }
    }
    Ok(())
}

/// The (rate, quality) points of a CSV with a header row naming its columns.
fn read_curve(path: &Path, rate: &str, metric: &str) -> anyhow::Result<Vec<RdPoint>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .with_context(|| format!("{}: empty", path.display()))?
        .split(',')
        .map(str::trim)
        .collect();
    let column = |name: &str| {
        header.iter().position(|h| *h == name).with_context(|| {
            format!(
                "{}: no column '{name}' (columns: {})",
                path.display(),
                header.join(", ")
            )
        })
    };
    let (rc, qc) = (column(rate)?, column(metric)?);
    let mut points = Vec::new();
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let number = |c: usize, what: &str| -> anyhow::Result<f64> {
            let cell = cells.get(c).copied().unwrap_or("");
            cell.parse().with_context(|| {
                format!(
                    "{} row {}: {what} '{cell}' is not a number",
                    path.display(),
                    n + 2
                )
            })
        };
        points.push(RdPoint {
            rate: number(rc, rate)?,
            quality: number(qc, metric)?,
        });
    }
    if points.is_empty() {
        bail!("{}: no rows", path.display());
    }
    Ok(points)
}
