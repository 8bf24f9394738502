//! `mezzfs replay rerun`: the replay's objects mounted again (in this process, on a temporary
//! mount point), its opens and reads performed again through the kernel, every byte checked
//! against the digests recorded at capture time.
//!
//! Each recorded handle gets a thread that performs its reads in order with O_DIRECT (so the
//! mount sees the recorded request sizes, not the page cache's). Handles run concurrently as
//! they did when recorded: those read together are read together, and a handle opened after
//! another had finished reading starts when that one is done ([`mezz_replays::handle_spans`]):
//! a tool that thumbnails one frame after another, opening the file for each, is rerun one
//! frame after another, not as seven parallel readers. As fast as possible by default, or
//! with the recorded timing.
//!
//! Writes (creates, writes, commits, renames in writable directories) are not rerun: that
//! would store the objects again. They are counted in the report and otherwise skipped.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use mezz_mount::spec::{MountSpec, RangeFile, parse_size};
use mezz_mount::{Mount, MountOptions, ReadPathConfig};
use mezz_readahead::Strategy;
use mezz_replays::{Decoded, ReadDigest, Record};
use serde::Serialize;

use super::super::Global;

#[derive(Debug, clap::Args)]
pub struct RerunArgs {
    file: PathBuf,
    /// Read-ahead strategy: adaptive, fixed (8 MiB) or fixed:SIZE [default: as recorded].
    #[arg(long)]
    readahead: Option<String>,
    /// Wait until each operation's recorded time instead of going as fast as possible.
    #[arg(long)]
    original_timing: bool,
    /// Memory budget of the mount.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    memory: u64,
    #[command(flatten)]
    shape: ShapeArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Record the rerun's own replay into this file (what this strategy fetched, and when).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

/// Makes a nearby store cost what a distant one does (for reruns on loopback or in CI).
#[derive(Debug, Clone, clap::Args)]
pub struct ShapeArgs {
    /// Add this round trip (ms) before every response's first byte.
    #[arg(long, default_value_t = 0.0)]
    pub latency_ms: f64,
    /// Cap each response at this rate (Mbit/s), like one S3 connection.
    #[arg(long)]
    pub request_mbit: Option<f64>,
    /// Share a link of this rate (Mbit/s) among all responses.
    #[arg(long)]
    pub link_mbit: Option<f64>,
}

impl ShapeArgs {
    pub fn shape(&self) -> anyhow::Result<Option<mezz_store::Shape>> {
        if !(0.0..=60_000.0).contains(&self.latency_ms) {
            anyhow::bail!("--latency-ms takes 0 to 60000");
        }
        for m in [self.request_mbit, self.link_mbit].into_iter().flatten() {
            if m <= 0.0 || !m.is_finite() {
                anyhow::bail!("--request-mbit and --link-mbit take positive numbers");
            }
        }
        let shaped =
            self.latency_ms > 0.0 || self.request_mbit.is_some() || self.link_mbit.is_some();
        Ok(shaped.then(|| mezz_store::Shape {
            latency: Duration::from_secs_f64(self.latency_ms / 1000.0),
            per_request_rate: self.request_mbit.map(|m| m * 1e6 / 8.0),
            link_rate: self.link_mbit.map(|m| m * 1e6 / 8.0),
        }))
    }
}

/// What a rerun measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RerunReport {
    pub secs: f64,
    pub reads: u64,
    pub bytes_read: u64,
    pub bytes_fetched: u64,
    pub amplification: f64,
    pub fetches: u64,
    pub latency_us_p50: u64,
    pub latency_us_p99: u64,
    /// Reads that failed now but succeeded when recorded, or the other way round.
    pub unexpected: u64,
    /// Digest ranges whose bytes differ from the recording.
    pub digest_mismatches: Vec<String>,
    pub digests_checked: u64,
    /// Objects whose version differs from the recorded one (their bytes may still match).
    pub changed_versions: Vec<String>,
    /// Write records of the replay (creates, writes, commits, renames): not rerun.
    pub writes_not_rerun: u64,
}

