//! Streaming decode of one audio track to interleaved chunks (one packet's worth at a time, so
//! memory does not depend on the file's length).
//!
//! Integer sources (PCM, FLAC) stay integers: samples are carried as full-scale `i32` (what
//! symphonia converts 8-, 16- and 24-bit samples to by shifting left), so the original values
//! come back exactly by shifting right. Lossy sources (AAC) are `f32`.
//!
//! The decoded timeline is the presented one: for MP4, the track's edit list is applied here
//! (see [`crate::audio::mp4edit`] for why symphonia does not), which drops the AAC encoder's
//! priming samples and the padding after the edit's duration.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::well_known::*;
use symphonia::core::codecs::audio::{
    AudioCodecId, AudioCodecParameters, AudioDecoder, AudioDecoderOptions,
};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::well_known::FORMAT_ID_ISOMP4;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use super::AudioError;
use super::mp4edit::{self, EditTrim};
use super::probe::{AudioInfo, channel_positions};

/// How samples are carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleKind {
    /// Full-scale `i32`; the source has `bits` significant bits (16, 24, ...).
    Int {
        bits: u32,
    },
    Float,
}

/// Interleaved samples of one chunk.
#[derive(Clone, Debug, PartialEq)]
pub enum Samples {
    Int(Vec<i32>),
    Float(Vec<f32>),
}

impl Samples {
    pub fn len(&self) -> usize {
        match self {
            Samples::Int(v) => v.len(),
            Samples::Float(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An integer sample (full 32-bit scale, as [`Samples::Int`] holds them) as a float in -1..1.
pub fn int_to_f32(s: i32) -> f32 {
    (f64::from(s) / 2_147_483_648.0) as f32
}

/// Decoded audio: `frames` frames of `channels` interleaved samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    pub samples: Samples,
    pub channels: usize,
}

impl Chunk {
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }
}

/// An open audio track.
pub struct Decoder {
    format: Box<dyn FormatReader>,
    decoder: PacketDecoder,
    track_id: u32,
    info: AudioInfo,
    /// Samples still to drop at the start (edit list).
    skip: u64,
    /// Samples still to deliver (edit list), if limited.
    keep: Option<u64>,
    /// Frames decoded so far, before trimming: where a decode error happened.
    decoded: u64,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("info", &self.info)
            .field("decoded", &self.decoded)
            .finish_non_exhaustive()
    }
}

/// A short name for a codec, for messages: symphonia's own for the ones it decodes.
pub fn codec_name(id: AudioCodecId) -> String {
    if let Some(reg) = symphonia::default::get_codecs().get_audio_decoder(id) {
        return reg.codec.info.short_name.to_string();
    }
    let name = match id {
        CODEC_ID_AAC => "aac",
        CODEC_ID_AC3 => "ac3",
        CODEC_ID_EAC3 => "eac3",
        CODEC_ID_AC4 => "ac4",
        CODEC_ID_DCA => "dts",
        CODEC_ID_TRUEHD => "truehd",
        CODEC_ID_OPUS => "opus",
        CODEC_ID_VORBIS => "vorbis",
        CODEC_ID_MP1 => "mp1",
        CODEC_ID_MP2 => "mp2",
        CODEC_ID_MP3 => "mp3",
        CODEC_ID_ALAC => "alac",
        CODEC_ID_FLAC => "flac",
        CODEC_ID_WAVPACK => "wavpack",
        CODEC_ID_PCM_ALAW => "pcm_alaw",
        CODEC_ID_PCM_MULAW => "pcm_mulaw",
        _ => return format!("codec id {id}"),
    };
    name.to_string()
}

/// Integer PCM codecs and FLAC decode to integers that round-trip exactly.
fn sample_kind(id: AudioCodecId, bits: Option<u32>) -> SampleKind {
    let int_pcm = (CODEC_ID_PCM_S32LE..=CODEC_ID_PCM_U8_PLANAR).contains(&id);
    if int_pcm || id == CODEC_ID_FLAC {
        let width = match id {
            CODEC_ID_PCM_S8 | CODEC_ID_PCM_S8_PLANAR | CODEC_ID_PCM_U8 | CODEC_ID_PCM_U8_PLANAR => {
                8
            }
            _ => 32,
        };
        SampleKind::Int {
            bits: bits.filter(|b| (1..=32).contains(b)).unwrap_or(width),
        }
    } else {
        SampleKind::Float
    }
}

/// Runs a call into symphonia, turning a panic into an error. symphonia 0.6.1 has panics on
/// malformed input (fuzzing found the one [`wave_mask_overflows`] screens for); a damaged input
/// file must be an error, not a crash. The failed reader or decoder is not used again.
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, AudioError> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| AudioError::NotMedia(format!("symphonia panicked while {what}")))
}

