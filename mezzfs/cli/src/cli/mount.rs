//! `mezzfs mount`: opens the objects, mounts them, and serves until unmounted or signalled.
//!
//! Daemon mode (the default) re-runs this program in the foreground as a child in its own
//! process group, and returns once the child reports on its stdout that the mount is ready
//! (or why it failed), so a script can use the files as soon as the command returns.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use mezz_mount::session::{self, MountOptions};
use mezz_mount::spec::{self, MountSpec, parse_size};
use mezz_mount::{FileEntry, MezzFs, MountStats, ReadPath, ReadPathConfig, Tree};
use mezz_object::ObjectReader;
use mezz_readahead::Strategy;
use mezz_store::{
    CachedStore, DiskCache, DiskCacheConfig, ObjectStore, RegionalConfig, RegionalStore,
    RetryBudget, RetryConfig, RetryStore, StoreCounters, StoreUrl,
};

use super::Global;

/// The line a foreground child prints when the mount is ready (daemon handshake).
const READY: &str = "mezzfs-mount-ready";

#[derive(Debug, clap::Args)]
pub struct MountArgs {
    /// Directory to mount on (must exist).
    mountpoint: PathBuf,
    /// A file showing a whole object: FILE=SOURCE, or just SOURCE (file named after the
    /// object). SOURCE is an object name in --store, or a URL such as s3://bucket/dir/object
    /// (object 'object' in store s3://bucket/dir). Repeatable.
    #[arg(long = "object", value_name = "FILE=SOURCE")]
    objects: Vec<String>,
    /// A file showing a byte range of an object: FILE=SOURCE:OFFSET+LEN or
    /// FILE=SOURCE:START-END (END exclusive); sizes take units (1GiB+64KiB). FILE may contain
    /// '/' to make directories (scenes/scene-0007.y4m). Repeatable.
    #[arg(long = "range", value_name = "FILE=SOURCE:RANGE")]
    ranges: Vec<String>,
    /// A JSON spec file listing files: {"objects":[{"file":..,"source":..}],
    /// "ranges":[{"file":..,"source":..,"offset":..,"len":..}]}.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Read-ahead strategy: 'adaptive' sizes buffers from the access pattern and the measured
    /// network; 'fixed' fetches --fixed-size from every read (the old strategy, for comparison).
    #[arg(long, default_value = "adaptive", value_parser = ["adaptive", "fixed"])]
    readahead: String,
    /// Bytes fetched from each read with --readahead fixed.
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    fixed_size: u64,
    /// Memory for the whole mount: 1/4 block cache, 3/16 read-ahead in flight, the rest for
    /// transfer buffers and slack.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    memory: u64,
    /// Bytes per GET when a read-ahead window is split into parallel requests.
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    request_size: u64,
    /// Stay in the foreground (logs to stderr; Ctrl-C or SIGTERM unmounts cleanly).
    #[arg(long, short = 'f')]
    foreground: bool,
    /// Let other users read the files (needs user_allow_other in /etc/fuse.conf unless root).
    #[arg(long)]
    allow_other: bool,
    /// Threads receiving kernel requests (reads run concurrently on the async runtime anyway).
    #[arg(long, default_value_t = 2)]
    fuse_threads: usize,
    /// Longest one request to the store may take, body included; a request stuck longer (a
    /// dead connection) is retried on a new connection.
    #[arg(long, default_value = "10s", value_parser = spec::parse_duration)]
    request_timeout: Duration,
    /// Longest a read may take, retries included, before the application gets EIO.
    #[arg(long, default_value = "40s", value_parser = spec::parse_duration)]
    read_timeout: Duration,
    /// Keep fetched blocks (still encrypted, authenticated again on every use) in DIR across
    /// mounts. Several mounts may share one directory.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Most bytes the disk cache keeps (it also keeps 1 GiB of the disk free).
    #[arg(long, default_value = "10GiB", value_parser = parse_size)]
    cache_size: u64,
    /// A bucket near this machine used as a cache of the objects' stores (s3://bucket/prefix
    /// or a directory): misses are read from the origin and copied there in the background, so
    /// other workers nearby read the copy. Objects are copied still encrypted.
    #[arg(long, value_name = "URL")]
    regional_cache: Option<String>,
    /// S3 endpoint of the regional cache bucket when it differs from --endpoint-url.
    #[arg(long, value_name = "URL")]
    regional_endpoint_url: Option<String>,
    /// Record a replay of the mount into FILE: every open, read, read-ahead window, fetch and
    /// cache change (see `mezzfs replay --help`).
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Log file of the background mount [default: $XDG_STATE_HOME/mezzfs/mount-<dir>.log].
    #[arg(long)]
    log_file: Option<PathBuf>,
    /// Internal: print a ready line on stdout once mounted (used by daemon mode).
    #[arg(long, hide = true)]
    notify_ready: bool,
}

