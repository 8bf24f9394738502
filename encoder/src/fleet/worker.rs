//! The worker loop: long-poll a message, encode its scene, store the chunk, delete the message.
//!
//! A worker holds no state a restart would lose: the job record is cached per job but always
//! comes from the store, and a message stays on the queue until its chunk is stored. While a
//! scene is read and encoded, the message's visibility is extended (the heartbeat), so no
//! second worker gets it; if the worker dies, the heartbeat stops and the message comes back
//! after the visibility timeout. A scene that fails is hidden for a growing delay and, after
//! the queue's maximum receive count, moved to the dead-letter queue by SQS; its last error is
//! written to `jobs/<job>/errors/<n>`. On SIGTERM (or SIGINT) the worker takes no new message
//! and finishes its scene within the grace period, or makes the message visible again at once.
//! A failed receive is retried after a pause (a few times in a row, see
//! [`policy::receive_retry_delay`]). What the worker does is counted in a [`WorkerMetrics`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::signal::unix::{SignalKind, signal};

use super::FleetError;
use super::chunk;
use super::job::{DoneRecord, ErrorRecord, JobRecord, keys};
use super::message::SceneMessage;
use super::metrics::WorkerMetrics;
use super::policy;
use super::sqs::{Queue, Received};
use super::store::{FleetStore, StoreConfig};
use crate::encode;
use crate::plan::Scene;
use crate::source::Y4mFile;
use crate::y4m::Y4mHeader;

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub store: StoreConfig,
    /// Where a scene's bytes are put while it encodes (one scene at a time).
    pub scratch: PathBuf,
    pub idle_exit: Option<Duration>,
    pub max_scenes: Option<u64>,
    /// Time to finish the current scene after SIGTERM.
    pub grace: Duration,
    pub name: String,
    /// rav1e threads for a scene; 0: all cores (a worker per machine).
    pub threads: usize,
}

/// Why the worker stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    Idle,
    MaxScenes,
    Signal,
}

/// What happened to one message, for the log and the counts.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Encoded(DoneRecord),
    /// The chunk was already stored (a redelivery): the message is deleted, nothing encoded.
    Duplicate {
        scene: usize,
    },
    /// The scene failed; the message is hidden for a retry or goes to the dead-letter queue.
    Failed {
        scene: usize,
        error: String,
        final_attempt: bool,
    },
    /// Stopped by SIGTERM past the grace period: the message is visible again.
    Released {
        scene: usize,
    },
}

/// The job records a worker has read, per store and job.
#[derive(Default)]
struct Jobs {
    stores: HashMap<String, FleetStore>,
    records: HashMap<(String, String), Arc<(JobRecord, Y4mHeader)>>,
}

/// Runs until idle, the scene limit or a signal; fails on a queue, store or job record problem
/// that another message would hit too (the message is made visible again first).
pub async fn run(
    queue: &Queue,
    config: &WorkerConfig,
    metrics: &WorkerMetrics,
    log: &(dyn Fn(String) + Sync),
) -> Result<Stopped, FleetError> {
    let mut jobs = Jobs::default();
    let stopped = poll(queue, config, &mut jobs, metrics, log).await;
    // Copies to the regional cache still running would be lost work for the next worker.
    for store in jobs.stores.values() {
        store.settle(Duration::from_secs(60)).await;
    }
    stopped
}

