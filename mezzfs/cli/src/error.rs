use mezz_format::FormatError;
use mezz_store::StoreError;

/// What went wrong with an object, always naming it (and the part and segment when known).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    #[error("object '{name}' not found in {store}")]
    NotFound { name: String, store: String },
    #[error("object '{name}': {source}")]
    Store { name: String, source: StoreError },
    #[error("object '{name}', part {part}: {source}")]
    Part { name: String, part: u64, source: StoreError },
    #[error("object '{name}', part {part} is missing from the store (deleted, or the object was replaced while being read)")]
    MissingPart { name: String, part: u64 },
    #[error("object '{name}': {source}")]
    Format { name: String, source: FormatError },
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
            StoreError::NotFound { .. } => ObjectError::MissingPart { name: name.into(), part },
            source => ObjectError::Part { name: name.into(), part, source },
        }
    }

    pub(crate) fn format(name: &str, source: FormatError) -> ObjectError {
        ObjectError::Format { name: name.into(), source }
    }
}