/// Whether `r` is about the writable directories (not rerun).
pub fn is_write(r: &Record) -> bool {
    matches!(
        r,
        Record::Create { .. }
            | Record::Write { .. }
            | Record::Commit { .. }
            | Record::Rename { .. }
    )
}

/// A replay of a mount with no read-only files (only writable directories) has nothing to
/// rerun.
pub fn nothing_to_read(d: &Decoded) -> bool {
    d.meta().is_some_and(|m| m.files.is_empty())
}

impl RerunReport {
    pub fn failed(&self) -> bool {
        self.unexpected > 0 || !self.digest_mismatches.is_empty()
    }
}

pub fn parse_strategy(s: &str) -> anyhow::Result<Strategy> {
    match s.split_once(':') {
        None if s == "adaptive" => Ok(Strategy::Adaptive),
        None if s == "fixed" => Ok(Strategy::Fixed(8 << 20)),
        Some(("fixed", size)) => Ok(Strategy::Fixed(
            parse_size(size).map_err(anyhow::Error::msg)?,
        )),
        _ => anyhow::bail!("unknown read-ahead strategy '{s}' (adaptive, fixed or fixed:SIZE)"),
    }
}

fn recorded_strategy(d: &Decoded) -> Strategy {
    let readahead = d.meta().map(|m| m.readahead.as_str()).unwrap_or("adaptive");
    match readahead.strip_prefix("fixed ") {
        Some(n) => Strategy::Fixed(n.parse().unwrap_or(8 << 20)),
        None => Strategy::Adaptive,
    }
}

