//! The Opus encoder: libopus (the system's, Debian's libopus-dev, through the `audiopus_sys`
//! bindings), always through its multistream surround API so that mono, stereo (mapping
//! family 0, one stream) and 5.1 / 7.1 (family 1: coupled stereo pairs plus mono streams,
//! the LFE band-limited) take one path.
//!
//! The unsafe FFI is confined to this file: creation checks libopus's error code and the
//! returned pointer, every call passes buffers with their real lengths, and the state is
//! freed exactly once in `Drop`.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::raw::{c_int, c_uchar};

use audiopus_sys as ffi;

use super::ogg::Mapping;

/// Opus always runs at 48 kHz here: granule positions count 48 kHz samples, and the segment
/// boundaries are computed at the source's rate, so both must be the same.
pub const RATE: u32 = 48_000;
/// 20 ms frames, what libopus's own tools use for music.
pub const FRAME: usize = 960;
/// The largest packet libopus makes for one stream (RFC 6716 section 3.4), times streams.
const MAX_PACKET_PER_STREAM: usize = 1275;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpusError {
    #[error(
        "Opus segments need 48 kHz audio and the input is {0} Hz; resample it first (e.g. \
         `ffmpeg -i INPUT -ar 48000 OUT.wav`)"
    )]
    Rate(u32),
    #[error(
        "{0} channels: the Opus ladder takes mono, stereo, 5.1 (6 channels) or 7.1 (8 channels)"
    )]
    Channels(usize),
    #[error("{0} kbit/s is outside what Opus codes for {1} channels ({2}-{3} kbit/s)")]
    Bitrate(u32, usize, u32, u32),
    #[error("libopus: {what}: {message}")]
    Lib { what: &'static str, message: String },
}

fn lib_error(what: &'static str, code: c_int) -> OpusError {
    // SAFETY: opus_strerror returns a pointer to a static, NUL-terminated string for any code.
    let message = unsafe { CStr::from_ptr(ffi::opus_strerror(code)) }
        .to_string_lossy()
        .into_owned();
    OpusError::Lib { what, message }
}

/// libopus's version string, e.g. "libopus 1.3.1".
pub fn version() -> String {
    // SAFETY: a pointer to a static, NUL-terminated string.
    unsafe { CStr::from_ptr(ffi::opus_get_version_string()) }
        .to_string_lossy()
        .into_owned()
}

/// Where source channel `i` (WAVE order: FL FR FC LFE BL BR SL SR) goes in the Vorbis order
/// that mapping family 1 expects (5.1: FL FC FR RL RR LFE; 7.1: FL FC FR SL SR RL RR LFE).
pub fn vorbis_order(channels: usize) -> Result<Vec<usize>, OpusError> {
    match channels {
        1 => Ok(vec![0]),
        2 => Ok(vec![0, 1]),
        // Vorbis position -> WAVE index.
        6 => Ok(vec![0, 2, 1, 4, 5, 3]),
        8 => Ok(vec![0, 2, 1, 6, 7, 4, 5, 3]),
        n => Err(OpusError::Channels(n)),
    }
}

/// The bitrates libopus accepts: 6 kbit/s to 510 kbit/s per coded stream.
pub fn bitrate_range(channels: usize) -> (u32, u32) {
    let streams = match channels {
        1 | 2 => 1,
        6 => 4,
        8 => 5,
        n => n as u32,
    };
    (6 * streams, 510 * streams)
}

/// One Opus encoder (one rung's segment: a fresh encoder per segment, so every segment
/// decodes on its own).
#[derive(Debug)]
pub struct Encoder {
    st: *mut ffi::OpusMSEncoder,
    channels: usize,
    mapping: Mapping,
    lookahead: u16,
    packet: Vec<u8>,
}

