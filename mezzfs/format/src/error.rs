use std::path::PathBuf;

/// Everything that can be wrong with an object's bytes, manifest or keys.
///
/// Messages name the segment and part they concern; callers that know the object's name add it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    #[error("invalid layout: {0}")]
    InvalidLayout(String),
    #[error("not a mezzfs manifest (bad magic bytes)")]
    NotAManifest,
    #[error(
        "manifest format version {found} is newer than this mezzfs supports ({supported}); upgrade mezzfs"
    )]
    NewerManifestVersion { found: u16, supported: u16 },
    #[error("manifest is malformed: {0}")]
    ManifestMalformed(String),
    #[error("manifest failed authentication: it was modified or belongs to another key")]
    ManifestAuth,
    #[error("manifest is for object '{found}', not '{expected}' (objects may not be swapped)")]
    NameMismatch { expected: String, found: String },
    #[error(
        "object was encrypted under key id '{object_key_id}' but the key provider holds key id '{provider_key_id}'"
    )]
    KeyIdMismatch {
        object_key_id: String,
        provider_key_id: String,
    },
    #[error(
        "cannot unwrap the data key under key id '{key_id}': wrong key, or the manifest was altered"
    )]
    KeyUnwrap { key_id: String },
    #[error(
        "the data key (key '{key_id}') is not bound to object '{name}': its manifest was moved here from another object's name, or altered"
    )]
    KeyNotBound { key_id: String, name: String },
    #[error("key provider '{found}' cannot unwrap keys of provider '{expected}'")]
    KeyProviderMismatch { expected: String, found: String },
    #[error(
        "segment {segment} (part {part}) failed authentication: corrupted, truncated, reordered or from another object"
    )]
    SegmentAuth { segment: u64, part: u64 },
    #[error(
        "part {part} is truncated or overlong at segment {segment}: got {got} sealed bytes, expected {expected}"
    )]
    SegmentLength {
        segment: u64,
        part: u64,
        expected: u64,
        got: u64,
    },
    #[error("key service, key '{key_id}': {message}")]
    KeyService { key_id: String, message: String },
    #[error("key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}
