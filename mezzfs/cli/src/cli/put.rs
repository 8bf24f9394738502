use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use mezz_object::{PutOptions, PutProgress, put_object};

use super::{Global, human, parse_size, progress_bar};

#[derive(Debug, clap::Args)]
pub struct PutArgs {
    /// File to upload, or '-' for standard input.
    source: PathBuf,
    /// Object name in the store, e.g. movies/clip.y4m [default: the source's file name].
    name: Option<String>,
    /// Plaintext bytes per part object.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    part_size: u64,
    /// Plaintext bytes per sealed segment (the unit of authentication: 4KiB to 4MiB).
    #[arg(long, default_value = "16KiB", value_parser = parse_size)]
    segment_size: u64,
    /// Plaintext bytes per upload request; at least 5MiB when parts use multipart upload on S3.
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    chunk_size: u64,
    /// Upload requests in flight (memory use is about 2 x this x chunk size).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

pub async fn run(g: &Global, a: &PutArgs) -> anyhow::Result<()> {
    let name = match &a.name {
        Some(n) => n.clone(),
        None => a
            .source
            .file_name()
            .filter(|_| a.source.as_os_str() != "-")
            .map(|n| n.to_string_lossy().into_owned())
            .context("name the object: reading stdin, there is no file name to use")?,
    };
    let segment_size = u32::try_from(a.segment_size).context("--segment-size is too large")?;
    if a.chunk_size < 5 << 20 && a.chunk_size < a.part_size {
        anyhow::bail!(
            "--chunk-size must be at least 5MiB (S3's smallest multipart piece) unless parts fit in one chunk"
        );
    }
    let (source, len): (Box<dyn std::io::Read + Send>, Option<u64>) = if a.source.as_os_str() == "-"
    {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = std::fs::File::open(&a.source)
            .with_context(|| format!("opening {}", a.source.display()))?;
        let len = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        (Box::new(f), len)
    };
    let store = g.store().await?;
    let keys = g.wrapping_keys()?;
    let opts = PutOptions {
        part_size: a.part_size,
        segment_size,
        chunk_size: a.chunk_size,
        concurrency: a.concurrency,
    };
    let progress = Arc::new(PutProgress::default());
    let bar = progress_bar(g.quiet, len, &format!("put {name}"));
    let started = Instant::now();
    let put = put_object(
        store.clone(),
        &*keys,
        &name,
        source,
        &opts,
        progress.clone(),
    );
    let mut put = std::pin::pin!(put);
    let manifest = loop {
        tokio::select! {
            r = &mut put => break r?,
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                bar.set_position(progress.uploaded.load(Ordering::Relaxed));
            }
        }
    };
    bar.finish_and_clear();
    if g.quiet {
        return Ok(());
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "put {name}: {} in {} part(s) to {} in {secs:.1} s ({}/s)",
        human(manifest.plaintext_size),
        manifest.part_count,
        store.describe(),
        human((manifest.plaintext_size as f64 / secs.max(1e-9)) as u64),
    );
    Ok(())
}
