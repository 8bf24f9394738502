//! `segment-encode worker`: the fleet's stateless worker (see `segment_encode::fleet::worker`).

use std::sync::Arc;

use anyhow::Context;
use mezz_ops::metrics_http::MetricsListener;
use segment_encode::fleet::metrics::WorkerMetrics;
use segment_encode::fleet::worker::{self, WorkerConfig};

use super::WorkerArgs;

pub fn run(a: WorkerArgs) -> anyhow::Result<()> {
    // First, so that an address in use or not allowed fails before any work is taken.
    let listener = a
        .metrics_listen
        .map(|addr| MetricsListener::bind(addr).with_context(|| format!("--metrics-listen {addr}")))
        .transpose()?;
    let scratch = a.scratch_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let mut store = a.store.config();
    store.regional_cache = a.regional_cache.clone();
    let config = WorkerConfig {
        store,
        scratch,
        idle_exit: a.idle_exit,
        max_scenes: a.max_scenes,
        grace: a.grace,
        threads: a.threads,
        name: a
            .name
            .clone()
            .unwrap_or_else(|| format!("{}/{}", host.trim(), std::process::id())),
    };
    let quiet = a.quiet;
    let log = move |line: String| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    let rt = super::runtime()?;
    let metrics = Arc::new(WorkerMetrics::new());
    if let Some(l) = listener {
        let m = metrics.clone();
        l.serve(rt.handle(), "segment-encode worker", move || m.render())
            .context("--metrics-listen: registering the socket")?;
    }
    rt.block_on(async {
        let queue = a.sqs.queue(&a.queue).await;
        let stopped = worker::run(&queue, &config, &metrics, &log).await;
        stopped.map(|_| ())
    })?;
    Ok(())
}
