//! WAV output (pure): the header for a known number of frames, and sample encoding.
//!
//! Integer sources keep their sample size (16-bit stays 16-bit, 24-bit stays 24-bit), so PCM
//! and FLAC input round-trips bit-exactly; lossy sources are written as 32-bit float
//! (`WAVE_FORMAT_IEEE_FLOAT`, with the `fact` chunk non-PCM formats need). More than two
//! channels, or integer samples wider than 16 bits, use `WAVE_FORMAT_EXTENSIBLE` with a channel
//! mask, as Microsoft's WAVE documentation asks.

/// Sample encoding of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WavFormat {
    /// Integer PCM in `container` bits (8, 16, 24 or 32), `valid` of them significant.
    Int {
        container: u16,
        valid: u16,
    },
    Float32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WavSpec {
    pub channels: u16,
    pub rate: u32,
    pub format: WavFormat,
    /// WAVE speaker mask; 0 for "not given" (a default for the channel count is used).
    pub channel_mask: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WavError {
    #[error("a WAV file holds at most 4 GiB of samples ({0} bytes asked)")]
    TooLong(u64),
    #[error("{0} channels cannot be written to WAV")]
    Channels(usize),
}

const PCM: u16 = 1;
const IEEE_FLOAT: u16 = 3;
const EXTENSIBLE: u16 = 0xFFFE;
/// The KSDATAFORMAT_SUBTYPE GUID after its first two bytes (the format tag).
const GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// The mask ffmpeg uses for a channel count when the source gives none.
pub fn default_mask(channels: u16) -> u32 {
    match channels {
        1 => 0x4,
        2 => 0x3,
        3 => 0x7,
        4 => 0x33,
        5 => 0x37,
        6 => 0x3F,
        7 => 0x13F,
        8 => 0x63F,
        _ => 0,
    }
}

impl WavSpec {
    /// Integer samples with `bits` significant bits, in the smallest whole-byte container.
    pub fn int(channels: u16, rate: u32, bits: u32, channel_mask: Option<u32>) -> WavSpec {
        let valid = bits.clamp(1, 32) as u16;
        WavSpec {
            channels,
            rate,
            format: WavFormat::Int {
                container: valid.div_ceil(8) * 8,
                valid,
            },
            channel_mask: channel_mask.unwrap_or(0),
        }
    }

    pub fn float(channels: u16, rate: u32, channel_mask: Option<u32>) -> WavSpec {
        WavSpec {
            channels,
            rate,
            format: WavFormat::Float32,
            channel_mask: channel_mask.unwrap_or(0),
        }
    }

    pub fn bytes_per_sample(&self) -> u16 {
        match self.format {
            WavFormat::Int { container, .. } => container / 8,
            WavFormat::Float32 => 4,
        }
    }

    pub fn block_align(&self) -> u16 {
        self.bytes_per_sample() * self.channels
    }

    fn extensible(&self) -> bool {
        self.channels > 2
            || matches!(self.format, WavFormat::Int { container, valid } if container > 16 || valid != container)
    }

    /// The header for `frames` frames: RIFF, `fmt `, `fact` (float), `data` chunk header. Its
    /// length does not depend on `frames`, so a writer can reserve it and rewrite it at the end.
    pub fn header(&self, frames: u64) -> Result<Vec<u8>, WavError> {
        let data_len = frames
            .checked_mul(u64::from(self.block_align()))
            .filter(|&n| n <= u64::from(u32::MAX) - 100)
            .ok_or(WavError::TooLong(
                frames.saturating_mul(u64::from(self.block_align())),
            ))?;
        let is_float = self.format == WavFormat::Float32;
        let ext = self.extensible();
        let bits = self.bytes_per_sample() * 8;
        let mut fmt = Vec::with_capacity(40);
        let tag = match (ext, is_float) {
            (true, _) => EXTENSIBLE,
            (false, true) => IEEE_FLOAT,
            (false, false) => PCM,
        };
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&self.channels.to_le_bytes());
        fmt.extend_from_slice(&self.rate.to_le_bytes());
        let byte_rate = self.rate.saturating_mul(u32::from(self.block_align()));
        fmt.extend_from_slice(&byte_rate.to_le_bytes());
        fmt.extend_from_slice(&self.block_align().to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        if ext {
            let valid = match self.format {
                WavFormat::Int { valid, .. } => valid,
                WavFormat::Float32 => 32,
            };
            let mask = if self.channel_mask.count_ones() == u32::from(self.channels) {
                self.channel_mask
            } else {
                default_mask(self.channels)
            };
            fmt.extend_from_slice(&22u16.to_le_bytes());
            fmt.extend_from_slice(&valid.to_le_bytes());
            fmt.extend_from_slice(&mask.to_le_bytes());
            let sub = if is_float { IEEE_FLOAT } else { PCM };
            fmt.extend_from_slice(&sub.to_le_bytes());
            fmt.extend_from_slice(&GUID_TAIL);
        } else if is_float {
            fmt.extend_from_slice(&0u16.to_le_bytes());
        }
        let mut out = Vec::with_capacity(80);
        let fact_len = if is_float { 12 } else { 0 };
        // The data chunk is padded to an even length; the pad byte counts in the RIFF size.
        let pad = data_len % 2;
        let riff_len = 4 + 8 + fmt.len() as u64 + fact_len + 8 + data_len + pad;
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(riff_len as u32).to_le_bytes());
        out.extend_from_slice(b"WAVE");
        out.extend_from_slice(b"fmt ");
        out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        out.extend_from_slice(&fmt);
        if is_float {
            out.extend_from_slice(b"fact");
            out.extend_from_slice(&4u32.to_le_bytes());
            out.extend_from_slice(&(frames as u32).to_le_bytes());
        }
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data_len as u32).to_le_bytes());
        Ok(out)
    }
}

