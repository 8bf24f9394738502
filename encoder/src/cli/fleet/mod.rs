//! The fleet commands: `submit`, `worker`, `status`, `assemble`, `requeue`, `setup-queue`.
//! Each opens the store and the queue from its options and runs on a tokio runtime; the work
//! is in `segment_encode::fleet`.

mod assemble;
mod queue;
mod status;
mod submit;
mod worker;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args as ClapArgs;
use segment_encode::fleet::sqs::{self, Queue, SqsConfig};
use segment_encode::fleet::store::{FleetStore, StoreConfig};

pub use assemble::run as assemble;
pub use queue::{requeue, setup};
pub use status::run as status;
pub use submit::run as submit;
pub use worker::run as worker;

use super::LimitArgs;

/// Where the store is and how to reach it.
#[derive(Debug, Clone, ClapArgs)]
pub struct StoreOpts {
    /// The mezzfs store holding the mezzanine and its jobs: s3://bucket/prefix, or a directory
    /// (only for workers on this machine). Workers take it from each message instead.
    #[arg(long, env = "MEZZFS_STORE")]
    store: Option<String>,
    /// S3 endpoint URL of an S3-compatible server [default: the AWS configuration's].
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// AWS region of the bucket [default: the AWS configuration's].
    #[arg(long)]
    region: Option<String>,
    /// mezzfs key file the mezzanine is encrypted with [default: MEZZFS_KEY_FILE, else
    /// mezzfs's default location].
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Wrap the mezzanine's data key with this AWS KMS key (id, ARN or alias/NAME) instead of
    /// the key file. Workers then need no key file, only KMS Decrypt permission (endpoint:
    /// AWS_ENDPOINT_URL_KMS, else AWS's).
    #[arg(long, env = "MEZZFS_KMS_KEY_ID", value_name = "ID")]
    kms_key_id: Option<String>,
}

/// How to reach SQS.
#[derive(Debug, Clone, ClapArgs)]
pub struct SqsOpts {
    /// SQS endpoint URL (e.g. moto's) [default: AWS_ENDPOINT_URL_SQS, else AWS's].
    #[arg(long, value_name = "URL")]
    sqs_endpoint_url: Option<String>,
}

/// Encoder settings of a fleet job (tiles fixed, so chunks join into the one-machine stream).
#[derive(Debug, Clone, ClapArgs)]
pub struct JobSettings {
    /// rav1e speed preset: 0 (slowest, best) to 10 (fastest).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(0..=10))]
    speed: u8,
    /// Fixed quantizer 0-255 (lower is better quality); the default rate control.
    #[arg(long, default_value_t = 100, conflicts_with = "bitrate")]
    quantizer: u8,
    /// Target bitrate in kbit/s instead of a fixed quantizer (rate control per scene).
    #[arg(long, value_name = "KBPS")]
    bitrate: Option<u32>,
    /// Tiles per frame (a power of two), the same for every scene.
    #[arg(long, default_value_t = 1)]
    tiles: usize,
    /// Keyframe at most every N frames within a scene; 0: only at scene starts.
    #[arg(long, default_value_t = 0)]
    keyint: u64,
}