impl MountArgs {
    fn spec(&self) -> anyhow::Result<MountSpec> {
        let mut spec = MountSpec::default();
        if let Some(path) = &self.spec {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading spec file {}", path.display()))?;
            let file = spec::parse_spec_file(&text)
                .with_context(|| format!("spec file {}", path.display()))?;
            spec.extend(file);
        }
        for o in &self.objects {
            spec.objects.push(spec::parse_object_arg(o)?);
        }
        for r in &self.ranges {
            spec.ranges.push(spec::parse_range_arg(r)?);
        }
        spec.validate()?;
        Ok(spec)
    }

    fn read_path_config(&self) -> anyhow::Result<ReadPathConfig> {
        if self.memory < (4 << 20) {
            anyhow::bail!("--memory must be at least 4MiB");
        }
        if self.read_timeout <= self.request_timeout {
            anyhow::bail!(
                "--read-timeout ({:?}) must be longer than --request-timeout ({:?})",
                self.read_timeout,
                self.request_timeout
            );
        }
        let mut c = ReadPathConfig {
            read_timeout: self.read_timeout,
            ..ReadPathConfig::default()
        };
        c.readahead.request_size = self.request_size.max(64 << 10);
        c.readahead.strategy = match self.readahead.as_str() {
            "fixed" => Strategy::Fixed(self.fixed_size),
            _ => Strategy::Adaptive,
        };
        Ok(c.with_memory_budget(self.memory))
    }
}

pub fn run(global: &Global, args: &MountArgs) -> anyhow::Result<()> {
    // Bad arguments fail here, before any process is started.
    args.spec()?;
    args.read_path_config()?;
    session::preflight(&args.mountpoint)?;
    if args.foreground {
        serve(global, args)
    } else {
        daemonize(args)
    }
}

fn default_log_file(mountpoint: &Path) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    let abs = std::fs::canonicalize(mountpoint).unwrap_or_else(|_| mountpoint.to_path_buf());
    let name: String = abs
        .display()
        .to_string()
        .trim_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    base.join("mezzfs").join(format!("mount-{name}.log"))
}

fn daemonize(args: &MountArgs) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let log = args
        .log_file
        .clone()
        .unwrap_or_else(|| default_log_file(&args.mountpoint));
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("opening log file {}", log.display()))?;
    let exe = std::env::current_exe().context("finding this program's path")?;
    let mut child = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .arg("--foreground")
        .arg("--notify-ready")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        // Its own process group: Ctrl-C in this terminal must not reach the mount.
        .process_group(0)
        .spawn()
        .context("starting the background mount process")?;
    let stdout = child
        .stdout
        .take()
        .context("no pipe to the mount process")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let line = line.trim();
    if line == READY {
        eprintln!(
            "mezzfs: mounted at {} (pid {}, log {}); unmount with: mezzfs unmount {}",
            args.mountpoint.display(),
            child.id(),
            log.display(),
            args.mountpoint.display()
        );
        return Ok(());
    }
    let status = child.wait()?;
    match line.strip_prefix("error: ") {
        Some(msg) => anyhow::bail!("{msg}"),
        None => anyhow::bail!(
            "the mount process exited ({status}) before the mount was ready; see {}",
            log.display()
        ),
    }
}

/// Mounts and serves in this process until unmounted or signalled.
fn serve(global: &Global, args: &MountArgs) -> anyhow::Result<()> {
    let result = serve_inner(global, args);
    if args.notify_ready
        && let Err(e) = &result
    {
        // The parent is waiting for one line; it shows this as the command's error.
        println!("error: {e:#}");
    }
    result
}

