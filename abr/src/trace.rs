//! Throughput traces: what the network offers over time, and parsers for the common formats.
//!
//! A [`Trace`] is a list of [`Period`]s, each with a duration, a bandwidth and a per-request
//! latency. Parsers are pure functions of text plus a name used in error messages; reading
//! files and directories is in [`load`] and [`TraceSet`].
//!
//! | format | content | source |
//! | --- | --- | --- |
//! | Sabre JSON | `[{"duration_ms", "bandwidth_kbps", "latency_ms"}, ...]` | Sabre (Spiteri et al., MMSys'18) |
//! | cooked | lines `time_s throughput_Mbps` | Pensieve (Mao et al., SIGCOMM'17) |
//! | mahimahi | one ms timestamp per line, each a 1500-byte delivery opportunity | Mahimahi (Netravali et al., ATC'15) |
//! | CSV | header naming `duration_ms` or `time_s`, `bandwidth_kbps` or `bandwidth_mbps`, optional `latency_ms` | ours |

use crate::error::{LoadError, ParseError};
use crate::jsonpos;
use crate::units::{Kbps, Ms};
use std::path::{Path, PathBuf};

/// A stretch of time with constant bandwidth and latency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Period {
    pub duration: Ms,
    pub bandwidth: Kbps,
    pub latency: Ms,
}

/// A throughput trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub name: String,
    pub periods: Vec<Period>,
}

/// The input formats [`parse`] understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    SabreJson,
    Cooked,
    Mahimahi,
    Csv,
}

/// Settings for formats that do not carry everything a [`Trace`] needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceOptions {
    /// Latency for formats without one (cooked, mahimahi, CSV without the column). Pensieve's
    /// simulator charges an 80 ms round trip per chunk.
    pub default_latency: Ms,
    /// Width of the bins mahimahi delivery opportunities are counted in.
    pub mahimahi_bin: Ms,
}

impl Default for TraceOptions {
    fn default() -> Self {
        Self {
            default_latency: Ms(80.0),
            mahimahi_bin: Ms(500.0),
        }
    }
}

impl Trace {
    /// Total duration of one pass over the trace.
    pub fn duration(&self) -> Ms {
        self.periods
            .iter()
            .fold(Ms::ZERO, |acc, p| acc + p.duration)
    }

    /// Mean bandwidth over time.
    pub fn mean_bandwidth(&self) -> Kbps {
        let d = self.duration();
        if d.0 <= 0.0 {
            return Kbps::ZERO;
        }
        let bits = self
            .periods
            .iter()
            .fold(0.0, |acc, p| acc + p.bandwidth.0 * p.duration.0);
        Kbps(bits / d.0)
    }

    /// Every bandwidth multiplied by `k` (Sabre's `--network-multiplier`).
    pub fn scaled(mut self, k: f64) -> Self {
        for p in &mut self.periods {
            p.bandwidth = p.bandwidth * k;
        }
        self
    }

    /// A trace holding `bandwidth` for `duration`, then `after` forever: the article's sudden
    /// throughput drop.
    pub fn step(name: &str, bandwidth: Kbps, duration: Ms, after: Kbps, latency: Ms) -> Self {
        Self {
            name: name.to_owned(),
            periods: vec![
                Period {
                    duration,
                    bandwidth,
                    latency,
                },
                Period {
                    duration: Ms(1e9),
                    bandwidth: after,
                    latency,
                },
            ],
        }
    }

    fn check(self, file: &str) -> Result<Self, ParseError> {
        if self.periods.is_empty() {
            return Err(ParseError::new(
                file,
                None,
                None,
                "the trace has no periods",
            ));
        }
        if self.duration().0 <= 0.0 {
            return Err(ParseError::new(
                file,
                None,
                None,
                "the trace lasts zero milliseconds",
            ));
        }
        Ok(self)
    }
}

/// Guesses the format from the file name, then from the content.
pub fn detect(name: &str, text: &str) -> TraceFormat {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        return TraceFormat::SabreJson;
    }
    if lower.ends_with(".csv") {
        return TraceFormat::Csv;
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.starts_with('[') {
        TraceFormat::SabreJson
    } else if first.contains(',') {
        TraceFormat::Csv
    } else if first.split_whitespace().count() == 1 {
        TraceFormat::Mahimahi
    } else {
        TraceFormat::Cooked
    }
}

