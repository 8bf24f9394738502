//! `segment-encode status JOB`: done, in flight, waiting, failed; rate, ETA, workers needed.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use segment_encode::fleet::estimate::{self, Finished, Status};
use segment_encode::fleet::job::{DoneRecord, ErrorRecord, JobRecord, keys};
use segment_encode::fleet::store::FleetStore;

use super::StatusArgs;

pub fn run(a: StatusArgs) -> anyhow::Result<()> {
    super::runtime()?.block_on(async {
        let store = a.store.open().await?;
        let (record, _) = super::read_job(&store, &a.job).await?;
        let queue_url = match &a.queue {
            Some(q) => Some(q.clone()),
            None => super::submitted_queue(&store, &a.job).await?,
        };
        let queue = match &queue_url {
            Some(url) => Some(a.sqs.queue(url).await),
            None => None,
        };
        loop {
            let in_flight = match &queue {
                Some(q) => Some(q.info().await?.in_flight),
                None => None,
            };
            let (status, errors) = gather(&store, &record, in_flight, &a).await?;
            if a.json {
                let json = serde_json::json!({
                    "job": record.job,
                    "object": record.object,
                    "status": status,
                    "errors": errors,
                });
                println!("{json}");
            } else {
                print_human(&record, &status, &errors);
            }
            let settled = status.done + status.failed.len() == status.scenes;
            match a.watch {
                Some(every) if !settled => tokio::time::sleep(Duration::from_secs(every)).await,
                _ => return Ok(()),
            }
        }
    })
}

async fn gather(
    store: &FleetStore,
    record: &JobRecord,
    in_flight: Option<u64>,
    a: &StatusArgs,
) -> anyhow::Result<(Status, Vec<ErrorRecord>)> {
    let job = &record.job;
    let done: BTreeSet<usize> = store
        .list(&keys::chunks(job))
        .await?
        .iter()
        .filter_map(|(k, _)| keys::scene_of(k))
        .collect();
    let finished: Vec<DoneRecord> = read_all(store, &keys::done_dir(job)).await?;
    let errors: Vec<ErrorRecord> = read_all(store, &keys::errors(job)).await?;
    let failed: BTreeSet<usize> = errors
        .iter()
        .filter(|e| e.is_final())
        .map(|e| e.scene)
        .collect();
    let frames: Vec<u64> = record
        .scenes
        .scenes
        .iter()
        .map(|s| s.end - s.start)
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let finished: Vec<Finished> = finished
        .iter()
        .filter(|d| done.contains(&d.scene))
        .map(|d| Finished {
            frames: d.frames,
            seconds: d.seconds,
            finished_unix: d.finished_unix,
        })
        .collect();
    let status = estimate::status(
        &frames,
        &done,
        &failed,
        &finished,
        in_flight,
        now,
        a.window.as_secs_f64(),
        a.target.as_secs_f64(),
    );
    let errors = errors
        .into_iter()
        .filter(|e| !done.contains(&e.scene))
        .collect();
    Ok((status, errors))
}

/// Every JSON record under `prefix`, read 16 at a time; unreadable ones are skipped (a
/// record being replaced is read again on the next look).
async fn read_all<T: serde::de::DeserializeOwned>(
    store: &FleetStore,
    prefix: &str,
) -> anyhow::Result<Vec<T>> {
    let keys = store.list(prefix).await?;
    let reads = futures::stream::iter(keys)
        .map(|(k, _)| async move { store.get(&k).await })
        .buffered(16)
        .collect::<Vec<_>>()
        .await;
    let mut out = Vec::new();
    for r in reads {
        if let Some(bytes) = r?
            && let Ok(v) = serde_json::from_slice(&bytes)
        {
            out.push(v);
        }
    }
    Ok(out)
}

fn print_human(record: &JobRecord, s: &Status, errors: &[ErrorRecord]) {
    let secs = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.0} s"));
    let fps = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.1} fps"));
    println!(
        "job {}: {} ({} scenes, {} frames)",
        record.job, record.object, s.scenes, s.frames
    );
    println!(
        "  done {}, in flight {}, waiting {}, failed {}",
        s.done,
        s.in_flight,
        s.waiting,
        s.failed.len()
    );
    println!(
        "  frames done {}/{}; per worker {}, fleet {}; ETA {}",
        s.frames_done,
        s.frames,
        fps(s.worker_fps),
        fps(s.fleet_fps),
        secs(s.eta_seconds)
    );
    println!(
        "  workers needed to finish within {:.0} s: {}",
        s.target_seconds, s.workers_needed
    );
    for e in errors {
        let state = if e.is_final() {
            "failed, in the dead-letter queue"
        } else {
            "failing, will be retried"
        };
        println!(
            "  scene {} {state} (attempt {} of {}): {}",
            e.scene,
            e.attempt,
            e.max_attempts.map_or("-".into(), |m| m.to_string()),
            e.error
        );
    }
}
