//! `mezzfs replay`: inspect, export and rerun replays recorded by `mezzfs mount --replay`.

mod batch;
mod rerun;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mezz_replays::analysis::{self, Summary};
use mezz_replays::{Decoded, End, Record};

use super::Global;

#[derive(Debug, clap::Subcommand)]
pub enum ReplayCommand {
    /// Summary: duration, reads, bytes read and fetched, latency, read sizes, each object's
    /// access pattern (dense, sparse or mixed), and the files written through writable
    /// directories (creates, writes, bytes, commits stored or not, renames).
    #[command(visible_alias = "stats")]
    Info(InfoArgs),
    /// Every record, as text or JSON lines.
    Dump(DumpArgs),
    /// Convert to another format: `chrome` is Trace Event JSON for Perfetto / chrome://tracing.
    Export(ExportArgs),
    /// Mount the replay's objects and perform its reads again, checking every byte against
    /// the digests recorded at capture time; reports latency and totals. Writes are not
    /// rerun (they would store objects again).
    Rerun(rerun::RerunArgs),
    /// Rerun every replay in a directory with a control and a candidate read-ahead strategy,
    /// interleaved, N times each; fail when anything errors or the candidate is slower.
    Batch(batch::BatchArgs),
}

#[derive(Debug, clap::Args)]
#[command(after_help = mezz_mount::READ_LATENCY)]
pub struct InfoArgs {
    file: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DumpArgs {
    file: PathBuf,
    /// JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Stop after this many records.
    #[arg(long)]
    limit: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    file: PathBuf,
    #[arg(long, default_value = "chrome", value_parser = ["chrome"])]
    format: String,
    /// Output file ('-' for stdout).
    #[arg(short, long, default_value = "-")]
    output: PathBuf,
}

pub fn run(global: &Global, cmd: &ReplayCommand) -> anyhow::Result<()> {
    match cmd {
        ReplayCommand::Info(a) => info(a),
        ReplayCommand::Dump(a) => dump(a),
        ReplayCommand::Export(a) => export(a),
        ReplayCommand::Rerun(a) => rerun::run(global, a),
        ReplayCommand::Batch(a) => batch::run(global, a),
    }
}

/// Reads and decodes a replay, warning (not failing) when it is cut short.
pub fn load(path: &Path) -> anyhow::Result<Decoded> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let d = mezz_replays::decode(&bytes).with_context(|| format!("{}", path.display()))?;
    match &d.end {
        End::Complete => {}
        End::Truncated { at } => eprintln!(
            "mezzfs: warning: {} is truncated at byte {at} (the mount was killed?); using the {} records before it",
            path.display(),
            d.records.len()
        ),
        End::Corrupt { at, reason } => eprintln!(
            "mezzfs: warning: {} is damaged at byte {at} ({reason}); using the {} records before it",
            path.display(),
            d.records.len()
        ),
    }
    if d.meta().is_none() {
        anyhow::bail!(
            "{} has no mount description (its first chunk is missing or damaged)",
            path.display()
        );
    }
    Ok(d)
}

fn info(a: &InfoArgs) -> anyhow::Result<()> {
    let d = load(&a.file)?;
    let s = Summary::of(&d);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    let meta = d.meta().context("no meta")?;
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("replay:       {}", a.file.display());
    println!(
        "recorded by:  mezzfs {} on {} (read-ahead {})",
        meta.mezzfs_version, meta.host, meta.readahead
    );
    println!(
        "ends:         {}{}",
        s.end,
        if s.clean_end {
            ""
        } else {
            "; no final statistics (the mount did not end cleanly)"
        }
    );
    println!(
        "duration:     {:.3} s, {} records",
        s.duration_us as f64 / 1e6,
        s.records
    );
    println!(
        "reads:        {} ({} failed), {:.1} MiB, {} opens",
        s.reads,
        s.failed_reads,
        mib(s.bytes_read),
        s.opens
    );
    println!(
        "fetches:      {} ({} failed), {:.1} MiB, amplification {:.2}",
        s.fetches,
        s.failed_fetches,
        mib(s.bytes_fetched),
        s.amplification
    );
    println!(
        "read-ahead:   {} windows; cache: {} segments in, {} evicted",
        s.windows_scheduled, s.segments_cached, s.segments_evicted
    );
    println!(
        "latency:      p50 {} µs, p99 {} µs, max {} µs",
        s.read_latency_us_p50, s.read_latency_us_p99, s.read_latency_us_max
    );
    if s.files_created + s.writes + s.renames > 0 {
        println!(
            "writes:       {} ({} failed), {:.1} MiB, {} files created, {} renames ({} failed)",
            s.writes,
            s.failed_writes,
            mib(s.bytes_written),
            s.files_created,
            s.renames,
            s.failed_renames
        );
        println!(
            "commits:      {} stored ({:.1} MiB), {} not stored; write latency p50 {} µs, p99 {} µs, max {} µs; longest commit {} µs",
            s.commits_ok,
            mib(s.bytes_committed),
            s.commits_failed,
            s.write_latency_us_p50,
            s.write_latency_us_p99,
            s.write_latency_us_max,
            s.commit_latency_us_max
        );
    }
    println!("errors:       {}", s.errors);
    println!("read latency:");
    for (edge, n) in &s.read_latencies {
        println!("  < {edge:>10} µs  {n}");
    }
    println!("read sizes:");
    for (edge, n) in &s.read_sizes {
        println!("  <= {:>10} B  {n}", edge);
    }
    println!("objects:");
    for o in &s.objects {
        println!(
            "  [{}] {}: {} reads, {:.1} MiB, {} ({:.0}% of 64-read windows dense, {} clusters)",
            o.object,
            o.source,
            o.reads,
            mib(o.bytes_read),
            o.class,
            o.dense_share * 100.0,
            o.clusters
        );
    }
    if !s.written_files.is_empty() {
        println!("files written:");
        for f in &s.written_files {
            let object = match (f.object.is_empty(), f.outcome.as_str()) {
                (true, _) => String::new(),
                (false, "stored") => format!(" as {}", f.object),
                (false, _) => format!(" ({})", f.object),
            };
            println!(
                "  {}: {} writes, {:.1} MiB, {}{object}",
                f.path,
                f.writes,
                mib(f.bytes_written),
                f.outcome
            );
        }
    }
    Ok(())
}