/// Parses `text` in `format`; `name` appears in errors and becomes the trace's name.
pub fn parse(
    name: &str,
    text: &str,
    format: TraceFormat,
    opts: &TraceOptions,
) -> Result<Trace, ParseError> {
    let trace = match format {
        TraceFormat::SabreJson => parse_sabre_json(name, text)?,
        TraceFormat::Cooked => parse_cooked(name, text, opts)?,
        TraceFormat::Mahimahi => parse_mahimahi(name, text, opts)?,
        TraceFormat::Csv => parse_csv(name, text, opts)?,
    };
    trace.check(name)
}

/// A non-negative finite number; `line` is only computed on error (it scans the text).
fn number(
    file: &str,
    line: &dyn Fn() -> Option<usize>,
    field: &str,
    v: Option<&serde_json::Value>,
) -> Result<f64, ParseError> {
    let v = v.ok_or_else(|| ParseError::new(file, line(), Some(field), "missing"))?;
    let x = v.as_f64().ok_or_else(|| {
        ParseError::new(
            file,
            line(),
            Some(field),
            format!("expected a number, found {v}"),
        )
    })?;
    if !x.is_finite() || x < 0.0 {
        return Err(ParseError::new(
            file,
            line(),
            Some(field),
            format!("must be a finite number >= 0, found {x}"),
        ));
    }
    Ok(x)
}

/// Sabre's network JSON: a list of `{duration_ms, bandwidth_kbps, latency_ms}`.
pub fn parse_sabre_json(name: &str, text: &str) -> Result<Trace, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ParseError::new(name, Some(e.line()), None, format!("invalid JSON: {e}")))?;
    let items = value
        .as_array()
        .ok_or_else(|| ParseError::new(name, Some(1), None, "expected a JSON list of periods"))?;
    let mut periods = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let line = || jsonpos::line_of_top_element(text, i);
        let obj = item.as_object().ok_or_else(|| {
            ParseError::new(name, line(), None, format!("period {i} is not an object"))
        })?;
        let duration = number(name, &line, "duration_ms", obj.get("duration_ms"))?;
        let bandwidth = number(name, &line, "bandwidth_kbps", obj.get("bandwidth_kbps"))?;
        let latency = number(name, &line, "latency_ms", obj.get("latency_ms"))?;
        periods.push(Period {
            duration: Ms(duration),
            bandwidth: Kbps(bandwidth),
            latency: Ms(latency),
        });
    }
    Ok(Trace {
        name: name.to_owned(),
        periods,
    })
}

fn field(file: &str, line: usize, field: &str, s: Option<&str>) -> Result<f64, ParseError> {
    let s = s.ok_or_else(|| ParseError::new(file, Some(line), Some(field), "missing"))?;
    let x: f64 = s.parse().map_err(|_| {
        ParseError::new(
            file,
            Some(line),
            Some(field),
            format!("expected a number, found `{s}`"),
        )
    })?;
    if !x.is_finite() || x < 0.0 {
        return Err(ParseError::new(
            file,
            Some(line),
            Some(field),
            format!("must be a finite number >= 0, found {s}"),
        ));
    }
    Ok(x)
}

