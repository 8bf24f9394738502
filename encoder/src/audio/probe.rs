//! What a file's audio track is: codec, rate, channels, length.

use std::path::Path;

use symphonia::core::audio::Channels;

use super::AudioError;
use super::decode::{Decoder, SampleKind};
use super::mp4edit::EditTrim;

/// The audio track a [`Decoder`] reads.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AudioInfo {
    /// Container short name (symphonia's: `wave`, `flac`, `isomp4`, ...).
    pub container: String,
    /// Codec short name (`pcm_s16le`, `flac`, `aac`, ...).
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
    /// Speaker positions as a WAVE channel mask, when the source says.
    pub channel_mask: Option<u32>,
    pub bits_per_sample: Option<u32>,
    pub kind: SampleKind,
    /// Presented samples per channel (after the MP4 edit list), when the container says.
    pub frames: Option<u64>,
    pub seconds: Option<f64>,
    /// Index among the file's audio tracks.
    pub track: usize,
    pub audio_tracks: usize,
    /// The MP4 edit list applied (priming skipped, samples kept).
    pub edit: Option<EditTrim>,
    /// The file has an edit list of a shape this reader does not apply.
    pub edit_ignored: bool,
}

/// Opens `path`, picks its `track`-th audio track (default the first) and checks that its codec
/// can be decoded.
pub fn probe(path: &Path, track: Option<usize>) -> Result<AudioInfo, AudioError> {
    Decoder::open(path, track).map(|d| d.info().clone())
}

/// symphonia's speaker positions use the WAVE channel mask's bit order (front left = bit 0,
/// front right, front center, LFE, back left, back right, ...), so the mask is the bits.
pub fn channel_positions(channels: &Channels) -> Option<u32> {
    match channels {
        // Positions past the first 18 are symphonia's own and have no mask bit.
        Channels::Positioned(p) => u32::try_from(p.bits()).ok().filter(|b| *b < 1 << 18),
        _ => None,
    }
}
