//! `mezzfs key rewrap`: list, read every manifest, plan (pure, `mezz_object::rewrap`), then
//! rewrap what the plan says, a few objects at a time, with progress.

use std::path::PathBuf;

use anyhow::Context;
use futures::StreamExt;
use mezz_object::rewrap::{
    RewrapStep, RewrapTarget, Rewrapped, list_objects, plan_rewrap, read_manifest, rewrap_object,
};

use super::super::{Global, progress_bar};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("to").required(true)))]
pub struct RewrapArgs {
    /// Wrap under this key file (make one with `mezzfs key generate`).
    #[arg(long, value_name = "FILE", group = "to")]
    to_key_file: Option<PathBuf>,
    /// Wrap under this AWS KMS key (key id, ARN or alias/NAME).
    #[arg(long, value_name = "ID", group = "to")]
    to_kms_key_id: Option<String>,
    /// Only objects whose names start with this.
    #[arg(default_value = "")]
    prefix: String,
    /// Objects rewrapped at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

pub async fn run(g: &Global, a: &RewrapArgs) -> anyhow::Result<()> {
    let store = g.store().await?;
    let from = g.keys()?;
    let to = super::target_ring(g, a.to_key_file.as_ref(), a.to_kms_key_id.as_ref())?;
    let (provider, key_id) = to.wrapping_key().await.context("the new key")?;
    let target = RewrapTarget { provider, key_id };
    let names = list_objects(&*store, &a.prefix).await?;
    let width = a.concurrency.max(1);
    let manifests: Vec<_> = futures::stream::iter(&names)
        .map(|n| read_manifest(&*store, n))
        .buffer_unordered(width)
        .collect()
        .await;
    let plan = plan_rewrap(&manifests, &target);
    let todo: Vec<&str> = plan
        .iter()
        .filter_map(|s| match s {
            RewrapStep::Rewrap { name } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let skipped = plan
        .iter()
        .filter(|s| matches!(s, RewrapStep::Skip { .. }))
        .count();
    let mut failed: Vec<String> = plan
        .iter()
        .filter_map(|s| match s {
            RewrapStep::Refuse { name, reason } => Some(format!("object '{name}': {reason}")),
            _ => None,
        })
        .collect();
    if !g.quiet {
        eprintln!(
            "{} objects: {} to rewrap under {} key {}, {skipped} already under it",
            plan.len(),
            todo.len(),
            target.provider,
            target.key_id
        );
    }
    let bar = progress_bar(g.quiet, None, "rewrap");
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} {pos}/{len} objects {per_sec}")
    {
        bar.set_style(style);
    }
    bar.set_length(todo.len() as u64);
    let mut replaced = Vec::new();
    let mut done = 0usize;
    let mut results = futures::stream::iter(todo)
        .map(|name| {
            let (store, from, to) = (store.clone(), from.clone(), to.clone());
            async move {
                let r = rewrap_object(store, &*from, &*to, name).await;
                (name, r)
            }
        })
        .buffer_unordered(width);
    while let Some((name, r)) = results.next().await {
        bar.inc(1);
        match r {
            Ok(Rewrapped::Done) => done += 1,
            Ok(Rewrapped::Replaced) => replaced.push(name.to_owned()),
            Err(e) => failed.push(e.to_string()),
        }
    }
    bar.finish_and_clear();
    // The outcome is the command's result: printed with -q too.
    println!(
        "rewrapped {done} objects, {skipped} were already under the new key{}",
        if replaced.is_empty() {
            String::new()
        } else {
            format!(
                ", {} replaced by a put meanwhile (run again): {}",
                replaced.len(),
                replaced.join(", ")
            )
        }
    );
    if !failed.is_empty() {
        for f in &failed {
            eprintln!("mezzfs: {f}");
        }
        anyhow::bail!(
            "{} objects were not rewrapped (their manifests are unchanged); fix and run again",
            failed.len()
        );
    }
    Ok(())
}