fn serve_inner(global: &Global, args: &MountArgs) -> anyhow::Result<()> {
    let spec = args.spec()?;
    let config = args.read_path_config()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mezzfs-io")
        // Large spans are decrypted on the blocking pool; more threads than cores only add
        // memory (each thread's allocator arena), not speed.
        .max_blocking_threads(std::thread::available_parallelism().map_or(4, |n| n.get() * 2))
        .build()
        .context("starting the async runtime")?;
    let layers = args.layers(global)?;
    let (readers, files, counters) = rt.block_on(open_sources(global, &spec, &layers))?;
    let objects = readers.len();
    let recorder = match &args.replay {
        Some(file) => {
            let meta = replay_meta(args, &spec, &readers, &files, &config);
            let rec = mezz_mount::Recorder::create(file, meta)
                .with_context(|| format!("creating replay file {}", file.display()))?;
            Some(Arc::new(rec))
        }
        None => None,
    };
    let path = ReadPath::with_recorder(readers, config, recorder.clone());
    path.set_store_counters(counters);
    if let Some(rec) = recorder.clone() {
        // A killed mount loses at most the last second of its replay.
        rt.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let rec = rec.clone();
                let _ = tokio::task::spawn_blocking(move || rec.flush()).await;
            }
        });
    }
    let fs = MezzFs::new(Tree::build(&files), path.clone(), rt.handle().clone());
    let options = MountOptions {
        allow_other: args.allow_other,
        threads: args.fuse_threads,
        fsname: fsname(&spec),
    };
    let started = Instant::now();
    let mounted = mezz_mount::session::mount(fs, &args.mountpoint, &options)?;
    eprintln!(
        "mezzfs: mounted {} files of {objects} objects at {} ({})",
        files.len(),
        args.mountpoint.display(),
        path.readahead_description()
    );
    if args.notify_ready {
        println!("{READY}");
        let _ = std::io::stdout().flush();
    }
    let why = rt.block_on(wait_for_end(&mounted))?;
    eprintln!("mezzfs: {why}; unmounting {}", args.mountpoint.display());
    mounted.unmount()?;
    // Copies to the regional cache still running would be lost work for the next worker.
    let copying = || {
        path.store_snapshot()
            .regional
            .map_or(0, |r| r.copies_in_progress)
    };
    if copying() > 0 {
        eprintln!(
            "mezzfs: waiting up to 60 s for {} copies to the regional cache",
            copying()
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while copying() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    if let Some(cache) = &layers.disk {
        // Blocks still queued for the disk cache would be missing at the next mount.
        let flushed = rt.block_on(tokio::time::timeout(Duration::from_secs(30), cache.flush()));
        if flushed.is_err() {
            eprintln!("mezzfs: gave up waiting for the disk cache's writes after 30 s");
        }
    }
    let stats = MountStats::collect(&path, started.elapsed());
    eprintln!("mezzfs: {}", stats.summary());
    if let (Some(rec), Some(file)) = (&recorder, &args.replay) {
        let value = serde_json::to_value(&stats).unwrap_or_default();
        rec.finish(value)
            .with_context(|| format!("finishing replay file {}", file.display()))?;
        eprintln!("mezzfs: replay written to {}", file.display());
    }
    // Read-ahead fetches still running are abandoned, not awaited.
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// What a replay says about the mount: objects, files and read-ahead settings.
fn replay_meta(
    args: &MountArgs,
    spec: &MountSpec,
    readers: &[ObjectReader],
    files: &[FileEntry],
    config: &ReadPathConfig,
) -> mezz_replays::Meta {
    let mut settings = serde_json::Map::new();
    settings.insert("readahead".into(), args.readahead.clone().into());
    settings.insert("fixed_size".into(), args.fixed_size.into());
    settings.insert("memory".into(), args.memory.into());
    settings.insert("request_size".into(), args.request_size.into());
    settings.insert("cache_bytes".into(), config.cache_bytes.into());
    // The host environment a rerun elsewhere may differ in.
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
            Strategy::Adaptive => "adaptive".into(),
            Strategy::Fixed(n) => format!("fixed {n}"),
        },
        settings,
        objects: spec
            .sources()
            .iter()
            .zip(readers)
            .map(|(source, r)| mezz_replays::ObjectMeta {
                source: source.clone(),
                size: r.size(),
                version: r.opened().id.to_string(),
                segment_size: u64::from(r.opened().layout.segment_size()),
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
fn fsname(spec: &MountSpec) -> String {
    let sources = spec.sources();
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

async fn wait_for_end(mounted: &mezz_mount::Mounted) -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("handling SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("handling SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("handling SIGHUP")?;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = int.recv() => return Ok("interrupted"),
            _ = term.recv() => return Ok("terminated"),
            _ = hup.recv() => return Ok("hung up"),
            _ = tick.tick() => if mounted.is_finished() {
                return Ok("unmounted from outside");
            },
        }
    }
}

/// The wrappers put around every store a mount reads from, outermost last: a shape (reruns
/// that imitate a distant store), retries and timeouts, the regional cache bucket, the disk
/// cache.
#[derive(Debug, Default)]
pub(super) struct Layers {
    pub shape: Option<mezz_store::Shape>,
    pub retry: Option<RetryConfig>,
    /// Spent by the retries of every store of the mount.
    pub budget: Arc<RetryBudget>,
    /// The near bucket and the endpoint to reach it.
    pub regional: Option<(StoreUrl, Option<String>)>,
    pub disk: Option<Arc<DiskCache>>,
}

impl MountArgs {
    fn layers(&self, global: &Global) -> anyhow::Result<Layers> {
        let retry = RetryConfig {
            max_attempts: global.max_attempts.max(1),
            attempt_timeout: self.request_timeout,
            // The read timeout also covers waiting behind other fetches; leave it a quarter.
            deadline: self.read_timeout.mul_f64(0.75).max(self.request_timeout),
            ..RetryConfig::default()
        };
        let regional = match &self.regional_cache {
            Some(url) => Some((
                StoreUrl::parse(url).with_context(|| format!("--regional-cache {url}"))?,
                self.regional_endpoint_url.clone(),
            )),
            None => None,
        };
        let disk = match &self.cache_dir {
            Some(dir) => {
                let mut c = DiskCacheConfig::new(dir);
                c.max_bytes = self.cache_size;
                let cache = DiskCache::open(c)
                    .with_context(|| format!("opening the disk cache in {}", dir.display()))?;
                Some(cache)
            }
            None => None,
        };
        Ok(Layers {
            shape: None,
            retry: Some(retry),
            budget: Arc::default(),
            regional,
            disk,
        })
    }
}

impl Layers {
    async fn wrap(
        &self,
        global: &Global,
        origin: Arc<dyn ObjectStore>,
        counters: &mut StoreCounters,
    ) -> anyhow::Result<Arc<dyn ObjectStore>> {
        let mut store = origin;
        if let Some(shape) = self.shape {
            store = Arc::new(mezz_store::ShapedStore::new(store, shape));
        }
        let retry = |s: Arc<dyn ObjectStore>, counters: &mut StoreCounters| match self.retry {
            Some(cfg) => {
                let r = RetryStore::with_budget(s, cfg, self.budget.clone());
                counters.retry.push(r.counters());
                Arc::new(r) as Arc<dyn ObjectStore>
            }
            None => s,
        };
        store = retry(store, counters);
        if let Some((url, endpoint)) = &self.regional {
            let near_url = mezz_store::near_store_url(url, store.as_ref());
            let near = global
                .connect_store(&near_url, endpoint.as_deref())
                .await
                .with_context(|| format!("opening the regional cache {near_url}"))?;
            let near = retry(near, counters);
            let r = RegionalStore::new(near, store, RegionalConfig::default());
            counters.regional.push(r.counters());
            store = Arc::new(r);
        }
        if let Some(cache) = &self.disk {
            counters.disk = Some(cache.stats());
            store = Arc::new(CachedStore::new(store, cache.clone()));
        }
        Ok(store)
    }
}

/// Opens every source (each store once, the manifests concurrently) and lays out the files.
pub(super) async fn open_sources(
    global: &Global,
    spec: &MountSpec,
    layers: &Layers,
) -> anyhow::Result<(Vec<ObjectReader>, Vec<FileEntry>, StoreCounters)> {
    let mut counters = StoreCounters::default();
    let keys = global.keys()?;
    let mut stores: HashMap<Option<String>, Arc<dyn ObjectStore>> = HashMap::new();
    let sources = spec.sources();
    for s in &sources {
        let (store, _) = spec::split_source(s);
        let store = store.map(str::to_string);
        if stores.contains_key(&store) {
            continue;
        }
        let opened = match &store {
            None => global.connect_store(&global.store_url()?, None).await?,
            Some(url) => {
                let url = StoreUrl::parse(url).with_context(|| format!("source '{s}'"))?;
                global.connect_store(&url, None).await?
            }
        };
        let opened = layers.wrap(global, opened, &mut counters).await?;
        stores.insert(store, opened);
    }
    let opens = sources.iter().map(|s| {
        let (store, name) = spec::split_source(s);
        let store = stores[&store.map(str::to_string)].clone();
        let keys = keys.clone();
        async move {
            ObjectReader::open(store, keys.as_ref(), name)
                .await
                .with_context(|| format!("opening object '{s}'"))
        }
    });
    let readers: Vec<ObjectReader> = futures::future::try_join_all(opens).await?;
    let index: HashMap<&str, usize> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let mut files = Vec::new();
    for o in &spec.objects {
        let i = index[o.source.as_str()];
        files.push(FileEntry {
            path: o.file.clone(),
            object: i,
            range: 0..readers[i].size(),
        });
    }
    for r in &spec.ranges {
        let i = index[r.source.as_str()];
        let size = readers[i].size();
        if r.range().end > size {
            anyhow::bail!(
                "range file '{}': bytes {}..{} end past the end of '{}' ({size} bytes)",
                r.file,
                r.offset,
                r.range().end,
                r.source
            );
        }
        files.push(FileEntry {
            path: r.file.clone(),
            object: i,
            range: r.range(),
        });
    }
    Ok((readers, files, counters))
}
