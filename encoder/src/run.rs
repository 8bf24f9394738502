//! The worker pool: scenes encoded in parallel on rayon, longest first, each stored in the
//! work directory as it finishes.
//!
//! Workers are stateless: a worker takes the next scene from a shared queue, reads its frames,
//! encodes them in a fresh rav1e context and stores the packets and stats. rav1e runs on the
//! same pool (threads = 0), so when fewer scenes than workers remain, the tiles of the last
//! scenes are encoded by the otherwise idle workers. Scenes already done in the work directory
//! are skipped, which is all that resuming takes.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::encode::{self, EncodeError, EncodeSettings};
use crate::plan::{self, Scene};
use crate::source::{SourceError, Y4mFile};
use crate::workdir::{SceneStats, WorkDir, WorkDirError};
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
    /// Scenes found done in the work directory.
    Resumed {
        scenes: usize,
        frames: u64,
    },
    Started {
        scene: usize,
        tiles: usize,
    },
    Frame,
    Finished(SceneStats),
}

/// Encodes every scene of `scenes` (all of a clip's, or a share of them) not yet done in
/// `work`; returns their stats in the order given.
pub fn encode_scenes(
    input: &Input,
    scenes: &[Scene],
    settings: &EncodeSettings,
    workers: usize,
    work: &WorkDir,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<Vec<SceneStats>, RunError> {
    let workers = workers.max(1);
    let mut stats: Vec<Option<SceneStats>> = vec![None; scenes.len()];
    let (mut resumed, mut resumed_frames) = (0, 0);
    for (pos, s) in scenes.iter().enumerate() {
        if let Some(done) = work.finished(s.index, s.len()) {
            stats[pos] = Some(done);
            resumed += 1;
            resumed_frames += s.len();
        }
    }
    if resumed > 0 {
        on_event(Event::Resumed {
            scenes: resumed,
            frames: resumed_frames,
        });
    }
    let queue: VecDeque<usize> = plan::longest_first(scenes)
        .into_iter()
        .filter(|&i| stats[i].is_none())
        .collect();
    let queue = Mutex::new(queue);
    let results = Mutex::new(stats);
    let first_error: Mutex<Option<RunError>> = Mutex::new(None);

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("encode-{i}"))
        .build()
        .map_err(|e| RunError::Pool {
            workers,
            reason: e.to_string(),
        })?;
    pool.scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|_| {
                loop {
                    if lock(&first_error).is_some() {
                        return;
                    }
                    let (index, unstarted) = {
                        let mut q = lock(&queue);
                        let unstarted = q.len();
                        match q.pop_front() {
                            Some(i) => (i, unstarted),
                            None => return,
                        }
                    };
                    let tiles = settings
                        .tiles
                        .unwrap_or_else(|| plan::auto_tiles(unstarted, workers));
                    on_event(Event::Started {
                        scene: scenes[index].index,
                        tiles,
                    });
                    match encode_one(input, &scenes[index], settings, tiles, work, on_event) {
                        Ok(s) => {
                            on_event(Event::Finished(s.clone()));
                            lock(&results)[index] = Some(s);
                        }
                        Err(e) => {
                            lock(&first_error).get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(results.into_iter().flatten().collect())
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