fn dump(a: &DumpArgs) -> anyhow::Result<()> {
    let d = load(&a.file)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for r in d.records.iter().take(a.limit.unwrap_or(usize::MAX)) {
        let line = if a.json {
            analysis::record_json(r).to_string()
        } else {
            text(r)
        };
        if writeln!(out, "{line}").is_err() {
            break; // stdout closed (e.g. piped into head)
        }
    }
    Ok(())
}

fn text(r: &Record) -> String {
    match r {
        Record::Meta(m) => format!("meta {}", serde_json::to_string(m).unwrap_or_default()),
        Record::Open { t, handle, file } => format!("{t:>12} open     h{handle} file {file}"),
        Record::Read {
            t,
            handle,
            offset,
            len,
            dur,
            ok,
        } => {
            format!(
                "{t:>12} read     h{handle} {offset}+{len} {dur}us{}",
                if *ok { "" } else { " FAILED" }
            )
        }
        Record::Release { t, handle } => format!("{t:>12} release  h{handle}"),
        Record::Schedule {
            t,
            object,
            offset,
            len,
        } => format!("{t:>12} window   o{object} {offset}+{len}"),
        Record::FetchStart {
            t,
            fetch,
            object,
            offset,
            len,
        } => format!("{t:>12} fetch    #{fetch} o{object} {offset}+{len}"),
        Record::FetchDone {
            t,
            fetch,
            bytes,
            ok,
        } => {
            format!(
                "{t:>12} fetched  #{fetch} {bytes} B{}",
                if *ok { "" } else { " FAILED" }
            )
        }
        Record::CacheInsert {
            t,
            object,
            first,
            count,
        } => format!("{t:>12} cache+   o{object} segments {first}+{count}"),
        Record::CacheEvict {
            t,
            object,
            first,
            count,
        } => format!("{t:>12} cache-   o{object} segments {first}+{count}"),
        Record::Error { t, message } => format!("{t:>12} error    {message}"),
        Record::Digest { reads, digest } => {
            format!("{:>12} digest   {reads} reads {digest:016x}", "")
        }
        Record::Stats(v) => format!("stats {v}"),
        Record::Unknown { kind, body } => format!("unknown kind {kind} ({} bytes)", body.len()),
        Record::Create { t, handle, path } => format!("{t:>12} create   h{handle} {path}"),
        Record::Write {
            t,
            handle,
            offset,
            len,
            dur,
            ok,
        } => format!(
            "{t:>12} write    h{handle} {offset}+{len} {dur}us{}",
            if *ok { "" } else { " REFUSED" }
        ),
        Record::Commit {
            t,
            handle,
            object,
            bytes,
            dur,
            ok,
        } => format!(
            "{t:>12} commit   h{handle} {object} {bytes} B {dur}us{}",
            if *ok { "" } else { " NOT STORED" }
        ),
        Record::Rename { t, from, to, ok } => format!(
            "{t:>12} rename   {from} -> {to}{}",
            if *ok { "" } else { " FAILED" }
        ),
    }
}

fn export(a: &ExportArgs) -> anyhow::Result<()> {
    let d = load(&a.file)?;
    let trace = analysis::chrome_trace(&d);
    let text = serde_json::to_string(&trace)?;
    if a.output.as_os_str() == "-" {
        println!("{text}");
    } else {
        std::fs::write(&a.output, text)
            .with_context(|| format!("writing {}", a.output.display()))?;
    }
    Ok(())
}
