//! The one grammar for sizes and byte ranges, shared by `mezzfs get --range`, `mezzfs mount
//! --range` and the spec file, so that a range copied from one to another means the same bytes.
//!
//! - A size is a whole number of bytes, optionally with a binary unit: `4096`, `16KiB`, `8M`,
//!   `1.5MiB` (a fraction is allowed when the result is a whole number of bytes). `K`, `M`, `G`
//!   and `T` are binary too (1024, 1024², ...). Decimal units (`KB`, `MB`, ...) are refused
//!   with the two readings spelled out, since some tools read `1KB` as 1000 bytes and others
//!   as 1024.
//! - A range is `START+LENGTH` or `START..END` (END exclusive, as in Rust and Python). `A-B`
//!   is refused: half the tools read END as included (HTTP, `mezzfs get` before), the other
//!   half as excluded, and the difference is one silent byte.
//!
//! Pure string functions with no dependencies, so the fuzz crate compiles this file directly.

use std::fmt;
use std::ops::Range;

/// Why a size or range does not parse; the message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrammarError(pub String);

impl fmt::Display for GrammarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GrammarError {}

/// What a size looks like, for messages.
pub const SIZE_FORMS: &str = "a byte count such as 4096, 16KiB, 1.5MiB or 1GiB";

/// What a range looks like, for messages.
pub const RANGE_FORMS: &str = "START+LENGTH or START..END (END exclusive), e.g. 1GiB+64KiB";

