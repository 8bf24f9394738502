//! `segment-encode package`: a segmented ladder directory as a servable DASH directory: per
//! rung an initialisation segment and one CMAF media segment per streaming segment, the MPD,
//! and abr-sim's manifest of the same segments; with `--audio`, Opus rungs in CMAF cut at the
//! same segment starts (`audio::opus_dash`) and their adaptation set.

use std::path::Path;

use anyhow::{Context, bail};
use segment_encode::audio::cut::{self, Ratio};
use segment_encode::audio::opus_dash::{self, DashAudio};
use segment_encode::audio::{Decoder, opus_ladder};
use segment_encode::cmaf::{self, AudioRepresentation, Representation, Sample};
use segment_encode::encode::{self, EncodeSettings};
use segment_encode::ladder::abr_manifest::{
    self, AudioInput, AudioLadder, AudioRung, AudioRungSegment, AudioSegment, Manifest,
    VideoLadder, Which,
};
use segment_encode::ladder::grid::scaled_header;
use segment_encode::ladder::output::{self, OutputError, io_error};
use segment_encode::mp4::{self, Mp4Track};
use segment_encode::{ivf, obu, y4m};
use serde::Deserialize;

use super::PackageArgs;
use super::audio::{note_length_mismatch, samples_bar};

/// The audio source, opened and checked before anything is written.
struct AudioSource {
    name: String,
    decoder: Decoder,
    kbps: Vec<u32>,
    max_pad: u64,
}

/// What `package` reads of `ladder.json` beyond what the abr manifest reads.
#[derive(Debug, Deserialize)]
struct Ladder {
    header: String,
    speed: u8,
    keyint: u64,
    frames: u64,
    segment_frames: Option<u64>,
    segments: Option<Vec<Segment>>,
    rungs: Vec<Rung>,
}

#[derive(Debug, Deserialize)]
struct Segment {
    start: u64,
    end: u64,
    first: usize,
    units: usize,
}

#[derive(Debug, Deserialize)]
struct Rung {
    dir: String,
    scenes: Vec<Unit>,
}

#[derive(Debug, Deserialize)]
struct Unit {
    width: usize,
    height: usize,
    file: String,
}

fn bad(path: &Path, e: impl std::fmt::Display) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        error: std::io::Error::other(e.to_string()),
    }
}