/// Whether a WAV header would make symphonia 0.6.1 panic: its `fix_wave_channel_mask` shifts
/// by the number of channels missing from a `WAVE_FORMAT_EXTENSIBLE` channel mask, and past
/// the mask's top bit, which overflows a `u32` (a panic in builds with overflow checks, a
/// garbage mask in others) when 32 or more channels are missing or bit 31 is set.
pub fn wave_mask_overflows(head: &[u8]) -> bool {
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return false;
    }
    let mut at = 12;
    while at + 8 <= head.len() {
        let len = u32::from_le_bytes([head[at + 4], head[at + 5], head[at + 6], head[at + 7]]);
        if &head[at..at + 4] == b"fmt " {
            let Some(fmt) = head.get(at + 8..at + 8 + 24) else {
                return false;
            };
            let tag = u16::from_le_bytes([fmt[0], fmt[1]]);
            let channels = u32::from(u16::from_le_bytes([fmt[2], fmt[3]]));
            let mask = u32::from_le_bytes([fmt[20], fmt[21], fmt[22], fmt[23]]);
            let missing = channels.saturating_sub(mask.count_ones());
            return tag == 0xFFFE && missing > 0 && (missing >= 32 || mask & (1 << 31) != 0);
        }
        let Some(next) = (len as usize).checked_add(at + 8 + (len as usize & 1)) else {
            return false;
        };
        at = next;
    }
    false
}

fn not_media(e: SymError) -> AudioError {
    match e {
        SymError::IoError(io) if io.kind() != std::io::ErrorKind::UnexpectedEof => {
            AudioError::Io(io)
        }
        other => AudioError::NotMedia(other.to_string()),
    }
}

impl Decoder {
    /// Opens `path` and its `track`-th audio track (default the first).
    pub fn open(path: &Path, track: Option<usize>) -> Result<Decoder, AudioError> {
        let file = File::open(path)?;
        let ext = path.extension().and_then(|e| e.to_str());
        Decoder::from_source(Box::new(file), ext, track)
    }

