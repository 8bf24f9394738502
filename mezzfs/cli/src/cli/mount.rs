//! `mezzfs mount`: arguments to a [`Mount`] (assembled in `mezz-mount`), served until
//! unmounted or signalled.
//!
//! Daemon mode (the default) re-runs this program in the foreground as a child in its own
//! process group, and returns once the child reports on its stdout that the mount is ready
//! (or why it failed), so a script can use the files as soon as the command returns.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mezz_mount::mountpoint;
use mezz_mount::session::{self, MountOptions};
use mezz_mount::spec::{self, MountSpec, parse_size};
use mezz_mount::{Ended, Mount, ReadPathConfig, WriteConfig, WriteDir};
use mezz_readahead::Strategy;
use mezz_store::{DiskCacheConfig, RetryConfig, StoreUrl};

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
    /// A file showing a byte range of an object: FILE=SOURCE:START+LENGTH or
    /// FILE=SOURCE:START..END (END exclusive; START-END is refused as ambiguous); sizes take units (1GiB+64KiB). FILE may contain
    /// '/' to make directories (scenes/scene-0007.y4m). Repeatable.
    #[arg(long = "range", value_name = "FILE=SOURCE:RANGE")]
    ranges: Vec<String>,
    /// A JSON spec file listing files: {"objects":[{"file":..,"source":..}],
    /// "ranges":[{"file":..,"source":..,"offset":..,"len":..}]}.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// A writable directory NAME in the mount's root: files created in it (written in order,
    /// e.g. by dd, ffmpeg with fragmented MP4, segment-encode) are sealed and uploaded as they
    /// are written and become objects PREFIX/<path> when closed. `mv` inside it renames the
    /// object (parts copied inside the store, nothing downloaded), so tools that write a
    /// temporary and rename it work; across directories it is EXDEV. Repeatable.
    #[arg(long = "write-dir", value_name = "NAME=PREFIX")]
    write_dirs: Vec<String>,
    /// Let files created or renamed in a writable directory replace existing objects (a new
    /// version; readers that opened the old one keep reading it). Without it, EEXIST.
    #[arg(long)]
    allow_overwrite: bool,
    /// Let `rm` in a writable directory delete the object (files this mount wrote).
    #[arg(long)]
    allow_delete: bool,
    /// Read-ahead strategy: 'adaptive' sizes buffers from the access pattern and the measured
    /// network; 'fixed' fetches --fixed-size from every read (the old strategy, for comparison).
    #[arg(long, default_value = "adaptive", value_parser = ["adaptive", "fixed"])]
    readahead: String,
    /// Bytes fetched from each read with --readahead fixed.
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    fixed_size: u64,
    /// Memory for the whole mount: 1/4 for the block cache, which also counts the fetches in
    /// flight (read-ahead at most 3/16, with either strategy); the rest for transfer buffers,
    /// writes and slack.
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
    /// Mount even over a directory that holds files (they are hidden until unmounted).
    #[arg(long)]
    nonempty: bool,
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
    /// cache change, and every create, write, commit and rename in the writable directories
    /// (see `mezzfs replay --help`).
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Append a JSON line to FILE for every open and close of a file: uid, pid and command of
    /// the reader, object, version, key id, and (on close) bytes read. Off by default.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// How long an object's data key stays in memory after its last open file is closed.
    /// Keys are unwrapped when a file is first opened (one KMS call for KMS-wrapped objects,
    /// none at mount time); the grace spares a call when tools reopen a file at once.
    #[arg(long, default_value = "2s", value_parser = spec::parse_duration)]
    key_grace: Duration,
    /// Log file of the background mount [default: $XDG_STATE_HOME/mezzfs/mount-<dir>.log].
    #[arg(long)]
    log_file: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464): bytes read and
    /// fetched, requests by outcome, retries, cache hits and misses, read latency, memory.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
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
        match spec.validate() {
            // A mount of writable directories alone shows no objects.
            Err(spec::SpecError::Empty) if !self.write_dirs.is_empty() => {}
            other => other?,
        }
        Ok(spec)
    }

    /// The writable directories, checked against the spec's top-level names.
    fn write_config(&self, spec: &MountSpec) -> anyhow::Result<Option<WriteConfig>> {
        if self.write_dirs.is_empty() {
            return Ok(None);
        }
        let mut dirs = Vec::new();
        for arg in &self.write_dirs {
            let d = WriteDir::parse(arg).map_err(anyhow::Error::msg)?;
            let taken = spec
                .objects
                .iter()
                .map(|o| &o.file)
                .chain(spec.ranges.iter().map(|r| &r.file))
                .any(|f| f.split('/').next() == Some(d.dir.as_str()));
            if taken || dirs.iter().any(|o: &WriteDir| o.dir == d.dir) {
                anyhow::bail!(
                    "--write-dir '{arg}': '{}' is already a name in the mount",
                    d.dir
                );
            }
            dirs.push(d);
        }
        let mut c = WriteConfig::new(dirs, self.memory);
        c.allow_overwrite = self.allow_overwrite;
        c.allow_delete = self.allow_delete;
        c.timeout = self.read_timeout;
        Ok(Some(c))
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
    args.write_config(&args.spec()?)?;
    args.read_path_config()?;
    clear_dead_mount(&args.mountpoint)?;
    session::preflight(&args.mountpoint)?;
    if !args.nonempty {
        mountpoint::refuse_nonempty(&args.mountpoint)?;
    }
    if args.foreground {
        serve(global, args)
    } else {
        daemonize(args)
    }
}

