//! Integrated loudness (ITU-R BS.1770-4 / EBU R128) and sample peak of one segment.
//!
//! The BS.1770 part (K-weighting for the sample rate, 400 ms blocks with 75 % overlap, the
//! -70 LUFS absolute and -10 LU relative gates) is the `ebur128` crate, a port of libebur128;
//! this module maps speaker positions to BS.1770 channel weights (L, R, C: 1.0; surrounds:
//! 1.41; LFE: not counted, as ffmpeg's `ebur128` filter does) and keeps the sample peak.
//!
//! A segment shorter than one 400 ms block has no integrated loudness: it is `None`, not a
//! number. So is a segment whose blocks are all below the absolute gate (digital silence).

use ebur128::{Channel, EbuR128, Mode};

/// BS.1770's block length: shorter segments have no gating block at all.
pub const BLOCK_SECONDS: f64 = 0.4;

#[derive(Debug, thiserror::Error)]
#[error("loudness meter: {0}")]
pub struct MeterError(String);

/// The measurement of one segment.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Loudness {
    /// Integrated loudness in LUFS; `None` when undefined (under 400 ms, or all gated out).
    pub lufs: Option<f64>,
    /// Highest absolute sample value in dBFS; `None` for digital silence.
    pub peak_dbfs: Option<f64>,
}

/// BS.1770 weights by WAVE speaker bit: front left/right/center 1.0, LFE excluded, the back and
/// side speakers 1.41 (what ffmpeg's ebur128 filter counts as surround), others 1.0.
fn channel_for(bit: u32) -> Channel {
    match bit {
        0 | 6 => Channel::Left,
        1 | 7 => Channel::Right,
        2 => Channel::Center,
        3 | 15 => Channel::Unused,
        4 | 9 | 8 => Channel::LeftSurround,
        5 | 10 => Channel::RightSurround,
        _ => Channel::Center,
    }
}

/// The channel map for `channels` channels with WAVE `mask` (if the source gave one).
pub fn channel_map(channels: usize, mask: Option<u32>) -> Vec<Channel> {
    if let Some(mask) = mask.filter(|m| m.count_ones() as usize == channels) {
        return (0..32)
            .filter(|b| mask & (1 << b) != 0)
            .map(channel_for)
            .collect();
    }
    let default_mask = super::wav::default_mask(channels.min(8) as u16);
    if channels <= 8 && default_mask != 0 {
        return channel_map(channels, Some(default_mask));
    }
    vec![Channel::Center; channels]
}

/// Measures one segment as samples arrive.
pub struct Meter {
    inner: EbuR128,
    rate: u32,
    frames: u64,
    /// Highest absolute sample, full scale = 1.0.
    peak: f64,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter")
            .field("rate", &self.rate)
            .field("frames", &self.frames)
            .field("peak", &self.peak)
            .finish_non_exhaustive()
    }
}

impl Meter {
    pub fn new(channels: usize, rate: u32, mask: Option<u32>) -> Result<Meter, MeterError> {
        let err = |e: ebur128::Error| MeterError(format!("{e:?} ({channels} channels, {rate} Hz)"));
        let ch = u32::try_from(channels).map_err(|_| MeterError("too many channels".into()))?;
        let mut inner = EbuR128::new(ch, rate, Mode::I).map_err(err)?;
        inner
            .set_channel_map(&channel_map(channels, mask))
            .map_err(err)?;
        Ok(Meter {
            inner,
            rate,
            frames: 0,
            peak: 0.0,
        })
    }

    /// Full-scale `i32` interleaved samples.
    pub fn add_int(&mut self, samples: &[i32]) -> Result<(), MeterError> {
        let max = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        self.peak = self.peak.max(f64::from(max) / 2_147_483_648.0);
        self.frames += (samples.len() / self.inner.channels() as usize) as u64;
        self.inner
            .add_frames_i32(samples)
            .map_err(|e| MeterError(format!("{e:?}")))
    }

    pub fn add_f32(&mut self, samples: &[f32]) -> Result<(), MeterError> {
        let max = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        self.peak = self.peak.max(f64::from(max));
        self.frames += (samples.len() / self.inner.channels() as usize) as u64;
        self.inner
            .add_frames_f32(samples)
            .map_err(|e| MeterError(format!("{e:?}")))
    }

    pub fn finish(&self) -> Loudness {
        let long_enough = self.frames as f64 >= BLOCK_SECONDS * f64::from(self.rate);
        let lufs = self
            .inner
            .loudness_global()
            .ok()
            .filter(|l| long_enough && l.is_finite());
        let peak_dbfs = (self.peak > 0.0).then(|| 20.0 * self.peak.log10());
        Loudness { lufs, peak_dbfs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f64, amp: f64, frames: usize, channels: usize) -> Vec<f32> {
        (0..frames)
            .flat_map(|i| {
                let v = (amp
                    * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as f32;
                std::iter::repeat_n(v, channels)
            })
            .collect()
    }

    #[test]
    fn full_scale_1k_sine_in_one_channel() {
        // BS.1770's reference point: a 0 dBFS 1 kHz sine in one front channel is -3.01 LUFS.
        let mut m = Meter::new(2, 48000, None).expect("meter");
        let s: Vec<f32> = sine(48000, 997.0, 1.0, 48000 * 3, 1)
            .into_iter()
            .flat_map(|v| [v, 0.0])
            .collect();
        m.add_f32(&s).expect("add");
        let l = m.finish();
        let lufs = l.lufs.expect("defined");
        assert!((lufs - -3.01).abs() < 0.05, "{lufs}");
        let peak = l.peak_dbfs.expect("not silent");
        assert!(peak.abs() < 0.01, "{peak}");
    }

    #[test]
    fn short_or_silent_segments_are_undefined() {
        let mut m = Meter::new(2, 48000, None).expect("meter");
        m.add_f32(&sine(48000, 440.0, 0.5, 19_000, 2)).expect("add");
        assert_eq!(m.finish().lufs, None);
        assert!(m.finish().peak_dbfs.is_some());
        let mut m = Meter::new(1, 48000, None).expect("meter");
        m.add_int(&vec![0; 96000]).expect("add");
        assert_eq!(
            m.finish(),
            Loudness {
                lufs: None,
                peak_dbfs: None
            }
        );
    }

    #[test]
    fn lfe_is_not_counted_and_surrounds_weigh_more() {
        let map = channel_map(6, Some(0x60F));
        assert_eq!(
            map,
            [
                Channel::Left,
                Channel::Right,
                Channel::Center,
                Channel::Unused,
                Channel::LeftSurround,
                Channel::RightSurround
            ]
        );
        assert_eq!(channel_map(6, None), map_for_back());
    }

    fn map_for_back() -> Vec<Channel> {
        channel_map(6, Some(0x3F))
    }
}