async fn poll(
    queue: &Queue,
    config: &WorkerConfig,
    jobs: &mut Jobs,
    metrics: &WorkerMetrics,
    log: &(dyn Fn(String) + Sync),
) -> Result<Stopped, FleetError> {
    let info = queue.info().await?;
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| FleetError::Other(format!("SIGTERM handler: {e}")))?;
    let mut int = signal(SignalKind::interrupt())
        .map_err(|e| FleetError::Other(format!("SIGINT handler: {e}")))?;
    let mut handled = 0u64;
    let mut idle_since = Instant::now();
    let mut receive_failures = 0u32;
    log(format!(
        "worker {}: polling {} (visibility timeout {} s, {} receives before the dead-letter queue)",
        config.name,
        queue.url(),
        info.visibility_timeout.as_secs(),
        info.max_receive_count
            .map_or("unlimited".to_string(), |n| n.to_string())
    ));
    loop {
        if config.max_scenes.is_some_and(|m| handled >= m) {
            return Ok(Stopped::MaxScenes);
        }
        let idle_left = policy::idle_left(config.idle_exit, idle_since.elapsed());
        if idle_left == Some(Duration::ZERO) {
            log(format!(
                "no message for {:.0} s: exiting (--idle-exit)",
                idle_since.elapsed().as_secs_f64()
            ));
            return Ok(Stopped::Idle);
        }
        let received = tokio::select! {
            r = queue.receive(policy::receive_wait(idle_left)) => r,
            _ = term.recv() => return Ok(stop_log(log)),
            _ = int.recv() => return Ok(stop_log(log)),
        };
        let received = match received {
            Ok(r) => {
                receive_failures = 0;
                r
            }
            Err(e) => {
                metrics.receive_error();
                receive_failures += 1;
                let Some(pause) = policy::receive_retry_delay(receive_failures) else {
                    return Err(e);
                };
                log(format!(
                    "receiving failed ({receive_failures} in a row), trying again in {} s: {e}",
                    pause.as_secs()
                ));
                tokio::select! {
                    _ = tokio::time::sleep(pause) => continue,
                    _ = term.recv() => return Ok(stop_log(log)),
                    _ = int.recv() => return Ok(stop_log(log)),
                }
            }
        };
        let Some(msg) = received else { continue };
        metrics.taken(msg.receive_count);
        let handling = handle(queue, &info, config, jobs, &msg, metrics, log);
        let mut handling = std::pin::pin!(handling);
        let finished = tokio::select! {
            o = &mut handling => Some(o),
            _ = term.recv() => None,
            _ = int.recv() => None,
        };
        let signalled = finished.is_none();
        let outcome = match finished {
            Some(o) => o?,
            None => graceful(&mut handling, queue, &msg, config, log).await?,
        };
        metrics.finished(&outcome);
        log(describe(&outcome, msg.receive_count));
        handled += 1;
        idle_since = Instant::now();
        if signalled {
            return Ok(stop_log(log));
        }
    }
}

fn stop_log(log: &(dyn Fn(String) + Sync)) -> Stopped {
    log("signal: taking no more messages, exiting".into());
    Stopped::Signal
}

/// After SIGTERM: the scene may finish within the grace period; past it, its message is
/// made visible again for another worker.
async fn graceful(
    handling: &mut (impl std::future::Future<Output = Result<Outcome, FleetError>> + Unpin),
    queue: &Queue,
    msg: &Received,
    config: &WorkerConfig,
    log: &(dyn Fn(String) + Sync),
) -> Result<Outcome, FleetError> {
    log(format!(
        "signal: finishing the current scene within {} s",
        config.grace.as_secs_f64()
    ));
    match tokio::time::timeout(config.grace, handling).await {
        Ok(o) => o,
        Err(_) => {
            queue.set_visibility(&msg.receipt, Duration::ZERO).await?;
            let scene = SceneMessage::parse(&msg.body).map_or(usize::MAX, |m| m.scene);
            Ok(Outcome::Released { scene })
        }
    }
}

/// `scene 3`, or `a message` for one that named no scene (unparsable).
fn what(scene: usize) -> String {
    if scene == usize::MAX {
        "a message".into()
    } else {
        format!("scene {scene}")
    }
}