pub fn run(a: PackageArgs) -> anyhow::Result<()> {
    let json_path = a.ladder.join("ladder.json");
    let name = json_path.display().to_string();
    let text = std::fs::read_to_string(&json_path).with_context(|| format!("reading {name}"))?;
    let l: Ladder =
        serde_json::from_str(&text).with_context(|| format!("{name}: not a ladder.json"))?;
    let (Some(seg_frames), Some(segments)) = (l.segment_frames, &l.segments) else {
        bail!(
            "{name}: the ladder has no fixed-length segments; make it with `segment-encode \
             ladder --segment-seconds S` (e.g. 2)"
        );
    };
    let video: VideoLadder =
        serde_json::from_str(&text).with_context(|| format!("{name}: not a ladder.json"))?;
    let mut abr = Manifest {
        video: abr_manifest::video_track(&video, Which::Hull, "psnr_y")
            .with_context(|| name.clone())?,
        audio: None,
    };
    let header =
        y4m::parse_header(l.header.as_bytes()).with_context(|| format!("{name}: header"))?;
    let settings = EncodeSettings {
        speed: l.speed,
        keyint: l.keyint,
        tiles: Some(1),
        ..EncodeSettings::default()
    };
    let (num, den) = (header.fps.num, header.fps.den);
    let sample_delta = u32::try_from(den).context("frame rate denominator")?;
    let timescale = u32::try_from(num).context("frame rate numerator")?;
    let seconds = |frames: u64| frames as f64 * den as f64 / num as f64;
    let fps_ratio = Ratio { num, den };
    let mut audio = match &a.audio {
        Some(path) => Some(open_audio(&a, path, fps_ratio)?),
        None => None,
    };
    super::output::check_parent(&a.output, "-o")?;

    let mut reps = Vec::new();
    let mut audio_done: Option<DashAudio> = None;
    output::write_dir::<anyhow::Error>(&a.output, |dir| {
        for (r, rung) in l.rungs.iter().enumerate() {
            let rung_out = dir.join(&rung.dir);
            std::fs::create_dir(&rung_out).map_err(io_error(&rung_out))?;
            // The init segment describes the rung's largest picture; smaller units bring
            // their own sequence header in their first packet.
            let top = rung
                .scenes
                .iter()
                .max_by_key(|u| u.width * u.height)
                .ok_or_else(|| bad(&json_path, format!("rung {r} has no units")))?;
            let scaled = scaled_header(&header, top.width, top.height)
                .map_err(|e| bad(&json_path, format!("rung {r}: {e}")))?;
            let av1c = encode::codec_config(&scaled, &settings)
                .map_err(|e| bad(&json_path, format!("rung {r}: {e}")))?;
            let track = Mp4Track {
                width: u16::try_from(top.width).unwrap_or(u16::MAX),
                height: u16::try_from(top.height).unwrap_or(u16::MAX),
                timescale,
                sample_delta,
                sample_sizes: Vec::new(),
                sync_samples: Vec::new(),
                data_offset: 0,
                av1c: av1c.clone(),
            };
            let init = rung_out.join("init.mp4");
            let bytes = [cmaf::init_ftyp(), mp4::moov_fragmented(&track)].concat();
            std::fs::write(&init, bytes).map_err(io_error(&init))?;
            let mut peak_bps = 0.0f64;
            for (s, seg) in segments.iter().enumerate() {
                let units = rung
                    .scenes
                    .get(seg.first..seg.first + seg.units)
                    .ok_or_else(|| {
                        bad(
                            &json_path,
                            format!("rung {r}: segment {s} names units the rung does not have"),
                        )
                    })?;
                let files: Vec<(std::path::PathBuf, Vec<u8>)> = units
                    .iter()
                    .map(|u| {
                        let p = a.ladder.join(&u.file);
                        std::fs::read(&p)
                            .map(|b| (p.clone(), b))
                            .map_err(io_error(&p))
                    })
                    .collect::<Result<_, _>>()?;
                let mut samples = Vec::new();
                for (path, bytes) in &files {
                    let (_, frames) = ivf::parse(bytes).map_err(|e| bad(path, e))?;
                    for (i, f) in frames.iter().enumerate() {
                        samples.push(Sample {
                            data: obu::strip_temporal_delimiters(f.data),
                            keyframe: i == 0,
                            duration: sample_delta,
                        });
                    }
                }
                if samples.len() as u64 != seg.end - seg.start {
                    return Err(anyhow::Error::from(bad(
                        &files[0].0,
                        format!(
                            "rung {r}, segment {s}: {} frames in its files, frames {}..{} \
                             in ladder.json",
                            samples.len(),
                            seg.start,
                            seg.end
                        ),
                    )));
                }
                let bits: usize = samples.iter().map(|x| x.data.len() * 8).sum();
                peak_bps = peak_bps.max(bits as f64 / seconds(seg.end - seg.start));
                let out = rung_out.join(cmaf::segment_file(s + 1));
                let bytes = cmaf::media_segment(s as u32 + 1, seg.start * den, &samples);
                std::fs::write(&out, bytes).map_err(io_error(&out))?;
            }
            reps.push(Representation {
                id: rung.dir.clone(),
                bandwidth: peak_bps.ceil() as u64,
                width: top.width,
                height: top.height,
                codecs: cmaf::av1_codecs(&av1c).unwrap_or_else(|| "av01".into()),
            });
        }
        let fps = if den == 1 {
            num.to_string()
        } else {
            format!("{num}/{den}")
        };
        let mut audio_reps = Vec::new();
        if let Some(input) = audio.as_mut() {
            let starts: Vec<u64> = segments
                .iter()
                .map(|s| cut::frame_to_sample(s.start, 48_000, fps_ratio))
                .collect();
            let total = cut::frame_to_sample(l.frames, 48_000, fps_ratio);
            let bar = samples_bar(input.decoder.info().frames, 48_000);
            let done = opus_dash::encode(
                &mut input.decoder,
                &starts,
                total,
                &input.kbps,
                input.max_pad,
                dir,
                &|n| bar.set_position(n),
            )
            .with_context(|| input.name.clone())?;
            bar.finish_and_clear();
            for r in &done.rungs {
                audio_reps.push(AudioRepresentation {
                    id: r.dir.clone(),
                    bandwidth: r.peak_bps,
                    channels: r.channels,
                    sample_rate: 48_000,
                    codecs: "opus".into(),
                });
            }
            abr.audio = Some(
                abr_manifest::audio_track(&abr_audio(&done, &starts))
                    .with_context(|| format!("{}: the audio track", input.name))?,
            );
            audio_done = Some(done);
        }
        let mpd = cmaf::mpd_with_audio(
            &reps,
            &audio_reps,
            num,
            seg_frames * den,
            &fps,
            seconds(l.frames),
        );
        let mpd_path = dir.join("manifest.mpd");
        std::fs::write(&mpd_path, mpd).map_err(io_error(&mpd_path))?;
        let abr_path = dir.join("abr-manifest.json");
        let json = serde_json::to_string_pretty(&abr).unwrap_or_default() + "\n";
        std::fs::write(&abr_path, json).map_err(io_error(&abr_path))?;
        Ok(())
    })?;
    if !a.quiet {
        eprintln!(
            "DASH ladder -> {}: {} representations x {} segments of {:.3} s (manifest.mpd, \
             abr-manifest.json)",
            a.output.display(),
            reps.len(),
            segments.len(),
            seconds(seg_frames)
        );
        if let Some(d) = &audio_done {
            let kbps: Vec<String> = d.rungs.iter().map(|r| format!("{:.1}", r.kbps)).collect();
            eprintln!(
                "audio: {} Hz {} ch -> {} Opus rungs ({} kbit/s measured), {} samples presented",
                d.input.sample_rate,
                d.input.channels,
                d.rungs.len(),
                kbps.join(", "),
                d.samples
            );
        }
    }
    if let Some(d) = &audio_done {
        note_length_mismatch(d.padded_samples, d.dropped_samples, 48_000);
    }
    Ok(())
}

