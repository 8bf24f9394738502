use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use futures::StreamExt;
use mezz_mount::audit::{AuditLog, AuditObject, Who};
use mezz_object::ObjectReader;

use super::{Global, human, parse_size, progress_bar};

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Object name.
    name: String,
    /// Output file, or '-' for standard output (the default).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Only this byte range: START+LENGTH or START..END (END exclusive), the grammar of
    /// `mezzfs mount --range`; sizes take binary units, e.g. 1GiB+64KiB, 1.5MiB..2MiB.
    #[arg(long)]
    range: Option<String>,
    /// Ranged GETs in flight.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Bytes per ranged GET.
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    chunk_size: u64,
    /// Append JSON lines to FILE when the object is opened and closed: uid, pid, command,
    /// object, version, key id, bytes read. Off by default.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
}

/// Writes to a temporary beside a regular output file and renames it at the end, so an
/// interrupted get never leaves a file that looks complete.
struct Output {
    file: Box<dyn Write + Send>,
    finish: Option<(PathBuf, PathBuf)>,
}

impl Output {
    fn open(path: Option<&Path>) -> anyhow::Result<Output> {
        let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
            return Ok(Output {
                file: Box::new(std::io::BufWriter::with_capacity(
                    1 << 20,
                    std::io::stdout(),
                )),
                finish: None,
            });
        };
        let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file());
        if special {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            return Ok(Output {
                file: Box::new(f),
                finish: None,
            });
        }
        let tmp = path.with_file_name(format!(
            ".{}.mezzfs-partial-{}",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        let f =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        Ok(Output {
            file: Box::new(std::io::BufWriter::with_capacity(1 << 20, f)),
            finish: Some((tmp, path.into())),
        })
    }

    fn done(mut self) -> std::io::Result<()> {
        self.file.flush()?;
        if let Some((tmp, path)) = self.finish.take() {
            std::fs::rename(tmp, path)?;
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some((tmp, _)) = &self.finish {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

pub async fn run(g: &Global, a: &GetArgs) -> anyhow::Result<()> {
    let store = g.store().await?;
    let keys = g.keys()?;
    let reader = ObjectReader::open(store, &*keys, &a.name).await?;
    let audit = match &a.audit_log {
        Some(file) => {
            let log = AuditLog::open(file)?;
            let (who, object) = (Who::this_process(), AuditObject::of(&a.name, &reader));
            log.opened(0, &who, None, &object)?;
            Some((log, who, object))
        }
        None => None,
    };
    let mut read = 0u64;
    let result = copy_out(g, a, &reader, &mut read).await;
    if let Some((log, who, object)) = &audit {
        log.closed(0, who, None, object, read)?;
    }
    result
}

/// Writes the object (or --range of it) to the output; counts the bytes read into `read`.
async fn copy_out(
    g: &Global,
    a: &GetArgs,
    reader: &ObjectReader,
    read: &mut u64,
) -> anyhow::Result<()> {
    let range = match &a.range {
        Some(r) => {
            let r = mezz_mount::spec::parse_range(r).map_err(|e| anyhow::anyhow!("--range {e}"))?;
            if r.end > reader.size() {
                anyhow::bail!(
                    "--range ends at byte {} but '{}' is {} bytes long",
                    r.end,
                    a.name,
                    reader.size()
                );
            }
            r
        }
        None => 0..reader.size(),
    };
    let out_name = a
        .output
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "stdout".into());
    let mut out = Output::open(a.output.as_deref())?;
    let bar = progress_bar(
        g.quiet || a.output.is_none(),
        Some(range.end - range.start),
        &format!("get {}", a.name),
    );
    let started = Instant::now();
    let mut stream =
        std::pin::pin!(reader.stream_range(range.clone(), a.chunk_size, a.concurrency));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        *read += chunk.len() as u64;
        tokio::task::block_in_place(|| out.file.write_all(&chunk)).with_context(|| {
            format!(
                "writing {} bytes of '{}' to {out_name}",
                chunk.len(),
                a.name
            )
        })?;
        bar.inc(chunk.len() as u64);
    }
    tokio::task::block_in_place(|| out.done()).with_context(|| format!("finishing {out_name}"))?;
    bar.finish_and_clear();
    if a.output.is_some() && !g.quiet {
        let n = range.end - range.start;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "got {} of {} in {secs:.1} s ({}/s)",
            human(n),
            a.name,
            human((n as f64 / secs.max(1e-9)) as u64)
        );
    }
    Ok(())
}
