//! The worker pool: scenes encoded in parallel on rayon, longest first, each stored in the
//! work directory as it finishes.
//!
//! Workers are stateless: a worker takes the next scene from a shared queue, reads its frames,
//! encodes them in a fresh rav1e context and stores the packets and stats. The queue is fed by
//! a producer thread, so scene detection overlaps with encoding: the first scene encodes while
//! the detector is still reading the rest of the clip. rav1e runs on the same pool
//! (threads = 0), so a scene with several tiles uses the otherwise idle workers; with automatic
//! tiles (`tiles: None`, opt-in because the choice depends on timing), the last scenes get
//! more tiles when fewer scenes than workers remain. Scenes already done in the work directory are
//! skipped, which is all that resuming takes.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::encode::{self, EncodeError, EncodeSettings};
use crate::plan::{self, Scene};
use crate::queue::SceneQueue;
use crate::source::{SourceError, Y4mFile};
use crate::workdir::{SceneStats, Stored, WorkDir, WorkDirError};
use crate::y4m::Y4mHeader;

/// Where workers read a scene's frames from.
#[derive(Debug)]
pub enum Input {
    /// One Y4M file; every worker preads its scene's frames from it.
    Whole(Y4mFile),
    /// A directory of range files, one per scene (a mezzfs mount from the scene list's spec),
    /// with the mezzanine's header.
    Ranges {
        dir: PathBuf,
        header: Y4mHeader,
        files: Vec<String>,
    },
}

impl Input {
    pub fn header(&self) -> &Y4mHeader {
        match self {
            Input::Whole(f) => f.header(),
            Input::Ranges { header, .. } => header,
        }
    }

    fn open_scene(&self, scene: &Scene) -> Result<SceneSource<'_>, SourceError> {
        match self {
            Input::Whole(f) => Ok(SceneSource::Borrowed(f)),
            Input::Ranges { dir, header, files } => {
                let name = files.get(scene.index).cloned().unwrap_or_default();
                let file = Y4mFile::open_range(&dir.join(name), header.clone(), scene.start)?;
                Ok(SceneSource::Owned(file))
            }
        }
    }
}

enum SceneSource<'a> {
    Borrowed(&'a Y4mFile),
    Owned(Y4mFile),
}

impl SceneSource<'_> {
    fn file(&self) -> &Y4mFile {
        match self {
            SceneSource::Borrowed(f) => f,
            SceneSource::Owned(f) => f,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("scene {scene}: {error}")]
    Encode { scene: usize, error: EncodeError },
    #[error("scene {scene}: {error}")]
    Source { scene: usize, error: SourceError },
    #[error(transparent)]
    WorkDir(#[from] WorkDirError),
    #[error("scene detection: {0}")]
    Detect(SourceError),
    #[error("could not start {workers} workers: {reason}")]
    Pool { workers: usize, reason: String },
    #[error("scene {scene} holds {frames} frames, its file holds {held:?}")]
    SceneFile {
        scene: usize,
        frames: u64,
        held: std::ops::Range<u64>,
    },
}

/// What the pool reports while it works.
#[derive(Debug, Clone)]
pub enum Event {
    /// A scene found done in the work directory.
    Resumed {
        scene: usize,
        frames: u64,
    },
    /// A scene whose stored packets are damaged or not this job's: encoded again.
    Damaged {
        scene: usize,
        reason: String,
    },
    /// A scene is final and waits for a worker.
    Queued(Scene),
    Started {
        scene: usize,
        tiles: usize,
    },
    Frame,
    Finished(SceneStats),
}

/// Encodes every scene of `scenes` (all of a clip's, or a share of them) not yet done in
/// `work`; returns their stats by scene index.
pub fn encode_scenes(
    input: &Input,
    scenes: &[Scene],
    settings: &EncodeSettings,
    workers: usize,
    work: &WorkDir,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<Vec<SceneStats>, RunError> {
    let produce = |push: &mut dyn FnMut(Scene)| {
        scenes.iter().cloned().for_each(push);
        Ok(())
    };
    encode_streamed(input, produce, settings, workers, work, on_event)
}

/// Encodes the scenes `produce` pushes, starting on each as soon as it is pushed: `produce`
/// runs on a thread of its own beside the workers (the scene detector, reading the clip while
/// the first scenes encode). Scenes already done in `work` are skipped. Returns the stats of
/// every pushed scene by scene index.
pub fn encode_streamed<P>(
    input: &Input,
    produce: P,
    settings: &EncodeSettings,
    workers: usize,
    work: &WorkDir,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<Vec<SceneStats>, RunError>
where
    P: FnOnce(&mut dyn FnMut(Scene)) -> Result<(), RunError> + Send,
{
    let workers = workers.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("encode-{i}"))
        .build()
        .map_err(|e| RunError::Pool {
            workers,
            reason: e.to_string(),
        })?;
    let queue = SceneQueue::new();
    let results: Mutex<Vec<SceneStats>> = Mutex::new(Vec::new());
    let first_error: Mutex<Option<RunError>> = Mutex::new(None);
    let fail = |e: RunError| {
        lock(&first_error).get_or_insert(e);
        queue.cancel();
    };

    std::thread::scope(|threads| {
        threads.spawn(|| {
            // Closes the queue even if `produce` panics, so that no worker waits forever.
            let _close = CloseOnDrop(&queue);
            let mut push = |scene: Scene| {
                if queue.is_cancelled() {
                    return;
                }
                match work.check(scene.index, scene.len()) {
                    Stored::Done(done) => {
                        on_event(Event::Resumed {
                            scene: scene.index,
                            frames: scene.len(),
                        });
                        lock(&results).push(done);
                        return;
                    }
                    Stored::Damaged(reason) => on_event(Event::Damaged {
                        scene: scene.index,
                        reason,
                    }),
                    Stored::Missing => {}
                }
                on_event(Event::Queued(scene.clone()));
                queue.push(scene);
            };
            if let Err(e) = produce(&mut push) {
                fail(e);
            }
        });
        pool.scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|_| {
                    while let Some(taken) = queue.take() {
                        let tiles = settings.tiles.unwrap_or_else(|| {
                            taken
                                .unstarted
                                .map_or(1, |left| plan::auto_tiles(left, workers))
                        });
                        let scene = &taken.scene;
                        on_event(Event::Started {
                            scene: scene.index,
                            tiles,
                        });
                        match encode_one(input, scene, settings, tiles, work, on_event) {
                            Ok(s) => {
                                on_event(Event::Finished(s.clone()));
                                lock(&results).push(s);
                            }
                            Err(e) => {
                                fail(e);
                                return;
                            }
                        }
                    }
                });
            }
        });
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|s| s.index);
    Ok(results)
}

