//! `mezzfs stats`: a running mount's statistics, read from its `.mezzfs-stats` file.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use mezz_mount::MountStats;
use mezz_mount::spec::STATS_FILE;

#[derive(Debug, clap::Args)]
#[command(after_help = mezz_mount::READ_LATENCY)]
pub struct StatsArgs {
    /// The mount point.
    mountpoint: PathBuf,
    /// Print the raw JSON document (field names are stable).
    #[arg(long)]
    json: bool,
    /// Print again every SECONDS until interrupted, with rates since the previous print.
    #[arg(long, value_name = "SECONDS")]
    watch: Option<f64>,
}

fn read(args: &StatsArgs) -> anyhow::Result<(String, MountStats)> {
    let file = args.mountpoint.join(STATS_FILE);
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "reading {} (is {} a mezzfs mount?)",
            file.display(),
            args.mountpoint.display()
        )
    })?;
    let stats = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a mezzfs statistics document", file.display()))?;
    Ok((text, stats))
}

pub fn run(args: &StatsArgs) -> anyhow::Result<()> {
    let (text, mut prev) = read(args)?;
    if args.json {
        print!("{text}");
    } else {
        println!("{}", prev.summary());
    }
    let Some(secs) = args.watch else {
        return Ok(());
    };
    if !(0.05..=86400.0).contains(&secs) {
        anyhow::bail!("--watch takes 0.05 to 86400 seconds");
    }
    loop {
        std::thread::sleep(Duration::from_secs_f64(secs));
        let (text, now) = read(args)?;
        if args.json {
            print!("{text}");
        } else {
            let dt = (now.uptime_secs - prev.uptime_secs).max(1e-9);
            let mib = |a: u64, b: u64| a.saturating_sub(b) as f64 / (1 << 20) as f64 / dt;
            println!(
                "read {:8.1} MiB/s  fetched {:8.1} MiB/s  reads/s {:8.0}  in flight {:3}  cache {:6.1} MiB  written {:8.1} MiB/s",
                mib(now.bytes_read, prev.bytes_read),
                mib(now.bytes_fetched, prev.bytes_fetched),
                now.reads.saturating_sub(prev.reads) as f64 / dt,
                now.in_flight,
                now.cache_bytes as f64 / (1 << 20) as f64,
                mib(now.bytes_written, prev.bytes_written),
            );
        }
        prev = now;
    }
}