/// Appends full-scale `i32` samples as `container`-bit little-endian PCM (8-bit is unsigned).
pub fn encode_int(samples: &[i32], container: u16, out: &mut Vec<u8>) {
    let bytes = usize::from(container / 8);
    out.reserve(samples.len() * bytes);
    if bytes == 1 {
        out.extend(samples.iter().map(|&s| ((s >> 24) as u8) ^ 0x80));
        return;
    }
    let shift = 32 - u32::from(container);
    for &s in samples {
        let v = (s >> shift).to_le_bytes();
        out.extend_from_slice(&v[..bytes]);
    }
}

pub fn encode_f32(samples: &[f32], out: &mut Vec<u8>) {
    out.reserve(samples.len() * 4);
    for &s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }
    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn pcm16_stereo_is_the_canonical_44_byte_header() {
        let h = WavSpec::int(2, 48000, 16, None)
            .header(1000)
            .expect("header");
        assert_eq!(h.len(), 44);
        assert_eq!(&h[..4], b"RIFF");
        assert_eq!(u32_at(&h, 4), 36 + 4000);
        assert_eq!(u16_at(&h, 20), PCM);
        assert_eq!(u32_at(&h, 28), 48000 * 4);
        assert_eq!(&h[36..40], b"data");
        assert_eq!(u32_at(&h, 40), 4000);
    }

    #[test]
    fn float_51_is_extensible_with_mask_and_fact() {
        let spec = WavSpec::float(6, 48000, Some(0x60F));
        let h = spec.header(10).expect("header");
        assert_eq!(u16_at(&h, 20), EXTENSIBLE);
        assert_eq!(u32_at(&h, 16), 40);
        assert_eq!(u32_at(&h, 40), 0x60F);
        assert_eq!(u16_at(&h, 44), IEEE_FLOAT);
        assert_eq!(&h[60..64], b"fact");
        assert_eq!(u32_at(&h, 68), 10);
        assert_eq!(&h[72..76], b"data");
        assert_eq!(u32_at(&h, 76), 10 * 24);
        assert_eq!(spec.header(0).expect("empty").len(), h.len());
        // A mask that does not match the channel count falls back to the default.
        let h = WavSpec::float(6, 48000, Some(0x3))
            .header(1)
            .expect("header");
        assert_eq!(u32_at(&h, 40), 0x3F);
    }

    #[test]
    fn odd_data_is_padded_in_the_riff_size() {
        let h = WavSpec::int(1, 8000, 8, None).header(3).expect("header");
        assert_eq!(u32_at(&h, 4), 36 + 3 + 1);
        assert!(WavSpec::int(2, 48000, 16, None).header(1 << 31).is_err());
    }

    #[test]
    fn samples_come_back_exactly() {
        let mut out = Vec::new();
        encode_int(&[0x1234_0000, -0x0001_0000, i32::MIN], 16, &mut out);
        assert_eq!(out, [0x34, 0x12, 0xFF, 0xFF, 0x00, 0x80]);
        out.clear();
        encode_int(&[0x1234_5600, -256], 24, &mut out);
        assert_eq!(out, [0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF]);
        out.clear();
        encode_int(&[0, i32::MIN, 0x7F00_0000], 8, &mut out);
        assert_eq!(out, [0x80, 0x00, 0xFF]);
    }
}