    /// Opens any seekable source (a file, a `Cursor` of bytes).
    pub fn from_source(
        mut source: Box<dyn MediaSource>,
        extension: Option<&str>,
        track: Option<usize>,
    ) -> Result<Decoder, AudioError> {
        // The edit list is read before symphonia takes the source: it does not expose it.
        let moov = mp4edit::read_moov(&mut source)?;
        source.seek(SeekFrom::Start(0))?;
        let mut head = Vec::with_capacity(4096);
        (&mut source).take(4096).read_to_end(&mut head)?;
        if wave_mask_overflows(&head) {
            return Err(AudioError::NotMedia(
                "WAV channel mask has far fewer speakers than the channel count".into(),
            ));
        }
        source.seek(SeekFrom::Start(0))?;
        let mss = MediaSourceStream::new(source, Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = extension {
            hint.with_extension(ext);
        }
        let format = guarded("probing", || {
            symphonia::default::get_probe().probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
        })?
        .map_err(not_media)?;
        let audio_tracks: Vec<_> = format
            .tracks()
            .iter()
            .filter(|t| t.track_type() == Some(TrackType::Audio))
            .collect();
        if audio_tracks.is_empty() {
            return Err(AudioError::NoAudioTrack);
        }
        let wanted = track.unwrap_or(0);
        let t = *audio_tracks.get(wanted).ok_or(AudioError::NoSuchTrack {
            wanted,
            count: audio_tracks.len(),
        })?;
        let params = t
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or(AudioError::MissingParameter("codec parameters"))?
            .clone();
        let codec = codec_name(params.codec);
        if symphonia::default::get_codecs()
            .get_audio_decoder(params.codec)
            .is_none()
        {
            return Err(AudioError::UnsupportedCodec {
                codec,
                detail: "no decoder for it in this build".into(),
            });
        }
        let rate = params
            .sample_rate
            .filter(|r| *r > 0)
            .ok_or(AudioError::MissingParameter("sample rate"))?;
        let channels = params
            .channels
            .as_ref()
            .map(|c| c.count())
            .filter(|c| *c > 0)
            .ok_or(AudioError::MissingParameter("channel count"))?;
        let decoder = match fdk_decoder(&params, &codec)? {
            Some(d) => d,
            None => PacketDecoder::Symphonia(symphonia_decoder(&params, &codec, channels)?),
        };
        let is_mp4 = format.format_info().format == FORMAT_ID_ISOMP4;
        let (edit, edit_ignored) = match moov.filter(|_| is_mp4) {
            Some(moov) => match mp4edit::parse_moov(&moov).trim(t.id, rate) {
                Ok(trim) => (trim, false),
                Err(_) => (None, true),
            },
            None => (None, false),
        };
        let stored_frames = t.num_frames;
        let frames = match edit {
            Some(EditTrim { keep: Some(k), .. }) => Some(k),
            Some(EditTrim { skip, keep: None }) => stored_frames.map(|n| n.saturating_sub(skip)),
            None => stored_frames,
        };
        let kind = sample_kind(params.codec, params.bits_per_sample);
        let info = AudioInfo {
            container: format.format_info().short_name.to_string(),
            codec,
            sample_rate: rate,
            channels,
            channel_mask: params.channels.as_ref().and_then(channel_positions),
            bits_per_sample: params.bits_per_sample,
            kind,
            frames,
            seconds: frames.map(|f| f as f64 / f64::from(rate)),
            track: wanted,
            audio_tracks: audio_tracks.len(),
            edit,
            edit_ignored,
        };
        let track_id = t.id;
        Ok(Decoder {
            format,
            decoder,
            track_id,
            skip: edit.map_or(0, |e| e.skip),
            keep: edit.and_then(|e| e.keep),
            info,
            decoded: 0,
        })
    }

    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// The next chunk of presented audio, `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, AudioError> {
        loop {
            if self.keep == Some(0) {
                return Ok(None);
            }
            let sample = self.decoded;
            let packet = match guarded(&format!("reading at sample {sample}"), || {
                self.format.next_packet()
            })? {
                Ok(Some(p)) => p,
                Ok(None) => return self.flushed(),
                Err(SymError::ResetRequired) => {
                    return Err(AudioError::FormatChanged(self.decoded));
                }
                Err(e) => {
                    return Err(AudioError::Decode {
                        sample: self.decoded,
                        message: e.to_string(),
                    });
                }
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let kind = self.info.kind;
            let decoded = guarded(&format!("decoding at sample {sample}"), || {
                self.decoder.decode(&packet, kind)
            })?;
            let (frames, rate, channels, samples) = match decoded {
                Ok(b) => b,
                Err(DecodeFailure::Reset) => {
                    return Err(AudioError::FormatChanged(self.decoded));
                }
                Err(DecodeFailure::Other(message)) => {
                    return Err(AudioError::Decode {
                        sample: self.decoded,
                        message,
                    });
                }
            };
            if frames > 0 && (rate != self.info.sample_rate || channels != self.info.channels) {
                return Err(AudioError::FormatChanged(self.decoded));
            }
            self.decoded += frames as u64;
            let mut chunk = Chunk {
                samples,
                channels: self.info.channels,
            };
            self.trim(&mut chunk);
            if chunk.frames() > 0 {
                return Ok(Some(chunk));
            }
        }
    }

    /// At the end of the stream: the samples a decoder still held, as a last chunk.
    fn flushed(&mut self) -> Result<Option<Chunk>, AudioError> {
        let Some((samples, channels)) =
            self.decoder.flush().map_err(|message| AudioError::Decode {
                sample: self.decoded,
                message,
            })?
        else {
            return Ok(None);
        };
        let mut chunk = Chunk { samples, channels };
        self.decoded += chunk.frames() as u64;
        self.trim(&mut chunk);
        Ok((chunk.frames() > 0).then_some(chunk))
    }

    /// Applies the edit list: drops leading samples, stops after the kept ones.
    fn trim(&mut self, chunk: &mut Chunk) {
        let ch = chunk.channels;
        let frames = chunk.frames() as u64;
        let drop = self.skip.min(frames);
        self.skip -= drop;
        let mut take = frames - drop;
        if let Some(k) = &mut self.keep {
            take = take.min(*k);
            *k -= take;
        }
        let (a, b) = (drop as usize * ch, (drop + take) as usize * ch);
        match &mut chunk.samples {
            Samples::Int(v) => {
                v.truncate(b);
                v.drain(..a);
            }
            Samples::Float(v) => {
                v.truncate(b);
                v.drain(..a);
            }
        }
    }
}

/// The decoder of a track: symphonia's, or FDK's for AAC in a build with `fdk-aac`.
enum PacketDecoder {
    Symphonia(Box<dyn AudioDecoder>),
    #[cfg(feature = "fdk-aac")]
    Fdk(super::fdk::FdkAac),
}

enum DecodeFailure {
    /// The stream changed its parameters.
    Reset,
    Other(String),
}

impl PacketDecoder {
    /// One packet's samples: frames, sample rate, channels, samples.
    fn decode(
        &mut self,
        packet: &symphonia::core::packet::Packet,
        kind: SampleKind,
    ) -> Result<(usize, u32, usize, Samples), DecodeFailure> {
        match self {
            PacketDecoder::Symphonia(d) => match d.decode(packet) {
                Ok(buf) => Ok((
                    buf.frames(),
                    buf.spec().rate(),
                    buf.spec().channels().count(),
                    convert(&buf, kind),
                )),
                Err(SymError::ResetRequired) => Err(DecodeFailure::Reset),
                Err(e) => Err(DecodeFailure::Other(e.to_string())),
            },
            #[cfg(feature = "fdk-aac")]
            PacketDecoder::Fdk(d) => {
                let out = d.decode(&packet.data).map_err(DecodeFailure::Other)?;
                let frames = out.samples.len() / out.channels.max(1);
                Ok((frames, out.rate, out.channels, Samples::Float(out.samples)))
            }
        }
    }

