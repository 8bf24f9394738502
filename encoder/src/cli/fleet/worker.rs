//! `segment-encode worker`: the fleet's stateless worker (see `segment_encode::fleet::worker`).

use anyhow::Context;
use segment_encode::fleet::worker::{self, WorkerConfig};

use super::WorkerArgs;

pub fn run(a: WorkerArgs) -> anyhow::Result<()> {
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
    rt.block_on(async {
        let queue = a.sqs.queue(&a.queue).await;
        let stopped = worker::run(&queue, &config, &log).await;
        stopped.map(|_| ())
    })?;
    Ok(())
}
