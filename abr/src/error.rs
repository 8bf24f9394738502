//! Typed errors of the library. A malformed input names its file, line and field so a user
//! can fix it without reading our code.

use std::fmt;
use std::path::PathBuf;

/// Where in an input a problem sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file (or any name the caller gave the text).
    pub file: String,
    /// 1-based line, when the format has lines.
    pub line: Option<usize>,
    /// The field, column or key concerned.
    pub field: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        Ok(())
    }
}

/// A trace or manifest that cannot be used as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ParseError {
    pub at: Location,
    pub message: String,
}

impl ParseError {
    pub fn new(
        file: &str,
        line: Option<usize>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            at: Location {
                file: file.to_owned(),
                line,
                field: field.map(str::to_owned),
            },
            message: message.into(),
        }
    }
}

/// Anything that can go wrong loading inputs from disk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(
        "trace set {path}: no trace files in it (hidden files, README and LICENSE are skipped)"
    )]
    EmptySet { path: PathBuf },
}

/// A simulation that cannot start with the inputs and settings it was given.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    #[error("the trace `{0}` has no period with bandwidth above zero")]
    DeadTrace(String),
    #[error("invalid setting `{name}`: {message}")]
    Setting { name: &'static str, message: String },
    #[error("unknown algorithm `{0}`; run `abr-sim algorithms` for the list")]
    UnknownAlgorithm(String),
}