fn describe(o: &Outcome, delivery: u32) -> String {
    match o {
        Outcome::Encoded(d) => format!(
            "scene {}: done (delivery {delivery}): {} frames in {:.2} s (encode {:.2} s), \
             fetched {} bytes for {} bytes of scene",
            d.scene, d.frames, d.seconds, d.encode_seconds, d.fetched_bytes, d.scene_bytes
        ),
        Outcome::Duplicate { scene } => {
            format!("scene {scene}: already done (duplicate delivery {delivery}), message deleted")
        }
        Outcome::Failed {
            scene,
            error,
            final_attempt,
        } => format!(
            "{}: failed (delivery {delivery}){}: {error}",
            what(*scene),
            if *final_attempt {
                ", going to the dead-letter queue"
            } else {
                ", will be retried"
            }
        ),
        Outcome::Released { scene } => {
            format!(
                "{}: not finished within the grace period, message released",
                what(*scene)
            )
        }
    }
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One message: job record, duplicate check, read, encode, upload, delete; with the heartbeat
/// running throughout.
async fn handle(
    queue: &Queue,
    info: &super::sqs::QueueInfo,
    config: &WorkerConfig,
    jobs: &mut Jobs,
    msg: &Received,
    metrics: &WorkerMetrics,
    log: &(dyn Fn(String) + Sync),
) -> Result<Outcome, FleetError> {
    let started = Instant::now();
    let final_attempt = info
        .max_receive_count
        .is_some_and(|m| msg.receive_count >= m);
    let m = match SceneMessage::parse(&msg.body) {
        Ok(m) => m,
        Err(e) => {
            // Nothing to write an error next to: the queue's redrive moves it aside.
            let delay = policy::retry_delay(msg.receive_count);
            queue.set_visibility(&msg.receipt, delay).await?;
            return Ok(Outcome::Failed {
                scene: usize::MAX,
                error: e.to_string(),
                final_attempt,
            });
        }
    };
    let job = match job_record(config, jobs, &m).await {
        Ok(j) => j,
        Err(e) => {
            // Every message of this job would fail the same way: stop, and lose nothing.
            queue.set_visibility(&msg.receipt, Duration::ZERO).await?;
            return Err(e);
        }
    };
    let store = jobs.stores[&m.store].clone();
    let (record, header) = (&job.0, &job.1);
    let Some(entry) = record.scenes.scenes.get(m.scene).cloned() else {
        let error = format!("job {} has no scene {}", m.job, m.scene);
        queue
            .set_visibility(&msg.receipt, policy::retry_delay(msg.receive_count))
            .await?;
        return Ok(Outcome::Failed {
            scene: m.scene,
            error,
            final_attempt,
        });
    };
    let scene = Scene {
        index: entry.index,
        start: entry.start,
        end: entry.end,
    };
    log(format!(
        "scene {} of job {}: started (delivery {}, frames {}..{})",
        scene.index, m.job, msg.receive_count, scene.start, scene.end
    ));

    let work = async {
        let key = keys::chunk(&m.job, scene.index);
        if let Some(bytes) = store.get(&key).await?
            && chunk::decode(&bytes, &m.job, &scene).is_ok()
        {
            return Ok::<_, FleetError>(None);
        }
        let scratch = config.scratch.join(format!(
            "segment-encode-{}-{}-{:05}.y4m",
            std::process::id(),
            m.job,
            scene.index
        ));
        let _cleanup = RemoveOnDrop(scratch.clone());
        let range = entry.offset..entry.offset + entry.len;
        let fetched = store
            .read_range_to_file(&record.object, &record.object_id, range, &scratch)
            .await?;
        metrics.read(entry.len, fetched);
        let (header, settings) = (header.clone(), record.settings.clone());
        let tiles = settings.tiles.unwrap_or(1);
        let threads = config.threads;
        let s = scene.clone();
        let encoded = tokio::task::spawn_blocking(move || {
            let file = Y4mFile::open_range(&scratch, header.clone(), s.start)
                .map_err(|e| FleetError::Other(e.to_string()))?;
            if file.frames() != s.frames() {
                return Err(FleetError::Other(format!(
                    "the scene's bytes hold frames {:?}, not {:?}",
                    file.frames(),
                    s.frames()
                )));
            }
            let config = encode::rav1e_config(&header, &settings, tiles, threads)
                .map_err(|e| FleetError::Other(e.to_string()))?;
            encode::encode_frames(&config, &file, s.frames(), &[], false, &|| {})
                .map_err(|e| FleetError::Other(e.to_string()))
        })
        .await
        .map_err(|e| FleetError::Other(format!("encode task: {e}")))??;
        metrics.encoded(encoded.seconds);
        let chunk = chunk::encode(&m.job, &scene, &encoded.packets);
        let chunk_len = chunk.len() as u64;
        store.put(&key, chunk).await?;
        metrics.written(chunk_len);
        Ok(Some((fetched, encoded.seconds)))
    };

    let result = with_heartbeat(queue, &msg.receipt, info.visibility_timeout, work).await;
    match result {
        Ok(None) => {
            queue.delete(&msg.receipt).await?;
            Ok(Outcome::Duplicate { scene: scene.index })
        }
        Ok(Some((fetched, encode_seconds))) => {
            let done = DoneRecord {
                scene: scene.index,
                frames: scene.len(),
                seconds: started.elapsed().as_secs_f64(),
                encode_seconds,
                fetched_bytes: fetched,
                scene_bytes: entry.len,
                finished_unix: now_unix(),
                worker: config.name.clone(),
            };
            let json = serde_json::to_vec(&done).unwrap_or_default();
            store.put(&keys::done(&m.job, scene.index), json).await?;
            queue.delete(&msg.receipt).await?;
            Ok(Outcome::Encoded(done))
        }
        Err(e) => {
            let error = e.to_string();
            let record = ErrorRecord {
                scene: scene.index,
                error: error.clone(),
                attempt: msg.receive_count,
                max_attempts: info.max_receive_count,
                worker: config.name.clone(),
                at_unix: now_unix(),
            };
            let json = serde_json::to_vec_pretty(&record).unwrap_or_default();
            store.put(&keys::error(&m.job, scene.index), json).await?;
            queue
                .set_visibility(&msg.receipt, policy::retry_delay(msg.receive_count))
                .await?;
            Ok(Outcome::Failed {
                scene: scene.index,
                error,
                final_attempt,
            })
        }
    }
}

/// Runs `work` while extending the message's visibility every third of the timeout.
async fn with_heartbeat<T>(
    queue: &Queue,
    receipt: &str,
    visibility: Duration,
    work: impl std::future::Future<Output = Result<T, FleetError>>,
) -> Result<T, FleetError> {
    let every = policy::heartbeat_every(visibility);
    let mut work = std::pin::pin!(work);
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = beat.tick() => {
                // A missed beat is survivable (two more come before the timeout).
                let _ = queue.set_visibility(receipt, visibility).await;
            }
        }
    }
}

async fn job_record(
    config: &WorkerConfig,
    jobs: &mut Jobs,
    m: &SceneMessage,
) -> Result<Arc<(JobRecord, Y4mHeader)>, FleetError> {
    let id = (m.store.clone(), m.job.clone());
    if let Some(j) = jobs.records.get(&id) {
        return Ok(j.clone());
    }
    if !jobs.stores.contains_key(&m.store) {
        let store = FleetStore::open(&m.store, &config.store).await?;
        jobs.stores.insert(m.store.clone(), store);
    }
    let store = &jobs.stores[&m.store];
    let key = keys::job(&m.job);
    let bytes = store.get(&key).await?.ok_or_else(|| FleetError::Job {
        job: m.job.clone(),
        detail: format!("no job record {key} in {}", m.store),
    })?;
    let parsed = JobRecord::parse(&bytes).map_err(|e| FleetError::Job {
        job: m.job.clone(),
        detail: format!("{key}: {e}"),
    })?;
    if parsed.0.job != m.job {
        return Err(FleetError::Job {
            job: m.job.clone(),
            detail: format!("{key} holds job {}", parsed.0.job),
        });
    }
    let j = Arc::new(parsed);
    jobs.records.insert(id, j.clone());
    Ok(j)
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
