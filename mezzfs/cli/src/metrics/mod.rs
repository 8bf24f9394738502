//! `mezzfs mount --metrics-listen ADDR`: the mount's counters in Prometheus's text exposition
//! format (OpenMetrics), served over HTTP at `/metrics`.
//!
//! - [`exposition`]: a [`Sample`](exposition::Sample) (the mount's [`mezz_mount::MountStats`],
//!   the memory budget and the process's resident memory) encoded through `prometheus-client`.
//!   The counting stays where it is (the read path's [`mezz_mount::Metrics`], the block cache,
//!   the store wrappers' counters); each scrape takes a snapshot of them.
//! - The HTTP endpoint is `mezz_ops::metrics_http` (shared with `segment-encode worker`). Its
//!   socket is bound before the mount is made, so an address in use or not allowed stops the
//!   mount with a clear error before it mounts.

pub mod exposition;

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use mezz_mount::{MountStats, ReadPath};
use mezz_ops::metrics_http::MetricsListener;

/// Binds `--metrics-listen ADDR` (before anything is mounted).
pub fn bind(addr: SocketAddr) -> anyhow::Result<MetricsListener> {
    MetricsListener::bind(addr).with_context(|| format!("--metrics-listen {addr}"))
}

/// Serves `path`'s statistics on `listener` from now on (uptime counted from now).
pub fn serve_mount(
    listener: MetricsListener,
    rt: &tokio::runtime::Handle,
    path: ReadPath,
    memory_budget: u64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    listener
        .serve(rt, "mezzfs mount", move || {
            exposition::render(exposition::Sample {
                stats: MountStats::collect(&path, started.elapsed()),
                latency: path.metrics().latency,
                memory_budget,
                resident_bytes: exposition::resident_bytes(),
            })
        })
        .context("--metrics-listen: registering the socket")
}
