//! [`Mount`]: the one place a mount is assembled. Sources, store stack, caches, read path and
//! recorder are put together by [`Mount::open`]; [`Opened::mount`] attaches the FUSE session;
//! [`Running::serve`] serves until a shutdown future completes (or someone unmounts from
//! outside), then unmounts, lets the caches finish their writes and closes the replay.
//! `mezzfs mount`, `mezzfs replay rerun` and the tests all go through it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mezz_format::KeyProvider;
use mezz_object::{LockedObject, ObjectError};
use mezz_store::{
    DiskCache, DiskCacheConfig, DiskCacheError, RangeCache, ReadStore, RetryConfig, Shape,
    StoreCounters, StoreError, StoreUrl,
};

use crate::MezzFs;
use crate::audit::{AuditError, AuditLog, AuditObject, MountAudit};
use crate::keys::DEFAULT_KEY_GRACE;
use crate::read_path::{ReadPath, ReadPathConfig};
use crate::recorder::Recorder;
use crate::session::{self, MountError, MountOptions, Mounted};
use crate::spec::{self, MountSpec};
use crate::stack::{Connect, ConnectError, RegionalError, StoreStack};
use crate::stats::MountStats;
use crate::tree::{FileEntry, Tree};
use crate::write_path::{WriteConfig, WritePath};

/// Why a mount could not be assembled. Each names what it was opening; the cause follows.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("source '{source_name}'")]
    Source {
        source_name: String,
        #[source]
        cause: StoreError,
    },
    #[error(transparent)]
    Connect(ConnectError),
    #[error(transparent)]
    Regional(#[from] RegionalError),
    #[error("opening the disk cache in {}", dir.display())]
    DiskCache {
        dir: PathBuf,
        #[source]
        cause: DiskCacheError,
    },
    #[error("opening object '{source_name}'")]
    Object {
        source_name: String,
        #[source]
        cause: ObjectError,
    },
    #[error(
        "range file '{file}': bytes {start}..{end} end past the end of '{source_name}' ({size} bytes)"
    )]
    RangePastEnd {
        file: String,
        start: u64,
        end: u64,
        source_name: String,
        size: u64,
    },
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("creating replay file {}", path.display())]
    Replay {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
}

/// A mount to assemble: what it shows, where the stores are, how it reads.
pub struct Mount {
    spec: MountSpec,
    connect: Arc<dyn Connect>,
    keys: Arc<dyn KeyProvider>,
    key_grace: Duration,
    config: ReadPathConfig,
    stack: StoreStack,
    disk: Option<DiskCacheConfig>,
    replay: Option<(PathBuf, serde_json::Map<String, serde_json::Value>)>,
    audit: Option<PathBuf>,
    writes: Option<WriteConfig>,
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount")
            .field("spec", &self.spec)
            .field("config", &self.config)
            .field("stack", &self.stack)
            .field("disk", &self.disk)
            .finish_non_exhaustive()
    }
}

impl Mount {
    /// A mount showing `spec`'s files, with stores opened by `connect` and data keys unwrapped
    /// by `keys` when a file of their object is opened; default read path, retries, no
    /// caches, no replay.
    pub fn new(spec: MountSpec, connect: Arc<dyn Connect>, keys: Arc<dyn KeyProvider>) -> Mount {
        Mount {
            spec,
            connect,
            keys,
            key_grace: DEFAULT_KEY_GRACE,
            config: ReadPathConfig::default(),
            stack: StoreStack::default(),
            disk: None,
            replay: None,
            audit: None,
            writes: None,
        }
    }

    /// Adds writable directories (files created there become objects of the default store).
    pub fn write_dirs(mut self, config: WriteConfig) -> Mount {
        self.writes = Some(config);
        self
    }

    /// Appends a line to the audit log `file` for every open and close (see [`crate::audit`]).
    pub fn audit_log(mut self, file: PathBuf) -> Mount {
        self.audit = Some(file);
        self
    }

    /// How long an object's data key stays in memory after its last file handle is closed
    /// (default [`DEFAULT_KEY_GRACE`]; see [`crate::keys`]).
    pub fn key_grace(mut self, grace: Duration) -> Mount {
        self.key_grace = grace;
        self
    }

    pub fn read_path(mut self, config: ReadPathConfig) -> Mount {
        self.config = config;
        self
    }