/// Pensieve's "cooked" traces: `time_s throughput_Mbps` a line. Each sample holds until the
/// next timestamp; the last one holds for the previous interval (Pensieve loops the trace).
pub fn parse_cooked(name: &str, text: &str, opts: &TraceOptions) -> Result<Trace, ParseError> {
    let mut samples: Vec<(f64, f64, usize)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut cols = l.split_whitespace();
        let t = field(name, line, "time_s", cols.next())?;
        let mbps = field(name, line, "throughput_mbps", cols.next())?;
        if let Some(&(prev, _, _)) = samples.last()
            && t <= prev
        {
            return Err(ParseError::new(
                name,
                Some(line),
                Some("time_s"),
                format!("time {t} does not increase (previous {prev})"),
            ));
        }
        samples.push((t, mbps, line));
    }
    let mut periods = Vec::with_capacity(samples.len());
    for (i, &(t, mbps, _)) in samples.iter().enumerate() {
        let dt = match (
            samples.get(i + 1),
            i.checked_sub(1).and_then(|j| samples.get(j)),
        ) {
            (Some(&(next, _, _)), _) => next - t,
            (None, Some(&(prev, _, _))) => t - prev,
            (None, None) => 1.0,
        };
        periods.push(Period {
            duration: Ms::from_secs(dt),
            bandwidth: Kbps::from_mbps(mbps),
            latency: opts.default_latency,
        });
    }
    Ok(Trace {
        name: name.to_owned(),
        periods,
    })
}

/// Mahimahi link traces: each line is a millisecond at which one 1500-byte packet may be
/// delivered. Opportunities are counted in bins of `opts.mahimahi_bin`.
pub fn parse_mahimahi(name: &str, text: &str, opts: &TraceOptions) -> Result<Trace, ParseError> {
    const PACKET_BITS: f64 = 1500.0 * 8.0;
    let bin = opts.mahimahi_bin.0;
    if !(bin >= 1.0) {
        return Err(ParseError::new(
            name,
            None,
            Some("mahimahi_bin"),
            "the bin must be at least 1 ms",
        ));
    }
    let mut counts: Vec<u32> = Vec::new();
    let mut last = 0u64;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let t: u64 = l.parse().map_err(|_| {
            ParseError::new(
                name,
                Some(line),
                Some("timestamp_ms"),
                format!("expected a whole number of ms, found `{l}`"),
            )
        })?;
        if t < last {
            return Err(ParseError::new(
                name,
                Some(line),
                Some("timestamp_ms"),
                format!("{t} is before the previous {last}"),
            ));
        }
        if t > 1_000_000_000 {
            return Err(ParseError::new(
                name,
                Some(line),
                Some("timestamp_ms"),
                "more than 1e9 ms (11 days) into the trace",
            ));
        }
        last = t;
        let b = (t as f64 / bin) as usize;
        if counts.len() <= b {
            counts.resize(b + 1, 0);
        }
        counts[b] += 1;
    }
    let periods = counts
        .iter()
        .map(|&c| Period {
            duration: Ms(bin),
            bandwidth: Kbps(c as f64 * PACKET_BITS / bin),
            latency: opts.default_latency,
        })
        .collect();
    Ok(Trace {
        name: name.to_owned(),
        periods,
    })
}

/// Our CSV: a header row, then one period a row. Columns: `duration_ms` (or `time_s`, the
/// start of each period, as in cooked traces), `bandwidth_kbps` (or `bandwidth_mbps`), and
/// optionally `latency_ms`.
pub fn parse_csv(name: &str, text: &str, opts: &TraceOptions) -> Result<Trace, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let (_, header) = lines
        .next()
        .ok_or_else(|| ParseError::new(name, Some(1), None, "empty CSV, expected a header"))?;
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let find = |n: &str| cols.iter().position(|c| c == n);
    let (time_col, by_start) = match (find("duration_ms"), find("time_s")) {
        (Some(c), _) => (c, false),
        (None, Some(c)) => (c, true),
        (None, None) => {
            return Err(ParseError::new(
                name,
                Some(1),
                Some("duration_ms"),
                "the header needs `duration_ms` or `time_s`",
            ));
        }
    };
    let (bw_col, bw_scale) = match (find("bandwidth_kbps"), find("bandwidth_mbps")) {
        (Some(c), _) => (c, 1.0),
        (None, Some(c)) => (c, 1000.0),
        (None, None) => {
            return Err(ParseError::new(
                name,
                Some(1),
                Some("bandwidth_kbps"),
                "the header needs `bandwidth_kbps` or `bandwidth_mbps`",
            ));
        }
    };
    let lat_col = find("latency_ms");
    let mut rows: Vec<(f64, f64, f64, usize)> = Vec::new();
    for (i, l) in lines {
        let line = i + 1;
        let cells: Vec<&str> = l.split(',').map(str::trim).collect();
        let t = field(name, line, &cols[time_col], cells.get(time_col).copied())?;
        let bw = field(name, line, &cols[bw_col], cells.get(bw_col).copied())? * bw_scale;
        let lat = match lat_col {
            Some(c) => field(name, line, "latency_ms", cells.get(c).copied())?,
            None => opts.default_latency.0,
        };
        if by_start
            && let Some(&(prev, _, _, _)) = rows.last()
            && t <= prev
        {
            return Err(ParseError::new(
                name,
                Some(line),
                Some("time_s"),
                format!("time {t} does not increase (previous {prev})"),
            ));
        }
        rows.push((t, bw, lat, line));
    }
    let mut periods = Vec::with_capacity(rows.len());
    for (i, &(t, bw, lat, _)) in rows.iter().enumerate() {
        let duration = if by_start {
            let dt = match (rows.get(i + 1), i.checked_sub(1).and_then(|j| rows.get(j))) {
                (Some(n), _) => n.0 - t,
                (None, Some(p)) => t - p.0,
                (None, None) => 1.0,
            };
            Ms::from_secs(dt)
        } else {
            Ms(t)
        };
        periods.push(Period {
            duration,
            bandwidth: Kbps(bw),
            latency: Ms(lat),
        });
    }
    Ok(Trace {
        name: name.to_owned(),
        periods,
    })
}

