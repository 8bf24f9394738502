//! FLAC output (pure): one segment's samples to a FLAC stream, with the `flacenc` crate.
//!
//! flacenc encodes from memory, so a FLAC segment is held whole until it is encoded: memory
//! follows the longest segment (10 s of 5.1 at 48 kHz is 11 MB), not the file. Integer sources
//! of up to 24 bits only (flacenc's limit): FLAC keeps them bit-exact; a float source would
//! have to be quantised, which is the WAV writer's float format's job instead.

use flacenc::component::BitRepr;
use flacenc::error::Verify;

/// flacenc's widest sample.
pub const MAX_BITS: u32 = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlacError {
    #[error(
        "FLAC output needs integer samples of at most {MAX_BITS} bits (this source has {0}); \
         write WAV instead"
    )]
    Format(String),
    #[error("FLAC encoder: {0}")]
    Encode(String),
}

/// Encodes interleaved `samples` (each already in `bits`-bit range) as a FLAC stream.
pub fn encode(
    samples: &[i32],
    channels: usize,
    bits: u32,
    rate: u32,
) -> Result<Vec<u8>, FlacError> {
    if !(4..=MAX_BITS).contains(&bits) {
        return Err(FlacError::Format(format!("{bits}-bit samples")));
    }
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, e)| FlacError::Encode(e.to_string()))?;
    let source =
        flacenc::source::MemSource::from_samples(samples, channels, bits as usize, rate as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .map_err(|e| FlacError::Encode(e.to_string()))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| FlacError::Encode(e.to_string()))?;
    Ok(sink.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_flac_stream() {
        let samples: Vec<i32> = (0..4000).map(|i| (i * 37 % 20000) - 10000).collect();
        let bytes = encode(&samples, 2, 16, 44100).expect("encode");
        assert_eq!(&bytes[..4], b"fLaC");
        assert!(encode(&samples, 2, 32, 44100).is_err());
    }
}
