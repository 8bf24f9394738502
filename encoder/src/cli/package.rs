//! `segment-encode package`: a segmented ladder directory as a servable DASH directory: per
//! rung an initialisation segment and one CMAF media segment per streaming segment, the MPD,
//! and abr-sim's manifest of the same segments.

use std::path::Path;

use anyhow::{Context, bail};
use segment_encode::cmaf::{self, Representation, Sample};
use segment_encode::encode::{self, EncodeSettings};
use segment_encode::ladder::abr_manifest::{self, Manifest, VideoLadder, Which};
use segment_encode::ladder::grid::scaled_header;
use segment_encode::ladder::output::{self, OutputError, io_error};
use segment_encode::mp4::{self, Mp4Track};
use segment_encode::{ivf, obu, y4m};
use serde::Deserialize;

use super::PackageArgs;

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
    let abr = Manifest {
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

    let mut reps = Vec::new();
    output::write_dir::<OutputError>(&a.output, |dir| {
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
                    return Err(bad(
                        &files[0].0,
                        format!(
                            "rung {r}, segment {s}: {} frames in its files, frames {}..{} \
                             in ladder.json",
                            samples.len(),
                            seg.start,
                            seg.end
                        ),
                    ));
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
        let mpd = cmaf::mpd(&reps, num, seg_frames * den, &fps, seconds(l.frames));
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
    }
    Ok(())
}
