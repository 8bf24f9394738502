//! `mezzfs unmount`: ends a mount made by `mezzfs mount` and waits (bounded) for its process
//! to finish: the replay's last chunk and final statistics written, the caches' queued
//! writes done, the summary in its log.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mezz_mount::MountStats;
use mezz_mount::spec::{self, STATS_FILE};

#[derive(Debug, clap::Args)]
pub struct UnmountArgs {
    /// The mount point.
    mountpoint: PathBuf,
    /// Detach the mount even while files on it are open; they keep reading until closed.
    #[arg(long, short = 'z')]
    lazy: bool,
    /// Longest to wait for the mount's process to finish its replay and caches after the
    /// unmount ('0s': do not wait).
    #[arg(long, default_value = "30s", value_parser = spec::parse_duration)]
    timeout: Duration,
}

pub fn run(args: &UnmountArgs) -> anyhow::Result<()> {
    // Read before unmounting: the stats file names the process serving the mount.
    let pid = serving_pid(&args.mountpoint);
    mezz_mount::session::unmount_path(&args.mountpoint, args.lazy)?;
    let Some(pid) = pid else {
        return Ok(());
    };
    if !wait_exited(pid, args.timeout) {
        anyhow::bail!(
            "unmounted {}, but its process (pid {pid}) is still finishing after {:?}; its replay or cache may be incomplete until it ends",
            args.mountpoint.display(),
            args.timeout
        );
    }
    Ok(())
}

fn serving_pid(mountpoint: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(mountpoint.join(STATS_FILE)).ok()?;
    let stats: MountStats = serde_json::from_str(&text).ok()?;
    // 0: a mount too old to say; this process: an in-process mount, nothing to wait for.
    (stats.pid != 0 && stats.pid != std::process::id()).then_some(stats.pid)
}

/// Waits until process `pid` has exited (a zombie counts: it has finished its work).
fn wait_exited(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let running = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        });
        if !running {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