/// Reads and parses one file; the format is guessed unless given.
pub fn load(
    path: &Path,
    format: Option<TraceFormat>,
    opts: &TraceOptions,
) -> Result<Trace, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let name = path.display().to_string();
    let format = format.unwrap_or_else(|| detect(&name, &text));
    let mut trace = parse(&name, &text, format, opts)?;
    trace.name = path
        .file_name()
        .map_or(name, |n| n.to_string_lossy().into_owned());
    Ok(trace)
}

/// A trace set: a directory (or a single file) whose traces are read one at a time, so memory
/// stays flat however many traces it holds.
#[derive(Clone, Debug)]
pub struct TraceSet {
    pub paths: Vec<PathBuf>,
    pub format: Option<TraceFormat>,
    pub options: TraceOptions,
}

impl TraceSet {
    /// Lists `path` (sorted, hidden files and READMEs skipped), or takes it as one trace. A
    /// directory without trace files is an error: averages over no session are not results.
    pub fn open(
        path: &Path,
        format: Option<TraceFormat>,
        options: TraceOptions,
    ) -> Result<Self, LoadError> {
        let io = |source| LoadError::Io {
            path: path.to_owned(),
            source,
        };
        let paths = if path.is_dir() {
            let mut v = Vec::new();
            for entry in std::fs::read_dir(path).map_err(io)? {
                let p = entry.map_err(io)?.path();
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_ascii_lowercase())
                    .unwrap_or_default();
                if p.is_file()
                    && !name.starts_with('.')
                    && !name.starts_with("readme")
                    && !name.starts_with("license")
                {
                    v.push(p);
                }
            }
            v.sort();
            v
        } else {
            vec![path.to_owned()]
        };
        if paths.is_empty() {
            return Err(LoadError::EmptySet {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            paths,
            format,
            options,
        })
    }