/// A mount whose process died without unmounting answers "Transport endpoint is not
/// connected" and blocks a new mount: detach it, and say so.
fn clear_dead_mount(dir: &Path) -> anyhow::Result<()> {
    if mountpoint::clear_dead_mount(dir)? {
        eprintln!(
            "mezzfs: {} held a dead mount (its process had ended without unmounting); detached it",
            dir.display()
        );
    }
    Ok(())
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
    one_allocator_arena();
    let result = serve_inner(global, args);
    if args.notify_ready
        && let Err(e) = &result
    {
        // The parent is waiting for one line; it shows this as the command's error.
        println!("error: {e:#}");
    }
    result
}

/// Has every thread of the mount allocate from one glibc arena (before the runtime starts
/// its threads). Fetch buffers are allocated on the runtime's threads and freed on whichever
/// thread drops their last block; with an arena per thread, each arena kept its own peak of
/// freed buffers, and the mount's peak RSS was the sum. Measured with bench/mount-bench.py on
/// the s3-like profile, 1 GiB: dense 134 MiB → 100-103 MiB, parallel4 136-143 → 114-116 MiB,
/// at the same throughput and CPU per GB. Returning freed buffers to the kernel at once
/// (a fixed mmap threshold) went lower (89-93 MiB) but cost 75% more CPU per GB in page faults.
/// The workspace's one `unsafe`: glibc has no safe binding for this.
#[allow(unsafe_code)]
fn one_allocator_arena() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets an allocator parameter and M_ARENA_MAX is a valid one; it is
    // called before this process starts its threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn serve_inner(global: &Global, args: &MountArgs) -> anyhow::Result<()> {
    let metrics = args.metrics_listen.map(crate::metrics::bind).transpose()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mezzfs-io")
        // Large spans are decrypted on the blocking pool; more threads than cores only add
        // memory (each thread's allocator arena), not speed.
        .max_blocking_threads(std::thread::available_parallelism().map_or(4, |n| n.get() * 2))
        .build()
        .context("starting the async runtime")?;
    let opened = rt.block_on(args.assemble(global)?.open())?;
    let options = MountOptions {
        allow_other: args.allow_other,
        threads: args.fuse_threads,
        fsname: String::new(),
        nonempty: args.nonempty,
        ..MountOptions::default()
    };
    let running = opened.mount(&args.mountpoint, options, rt.handle().clone())?;
    if let Some(l) = metrics {
        crate::metrics::serve_mount(l, rt.handle(), running.read_path().clone(), args.memory)?;
    }
    crate::logging::say!(
        "mezzfs: mounted {} files of {} objects at {} ({})",
        running.files().len(),
        running.read_path().object_count(),
        args.mountpoint.display(),
        running.read_path().readahead_description()
    );
    if args.notify_ready {
        println!("{READY}");
        let _ = std::io::stdout().flush();
    }
    let mountpoint = args.mountpoint.display().to_string();
    let served = rt.block_on(async {
        let signals = signals()?;
        let shutdown = async move {
            let why = signals.await;
            crate::logging::say!("mezzfs: {why}; unmounting {mountpoint}");
        };
        anyhow::Ok(running.serve(shutdown).await?)
    })?;
    if served.ended == Ended::UnmountedOutside {
        crate::logging::say!("mezzfs: unmounted from outside");
    }
    crate::logging::say!("mezzfs: {}", served.stats.summary());
    if let Some(file) = &served.replay {
        crate::logging::say!("mezzfs: replay written to {}", file.display());
    }
    // Read-ahead fetches still running are abandoned, not awaited.
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

impl MountArgs {
    /// The mount these arguments describe, ready to open.
    fn assemble(&self, global: &Global) -> anyhow::Result<Mount> {
        let retry = RetryConfig {
            max_attempts: global.max_attempts.max(1),
            attempt_timeout: self.request_timeout,
            // The read timeout also covers waiting behind other fetches; leave it a quarter.
            deadline: self.read_timeout.mul_f64(0.75).max(self.request_timeout),
            ..RetryConfig::default()
        };
        let spec = self.spec()?;
        let writes = self.write_config(&spec)?;
        let mut mount = Mount::new(spec, Arc::new(global.clone()), global.keys()?)
            .read_path(self.read_path_config()?)
            .retry(retry)
            .key_grace(self.key_grace);
        if let Some(w) = writes {
            mount = mount.write_dirs(w);
        }
        if let Some(url) = &self.regional_cache {
            let near = StoreUrl::parse(url).with_context(|| format!("--regional-cache {url}"))?;
            mount = mount.regional_cache(near, self.regional_endpoint_url.clone());
        }
        if let Some(dir) = &self.cache_dir {
            let mut c = DiskCacheConfig::new(dir);
            c.max_bytes = self.cache_size;
            mount = mount.disk_cache(c);
        }
        if let Some(file) = &self.audit_log {
            mount = mount.audit_log(std::path::absolute(file).unwrap_or_else(|_| file.clone()));
        }
        if let Some(file) = &self.replay {
            let mut settings = serde_json::Map::new();
            settings.insert("readahead".into(), self.readahead.clone().into());
            settings.insert("fixed_size".into(), self.fixed_size.into());
            settings.insert("memory".into(), self.memory.into());
            settings.insert("request_size".into(), self.request_size.into());
            mount = mount.record(file.clone(), settings);
        }
        Ok(mount)
    }
}

/// Completes with the name of the first of SIGINT, SIGTERM or SIGHUP to arrive.
fn signals() -> anyhow::Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("handling SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("handling SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("handling SIGHUP")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => "interrupted",
            _ = term.recv() => "terminated",
            _ = hup.recv() => "hung up",
        }
    })
}