fn open_audio(a: &PackageArgs, path: &Path, fps: Ratio) -> anyhow::Result<AudioSource> {
    let name = path.display().to_string();
    let decoder = Decoder::open(path, a.audio_track).with_context(|| name.clone())?;
    let info = decoder.info().clone();
    let kbps = if a.audio_bitrates.is_empty() {
        opus_ladder::default_kbps(info.channels)
    } else {
        a.audio_bitrates.clone()
    };
    opus_ladder::check(&info, &kbps).with_context(|| name.clone())?;
    let max_pad = match a.max_pad_ms {
        Some(ms) if ms.is_finite() && ms >= 0.0 => {
            (ms / 1000.0 * f64::from(info.sample_rate)).round() as u64
        }
        Some(ms) => bail!("--max-pad-ms {ms}: not a number of milliseconds"),
        None => cut::frame_to_sample(1, info.sample_rate, fps),
    };
    Ok(AudioSource {
        name,
        decoder,
        kbps,
        max_pad,
    })
}

/// The audio rungs as the abr manifest reads an audio ladder: each segment's nominal length
/// (the video segment's) and its file's real size.
fn abr_audio(d: &DashAudio, starts: &[u64]) -> AudioLadder {
    let ends = starts
        .iter()
        .skip(1)
        .copied()
        .chain(std::iter::once(d.samples));
    AudioLadder {
        input: AudioInput {
            sample_rate: 48_000,
        },
        segments: starts
            .iter()
            .zip(ends)
            .map(|(s, e)| AudioSegment { samples: e - s })
            .collect(),
        rungs: d
            .rungs
            .iter()
            .map(|r| AudioRung {
                kbps: r.kbps,
                segments: r
                    .segment_bytes
                    .iter()
                    .map(|&bytes| AudioRungSegment { bytes })
                    .collect(),
            })
            .collect(),
    }
}
