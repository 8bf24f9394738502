//! One rav1e encode of a run of frames: the settings, the rav1e configuration made from them,
//! and the send/receive loop. This is the only module that talks to rav1e's encoder.
//!
//! Exactness rests on three choices: rav1e's own scene detection is off (keyframes come only
//! from our scene starts, or every `keyint` frames counted from them), the first frame of every
//! scene is a keyframe, and a single-pass encode of the whole clip forces keyframes at the same
//! frames. With a fixed quantizer each scene then codes exactly as it does inside the whole
//! clip, so the joined stream is byte-identical to one pass.

use std::ops::Range;
use std::time::Instant;

use rav1e::prelude::*;

use crate::psnr::PsnrSums;
use crate::source::{SourceError, Y4mFile};
use crate::workdir::Packet;
use crate::y4m::Y4mHeader;

/// Encoder settings that decide the output bytes (plus `psnr`, which only measures).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EncodeSettings {
    /// rav1e speed preset, 0 (slowest) to 10 (fastest).
    pub speed: u8,
    /// Fixed quantizer 0-255, used when no bitrate is set.
    pub quantizer: u8,
    /// Target bitrate in kbit/s (rate control per scene).
    pub bitrate_kbps: Option<u32>,
    /// Tiles per frame; `None` lets the scheduler choose (1 while scenes outnumber workers),
    /// which makes the bytes depend on timing, so the default is 1.
    pub tiles: Option<usize>,
    /// Maximum frames between keyframes within a scene; 0 means only at scene starts.
    pub keyint: u64,
    /// Measure PSNR of the reconstruction against the source.
    pub psnr: bool,
}