    /// Attempts, per-attempt timeout and deadline of every store request (one retry budget
    /// is shared by all the mount's stores).
    pub fn retry(mut self, retry: RetryConfig) -> Mount {
        self.stack.retry = retry;
        self
    }

    /// Makes the origin stores cost what a distant store does (reruns on loopback).
    pub fn shape(mut self, shape: Option<Shape>) -> Mount {
        self.stack.shape = shape;
        self
    }

    /// Reads go through a near bucket used as a cache (`endpoint` when it differs from the
    /// origin's).
    pub fn regional_cache(mut self, near: StoreUrl, endpoint: Option<String>) -> Mount {
        self.stack.regional = Some((near, endpoint));
        self
    }

    /// Fetched blocks are kept on local disk across mounts.
    pub fn disk_cache(mut self, config: DiskCacheConfig) -> Mount {
        self.disk = Some(config);
        self
    }

    /// Records a replay into `file`; `settings` (the caller's options) go into its header.
    pub fn record(
        mut self,
        file: PathBuf,
        settings: serde_json::Map<String, serde_json::Value>,
    ) -> Mount {
        self.replay = Some((file, settings));
        self
    }

    /// Opens every store (each once) and object (manifests concurrently, no data key: those
    /// are unwrapped when a file is opened), lays out the files and builds the read path.
    /// Runs inside a tokio runtime, which then serves the reads.
    pub async fn open(mut self) -> Result<Opened, OpenError> {
        if let Some(c) = self.disk.take() {
            let dir = c.dir.clone();
            self.stack.disk =
                Some(DiskCache::open(c).map_err(|cause| OpenError::DiskCache { dir, cause })?);
        }
        let (readers, counters, mut caches) = self.open_readers().await?;
        if let Some(disk) = &self.stack.disk {
            caches.push(disk.clone());
        }
        let files = self.lay_out(&readers)?;
        let recorder = match &self.replay {
            Some((file, settings)) => {
                let meta =
                    replay_meta(&self.spec, settings.clone(), &readers, &files, &self.config);
                let rec = Recorder::create(file, meta).map_err(|cause| OpenError::Replay {
                    path: file.clone(),
                    cause,
                })?;
                Some((Arc::new(rec), file.clone()))
            }
            None => None,
        };
        let sources = self.spec.sources();
        let audit = match &self.audit {
            Some(file) => Some(Arc::new(MountAudit::new(
                AuditLog::open(file)?,
                sources
                    .iter()
                    .zip(&readers)
                    .map(|(s, r)| AuditObject::locked(s, r))
                    .collect(),
                files.iter().map(|f| f.path.clone()).collect(),
            ))),
            None => None,
        };
        let versions: Vec<String> = readers.iter().map(|r| r.id().to_string()).collect();
        let path = ReadPath::lazy(
            readers,
            self.keys.clone(),
            self.key_grace,
            self.config.clone(),
            recorder.as_ref().map(|(r, _)| r.clone()),
        );
        path.set_store_counters(counters);
        let flusher = recorder.as_ref().map(|(rec, _)| {
            let rec = rec.clone();
            // A killed mount loses at most the last second of its replay.
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    let rec = rec.clone();
                    let _ = tokio::task::spawn_blocking(move || rec.flush()).await;
                }
            })
        });
        let writes = match self.writes.take() {
            Some(config) => Some(Arc::new(
                self.open_writes(config)
                    .await?
                    .with_events(path.shared_events()),
            )),
            None => None,
        };
        Ok(Opened {
            writes,
            fsname: fsname(&sources),
            objects: sources.into_iter().zip(versions).collect(),
            path,
            files,
            caches,
            recorder,
            flusher,
            audit,
        })
    }

    /// A manifest per source, each store opened once; the stores' counters and caches.
    async fn open_readers(
        &self,
    ) -> Result<(Vec<LockedObject>, StoreCounters, Vec<Arc<dyn RangeCache>>), OpenError> {
        let mut counters = StoreCounters::default();
        let mut caches = Vec::new();
        let mut stores: HashMap<Option<&str>, Arc<dyn ReadStore>> = HashMap::new();
        let sources = self.spec.sources();
        for s in &sources {
            let (store, _) = spec::split_source(s);
            if stores.contains_key(&store) {
                continue;
            }
            let url = match store {
                None => None,
                Some(url) => Some(StoreUrl::parse(url).map_err(|cause| OpenError::Source {
                    source_name: s.clone(),
                    cause,
                })?),
            };
            let origin = self
                .connect
                .connect(url.as_ref(), None)
                .await
                .map_err(OpenError::Connect)?;
            let wrapped = self
                .stack
                .wrap(self.connect.as_ref(), origin, &mut counters, &mut caches)
                .await?;
            stores.insert(store, wrapped);
        }
        let opens = sources.iter().map(|s| {
            let (store, name) = spec::split_source(s);
            let store = stores[&store].clone();
            async move {
                LockedObject::fetch(store, name)
                    .await
                    .map_err(|cause| OpenError::Object {
                        source_name: s.clone(),
                        cause,
                    })
            }
        });
        let readers = futures::future::try_join_all(opens).await?;
        Ok((readers, counters, caches))
    }

    /// The write path: the default store with the mount's retries around it.
    async fn open_writes(&self, config: WriteConfig) -> Result<WritePath, OpenError> {
        let store = self
            .connect
            .connect(None, None)
            .await
            .map_err(OpenError::Connect)?;
        let store =
            mezz_store::RetryStore::with_budget(store, self.stack.retry, self.stack.budget.clone());
        let path = WritePath::new(config, Arc::new(store), self.keys.clone());
        path.report_abandoned().await;
        Ok(path)
    }

    /// The files of the spec, each pointing at its object's index and byte range.
    fn lay_out(&self, readers: &[LockedObject]) -> Result<Vec<FileEntry>, OpenError> {
        let sources = self.spec.sources();
        let index: HashMap<&str, usize> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect();
        let mut files = Vec::new();
        for o in &self.spec.objects {
            let i = index[o.source.as_str()];
            files.push(FileEntry {
                path: o.file.clone(),
                object: i,
                range: 0..readers[i].size(),
            });
        }
        for r in &self.spec.ranges {
            let i = index[r.source.as_str()];
            let size = readers[i].size();
            if r.range().end > size {
                return Err(OpenError::RangePastEnd {
                    file: r.file.clone(),
                    start: r.offset,
                    end: r.range().end,
                    source_name: r.source.clone(),
                    size,
                });
            }
            files.push(FileEntry {
                path: r.file.clone(),
                object: i,
                range: r.range(),
            });
        }
        Ok(files)
    }
}

