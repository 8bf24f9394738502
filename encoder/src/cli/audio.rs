//! `segment-encode audio`: probe a file's audio, or cut it into segments aligned with the
//! video's scenes (or fixed-length segments), measure them and write them as WAV.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use segment_encode::SceneList;
use segment_encode::audio::cut::{self, Ratio};
use segment_encode::audio::{AudioInfo, Boundaries, Decoder, SplitReport, split};

use segment_encode::audio::OutputFormat;

use super::{AudioArgs, AudioFormat};

pub fn run(a: AudioArgs) -> anyhow::Result<()> {
    let input = a.input.display().to_string();
    let mut decoder = Decoder::open(&a.input, a.track).with_context(|| input.clone())?;
    let info = decoder.info().clone();
    if a.scenes.is_none() && a.segment_seconds.is_none() {
        if a.output.is_some() || a.report.is_some() {
            bail!("-o and --report need --scenes or --segment-seconds (what to cut at)");
        }
        print_info(&input, &info);
        return Ok(());
    }
    let rate = info.sample_rate;
    let scenes = match &a.scenes {
        Some(path) => Some(read_scenes(path)?),
        None => None,
    };
    let seconds = a
        .segment_seconds
        .as_deref()
        .map(Ratio::parse_seconds)
        .transpose()?;
    let bounds = match (&scenes, seconds) {
        (Some((list, fps)), None) => {
            let ranges: Vec<(u64, u64)> = list.scenes.iter().map(|s| (s.start, s.end)).collect();
            Boundaries::from_scenes(&ranges, rate, *fps)
                .with_context(|| a.scenes_name().to_string())?
        }
        (Some((list, fps)), Some(s)) => {
            Boundaries::every(s, rate, Some(cut::frame_to_sample(list.frames, rate, *fps)))?
        }
        (None, Some(s)) => Boundaries::every(s, rate, None)?,
        (None, None) => unreachable!("handled above"),
    };
    // A directory made here is removed again if the run fails (it is empty then: segments
    // appear only once all are written).
    let _made = match &a.output {
        Some(dir) if !dir.is_dir() => {
            super::output::check_parent(dir, "-o")?;
            std::fs::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
            Some(RemoveIfEmpty(dir.clone()))
        }
        _ => None,
    };
    let bar = samples_bar(info.frames, rate);
    let started = Instant::now();
    let format = match a.format {
        AudioFormat::Wav => OutputFormat::Wav,
        AudioFormat::Flac => OutputFormat::Flac,
    };
    let report = split(
        &mut decoder,
        &bounds,
        a.output.as_deref(),
        format,
        &|done| bar.set_position(done),
    )
    .with_context(|| input.clone())?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    print_table(&report);
    let audio_seconds = report.decoded_samples as f64 / f64::from(rate);
    eprintln!(
        "{input}: {} {} Hz {} ch, {} samples ({audio_seconds:.3} s) decoded, cut and measured in \
         {elapsed:.3} s ({:.0}x realtime)",
        info.codec,
        rate,
        info.channels,
        report.decoded_samples,
        audio_seconds / elapsed.max(1e-9)
    );
    note_length_mismatch(report.padded_samples, report.dropped_samples, rate);
    if let Some(dir) = &a.output {
        eprintln!("{} segments -> {}", report.segments.len(), dir.display());
    }
    if let Some(path) = &a.report {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A directory this run created: removed on the way out if it is still empty.
struct RemoveIfEmpty(std::path::PathBuf);

impl Drop for RemoveIfEmpty {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

impl AudioArgs {
    fn scenes_name(&self) -> std::borrow::Cow<'_, str> {
        self.scenes
            .as_deref()
            .map_or("scene list".into(), |p| p.to_string_lossy())
    }
}

/// The scene list and its frame rate.
pub(super) fn read_scenes(path: &Path) -> anyhow::Result<(SceneList, Ratio)> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {name}"))?;
    let (list, _header) = SceneList::parse(&text).with_context(|| name.clone())?;
    let fps = Ratio::parse_fps(&list.fps).with_context(|| name.clone())?;
    Ok((list, fps))
}

/// Says when the audio was shorter than the segments (padded) or ran past them (dropped).
pub(super) fn note_length_mismatch(padded: u64, dropped: u64, rate: u32) {
    let seconds = |n: u64| n as f64 / f64::from(rate);
    if dropped > 0 {
        eprintln!(
            "note: the audio runs {dropped} samples ({:.3} s) past the last segment's end; dropped",
            seconds(dropped)
        );
    }
    if padded > 0 {
        eprintln!(
            "note: the audio ends {padded} samples ({:.3} s) before the last segment's end; \
             padded with silence",
            seconds(padded)
        );
    }
}

pub(super) fn samples_bar(total: Option<u64>, rate: u32) -> ProgressBar {
    // Short files finish before a bar is worth drawing.
    if super::progress::quiet() || total.is_none_or(|t| t < u64::from(rate) * 60) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total.unwrap_or(0));
    let style = ProgressStyle::with_template(
        "audio {elapsed_precise} [{bar:36}] {pos}/{len} samples, ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

fn print_info(input: &str, info: &AudioInfo) {
    println!("file:      {input}");
    println!("container: {}", info.container);
    println!(
        "track:     {} of {} audio track(s)",
        info.track, info.audio_tracks
    );
    println!("codec:     {}", info.codec);
    println!("rate:      {} Hz", info.sample_rate);
    match info.channel_mask {
        Some(mask) => println!("channels:  {} (mask {mask:#x})", info.channels),
        None => println!("channels:  {}", info.channels),
    }
    if let Some(bits) = info.bits_per_sample {
        println!("bits:      {bits}");
    }
    match (info.frames, info.seconds) {
        (Some(f), Some(s)) => {
            println!("samples:   {f}");
            println!("duration:  {s:.6} s");
        }
        _ => println!("samples:   unknown (the container does not say)"),
    }
    if let Some(edit) = info.edit {
        match edit.keep {
            Some(k) => println!("edit list: {} priming samples skipped, {k} kept", edit.skip),
            None => println!("edit list: {} priming samples skipped", edit.skip),
        }
    }
    if info.edit_ignored {
        println!("edit list: present but not of a shape this reader applies; ignored");
    }
}

fn print_table(r: &SplitReport) {
    println!(
        "{:>5} {:>13} {:>12} {:>9} {:>10} {:>8} {:>9}",
        "index", "frames", "start", "samples", "seconds", "LUFS", "peak dBFS"
    );
    for s in &r.segments {
        let frames = s
            .video_frames
            .map_or("-".to_string(), |(a, b)| format!("{a}..{b}"));
        let lufs = s.lufs.map_or("-".to_string(), |l| format!("{l:.2}"));
        let peak = s
            .peak_dbfs
            .map_or("-inf".to_string(), |p| format!("{p:.2}"));
        println!(
            "{:>5} {:>13} {:>12} {:>9} {:>10.6} {:>8} {:>9}{}",
            s.index,
            frames,
            s.start_sample,
            s.samples,
            s.seconds,
            lufs,
            peak,
            if s.padded_samples > 0 {
                format!("  ({} padded)", s.padded_samples)
            } else {
                String::new()
            }
        );
    }
}
