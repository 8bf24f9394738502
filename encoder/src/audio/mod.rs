//! Audio: probe and decode a mezzanine's audio (symphonia), cut it sample-accurately at the
//! video's scene or segment boundaries, measure each segment's loudness and peak, and write
//! segment-aligned WAV files.
//!
//! Pure parts: [`cut`] (segment boundaries in samples, integer arithmetic), [`mp4edit`] (the
//! MP4 edit list that says which decoded samples are presented), [`wav`] (the WAV header and
//! sample encoding), [`flac`] (FLAC segments through the `flacenc` crate) and [`loudness`]
//! (BS.1770 integrated loudness and sample peak, through the `ebur128` crate). I/O at the
//! edges: [`probe`] and [`decode`] read the file (with the `fdk-aac` feature, `fdk` decodes
//! the AAC that symphonia cannot: multichannel, HE-AAC), [`segment`] streams decoded chunks
//! into per-segment files and meters.
//!
//! The audio ladder: [`opus_ladder`] cuts the same way and encodes each segment with Opus
//! ([`opus`], libopus through FFI, the only unsafe code here) at every rung's bitrate into an
//! Ogg Opus file ([`ogg`]: pages and headers, pure).

pub mod cut;
mod cutter;
pub mod decode;
#[cfg(feature = "fdk-aac")]
pub mod fdk;
pub mod flac;
pub mod loudness;
pub mod mp4edit;
pub mod ogg;
pub mod opus;
pub mod opus_cmaf;
pub mod opus_dash;
pub mod opus_ladder;
pub mod probe;
pub mod segment;
pub mod wav;

pub use cut::{Boundaries, CutError, SegmentSpan};
pub use decode::{Chunk, Decoder, SampleKind, Samples};
pub use probe::{AudioInfo, probe};
pub use segment::{OutputFormat, SegmentStats, SplitReport, split};

/// What can go wrong reading a file's audio.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    #[error("cannot read the file")]
    Io(#[from] std::io::Error),
    #[error("not a media file symphonia can read (WAV, FLAC, MP4 or ADTS AAC): {0}")]
    NotMedia(String),
    #[error("no audio track")]
    NoAudioTrack,
    #[error("audio track {wanted} does not exist (the file has {count} audio tracks)")]
    NoSuchTrack { wanted: usize, count: usize },
    #[error(
        "unsupported audio codec: {codec} ({detail}; supported: PCM, FLAC, AAC-LC (mono or \
         stereo; any layout and HE-AAC with the fdk-aac feature))"
    )]
    UnsupportedCodec { codec: String, detail: String },
    #[error("the audio track does not say its {0}")]
    MissingParameter(&'static str),
    #[error("decode error at sample {sample}: {message}")]
    Decode { sample: u64, message: String },
    #[error("the audio format changed mid-stream at sample {0} (sample rate or channels)")]
    FormatChanged(u64),
}