    /// Samples a decoder holds back at the end of the stream (FDK's output delay).
    fn flush(&mut self) -> Result<Option<(Samples, usize)>, String> {
        match self {
            PacketDecoder::Symphonia(_) => Ok(None),
            #[cfg(feature = "fdk-aac")]
            PacketDecoder::Fdk(d) => {
                Ok(d.flush()?.map(|t| (Samples::Float(t.samples), t.channels)))
            }
        }
    }
}

/// symphonia's decoder for the track.
fn symphonia_decoder(
    params: &AudioCodecParameters,
    codec: &str,
    channels: usize,
) -> Result<Box<dyn AudioDecoder>, AudioError> {
    guarded("opening the decoder", || {
        symphonia::default::get_codecs().make_audio_decoder(params, &AudioDecoderOptions::default())
    })?
    .map_err(|e| match e {
        // symphonia 0.6.1's AAC decoder refuses more than two channels, HE-AAC (SBR)
        // and 960-sample frames ("aac too complex"); say which limit applies.
        SymError::Unsupported(what) => AudioError::UnsupportedCodec {
            codec: codec.to_string(),
            detail: if params.codec == CODEC_ID_AAC && channels > 2 {
                format!(
                    "{channels} channels; symphonia decodes AAC in mono or stereo only, a \
                     build with `--features fdk-aac` decodes multichannel AAC"
                )
            } else {
                what.to_string()
            },
        },
        other => AudioError::NotMedia(other.to_string()),
    })
}

/// FDK's decoder for an AAC track that carries its AudioSpecificConfig (MP4); `None` for other
/// tracks (ADTS AAC carries it in every frame header, which symphonia's reader strips).
#[cfg(feature = "fdk-aac")]
fn fdk_decoder(
    params: &AudioCodecParameters,
    codec: &str,
) -> Result<Option<PacketDecoder>, AudioError> {
    match &params.extra_data {
        Some(asc) if params.codec == CODEC_ID_AAC => super::fdk::FdkAac::new(asc)
            .map(|d| Some(PacketDecoder::Fdk(d)))
            .map_err(|detail| AudioError::UnsupportedCodec {
                codec: codec.to_string(),
                detail,
            }),
        _ => Ok(None),
    }
}

#[cfg(not(feature = "fdk-aac"))]
fn fdk_decoder(
    _params: &AudioCodecParameters,
    _codec: &str,
) -> Result<Option<PacketDecoder>, AudioError> {
    Ok(None)
}

fn convert(buf: &GenericAudioBufferRef<'_>, kind: SampleKind) -> Samples {
    match kind {
        SampleKind::Int { .. } => {
            let mut v: Vec<i32> = Vec::new();
            buf.copy_to_vec_interleaved(&mut v);
            Samples::Int(v)
        }
        SampleKind::Float => {
            let mut v: Vec<f32> = Vec::new();
            buf.copy_to_vec_interleaved(&mut v);
            Samples::Float(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::wav::{self, WavSpec};
    use std::io::Cursor;

    /// A 24-bit, 3-channel WAV of `frames` frames made by our own writer.
    fn wav_bytes(frames: usize) -> (Vec<u8>, Vec<i32>) {
        let samples: Vec<i32> = (0..frames * 3)
            .map(|i| ((i as i32).wrapping_mul(2_654_435_761_u32 as i32)) & !0xFF)
            .collect();
        let mut bytes = WavSpec::int(3, 44100, 24, None)
            .header(frames as u64)
            .expect("header");
        wav::encode_int(&samples, 24, &mut bytes);
        (bytes, samples)
    }

    #[test]
    fn our_wav_decodes_to_the_same_samples() {
        let (bytes, samples) = wav_bytes(10_000);
        let mut d =
            Decoder::from_source(Box::new(Cursor::new(bytes)), Some("wav"), None).expect("open");
        assert_eq!(d.info().kind, SampleKind::Int { bits: 24 });
        assert_eq!(d.info().frames, Some(10_000));
        let mut got = Vec::new();
        while let Some(chunk) = d.next_chunk().expect("decode") {
            match chunk.samples {
                Samples::Int(v) => got.extend(v),
                Samples::Float(_) => panic!("float from integer PCM"),
            }
        }
        assert_eq!(got, samples);
    }

    #[test]
    fn truncated_and_damaged_files_are_errors_not_panics() {
        let (bytes, _) = wav_bytes(2000);
        for cut in [0, 3, 12, 40, 44, 45, 1000, 7000] {
            let part = bytes[..cut].to_vec();
            if let Ok(mut d) = Decoder::from_source(Box::new(Cursor::new(part)), None, None) {
                while let Ok(Some(_)) = d.next_chunk() {}
            }
        }
        let mut damaged = bytes.clone();
        damaged[22] = 0; // zero channels
        assert!(Decoder::from_source(Box::new(Cursor::new(damaged)), None, None).is_err());
    }

    #[test]
    fn channel_masks_that_crash_symphonia_are_refused() {
        // Found by fuzzing: 65535 channels with a two-speaker extensible mask made symphonia
        // 0.6.1 shift a u32 by 65533 and panic.
        let (mut bytes, _) = wav_bytes(100);
        bytes[22..24].copy_from_slice(&65535u16.to_le_bytes());
        bytes[40..44].copy_from_slice(&3u32.to_le_bytes());
        assert!(wave_mask_overflows(&bytes));
        let err = Decoder::from_source(Box::new(Cursor::new(bytes.clone())), None, None)
            .expect_err("refused");
        assert!(err.to_string().contains("channel mask"), "{err}");
        // Bit 31 set and a speaker missing: the shift past the top bit.
        bytes[22..24].copy_from_slice(&3u16.to_le_bytes());
        bytes[40..44].copy_from_slice(&(1u32 << 31).to_le_bytes());
        assert!(wave_mask_overflows(&bytes));
        // What our writer makes is fine.
        assert!(!wave_mask_overflows(&wav_bytes(10).0));
    }

    #[test]
    fn a_panic_in_symphonia_is_an_error() {
        let r: Result<(), AudioError> = guarded("testing", || panic!("inside a decoder"));
        assert!(matches!(r, Err(AudioError::NotMedia(m)) if m.contains("panicked while testing")));
    }
}
