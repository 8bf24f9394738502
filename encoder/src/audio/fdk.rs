//! AAC through the Fraunhofer FDK decoder (feature `fdk-aac`), for what symphonia's own AAC
//! decoder refuses: more than two channels (5.1, 7.1 mezzanine audio) and HE-AAC.
//!
//! The MP4 reader and the edit list stay symphonia's and ours; only the raw access units go to
//! FDK, configured with the track's AudioSpecificConfig. FDK writes 16-bit samples in WAV
//! channel order (L R C LFE Ls Rs), the order the WAV writer's channel mask and the loudness
//! meter's surround weights expect.
//!
//! FDK's output lags the stream by its `outputDelay` (1744 samples for AAC-LC at 48 kHz: a
//! frame, plus its PCM limiter's look-ahead). So that the samples line up with the stream's
//! own timeline (and with symphonia's and ffmpeg's decodes), the first `outputDelay` samples
//! are dropped, and at the end the last access unit is decoded again until the delayed samples
//! have come out; what the repeats themselves produce is dropped.

use fdk_aac::dec::{Decoder, Transport};

/// Longest output of one access unit: 2048 samples (HE-AAC) of up to 8 channels, with room.
const MAX_PCM: usize = 2048 * 8 * 2;

#[derive(Debug)]
pub struct FdkAac {
    decoder: Decoder,
    pcm: Vec<i16>,
    /// Leading samples (per channel) still to drop: `None` until the first frame says how many.
    lag_left: Option<usize>,
    /// The decoder's delay, which the end must flush out.
    delay: usize,
    last_unit: Vec<u8>,
}

/// Decoded audio: interleaved samples scaled to [-1, 1).
#[derive(Debug)]
pub struct Decoded {
    pub rate: u32,
    pub channels: usize,
    pub samples: Vec<f32>,
}

impl Decoded {
    fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    fn drop_front(&mut self, frames: usize) {
        let n = (frames * self.channels).min(self.samples.len());
        self.samples.drain(..n);
    }
}

impl FdkAac {
    /// A decoder for the track whose AudioSpecificConfig (MP4 `esds`) is `asc`.
    pub fn new(asc: &[u8]) -> Result<Self, String> {
        let mut decoder = Decoder::new(Transport::Raw);
        decoder
            .config_raw(asc)
            .map_err(|e| format!("FDK AAC refused the stream's configuration: {e:?}"))?;
        Ok(FdkAac {
            decoder,
            pcm: vec![0; MAX_PCM],
            lag_left: None,
            delay: 0,
            last_unit: Vec::new(),
        })
    }

    /// Decodes one access unit (an MP4 sample); early on, part or all of its output is the
    /// decoder's lag and is dropped.
    pub fn decode(&mut self, unit: &[u8]) -> Result<Decoded, String> {
        let mut out = self.decode_raw(unit)?;
        let lag = *self.lag_left.get_or_insert(self.delay);
        let dropped = lag.min(out.frames());
        out.drop_front(dropped);
        self.lag_left = Some(lag - dropped);
        self.last_unit.clear();
        self.last_unit.extend_from_slice(unit);
        Ok(out)
    }

    /// The samples still inside the decoder at the end of the stream.
    pub fn flush(&mut self) -> Result<Option<Decoded>, String> {
        if self.last_unit.is_empty() || self.delay == 0 {
            return Ok(None);
        }
        let unit = std::mem::take(&mut self.last_unit);
        // A stream shorter than the delay still has lag to drop before its samples come out.
        let lag = self.lag_left.unwrap_or(0).min(self.delay);
        let owed = self.delay - lag;
        let mut tail: Option<Decoded> = None;
        while tail.as_ref().map_or(0, Decoded::frames) < lag + owed {
            let more = self.decode_raw(&unit)?;
            if more.frames() == 0 {
                break;
            }
            match &mut tail {
                Some(t) => t.samples.extend_from_slice(&more.samples),
                None => tail = Some(more),
            }
        }
        if let Some(t) = &mut tail {
            t.drop_front(lag);
            let keep = (owed * t.channels).min(t.samples.len());
            t.samples.truncate(keep);
        }
        Ok(tail)
    }

    fn decode_raw(&mut self, unit: &[u8]) -> Result<Decoded, String> {
        let mut rest = unit;
        while !rest.is_empty() {
            let used = self
                .decoder
                .fill(rest)
                .map_err(|e| format!("FDK AAC: {e:?}"))?;
            if used == 0 {
                return Err("FDK AAC took none of the access unit".into());
            }
            rest = &rest[used.min(rest.len())..];
        }
        self.decoder
            .decode_frame(&mut self.pcm)
            .map_err(|e| format!("FDK AAC: {e:?}"))?;
        let info = self.decoder.stream_info();
        let channels = usize::try_from(info.numChannels).unwrap_or(0);
        let frames = usize::try_from(info.frameSize).unwrap_or(0);
        let rate = u32::try_from(info.sampleRate).unwrap_or(0);
        self.delay = usize::try_from(info.outputDelay).unwrap_or(0);
        let len = (channels * frames).min(self.pcm.len());
        let samples = self.pcm[..len]
            .iter()
            .map(|&s| f32::from(s) / 32768.0)
            .collect();
        Ok(Decoded {
            rate,
            channels,
            samples,
        })
    }
}
