use mezz_format::FormatError;
use mezz_store::StoreError;

/// What went wrong with an object, always naming it (and the part and segment when known).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    #[error("object '{name}' not found in {store}")]
    NotFound { name: String, store: String },
    #[error("object '{name}' exists (replacing it needs overwriting allowed)")]
    Exists { name: String },
    #[error("object '{name}': {cause}")]
    Store { name: String, cause: StoreError },
    #[error("object '{name}', part {part}: {cause}")]
    Part {
        name: String,
        part: u64,
        cause: StoreError,
    },
    #[error(
        "object '{name}', part {part} is truncated: {stored} of {expected} sealed bytes stored, segment {segment} onwards missing"
    )]
    TruncatedPart {
        name: String,
        part: u64,
        stored: u64,
        expected: u64,
        segment: u64,
    },
    #[error(
        "object '{name}', part {part} is missing from the store (deleted, or the object was replaced while being read)"
    )]
    MissingPart { name: String, part: u64 },
    #[error("object '{name}': {cause}")]
    Format { name: String, cause: FormatError },
    #[error("invalid object name '{name}': {reason}")]
    InvalidName { name: String, reason: String },
    #[error("reading the source: {0}")]
    Source(std::io::Error),
    #[error("{0}")]
    Other(String),
}

impl ObjectError {
    pub(crate) fn part(name: &str, part: u64, e: StoreError) -> ObjectError {
        match e {
            StoreError::NotFound { .. } => ObjectError::MissingPart {
                name: name.into(),
                part,
            },
            cause => ObjectError::Part {
                name: name.into(),
                part,
                cause,
            },
        }
    }

    pub(crate) fn format(name: &str, cause: FormatError) -> ObjectError {
        ObjectError::Format {
            name: name.into(),
            cause,
        }
    }
}
