//! `segment-encode assemble JOB -o OUT`: every chunk checked (checksum, job, scene, frames),
//! then joined; missing or damaged scenes are named and nothing is written.

use std::collections::BTreeSet;

use anyhow::bail;
use segment_encode::encode;
use segment_encode::fleet::chunk;
use segment_encode::fleet::job::keys;
use segment_encode::mux;

use super::AssembleArgs;
use crate::cli::output::Partial;

pub fn run(a: AssembleArgs) -> anyhow::Result<()> {
    mux::Container::from_path(&a.output)?;
    let rt = super::runtime()?;
    let store = rt.block_on(a.store.open())?;
    let (record, header) = rt.block_on(super::read_job(&store, &a.job))?;
    let job = &record.job;
    let scenes = record.scenes.scenes();
    let listed: BTreeSet<usize> = rt
        .block_on(store.list(&keys::chunks(job)))?
        .iter()
        .filter_map(|(k, _)| keys::scene_of(k))
        .collect();
    let missing: Vec<usize> = (0..scenes.len()).filter(|i| !listed.contains(i)).collect();
    if !missing.is_empty() {
        bail!(
            "job {job}: {} of {} scenes have no chunk yet: {}; nothing written (see \
             `segment-encode status {job}`)",
            missing.len(),
            scenes.len(),
            list(&missing)
        );
    }
    let av1c = encode::codec_config(&header, &record.settings)?;
    let partial = Partial::new(&a.output);
    let damaged = std::cell::RefCell::new(Vec::<(usize, String)>::new());
    let bar = super::super::progress::frames_bar(record.scenes.frames, "assemble");
    if a.quiet {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let batches = scenes.iter().map(|scene| {
        let read = rt
            .block_on(store.get(&keys::chunk(job, scene.index)))
            .map_err(|e| e.to_string())
            .and_then(|b| b.ok_or_else(|| "deleted while assembling".to_string()))
            .and_then(|b| chunk::decode(&b, job, scene).map_err(|e| e.to_string()));
        match read {
            Ok(p) => {
                bar.inc(scene.len());
                Ok(p)
            }
            Err(e) => {
                damaged.borrow_mut().push((scene.index, e.clone()));
                Err(format!("scene {}: {e}", scene.index))
            }
        }
    });
    let written = mux::write_output(
        partial.writing(),
        &header,
        &av1c,
        record.scenes.frames,
        batches,
    );
    bar.finish_and_clear();
    if written.is_err() {
        // Name every damaged chunk, not only the first.
        let first = damaged.borrow().last().map_or(0, |d| d.0 + 1);
        for scene in &scenes[first.min(scenes.len())..] {
            let bytes = rt.block_on(store.get(&keys::chunk(job, scene.index)))?;
            let check = bytes.ok_or_else(|| "missing".to_string()).and_then(|b| {
                chunk::decode(&b, job, scene)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = check {
                damaged.borrow_mut().push((scene.index, e));
            }
        }
    }
    let damaged = damaged.into_inner();
    if !damaged.is_empty() {
        let lines: Vec<String> = damaged
            .iter()
            .map(|(i, e)| format!("  scene {i}: {e}"))
            .collect();
        bail!(
            "job {job}: {} damaged chunk(s); nothing written (encode them again: \
             `segment-encode requeue {job} --missing`)\n{}",
            damaged.len(),
            lines.join("\n")
        );
    }
    written?;
    partial.commit()?;
    if !a.quiet {
        let bytes = std::fs::metadata(&a.output).map_or(0, |m| m.len());
        eprintln!(
            "{}: {} scenes, {} frames, {bytes} bytes (job {job})",
            a.output.display(),
            scenes.len(),
            record.scenes.frames
        );
    }
    Ok(())
}

fn list(scenes: &[usize]) -> String {
    let shown: Vec<String> = scenes.iter().take(50).map(|i| i.to_string()).collect();
    let more = scenes.len().saturating_sub(50);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
