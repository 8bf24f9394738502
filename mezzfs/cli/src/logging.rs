//! Log output: text for people (colour only when stderr is a terminal, so a log file never
//! holds colour codes) or JSON for log shippers, one object per line with stable field names:
//! `ts` (RFC 3339, UTC), `level`, `target`, `message` and `fields` (the event's other fields).
//!
//! The JSON line is built by [`json_line`], a plain function over the event's parts; the
//! [`JsonFormat`] adapter only gathers those parts from `tracing`.

use std::fmt;
use std::io::IsTerminal;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object per line: ts, level, target, message, fields.
    Json,
}

static FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

/// Installs the process's log subscriber: level filter from MEZZFS_LOG (default warnings),
/// written to stderr.
pub fn init(format: LogFormat) {
    let _ = FORMAT.set(format);
    let filter = tracing_subscriber::EnvFilter::try_from_env("MEZZFS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,fuser=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // A daemon's stderr is its log file: colour codes only on a terminal.
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.with_ansi(false).event_format(JsonFormat).init(),
    }
}

/// Writes a status line meant for people whatever MEZZFS_LOG says (mounted, unmounted, the
/// final statistics, the error that ended the program) on stderr: as is in text mode, as a
/// JSON line (target `mezzfs`) in JSON mode, so a JSON log holds nothing else.
pub fn say_at(level: tracing::Level, message: &str) {
    match FORMAT.get() {
        Some(LogFormat::Json) => eprintln!(
            "{}",
            json_line(
                SystemTime::now(),
                level.as_str(),
                "mezzfs",
                message,
                serde_json::Map::new()
            )
        ),
        _ => eprintln!("{message}"),
    }
}

/// `eprintln!` for status lines, through [`say_at`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::logging::say_at(tracing::Level::INFO, &format!($($arg)*))
    };
}
pub(crate) use say;

/// The JSON line of one event (no newline). Field values that are numbers or booleans stay
/// so; everything else is a string.
pub fn json_line(
    ts: SystemTime,
    level: &str,
    target: &str,
    message: &str,
    fields: serde_json::Map<String, serde_json::Value>,
) -> String {
    let mut line = serde_json::Map::new();
    line.insert("ts".into(), rfc3339(ts).into());
    line.insert("level".into(), level.into());
    line.insert("target".into(), target.into());
    line.insert("message".into(), message.into());
    line.insert("fields".into(), fields.into());
    serde_json::Value::Object(line).to_string()
}

/// `ts` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds).
pub fn rfc3339(ts: SystemTime) -> String {
    let d = ts.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// The Gregorian date of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The `tracing` adapter: collects an event's message and fields, writes [`json_line`].
#[derive(Debug)]
struct JsonFormat;

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut v = Fields::default();
        event.record(&mut v);
        let meta = event.metadata();
        let line = json_line(
            SystemTime::now(),
            meta.level().as_str(),
            meta.target(),
            &v.message,
            v.fields,
        );
        writeln!(writer, "{line}")
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        if field.name() == "message" {
            self.message = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.fields.insert(field.name().to_string(), value);
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        // 2024-02-29T23:59:59.5Z, a leap day.
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_500);
        assert_eq!(rfc3339(t), "2024-02-29T23:59:59.500000Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn a_line_has_the_stable_fields_and_nothing_else() {
        let mut fields = serde_json::Map::new();
        fields.insert("offset".into(), 7.into());
        fields.insert("error".into(), "timed \"out\"\nagain".into());
        let line = json_line(UNIX_EPOCH, "ERROR", "mezz_mount::fs", "read failed", fields);
        assert!(!line.contains('\n'), "one line: {line}");
        let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        let mut keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["fields", "level", "message", "target", "ts"]);
        assert_eq!(v["level"], "ERROR");
        assert_eq!(v["target"], "mezz_mount::fs");
        assert_eq!(v["message"], "read failed");
        assert_eq!(v["fields"]["offset"], 7);
        assert_eq!(v["fields"]["error"], "timed \"out\"\nagain");
    }
}