/// Parses a size in bytes (see the module documentation).
pub fn parse_size(s: &str) -> Result<u64, GrammarError> {
    let bad = |why: String| Err(GrammarError(why));
    let t = s.trim();
    if t.is_empty() {
        return bad(format!("the size is empty (expected {SIZE_FORMS})"));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim();
    if number.is_empty() {
        return bad(format!("'{s}' is not a size (expected {SIZE_FORMS})"));
    }
    let mult: u128 = match unit {
        "" | "B" | "b" => 1,
        "K" | "k" | "KiB" | "kiB" | "Ki" => 1 << 10,
        "M" | "m" | "MiB" | "Mi" => 1 << 20,
        "G" | "g" | "GiB" | "Gi" => 1 << 30,
        "T" | "t" | "TiB" | "Ti" => 1 << 40,
        _ => {
            let decimal = match unit.to_ascii_lowercase().as_str() {
                "kb" => Some(("KiB", 1_000u64)),
                "mb" => Some(("MiB", 1_000_000)),
                "gb" => Some(("GiB", 1_000_000_000)),
                "tb" => Some(("TiB", 1_000_000_000_000)),
                _ => None,
            };
            return match decimal {
                Some((binary, thousand)) => bad(format!(
                    "'{s}': decimal units are ambiguous; write {number}{binary} for \
                     multiples of {}, or the byte count for multiples of {thousand}",
                    match binary {
                        "KiB" => "1024",
                        "MiB" => "1024²",
                        "GiB" => "1024³",
                        _ => "1024⁴",
                    }
                )),
                None => bad(format!(
                    "'{s}': unknown unit '{unit}' (use KiB, MiB, GiB or TiB; K, M, G, T \
                     mean the same)"
                )),
            };
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return bad(format!("'{s}' is not a size (expected {SIZE_FORMS})"));
    }
    let digits = |d: &str| -> Option<u128> {
        if d.is_empty() {
            Some(0)
        } else if d.len() > 30 {
            None
        } else {
            d.parse().ok()
        }
    };
    if fraction.len() > 12 {
        return bad(format!("'{s}': at most 12 decimal places"));
    }
    let too_large = || GrammarError(format!("'{s}' is too large (at most 2^64 - 1 bytes)"));
    let whole = digits(whole).ok_or_else(too_large)?;
    let frac_value = digits(fraction).ok_or_else(too_large)?;
    let scale = 10u128.pow(fraction.len() as u32);
    let frac_bytes = frac_value * mult;
    if !frac_bytes.is_multiple_of(scale) {
        return bad(format!(
            "'{s}' is not a whole number of bytes ({}.{}); give the byte count",
            whole * mult + frac_bytes / scale,
            fraction_digits(frac_bytes % scale, scale),
        ));
    }
    let total = whole
        .checked_mul(mult)
        .and_then(|w| w.checked_add(frac_bytes / scale))
        .ok_or_else(too_large)?;
    u64::try_from(total).map_err(|_| too_large())
}

/// The digits after the point of `rem / scale` (scale a power of ten), without trailing zeros.
fn fraction_digits(rem: u128, scale: u128) -> String {
    let width = scale.ilog10() as usize;
    let s = format!("{rem:0width$}");
    s.trim_end_matches('0').to_string()
}

/// Parses a byte range (see the module documentation).
pub fn parse_range(s: &str) -> Result<Range<u64>, GrammarError> {
    let t = s.trim();
    let part = |what: &str, p: &str| -> Result<u64, GrammarError> {
        if p.trim().is_empty() {
            return Err(GrammarError(format!(
                "'{s}': {what} is missing (expected {RANGE_FORMS})"
            )));
        }
        parse_size(p).map_err(|e| GrammarError(format!("'{s}': {what} {e}")))
    };
    if let Some((a, b)) = t.split_once("..") {
        let (start, end) = (part("START", a)?, part("END", b)?);
        if end < start {
            return Err(GrammarError(format!(
                "'{s}': END ({end}) is before START ({start})"
            )));
        }
        return Ok(start..end);
    }
    if let Some((a, b)) = t.split_once('+') {
        let (start, len) = (part("START", a)?, part("LENGTH", b)?);
        let end = start
            .checked_add(len)
            .ok_or_else(|| GrammarError(format!("'{s}': the range ends past 2^64 - 1 bytes")))?;
        return Ok(start..end);
    }
    if let Some((a, b)) = t.split_once('-') {
        // Say what to write instead, with the numbers the user gave where they parse.
        return Err(GrammarError(match (parse_size(a), parse_size(b)) {
            (Ok(start), Ok(last)) if last >= start && last < u64::MAX => format!(
                "'{s}' is ambiguous (is byte {last} included?): write {start}..{} or \
                 {start}+{} for bytes {start} to {last} included, {start}..{last} to stop \
                 before byte {last}",
                last + 1,
                last - start + 1,
            ),
            _ => format!("'{s}' is ambiguous: write {RANGE_FORMS}"),
        }));
    }
    Err(GrammarError(format!(
        "'{s}' is not a range (expected {RANGE_FORMS})"
    )))
}

/// Writes `range` in the `START+LENGTH` form (what [`parse_range`] reads back).
pub fn format_range(range: &Range<u64>) -> String {
    format!("{}+{}", range.start, range.end.saturating_sub(range.start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("16KiB"), Ok(16384));
        assert_eq!(parse_size("8M"), Ok(8 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1.5MiB"), Ok(3 << 19));
        assert_eq!(parse_size("0.5K"), Ok(512));
        assert_eq!(parse_size(" 2 GiB "), Ok(2 << 30));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        for bad in [
            "",
            "lots",
            "5 parsecs",
            "99999999999T",
            "1.1",
            "1.3KiB",
            "1..2",
            ".",
            "-1",
            "18446744073709551616",
            "1e3",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimal_units_are_refused_with_both_readings() {
        let e = parse_size("1KB").expect_err("ambiguous").0;
        assert!(e.contains("1KiB") && e.contains("1000"), "{e}");
        let e = parse_size("3mb").expect_err("ambiguous").0;
        assert!(e.contains("3MiB") && e.contains("1000000"), "{e}");
    }

    #[test]
    fn fractions_that_are_not_whole_bytes_say_the_value() {
        let e = parse_size("1.3KiB").expect_err("not whole").0;
        assert!(e.contains("1331.2"), "{e}");
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("10+5"), Ok(10..15));
        assert_eq!(parse_range("1KiB+1KiB"), Ok(1024..2048));
        assert_eq!(parse_range("100..200"), Ok(100..200));
        assert_eq!(parse_range("1.5MiB..2MiB"), Ok((3 << 19)..(2 << 20)));
        assert_eq!(parse_range("7..7"), Ok(7..7));
        assert!(parse_range("19..10").is_err());
        assert!(parse_range("abc").is_err());
        assert!(parse_range("18446744073709551615+2").is_err());
    }

    #[test]
    fn a_dash_range_is_refused_with_both_spellings() {
        let e = parse_range("100-199").expect_err("ambiguous").0;
        assert!(
            e.contains("100..200") && e.contains("100+100") && e.contains("100..199"),
            "{e}"
        );
        assert!(
            parse_range("x-y")
                .expect_err("ambiguous")
                .0
                .contains("START+LENGTH")
        );
    }

    #[test]
    fn a_missing_part_is_named() {
        let e = parse_range("10+").expect_err("no length").0;
        assert!(e.contains("LENGTH is missing"), "{e}");
        let e = parse_range("..10").expect_err("no start").0;
        assert!(e.contains("START is missing"), "{e}");
        let e = parse_range("10+1KB").expect_err("decimal length").0;
        assert!(e.starts_with("'10+1KB': LENGTH '1KB'"), "{e}");
    }

    proptest! {
        #[test]
        fn plus_and_dots_agree(start in 0u64..1 << 50, len in 0u64..1 << 40) {
            let end = start + len;
            prop_assert_eq!(parse_range(&format!("{start}+{len}")), Ok(start..end));
            prop_assert_eq!(parse_range(&format!("{start}..{end}")), Ok(start..end));
            prop_assert_eq!(parse_range(&format_range(&(start..end))), Ok(start..end));
        }

        #[test]
        fn units_multiply(n in 0u64..1 << 20, unit in 0usize..4) {
            let (name, shift) = [("KiB", 10), ("MiB", 20), ("GiB", 30), ("TiB", 40)][unit];
            let expect = (n as u128) << shift;
            let got = parse_size(&format!("{n}{name}"));
            if expect <= u64::MAX as u128 {
                prop_assert_eq!(got, Ok(expect as u64));
            } else {
                prop_assert!(got.is_err());
            }
        }

        #[test]
        fn halves_of_binary_units_are_whole(n in 0u64..1 << 20) {
            prop_assert_eq!(parse_size(&format!("{n}.5KiB")), Ok(n * 1024 + 512));
        }

        #[test]
        fn dash_ranges_never_parse(a in 0u64..1 << 40, b in 0u64..1 << 40) {
            let text = format!("{a}-{b}");
            prop_assert!(parse_range(&text).is_err(), "{}", text);
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = parse_size(&s);
            let _ = parse_range(&s);
        }

        #[test]
        fn never_panics_on_near_misses(s in "[0-9.+KMGTiBb -]{0,24}") {
            if let Ok(r) = parse_range(&s) {
                prop_assert!(r.start <= r.end);
            }
        }
    }
}