/// A mount assembled but not yet attached to the kernel.
#[derive(Debug)]
pub struct Opened {
    path: ReadPath,
    files: Vec<FileEntry>,
    /// Each source with the version of its object that was opened.
    objects: Vec<(String, String)>,
    fsname: String,
    /// Every cache of the store stacks, drained when the mount ends.
    caches: Vec<Arc<dyn RangeCache>>,
    recorder: Option<(Arc<Recorder>, PathBuf)>,
    flusher: Option<tokio::task::JoinHandle<()>>,
    audit: Option<Arc<MountAudit>>,
    writes: Option<Arc<WritePath>>,
}

impl Opened {
    pub fn read_path(&self) -> &ReadPath {
        &self.path
    }

    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Every source, in first-use order, with the object version opened for it.
    pub fn objects(&self) -> &[(String, String)] {
        &self.objects
    }

    /// Mounts the files at `mountpoint`; reads run on `rt`. `options.fsname`, when left
    /// empty, names the first source.
    pub fn mount(
        self,
        mountpoint: &Path,
        mut options: MountOptions,
        rt: tokio::runtime::Handle,
    ) -> Result<Running, MountError> {
        if options.fsname.is_empty() {
            options.fsname = self.fsname.clone();
        }
        options.writable = self.writes.is_some();
        let fs = MezzFs::new(Tree::build(&self.files), self.path.clone(), rt)
            .with_audit(self.audit.clone())
            .with_writes(self.writes.clone());
        let mounted = session::mount(fs, mountpoint, &options)?;
        Ok(Running {
            opened: self,
            mounted,
            started: Instant::now(),
        })
    }
}

/// A mount being served.
#[derive(Debug)]
pub struct Running {
    opened: Opened,
    mounted: Mounted,
    started: Instant,
}

/// How a served mount ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The shutdown future completed.
    Shutdown,
    /// Someone ran `mezzfs unmount` or `umount`.
    UnmountedOutside,
}