impl Encoder {
    /// An encoder for `channels` channels at 48 kHz and `kbps` kbit/s (VBR, music).
    pub fn new(channels: usize, kbps: u32) -> Result<Encoder, OpusError> {
        vorbis_order(channels)?;
        let (lo, hi) = bitrate_range(channels);
        if !(lo..=hi).contains(&kbps) {
            return Err(OpusError::Bitrate(kbps, channels, lo, hi));
        }
        let family = if channels <= 2 { 0 } else { 1 };
        let (mut streams, mut coupled, mut error): (c_int, c_int, c_int) = (0, 0, 0);
        let mut table = [0 as c_uchar; 8];
        // SAFETY: `table` has room for `channels` (at most 8) entries; the out-parameters are
        // valid; the result is checked before use.
        let st = unsafe {
            ffi::opus_multistream_surround_encoder_create(
                RATE as i32,
                channels as c_int,
                family,
                &mut streams,
                &mut coupled,
                table.as_mut_ptr(),
                ffi::OPUS_APPLICATION_AUDIO,
                &mut error,
            )
        };
        if st.is_null() || error != ffi::OPUS_OK {
            if !st.is_null() {
                // SAFETY: created above, not used after.
                unsafe { ffi::opus_multistream_encoder_destroy(st) };
            }
            return Err(lib_error("creating the encoder", error));
        }
        let mut enc = Encoder {
            st,
            channels,
            mapping: Mapping {
                family: family as u8,
                streams: streams as u8,
                coupled: coupled as u8,
                table: if family == 0 {
                    Vec::new()
                } else {
                    table[..channels].to_vec()
                },
            },
            lookahead: 0,
            packet: vec![0; MAX_PACKET_PER_STREAM * streams.max(1) as usize],
        };
        // SAFETY: OPUS_SET_BITRATE takes one opus_int32.
        let r = unsafe {
            ffi::opus_multistream_encoder_ctl(
                enc.st,
                ffi::OPUS_SET_BITRATE_REQUEST,
                (kbps * 1000) as i32,
            )
        };
        if r != ffi::OPUS_OK {
            return Err(lib_error("setting the bitrate", r));
        }
        let mut lookahead: i32 = 0;
        // SAFETY: OPUS_GET_LOOKAHEAD takes one opus_int32 pointer.
        let r = unsafe {
            ffi::opus_multistream_encoder_ctl(
                enc.st,
                ffi::OPUS_GET_LOOKAHEAD_REQUEST,
                &mut lookahead as *mut i32,
            )
        };
        if r != ffi::OPUS_OK {
            return Err(lib_error("reading the lookahead", r));
        }
        enc.lookahead = u16::try_from(lookahead).map_err(|_| OpusError::Lib {
            what: "reading the lookahead",
            message: format!("{lookahead} samples"),
        })?;
        Ok(enc)
    }

    /// The encoder's delay in samples: the pre-skip a decoder drops.
    pub fn lookahead(&self) -> u16 {
        self.lookahead
    }

    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// Encodes one frame: [`FRAME`] interleaved samples per channel, in Vorbis order.
    pub fn encode(&mut self, pcm: &[f32]) -> Result<Vec<u8>, OpusError> {
        if pcm.len() != FRAME * self.channels {
            return Err(OpusError::Lib {
                what: "encoding",
                message: format!(
                    "{} samples given for a {FRAME}-sample frame of {} channels",
                    pcm.len(),
                    self.channels
                ),
            });
        }
        // SAFETY: `pcm` holds FRAME frames of `channels` samples; `packet` is writable for its
        // length, which is passed as the limit.
        let n = unsafe {
            ffi::opus_multistream_encode_float(
                self.st,
                pcm.as_ptr(),
                FRAME as c_int,
                self.packet.as_mut_ptr(),
                self.packet.len() as i32,
            )
        };
        if n < 0 {
            return Err(lib_error("encoding", n));
        }
        Ok(self.packet[..n as usize].to_vec())
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: `st` came from opus_multistream_surround_encoder_create and is freed once.
        unsafe { ffi::opus_multistream_encoder_destroy(self.st) };
    }
}

// SAFETY: the encoder state is plain memory owned by this value and used through `&mut self`
// only; libopus keeps no thread-local or global state for it.
unsafe impl Send for Encoder {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_and_surround_encoders_describe_their_streams() {
        let e = Encoder::new(2, 128).expect("stereo");
        assert_eq!(e.mapping().family, 0);
        assert!(e.lookahead() > 0);
        let mut e = Encoder::new(6, 384).expect("5.1");
        assert_eq!(e.mapping().family, 1);
        assert_eq!((e.mapping().streams, e.mapping().coupled), (4, 2));
        assert_eq!(e.mapping().table.len(), 6);
        let frame = vec![0.1f32; FRAME * 6];
        assert!(!e.encode(&frame).expect("encode").is_empty());
        assert!(e.encode(&frame[1..]).is_err());
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(matches!(Encoder::new(3, 128), Err(OpusError::Channels(3))));
        assert!(matches!(
            Encoder::new(2, 700),
            Err(OpusError::Bitrate(700, 2, 6, 510))
        ));
    }
}
