//! Moments in a replay as users type them: `1.5s`, `250ms`, `40us`, `2m`, `75%`, `start`,
//! `end`. Times are on the replay's clock (since the mount started), as `mezzfs replay dump`
//! prints them.

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeSpec {
    /// Microseconds since the mount started.
    At(u64),
    /// A share of the replay, 0 to 1, from its first to its last event.
    Fraction(f64),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "'{0}' is not a moment in the replay: use a time such as 1.5s, 250ms, 40us or 2m, a percentage such as 75%, or start / end"
)]
pub struct BadTime(pub String);

impl std::str::FromStr for TimeSpec {
    type Err = BadTime;

    fn from_str(s: &str) -> Result<TimeSpec, BadTime> {
        let bad = || BadTime(s.to_string());
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "start" | "begin" => return Ok(TimeSpec::Fraction(0.0)),
            "end" => return Ok(TimeSpec::Fraction(1.0)),
            _ => {}
        }
        if let Some(p) = t.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&v) {
                return Err(bad());
            }
            return Ok(TimeSpec::Fraction(v / 100.0));
        }
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let v: f64 = num.parse().map_err(|_| bad())?;
        let scale = match unit.trim() {
            "us" | "µs" => 1.0,
            "ms" => 1e3,
            "s" | "" => 1e6,
            "m" | "min" => 60e6,
            _ => return Err(bad()),
        };
        let us = v * scale;
        if !us.is_finite() || us < 0.0 || us > u64::MAX as f64 {
            return Err(bad());
        }
        Ok(TimeSpec::At(us.round() as u64))
    }
}

impl TimeSpec {
    /// The moment on the replay's clock, for a replay running from `start` to `end`.
    pub fn resolve(self, start: u64, end: u64) -> u64 {
        match self {
            TimeSpec::At(t) => t,
            TimeSpec::Fraction(f) => start + ((end - start) as f64 * f).round() as u64,
        }
    }
}

/// "1.234 s" / "56.7 ms" style, for the status bar.
pub fn format_us(us: u64) -> String {
    if us >= 10_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else if us >= 1_000_000 {
        format!("{:.3} s", us as f64 / 1e6)
    } else {
        format!("{:.1} ms", us as f64 / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times_percentages_and_words() {
        let p = |s: &str| s.parse::<TimeSpec>();
        assert_eq!(p("1.5s"), Ok(TimeSpec::At(1_500_000)));
        assert_eq!(p("250ms"), Ok(TimeSpec::At(250_000)));
        assert_eq!(p("40us"), Ok(TimeSpec::At(40)));
        assert_eq!(p("2m"), Ok(TimeSpec::At(120_000_000)));
        assert_eq!(p("3"), Ok(TimeSpec::At(3_000_000)));
        assert_eq!(p(" 75% "), Ok(TimeSpec::Fraction(0.75)));
        assert_eq!(p("END"), Ok(TimeSpec::Fraction(1.0)));
        assert_eq!(p("start"), Ok(TimeSpec::Fraction(0.0)));
        for bad in [
            "",
            "abc",
            "12parsecs",
            "150%",
            "-1s",
            "1e999s",
            "%",
            "1.2.3s",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolves_against_the_replay() {
        assert_eq!(TimeSpec::Fraction(0.5).resolve(100, 300), 200);
        assert_eq!(TimeSpec::At(7).resolve(100, 300), 7);
        assert_eq!(format_us(1_234_567), "1.235 s");
        assert_eq!(format_us(56_700), "56.7 ms");
    }
}