    /// Loads trace `i`.
    pub fn get(&self, i: usize) -> Result<Trace, LoadError> {
        load(&self.paths[i], self.format, &self.options)
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> TraceOptions {
        TraceOptions::default()
    }

    #[test]
    fn sabre_json_parses_and_names_bad_fields() {
        let t = parse_sabre_json(
            "n.json",
            r#"[{"duration_ms": 1000, "bandwidth_kbps": 500.5, "latency_ms": 20}]"#,
        )
        .expect("valid test input");
        assert_eq!(t.periods[0].bandwidth, Kbps(500.5));
        let text = "[\n{\"duration_ms\": 1, \"bandwidth_kbps\": 2, \"latency_ms\": 3},\n{\"duration_ms\": 1, \"bandwidth_kbps\": -2, \"latency_ms\": 3}\n]";
        let e = parse_sabre_json("n.json", text).expect_err("must be rejected");
        assert_eq!(e.at.line, Some(3));
        assert_eq!(e.at.field.as_deref(), Some("bandwidth_kbps"));
        let e = parse_sabre_json("n.json", "[\n{\"duration_ms\": 1, \"latency_ms\": 3}]")
            .expect_err("must be rejected");
        assert_eq!(e.to_string(), "n.json:2: field `bandwidth_kbps`: missing");
        let e =
            parse_sabre_json("n.json", "[\n{\"duration_ms\": 1,,}]").expect_err("must be rejected");
        assert_eq!(e.at.line, Some(2));
        assert!(parse_sabre_json("n.json", "{}").is_err());
        assert!(parse("n.json", "[]", TraceFormat::SabreJson, &opts()).is_err());
    }

    #[test]
    fn cooked_traces_hold_each_sample_until_the_next() {
        let t =
            parse_cooked("c", "0.0 1.5\n1.0 2.0\n3.0 0.5\n", &opts()).expect("valid test input");
        let d: Vec<f64> = t.periods.iter().map(|p| p.duration.0).collect();
        assert_eq!(d, vec![1000.0, 2000.0, 2000.0]);
        assert_eq!(t.periods[0].bandwidth, Kbps(1500.0));
        let e = parse_cooked("c", "0 1\n1 x\n", &opts()).expect_err("must be rejected");
        assert_eq!(
            (e.at.line, e.at.field.as_deref()),
            (Some(2), Some("throughput_mbps"))
        );
        let e = parse_cooked("c", "0 1\n0 1\n", &opts()).expect_err("must be rejected");
        assert_eq!(e.at.line, Some(2));
        let e = parse_cooked("c", "0\n", &opts()).expect_err("must be rejected");
        assert_eq!(e.at.field.as_deref(), Some("throughput_mbps"));
    }

    #[test]
    fn mahimahi_counts_packets_per_bin() {
        let o = TraceOptions {
            mahimahi_bin: Ms(100.0),
            ..opts()
        };
        let t = parse_mahimahi("m", "1\n1\n50\n150\n", &o).expect("valid test input");
        assert_eq!(t.periods.len(), 2);
        assert_eq!(t.periods[0].bandwidth, Kbps(3.0 * 12000.0 / 100.0));
        let e = parse_mahimahi("m", "5\n4\n", &o).expect_err("must be rejected");
        assert_eq!(e.at.line, Some(2));
        assert!(parse_mahimahi("m", "-1\n", &o).is_err());
        assert!(parse_mahimahi("m", "99999999999999\n", &o).is_err());
    }

    #[test]
    fn csv_takes_durations_or_start_times() {
        let t = parse_csv(
            "x.csv",
            "duration_ms,bandwidth_kbps,latency_ms\n1000,300,40\n500,100,40\n",
            &opts(),
        )
        .expect("valid test input");
        assert_eq!(
            t.periods[1],
            Period {
                duration: Ms(500.0),
                bandwidth: Kbps(100.0),
                latency: Ms(40.0)
            }
        );
        let t = parse_csv("x.csv", "time_s,bandwidth_mbps\n0,1\n2,3\n", &opts())
            .expect("valid test input");
        assert_eq!(t.periods[0].duration, Ms(2000.0));
        assert_eq!(t.periods[1].bandwidth, Kbps(3000.0));
        let e = parse_csv("x.csv", "duration_ms,bandwidth_kbps\n1000,fast\n", &opts())
            .expect_err("must be rejected");
        assert_eq!(
            e.to_string(),
            "x.csv:2: field `bandwidth_kbps`: expected a number, found `fast`"
        );
        assert!(parse_csv("x.csv", "a,b\n", &opts()).is_err());
    }

    #[test]
    fn detects_formats() {
        assert_eq!(detect("a.json", ""), TraceFormat::SabreJson);
        assert_eq!(detect("a", "0.0 1.2\n"), TraceFormat::Cooked);
        assert_eq!(detect("a", "12\n13\n"), TraceFormat::Mahimahi);
        assert_eq!(
            detect("a", "duration_ms,bandwidth_kbps\n"),
            TraceFormat::Csv
        );
    }
}
