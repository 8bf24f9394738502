//! Argument definitions and dispatch. Each subcommand lives in its own file.

mod doctor;
mod gc;
mod get;
mod key;
mod ls;
mod mount;
mod put;
mod replay;
mod stat;
mod stats;
mod unmount;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mezz_format::{KeyProvider, LocalKeyFile};
use mezz_keys_kms::KeyRing;
use mezz_store::{ObjectStore, StoreUrl};
use mezz_store_s3::S3Options;

/// mezzfs stores huge media objects (mezzanines) in S3 or a local directory as encrypted
/// multi-part objects, and reads back any byte range of them.
///
/// Objects are cut into parts of sealed AES-256-GCM segments; a manifest per object holds its
/// sizes and its data key, wrapped by your key-encryption key (see `mezzfs key generate`).
#[derive(Debug, Parser)]
#[command(name = "mezzfs", version, max_term_width = 100)]
pub struct Args {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Debug, clap::Args)]
struct Global {
    /// Where objects live: s3://bucket/prefix, file:///path or a plain directory path.
    /// Defaults to a local store in $XDG_DATA_HOME/mezzfs/store (~/.local/share/mezzfs/store).
    #[arg(long, env = "MEZZFS_STORE", global = true)]
    store: Option<String>,
    /// Key-encryption key file [default: $XDG_CONFIG_HOME/mezzfs/key, ~/.config/mezzfs/key].
    #[arg(long, env = "MEZZFS_KEY_FILE", global = true)]
    key_file: Option<PathBuf>,
    /// Wrap new objects' data keys with this AWS KMS key (key id, ARN or alias/NAME) instead
    /// of the key file. Reading needs no flag: each object's manifest names its provider.
    #[arg(long, env = "MEZZFS_KMS_KEY_ID", global = true)]
    kms_key_id: Option<String>,
    /// KMS endpoint URL (also read from AWS_ENDPOINT_URL_KMS), e.g. a local KMS emulator.
    #[arg(long, global = true)]
    kms_endpoint_url: Option<String>,
    /// S3 endpoint URL for S3-compatible servers (also read from AWS_ENDPOINT_URL).
    #[arg(long, global = true)]
    endpoint_url: Option<String>,
    /// S3 region (also read from AWS_REGION and profiles).
    #[arg(long, global = true)]
    region: Option<String>,
    /// Use virtual-hosted-style S3 URLs even with a custom endpoint (default: path-style there).
    #[arg(long, global = true)]
    virtual_hosted: bool,
    /// Attempts per store request, the first included, before giving up (full-jitter backoff
    /// between them, within a retry budget shared by the process, so a throttling bucket gets
    /// few extra requests).
    #[arg(long, default_value_t = 5, global = true)]
    max_attempts: u32,
    /// Do not draw progress bars.
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    /// Log lines as text (colour only on a terminal) or as JSON objects, one per line, with
    /// the fields ts, level, target, message and fields (for log shippers). The level comes
    /// from MEZZFS_LOG (default: warn).
    #[arg(
        long,
        value_enum,
        default_value_t,
        env = "MEZZFS_LOG_FORMAT",
        global = true
    )]
    log_format: crate::logging::LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage key-encryption keys: generate a key file, re-wrap objects under a new key.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Split, encrypt and upload a file (or stdin) as an object.
    Put(put::PutArgs),
    /// Download and decrypt an object, or a byte range of it, to a file or stdout.
    Get(get::GetArgs),
    /// List objects.
    Ls(ls::LsArgs),
    /// Show an object's manifest: size, parts, segments, key id.
    Stat(stat::StatArgs),
    /// Authenticate every segment of an object and report the first bad one.
    Verify(verify::VerifyArgs),
    /// Mount objects (and byte ranges of them) as read-only files, and writable directories
    /// whose new files become objects (FUSE).
    Mount(Box<mount::MountArgs>),
    /// Abort the multipart uploads writers left unfinished (a mount or put killed, or cut
    /// off from the store, mid-write). Production buckets can do this with an S3 lifecycle
    /// rule (AbortIncompleteMultipartUpload; see the README).
    Gc(gc::GcArgs),
    /// Unmount a mezzfs mount.
    Unmount(unmount::UnmountArgs),
    /// Show a running mount's statistics: bytes read and fetched, cache, read latency.
    Stats(stats::StatsArgs),
    /// Check this machine for mounting: /dev/fuse, fusermount3, the key file, the stores
    /// (reachable, and where the credentials come from), the disk cache directory.
    Doctor(doctor::DoctorArgs),
    /// Inspect, export and rerun replays recorded by `mezzfs mount --replay`.
    #[command(subcommand)]
    Replay(replay::ReplayCommand),
}