impl Default for EncodeSettings {
    fn default() -> Self {
        EncodeSettings {
            speed: 6,
            quantizer: 100,
            bitrate_kbps: None,
            tiles: Some(1),
            keyint: 0,
            psnr: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    #[error("invalid encoder settings")]
    Config(#[from] InvalidConfig),
    #[error("rav1e failed: {0:?}")]
    Encoder(EncoderStatus),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("speed must be 0-10, got {0}")]
    Speed(u8),
}

/// The rav1e configuration for `header`'s geometry with `tiles` tiles, on `threads` threads
/// (0: run on the caller's rayon pool, which is how workers share cores with tiles).
pub fn rav1e_config(
    header: &Y4mHeader,
    settings: &EncodeSettings,
    tiles: usize,
    threads: usize,
) -> Result<Config, EncodeError> {
    if settings.speed > 10 {
        return Err(EncodeError::Speed(settings.speed));
    }
    let mut enc = EncoderConfig::with_speed_preset(settings.speed);
    enc.width = header.width;
    enc.height = header.height;
    enc.bit_depth = usize::from(header.depth.0);
    enc.chroma_sampling = ChromaSampling::Cs420;
    enc.time_base = Rational::new(header.fps.den, header.fps.num);
    enc.sample_aspect_ratio = Rational::new(header.aspect.num, header.aspect.den);
    enc.speed_settings.scene_detection_mode = SceneDetectionSpeed::None;
    // Max 0 means "no limit": keyframes then come only from scene starts.
    enc.set_key_frame_interval(0, settings.keyint);
    enc.quantizer = usize::from(settings.quantizer);
    enc.bitrate = settings.bitrate_kbps.map_or(0, |k| {
        i32::try_from(u64::from(k) * 1000).unwrap_or(i32::MAX)
    });
    enc.tiles = tiles.max(1);
    let config = Config::new().with_encoder_config(enc).with_threads(threads);
    config.validate()?;
    Ok(config)
}

/// What one encode produced.
#[derive(Debug)]
pub struct Encoded {
    pub packets: Vec<Packet>,
    pub seconds: f64,
    /// Mean PSNR (Y, U, V) over the frames, when asked for.
    pub psnr: Option<[f64; 3]>,
}

/// Encodes frames `frames` of `source` in one rav1e context. `forced_keys` are frame numbers
/// (global) that must be keyframes besides the first; `on_frame` is called per packet.
pub fn encode_frames(
    config: &Config,
    source: &Y4mFile,
    frames: Range<u64>,
    forced_keys: &[u64],
    psnr: bool,
    on_frame: &(dyn Fn() + Sync),
) -> Result<Encoded, EncodeError> {
    encode_observed(config, source, frames, forced_keys, psnr, None, on_frame)
}

/// Sees each reconstructed frame (what a decoder will show): its global frame number and its
/// luma plane (visible area, row-packed, 16-bit samples).
pub type ReconObserver<'a> = &'a mut dyn FnMut(u64, &[u16]) -> Result<(), SourceError>;

/// [`encode_frames`] that also hands every reconstructed frame to `recon` (the ladder measures
/// quality on them); an error from `recon` stops the encode.
pub fn encode_observed(
    config: &Config,
    source: &Y4mFile,
    frames: Range<u64>,
    forced_keys: &[u64],
    psnr: bool,
    mut recon: Option<ReconObserver<'_>>,
    on_frame: &(dyn Fn() + Sync),
) -> Result<Encoded, EncodeError> {
    if source.header().depth.bytes_per_sample() == 2 {
        encode_typed::<u16>(
            config,
            source,
            frames,
            forced_keys,
            psnr,
            &mut recon,
            on_frame,
        )
    } else {
        encode_typed::<u8>(
            config,
            source,
            frames,
            forced_keys,
            psnr,
            &mut recon,
            on_frame,
        )
    }
}

fn encode_typed<T: Pixel>(
    config: &Config,
    source: &Y4mFile,
    frames: Range<u64>,
    forced_keys: &[u64],
    psnr: bool,
    recon: &mut Option<ReconObserver<'_>>,
    on_frame: &(dyn Fn() + Sync),
) -> Result<Encoded, EncodeError> {
    let started = Instant::now();
    let header = source.header();
    let mut ctx: Context<T> = config.new_context()?;
    let mut out = Vec::with_capacity((frames.end - frames.start) as usize);
    let mut sums = psnr.then(|| PsnrSums::new(header.depth.0));
    let mut buf = Vec::new();
    for index in frames.clone() {
        let planes = source.read_frame(index, &mut buf)?;
        let mut frame = ctx.new_frame();
        fill_frame(&mut frame, planes, header);
        let params = FrameParameters {
            frame_type_override: if forced_keys.contains(&index) {
                FrameTypeOverride::Key
            } else {
                FrameTypeOverride::No
            },
            ..Default::default()
        };
        ctx.send_frame((frame, params))
            .map_err(EncodeError::Encoder)?;
        drain(
            &mut ctx,
            frames.start,
            &mut out,
            &mut sums,
            recon,
            on_frame,
            false,
        )?;
    }
    ctx.flush();
    drain(
        &mut ctx,
        frames.start,
        &mut out,
        &mut sums,
        recon,
        on_frame,
        true,
    )?;
    Ok(Encoded {
        packets: out,
        seconds: started.elapsed().as_secs_f64(),
        psnr: sums.map(|s| s.mean_db()),
    })
}

/// Takes every packet rav1e has ready; after a flush, until the end.
fn drain<T: Pixel>(
    ctx: &mut Context<T>,
    first: u64,
    out: &mut Vec<Packet>,
    sums: &mut Option<PsnrSums>,
    recon: &mut Option<ReconObserver<'_>>,
    on_frame: &(dyn Fn() + Sync),
    flushing: bool,
) -> Result<(), EncodeError> {
    let mut luma = Vec::new();
    loop {
        match ctx.receive_packet() {
            Ok(p) => {
                if let (Some(observe), Some(rec)) = (recon.as_mut(), &p.rec) {
                    let plane = &rec.planes[0];
                    let (w, h) = (plane.cfg.width, plane.cfg.height);
                    luma.clear();
                    for row in plane.rows_iter().take(h) {
                        luma.extend(row[..w].iter().map(|&v| u16::cast_from(v)));
                    }
                    observe(first + p.input_frameno, &luma)?;
                }
                if let (Some(sums), Some(rec), Some(src)) = (sums.as_mut(), &p.rec, &p.source) {
                    for plane in 0..3 {
                        sums.add_plane(plane, &rec.planes[plane], &src.planes[plane]);
                    }
                    sums.end_frame();
                }
                out.push(Packet {
                    pts: first + p.input_frameno,
                    keyframe: p.frame_type == FrameType::KEY,
                    data: p.data,
                });
                on_frame();
            }
            Err(EncoderStatus::Encoded) => continue,
            Err(EncoderStatus::NeedMoreData) if !flushing => return Ok(()),
            Err(EncoderStatus::LimitReached) => return Ok(()),
            Err(status) => return Err(EncodeError::Encoder(status)),
        }
    }
}

/// Copies Y4M planes (Y, U, V, each row-packed) into a rav1e frame.
fn fill_frame<T: Pixel>(frame: &mut Frame<T>, planes: &[u8], header: &Y4mHeader) {
    let bps = header.depth.bytes_per_sample();
    let luma = header.width * header.height * bps;
    let chroma = header.chroma_width() * header.chroma_height() * bps;
    frame.planes[0].copy_from_raw_u8(&planes[..luma], header.width * bps, bps);
    frame.planes[1].copy_from_raw_u8(
        &planes[luma..luma + chroma],
        header.chroma_width() * bps,
        bps,
    );
    frame.planes[2].copy_from_raw_u8(&planes[luma + chroma..], header.chroma_width() * bps, bps);
}

/// The AV1 codec configuration record (`av1C`) for these settings, for MP4 and WebM.
pub fn codec_config(header: &Y4mHeader, settings: &EncodeSettings) -> Result<Vec<u8>, EncodeError> {
    let config = rav1e_config(header, settings, 1, 1)?;
    Ok(if header.depth.bytes_per_sample() == 2 {
        config.new_context::<u16>()?.container_sequence_header()
    } else {
        config.new_context::<u8>()?.container_sequence_header()
    })
}