struct CloseOnDrop<'a>(&'a SceneQueue);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

fn encode_one(
    input: &Input,
    scene: &Scene,
    settings: &EncodeSettings,
    tiles: usize,
    work: &WorkDir,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<SceneStats, RunError> {
    let index = scene.index;
    let source = input.open_scene(scene).map_err(|error| RunError::Source {
        scene: index,
        error,
    })?;
    let held = source.file().frames();
    if held.start > scene.start || held.end < scene.end {
        return Err(RunError::SceneFile {
            scene: index,
            frames: scene.len(),
            held,
        });
    }
    let config = encode::rav1e_config(input.header(), settings, tiles, 0).map_err(|error| {
        RunError::Encode {
            scene: index,
            error,
        }
    })?;
    let frame = || on_event(Event::Frame);
    let encoded = encode::encode_frames(
        &config,
        source.file(),
        scene.frames(),
        &[],
        settings.psnr,
        &frame,
    )
    .map_err(|error| RunError::Encode {
        scene: index,
        error,
    })?;
    let stats = SceneStats {
        index,
        frames: encoded.packets.len() as u64,
        bytes: encoded.packets.iter().map(|p| p.data.len() as u64).sum(),
        seconds: encoded.seconds,
        tiles,
        psnr: encoded.psnr,
    };
    work.store(&stats, &encoded.packets)?;
    Ok(stats)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A worker that panicked has already failed the run; its data is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A small synthetic 8-bit 4:2:0 clip: `frames` frames of 64x64, each a flat grey level.
    fn clip(dir: &std::path::Path, frames: u8) -> Y4mFile {
        let path = dir.join("clip.y4m");
        let mut bytes = b"YUV4MPEG2 W64 H64 F25:1 Ip A1:1 C420jpeg\n".to_vec();
        for f in 0..frames {
            bytes.extend_from_slice(b"FRAME\n");
            bytes.extend(std::iter::repeat_n(f.wrapping_mul(9), 64 * 64));
            bytes.extend(std::iter::repeat_n(128, 2 * 32 * 32));
        }
        std::fs::write(&path, bytes).expect("write clip");
        Y4mFile::open(&path).expect("open clip")
    }

    fn scene(index: usize, start: u64, end: u64) -> Scene {
        Scene { index, start, end }
    }

    #[test]
    fn a_pushed_scene_encodes_while_the_producer_is_still_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = Input::Whole(clip(dir.path(), 12));
        let work = WorkDir::open(&dir.path().join("work"), &serde_json::json!(1)).expect("work");
        let settings = EncodeSettings {
            speed: 10,
            tiles: Some(1),
            ..EncodeSettings::default()
        };
        let (finished_tx, finished_rx) = mpsc::channel();
        let finished_tx = Mutex::new(finished_tx);
        let on_event = |e: Event| {
            if let Event::Finished(s) = e {
                let _ = lock(&finished_tx).send(s.index);
            }
        };
        // The producer holds back the second scene until the first is encoded: with detection
        // run before encoding (no overlap) this would wait out the timeout and fail.
        let produce = move |push: &mut dyn FnMut(Scene)| {
            push(scene(0, 0, 6));
            let first = finished_rx.recv_timeout(Duration::from_secs(60));
            assert_eq!(first, Ok(0), "scene 0 was not encoded while producing");
            push(scene(1, 6, 12));
            Ok(())
        };
        let stats =
            encode_streamed(&input, produce, &settings, 2, &work, &on_event).expect("encode");
        let frames: Vec<(usize, u64)> = stats.iter().map(|s| (s.index, s.frames)).collect();
        assert_eq!(frames, vec![(0, 6), (1, 6)]);
    }

    #[test]
    fn a_producer_error_fails_the_run_and_stops_the_workers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = Input::Whole(clip(dir.path(), 4));
        let work = WorkDir::open(&dir.path().join("work"), &serde_json::json!(1)).expect("work");
        let produce = |_: &mut dyn FnMut(Scene)| {
            Err(RunError::Pool {
                workers: 0,
                reason: "producer failed".into(),
            })
        };
        let err = encode_streamed(
            &input,
            produce,
            &EncodeSettings::default(),
            2,
            &work,
            &|_| {},
        )
        .expect_err("the producer's error");
        assert!(err.to_string().contains("producer failed"), "{err}");
    }
}