impl Args {
    pub fn log_format(&self) -> crate::logging::LogFormat {
        self.global.log_format
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // These either need no runtime or build their own (mount daemonizes before any thread
    // exists).
    match &args.command {
        Command::Key(k) => return key::run(&args.global, k),
        Command::Mount(m) => return mount::run(&args.global, m),
        Command::Unmount(u) => return unmount::run(u),
        Command::Stats(s) => return stats::run(s),
        Command::Replay(r) => return replay::run(&args.global, r),
        _ => {}
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        match &args.command {
            Command::Key(_)
            | Command::Mount(_)
            | Command::Unmount(_)
            | Command::Stats(_)
            | Command::Replay(_) => Ok(()),
            Command::Doctor(a) => doctor::run(&args.global, a).await,
            Command::Put(a) => put::run(&args.global, a).await,
            Command::Get(a) => get::run(&args.global, a).await,
            Command::Ls(a) => ls::run(&args.global, a).await,
            Command::Stat(a) => stat::run(&args.global, a).await,
            Command::Verify(a) => verify::run(&args.global, a).await,
            Command::Gc(a) => gc::run(&args.global, a).await,
        }
    })
}

impl Global {
    fn store_url(&self) -> anyhow::Result<StoreUrl> {
        let url = match &self.store {
            Some(s) => s.clone(),
            None => {
                let base = std::env::var_os("XDG_DATA_HOME")
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share"))
                    })
                    .context("no --store given and neither XDG_DATA_HOME nor HOME is set")?;
                let dir = base.join("mezzfs/store");
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                dir.display().to_string()
            }
        };
        Ok(StoreUrl::parse(&url)?)
    }

    /// The --store store, with retries (see [`mezz_store_s3::open_store`]).
    async fn store(&self) -> anyhow::Result<Arc<dyn ObjectStore>> {
        let url = self.store_url()?;
        mezz_store_s3::open_store(&url, &self.s3_options(None))
            .await
            .with_context(|| format!("opening store {url}"))
    }

    /// Opens `url` without retries (a mount adds its own), through `endpoint` instead of
    /// --endpoint-url when given.
    async fn connect_store(
        &self,
        url: &StoreUrl,
        endpoint: Option<&str>,
    ) -> anyhow::Result<Arc<dyn ObjectStore>> {
        mezz_store_s3::connect_store(url, &self.s3_options(endpoint))
            .await
            .with_context(|| format!("opening store {url}"))
    }

    fn s3_options(&self, endpoint: Option<&str>) -> S3Options {
        S3Options {
            endpoint_url: endpoint
                .map(str::to_string)
                .or_else(|| self.endpoint_url.clone()),
            region: self.region.clone(),
            path_style: self.virtual_hosted.then_some(false),
            max_attempts: self.max_attempts,
            ..S3Options::default()
        }
    }

    /// The key ring: unwraps each object with the provider its manifest names (the key
    /// file, or KMS), wraps new objects with KMS when --kms-key-id is given, else the key file.
    fn key_ring(&self) -> anyhow::Result<KeyRing> {
        let path = self.key_file.clone().or_else(mezz_format::default_key_path);
        let local = match &path {
            Some(p) if p.exists() => Ok(LocalKeyFile::load(p)?),
            _ => Err(path),
        };
        Ok(KeyRing::new(
            local,
            self.kms_key_id.clone(),
            self.kms_endpoint_url.clone(),
        ))
    }

    fn keys(&self) -> anyhow::Result<Arc<dyn KeyProvider>> {
        Ok(Arc::new(self.key_ring()?))
    }

    /// Like [`keys`](Self::keys), failing at once when new objects could not be wrapped.
    fn wrapping_keys(&self) -> anyhow::Result<Arc<dyn KeyProvider>> {
        let ring = self.key_ring()?;
        ring.check_can_wrap()?;
        Ok(Arc::new(ring))
    }
}

/// How a mount opens its stores: the default store is --store, S3 is reached with the global
/// S3 options.
#[async_trait::async_trait]
impl mezz_mount::Connect for Global {
    async fn connect(
        &self,
        url: Option<&StoreUrl>,
        endpoint: Option<&str>,
    ) -> Result<Arc<dyn ObjectStore>, mezz_mount::ConnectError> {
        let url = match url {
            Some(url) => url.clone(),
            None => self.store_url()?,
        };
        Ok(self.connect_store(&url, endpoint).await?)
    }
}

pub use mezz_mount::spec::parse_size;

fn human(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", units[u])
    }
}

fn progress_bar(quiet: bool, len: Option<u64>, what: &str) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    let template = if len.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}"
    } else {
        "{msg} {bytes} {binary_bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