#[derive(Debug, ClapArgs)]
pub struct SubmitArgs {
    /// The mezzanine's object name in the store (e.g. movies/bikes.y4m).
    object: String,
    /// A local Y4M to put into the store as OBJECT first (skipped if OBJECT exists, unless
    /// --replace).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Put --input even if OBJECT exists (a new version: a new job).
    #[arg(long, requires = "input")]
    replace: bool,
    /// The scene list (from `segment-encode scenes`); without it scenes are detected, in
    /// --input or in the object read through mezzfs.
    #[arg(long, value_name = "FILE")]
    scenes: Option<PathBuf>,
    /// The queue's URL (from `setup-queue`).
    #[arg(long, env = "SEGMENT_ENCODE_QUEUE", value_name = "URL")]
    queue: String,
    #[command(flatten)]
    settings: JobSettings,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    store: StoreOpts,
    #[command(flatten)]
    sqs: SqsOpts,
    /// No progress on stderr.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, ClapArgs)]
pub struct WorkerArgs {
    /// The queue's URL.
    #[arg(long, env = "SEGMENT_ENCODE_QUEUE", value_name = "URL")]
    queue: String,
    /// Exit after this long without a message (scale-in), e.g. 5m, 90s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    idle_exit: Option<Duration>,
    /// Exit after this many messages.
    #[arg(long, value_name = "N")]
    max_scenes: Option<u64>,
    /// After SIGTERM, time to finish the current scene; past it the scene's message is made
    /// visible again for another worker.
    #[arg(long, value_name = "DURATION", default_value = "90s", value_parser = parse_duration)]
    grace: Duration,
    /// Directory for the scene being encoded (its bytes, one scene at a time)
    /// [default: the system's temporary directory].
    #[arg(long, value_name = "DIR")]
    scratch_dir: Option<PathBuf>,
    /// Read the mezzanine through this regional cache bucket (s3://bucket/prefix), as
    /// `mezzfs mount --regional-cache` does: each part crosses regions once for the fleet.
    #[arg(long, value_name = "URL")]
    regional_cache: Option<String>,
    /// rav1e threads per scene [default: 0, all cores: one worker per machine or container].
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// This worker's name in done and error records [default: host/pid].
    #[arg(long)]
    name: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9465): scenes taken,
    /// done, failed and retried, encode seconds, bytes read and written, queue receive errors.
    /// An address in use or not allowed stops the worker before it takes any work.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    store: StoreOpts,
    #[command(flatten)]
    sqs: SqsOpts,
    /// Log only errors.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, ClapArgs)]
pub struct StatusArgs {
    /// The job id `submit` printed.
    job: String,
    /// The queue [default: the one the job was submitted to].
    #[arg(long, value_name = "URL")]
    queue: Option<String>,
    /// Print JSON (for scripts and autoscalers).
    #[arg(long)]
    json: bool,
    /// Print again every N seconds until every scene is done or failed.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "5")]
    watch: Option<u64>,
    /// Target time to drain the backlog: `workers_needed` is the fleet size for it.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    target: Duration,
    /// The fleet's rate is measured over the scenes finished in this window.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    window: Duration,
    #[command(flatten)]
    store: StoreOpts,
    #[command(flatten)]
    sqs: SqsOpts,
}

#[derive(Debug, ClapArgs)]
pub struct AssembleArgs {
    /// The job id `submit` printed.
    job: String,
    /// Output file: .ivf, .mp4, or .webm (also .mkv).
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    store: StoreOpts,
    /// No progress on stderr.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, ClapArgs)]
pub struct RequeueArgs {
    /// The job id `submit` printed.
    job: String,
    /// The queue [default: the one the job was submitted to]; failed scenes are taken from
    /// its dead-letter queue.
    #[arg(long, value_name = "URL")]
    queue: Option<String>,
    /// Also send a message for every scene without a chunk (after lost messages; a duplicate
    /// is harmless: the second delivery finds the chunk and is deleted).
    #[arg(long)]
    missing: bool,
    #[command(flatten)]
    store: StoreOpts,
    #[command(flatten)]
    sqs: SqsOpts,
}

#[derive(Debug, ClapArgs)]
pub struct SetupArgs {
    /// Queue name; the dead-letter queue is NAME-dlq.
    name: String,
    /// How long a received message stays hidden. Workers extend it while they encode, so it
    /// only bounds how soon a dead worker's scene goes to another worker.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    visibility_timeout: Duration,
    /// Deliveries of a scene before it is moved to the dead-letter queue.
    #[arg(long, default_value_t = 3)]
    max_receives: u32,
    #[command(flatten)]
    sqs: SqsOpts,
}

/// `90`, `90s`, `500ms`, `5m`, `2h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}': expected a duration like 90s, 5m, 2h"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("'{s}': units are ms, s, m, h")),
    };
    if !(n * scale).is_finite() || n < 0.0 {
        return Err(format!("'{s}': not a duration"));
    }
    Ok(Duration::from_secs_f64(n * scale))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

impl StoreOpts {
    fn config(&self) -> StoreConfig {
        StoreConfig {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            key_file: self.key_file.clone(),
            kms_key_id: self.kms_key_id.clone(),
            regional_cache: None,
        }
    }

    fn url(&self) -> anyhow::Result<&str> {
        self.store
            .as_deref()
            .context("give the store: --store s3://bucket/prefix (or MEZZFS_STORE)")
    }

    async fn open(&self) -> anyhow::Result<FleetStore> {
        Ok(FleetStore::open(self.url()?, &self.config()).await?)
    }
}

impl SqsOpts {
    async fn queue(&self, url: &str) -> Queue {
        Queue::new(self.client().await, url)
    }

    async fn client(&self) -> aws_sdk_sqs::Client {
        sqs::client(&SqsConfig {
            endpoint_url: self.sqs_endpoint_url.clone(),
            region: None,
            static_credentials: None,
        })
        .await
    }
}

/// The queue a job was submitted to, from `jobs/<job>/submitted.json`.
async fn submitted_queue(store: &FleetStore, job: &str) -> anyhow::Result<Option<String>> {
    let key = segment_encode::fleet::job::keys::submitted(job);
    let Some(bytes) = store.get(&key).await? else {
        return Ok(None);
    };
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{key}: not JSON"))?;
    Ok(v["queue"].as_str().map(str::to_string))
}

/// The job record, or a clear error naming where it was looked for.
async fn read_job(
    store: &FleetStore,
    job: &str,
) -> anyhow::Result<(
    segment_encode::fleet::job::JobRecord,
    segment_encode::Y4mHeader,
)> {
    let key = segment_encode::fleet::job::keys::job(job);
    let bytes = store
        .get(&key)
        .await?
        .with_context(|| format!("no job {job}: {key} is not in {}", store.url()))?;
    segment_encode::fleet::job::JobRecord::parse(&bytes).with_context(|| key.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
