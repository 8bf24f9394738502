//! `mezzfs gc`: finds the multipart uploads of object parts that writers left unfinished (a
//! mount or put killed, or cut off from the store, mid-write) and aborts them.

use std::time::Duration;

use mezz_mount::spec::parse_duration;
use mezz_object::abandoned;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Only uploads of objects whose names start with PREFIX (e.g. encodes/).
    #[arg(default_value = "")]
    prefix: String,
    /// Only uploads begun at least this long ago: a writer still running may be using a
    /// younger one. 0s takes all (when no writer is running).
    #[arg(long, default_value = "1h", value_parser = parse_age)]
    older_than: Duration,
    /// List them, abort nothing.
    #[arg(long)]
    dry_run: bool,
}

/// A duration, or zero (`0`, `0s`).
fn parse_age(s: &str) -> Result<Duration, String> {
    match s.trim() {
        "0" | "0s" => Ok(Duration::ZERO),
        other => parse_duration(other),
    }
}

pub async fn run(g: &Global, a: &GcArgs) -> anyhow::Result<()> {
    let store = g.store().await?;
    let found = abandoned::find_abandoned(store.as_ref(), &a.prefix, a.older_than).await?;
    for u in &found {
        println!("{}\t{}", u.key, u.upload.0);
    }
    if a.dry_run || found.is_empty() {
        eprintln!(
            "mezzfs gc: {} unfinished upload(s) under '{}' begun over {:?} ago{}",
            found.len(),
            a.prefix,
            a.older_than,
            if a.dry_run && !found.is_empty() {
                " (dry run: none aborted)"
            } else {
                ""
            }
        );
        return Ok(());
    }
    let (aborted, failed) = abandoned::abort_all(store.as_ref(), &found).await;
    for (key, e) in &failed {
        eprintln!("mezzfs gc: could not abort the upload of {key}: {e}");
    }
    eprintln!(
        "mezzfs gc: aborted {aborted} unfinished upload(s) under '{}'",
        a.prefix
    );
    if !failed.is_empty() {
        anyhow::bail!("{} upload(s) could not be aborted", failed.len());
    }
    Ok(())
}