/// What serving a mount did.
#[derive(Debug)]
pub struct Served {
    pub ended: Ended,
    pub stats: MountStats,
    /// The replay file, complete, when one was recorded.
    pub replay: Option<PathBuf>,
}

/// Why ending a mount failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Unmount(#[from] MountError),
    #[error("finishing replay file {}", path.display())]
    Replay {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
}

impl Running {
    pub fn read_path(&self) -> &ReadPath {
        &self.opened.path
    }

    pub fn files(&self) -> &[FileEntry] {
        &self.opened.files
    }

    pub fn mountpoint(&self) -> &Path {
        self.mounted.mountpoint()
    }

    /// Serves until `shutdown` completes or the mount is unmounted from outside, then
    /// unmounts, lets the caches finish (bounded in time), and closes the replay. Read-ahead
    /// fetches still running are abandoned, not awaited.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<Served, ServeError> {
        let ended = tokio::select! {
            () = shutdown => Ended::Shutdown,
            () = unmounted(&self.mounted) => Ended::UnmountedOutside,
        };
        let Running {
            opened,
            mounted,
            started,
        } = self;
        let mountpoint = mounted.mountpoint().to_path_buf();
        tokio::task::spawn_blocking(move || mounted.unmount())
            .await
            .map_err(|e| MountError::Unmount {
                path: mountpoint,
                cause: std::io::Error::other(e.to_string()),
            })??;
        // Copies to the regional cache and blocks queued for the disk cache would be lost
        // work for the next mount; each cache bounds its own wait.
        for cache in &opened.caches {
            cache.drain().await;
        }
        let path = &opened.path;
        if let Some(f) = &opened.flusher {
            f.abort();
        }
        let stats = MountStats::collect(path, started.elapsed());
        let replay = match &opened.recorder {
            Some((rec, file)) => {
                let value = serde_json::to_value(&stats).unwrap_or_default();
                rec.finish(value).map_err(|cause| ServeError::Replay {
                    path: file.clone(),
                    cause,
                })?;
                Some(file.clone())
            }
            None => None,
        };
        Ok(Served {
            ended,
            stats,
            replay,
        })
    }
}

/// Completes when the session ends on its own.
async fn unmounted(mounted: &Mounted) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    while !mounted.is_finished() {
        tick.tick().await;
    }
}

/// What a replay says about the mount: objects, files, read-ahead settings and the host
/// environment a rerun elsewhere may differ in.
fn replay_meta(
    spec: &MountSpec,
    mut settings: serde_json::Map<String, serde_json::Value>,
    readers: &[LockedObject],
    files: &[FileEntry],
    config: &ReadPathConfig,
) -> mezz_replays::Meta {
    settings.insert("cache_bytes".into(), config.cache_bytes.into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    settings.insert("kernel".into(), kernel.trim().into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    settings.insert("cpus".into(), cpus.into());
    mezz_replays::Meta {
        mezzfs_version: env!("CARGO_PKG_VERSION").into(),
        started_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        host: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default(),
        readahead: match config.readahead.strategy {
            mezz_readahead::Strategy::Adaptive => "adaptive".into(),
            mezz_readahead::Strategy::Fixed(n) => format!("fixed {n}"),
        },
        settings,
        objects: spec
            .sources()
            .iter()
            .zip(readers)
            .map(|(source, r)| mezz_replays::ObjectMeta {
                source: source.clone(),
                size: r.size(),
                version: r.id().to_string(),
                segment_size: u64::from(r.layout().segment_size()),
            })
            .collect(),
        files: files
            .iter()
            .map(|f| mezz_replays::FileMeta {
                path: f.path.clone(),
                object: f.object as u64,
                offset: f.range.start,
                len: f.range.end - f.range.start,
            })
            .collect(),
    }
}

/// The mount's source as /proc/mounts shows it: the first object, and how many others.
fn fsname(sources: &[String]) -> String {
    let first: String = sources
        .first()
        .map(|s| spec::source_object_name(s))
        .unwrap_or_default()
        .chars()
        .take(100)
        // Mount options are comma-separated and /proc/mounts is space-separated.
        .map(|c| {
            if c == ',' || c.is_whitespace() || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect();
    match sources.len() {
        0 | 1 => format!("mezzfs:{first}"),
        n => format!("mezzfs:{first}+{}", n - 1),
    }
}
