//! `segment-encode audio-ladder`: the source's audio cut at the video's segment boundaries and
//! encoded with Opus at every rung, one Ogg Opus file per segment and rung, written as a new
//! directory all or nothing.

use std::time::Instant;

use anyhow::{Context, bail};
use segment_encode::audio::cut::{self, Ratio};
use segment_encode::audio::opus_ladder::{self, AudioLadderReport};
use segment_encode::audio::{Boundaries, Decoder};
use segment_encode::ladder::output;

use super::AudioLadderArgs;
use super::audio::{note_length_mismatch, read_scenes, samples_bar};

pub fn run(a: AudioLadderArgs) -> anyhow::Result<()> {
    let input = a.input.display().to_string();
    let mut decoder = Decoder::open(&a.input, a.track).with_context(|| input.clone())?;
    let info = decoder.info().clone();
    let rate = info.sample_rate;
    let kbps = if a.bitrates.is_empty() {
        opus_ladder::default_kbps(info.channels)
    } else {
        a.bitrates.clone()
    };
    opus_ladder::check(&info, &kbps).with_context(|| input.clone())?;
    let scenes = match &a.scenes {
        Some(path) => Some(read_scenes(path)?),
        None => None,
    };
    let seconds = a
        .segment_seconds
        .as_deref()
        .map(Ratio::parse_seconds)
        .transpose()?;
    let scenes_name = a
        .scenes
        .as_deref()
        .map_or_else(String::new, |p| p.display().to_string());
    let (bounds, frame_samples) = match (&scenes, seconds) {
        (Some((list, fps)), None) => {
            let ranges: Vec<(u64, u64)> = list.scenes.iter().map(|s| (s.start, s.end)).collect();
            let b = Boundaries::from_scenes(&ranges, rate, *fps).context(scenes_name)?;
            (b, cut::frame_to_sample(1, rate, *fps))
        }
        (Some((list, fps)), Some(s)) => (
            Boundaries::every(s, rate, Some(cut::frame_to_sample(list.frames, rate, *fps)))?,
            cut::frame_to_sample(1, rate, *fps),
        ),
        (None, Some(s)) => (Boundaries::every(s, rate, None)?, 0),
        (None, None) => bail!("give --scenes (the video's scene list) or --segment-seconds"),
    };
    let max_pad = match a.max_pad_ms {
        Some(ms) if ms.is_finite() && ms >= 0.0 => (ms / 1000.0 * f64::from(rate)).round() as u64,
        Some(ms) => bail!("--max-pad-ms {ms}: not a number of milliseconds"),
        None => frame_samples,
    };
    super::output::check_parent(&a.output, "-o")?;
    let bar = samples_bar(info.frames, rate);
    let started = Instant::now();
    let mut report = None;
    output::write_dir(&a.output, |dir| -> anyhow::Result<()> {
        let r = opus_ladder::encode(&mut decoder, &bounds, &kbps, max_pad, dir, &|done| {
            bar.set_position(done)
        })
        .with_context(|| input.clone())?;
        let json = serde_json::to_string_pretty(&r)? + "\n";
        let path = dir.join("audio-ladder.json");
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
        report = Some(r);
        Ok(())
    })?;
    bar.finish_and_clear();
    let Some(report) = report else {
        bail!("the audio ladder was not written");
    };
    let elapsed = started.elapsed().as_secs_f64();
    print_table(&report);
    let audio_seconds = report.decoded_samples as f64 / f64::from(rate);
    eprintln!(
        "{input}: {} {} Hz {} ch, {audio_seconds:.3} s cut into {} segments and encoded at {} \
         rungs with {} in {elapsed:.3} s ({:.0}x realtime)",
        info.codec,
        rate,
        info.channels,
        report.segments.len(),
        report.rungs.len(),
        report.encoder,
        audio_seconds / elapsed.max(1e-9)
    );
    note_length_mismatch(report.padded_samples, report.dropped_samples, rate);
    eprintln!("audio ladder -> {}", a.output.display());
    Ok(())
}

fn print_table(r: &AudioLadderReport) {
    let mut head = format!(
        "{:>5} {:>13} {:>9} {:>10} {:>8} {:>9}",
        "index", "frames", "samples", "seconds", "LUFS", "peak dBFS"
    );
    for rung in &r.rungs {
        head.push_str(&format!(" {:>10}", format!("{}k kbps", rung.target_kbps)));
    }
    println!("{head}");
    for (i, s) in r.segments.iter().enumerate() {
        let frames = s
            .video_frames
            .map_or("-".to_string(), |(a, b)| format!("{a}..{b}"));
        let lufs = s.lufs.map_or("-".to_string(), |l| format!("{l:.2}"));
        let peak = s
            .peak_dbfs
            .map_or("-inf".to_string(), |p| format!("{p:.2}"));
        let mut line = format!(
            "{:>5} {:>13} {:>9} {:>10.6} {:>8} {:>9}",
            s.index, frames, s.samples, s.seconds, lufs, peak
        );
        for rung in &r.rungs {
            let k = rung.segments.get(i).map_or(0.0, |g| g.kbps);
            line.push_str(&format!(" {k:>10.1}"));
        }
        println!("{line}");
    }
    let mut total = format!("{:>58}", "all");
    for rung in &r.rungs {
        total.push_str(&format!(" {:>10.1}", rung.kbps));
    }
    println!("{total}");
}