pub fn run(global: &Global, a: &RerunArgs) -> anyhow::Result<()> {
    let d = super::load(&a.file)?;
    let strategy = match &a.readahead {
        Some(s) => parse_strategy(s)?,
        None => recorded_strategy(&d),
    };
    let report = rerun(
        global,
        &d,
        strategy,
        a.memory,
        a.original_timing,
        a.shape.shape()?,
        a.record.clone(),
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    if report.failed() {
        anyhow::bail!(
            "the rerun differs from the recording: {} unexpected read results, {} digest mismatches",
            report.unexpected,
            report.digest_mismatches.len()
        );
    }
    Ok(())
}

fn print_report(r: &RerunReport) {
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!(
        "{} reads, {:.1} MiB in {:.3} s ({:.1} MiB/s); fetched {:.1} MiB in {} requests (amplification {:.2})",
        r.reads,
        mib(r.bytes_read),
        r.secs,
        mib(r.bytes_read) / r.secs.max(1e-9),
        mib(r.bytes_fetched),
        r.fetches,
        r.amplification
    );
    println!(
        "read latency p50 {} µs, p99 {} µs",
        r.latency_us_p50, r.latency_us_p99
    );
    println!(
        "bytes checked against {} recorded digests: {}",
        r.digests_checked,
        if r.digest_mismatches.is_empty() {
            "all identical".to_string()
        } else {
            r.digest_mismatches.join("; ")
        }
    );
    for c in &r.changed_versions {
        println!("note: {c}");
    }
    if r.writes_not_rerun > 0 {
        println!(
            "note: {} write records (creates, writes, commits, renames) are not rerun",
            r.writes_not_rerun
        );
    }
}

/// One read of a handle: the index of its record, the bytes, and when it arrived (µs since
/// the replay's first record; waited for with `--original-timing`).
struct Op {
    index: usize,
    offset: u64,
    len: u64,
    due: Option<Duration>,
}

struct Outcome {
    index: usize,
    hash: Option<u64>,
    bytes: u64,
    latency_us: u64,
}

/// Alignment of the O_DIRECT read buffers.
const PAGE: usize = 4096;

/// Handles open at once; more wait until one is done.
const MAX_HANDLES: usize = 256;

pub fn rerun(
    global: &Global,
    d: &Decoded,
    strategy: Strategy,
    memory: u64,
    original_timing: bool,
    shape: Option<mezz_store::Shape>,
    record: Option<PathBuf>,
) -> anyhow::Result<RerunReport> {
    let meta = d.meta().context("the replay has no mount description")?;
    let writes = d.records.iter().filter(|r| is_write(r)).count();
    if nothing_to_read(d) {
        anyhow::bail!(
            "the replay's mount had no files to read, so there is nothing to rerun ({writes} \
             write records; writes are not rerun)"
        );
    }
    let mut spec = MountSpec::default();
    for (i, f) in meta.files.iter().enumerate() {
        let object = meta.objects.get(f.object as usize).with_context(|| {
            format!(
                "file {i} names object {} which the replay does not list",
                f.object
            )
        })?;
        spec.ranges.push(RangeFile {
            file: format!("f{i}"),
            source: object.source.clone(),
            offset: f.offset,
            len: f.len,
        });
    }
    spec.validate()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut config = ReadPathConfig::default();
    config.readahead.strategy = strategy;
    let mut mount = Mount::new(spec, Arc::new(global.clone()), global.keys()?)
        .read_path(config.with_memory_budget(memory))
        .retry(mezz_store::RetryConfig::default())
        .shape(shape);
    if let Some(file) = record {
        let mut settings = serde_json::Map::new();
        settings.insert("rerun_of".into(), meta.host.clone().into());
        settings.insert("memory".into(), memory.into());
        mount = mount.record(file, settings);
    }
    let opened = rt.block_on(mount.open())?;
    let mut report = RerunReport {
        writes_not_rerun: writes as u64,
        ..RerunReport::default()
    };
    for (o, (_, now)) in meta.objects.iter().zip(opened.objects()) {
        if *now != o.version {
            report.changed_versions.push(format!(
                "object '{}' is version {now}, the replay recorded {}",
                o.source, o.version
            ));
        }
    }
    let dir = TempMountPoint::new()?;
    let running = opened.mount(&dir.0, MountOptions::default(), rt.handle().clone())?;

    let started = Instant::now();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let t0 = d.records.iter().find_map(Record::time).unwrap_or(0);
    let due = |t: u64| original_timing.then(|| Duration::from_micros(t.saturating_sub(t0)));
    let spans = mezz_replays::handle_spans(&d.records);
    // Threads of the handles started so far, by span.
    let mut threads: Vec<(usize, std::thread::JoinHandle<()>)> = Vec::new();
    for (k, span) in spans.iter().enumerate() {
        // Handles that had done their reading before this one was opened finish first.
        let (done, running): (Vec<_>, Vec<_>) = threads
            .drain(..)
            .partition(|(j, _)| spans[*j].done_before(span));
        threads = running;
        for (_, t) in done {
            let _ = t.join();
        }
        threads.retain(|(_, t)| !t.is_finished());
        while threads.len() >= MAX_HANDLES {
            std::thread::sleep(Duration::from_millis(1));
            threads.retain(|(_, t)| !t.is_finished());
        }
        if let Some(wait) = due(span.opened).and_then(|d| d.checked_sub(started.elapsed())) {
            std::thread::sleep(wait);
        }
        let ops: Vec<Op> = span
            .reads
            .iter()
            .filter_map(|&index| match d.records[index] {
                Record::Read { t, offset, len, .. } => Some(Op {
                    index,
                    offset,
                    len,
                    due: due(t),
                }),
                _ => None,
            })
            .collect();
        let file = dir.0.join(format!("f{}", span.file));
        let outcomes = outcomes.clone();
        threads.push((
            k,
            std::thread::spawn(move || perform(&file, ops, started, &outcomes)),
        ));
    }
    for (_, t) in threads {
        let _ = t.join();
    }
    report.secs = started.elapsed().as_secs_f64();
    let stats = rt.block_on(running.serve(async {}))?.stats;
    rt.shutdown_timeout(Duration::from_secs(1));

    let mut outcomes = std::mem::take(&mut *outcomes.lock().unwrap_or_else(|p| p.into_inner()));
    outcomes.sort_by_key(|o| o.index);
    check(d, &outcomes, &mut report);
    let mut lat: Vec<u64> = outcomes
        .iter()
        .filter(|o| o.hash.is_some())
        .map(|o| o.latency_us)
        .collect();
    lat.sort_unstable();
    let pct = |q: f64| {
        lat.get(((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len().max(1)) - 1)
            .copied()
            .unwrap_or(0)
    };
    report.latency_us_p50 = pct(0.5);
    report.latency_us_p99 = pct(0.99);
    report.reads = outcomes.len() as u64;
    report.bytes_read = outcomes.iter().map(|o| o.bytes).sum();
    report.bytes_fetched = stats.bytes_fetched;
    report.fetches = stats.fetches;
    report.amplification = stats.amplification;
    Ok(report)
}

/// Compares what the rerun read with the recording: each read's success, and the bytes of
/// each digest's reads.
fn check(d: &Decoded, outcomes: &[Outcome], report: &mut RerunReport) {
    let by_index: HashMap<usize, &Outcome> = outcomes.iter().map(|o| (o.index, o)).collect();
    let mut digest = ReadDigest::default();
    let mut first_read = None;
    for (index, r) in d.records.iter().enumerate() {
        match r {
            Record::Read { ok, .. } => {
                let now = by_index.get(&index).and_then(|o| o.hash);
                if now.is_some() != *ok {
                    report.unexpected += 1;
                }
                if *ok {
                    first_read.get_or_insert(index);
                    // A read that failed now cannot match: fold something no read hashes to.
                    digest.add_hash(now.unwrap_or(!0));
                }
            }
            Record::Digest {
                reads,
                digest: want,
            } => {
                report.digests_checked += 1;
                let got = digest.take();
                if got != Some((*reads, *want)) {
                    report.digest_mismatches.push(format!(
                        "the {reads} reads from record {} to {index} returned different bytes",
                        first_read.unwrap_or(index)
                    ));
                }
                first_read = None;
            }
            _ => {}
        }
    }
}

fn perform(file: &Path, ops: Vec<Op>, t0: Instant, outcomes: &Mutex<Vec<Outcome>>) {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(file)
        .or_else(|_| File::open(file));
    // O_DIRECT reads into a buffer that is not page-aligned are split by the kernel (a 1 MiB
    // read arrived as 1048528 + 48 bytes), so the buffer starts on a page boundary.
    let mut backing: Vec<u8> = Vec::new();
    for Op {
        index,
        offset,
        len,
        due,
    } in ops
    {
        if let Some(wait) = due.and_then(|d| d.checked_sub(t0.elapsed())) {
            std::thread::sleep(wait);
        }
        let started = Instant::now();
        backing.resize(len as usize + PAGE, 0);
        let skip = backing.as_ptr().align_offset(PAGE).min(PAGE);
        let buf = &mut backing[skip..skip + len as usize];
        let hash = f.as_ref().ok().and_then(|f| {
            let mut got = 0usize;
            while got < buf.len() {
                match f.read_at(&mut buf[got..], offset + got as u64) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return None,
                }
            }
            Some((ReadDigest::hash(&buf[..got]), got))
        });
        let outcome = Outcome {
            index,
            hash: hash.map(|(h, _)| h),
            bytes: hash.map_or(0, |(_, n)| n as u64),
            latency_us: started.elapsed().as_micros() as u64,
        };
        outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(outcome);
    }
}

/// A fresh directory to mount on, removed afterwards.
struct TempMountPoint(PathBuf);

impl TempMountPoint {
    fn new() -> anyhow::Result<TempMountPoint> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mezzfs-rerun-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(TempMountPoint(dir))
    }
}

impl Drop for TempMountPoint {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}
