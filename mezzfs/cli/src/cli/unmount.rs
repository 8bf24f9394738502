//! `mezzfs unmount`: ends a mount made by `mezzfs mount` (its process then prints its
//! statistics to its log and exits).

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct UnmountArgs {
    /// The mount point.
    mountpoint: PathBuf,
    /// Detach the mount even while files on it are open; they keep reading until closed.
    #[arg(long, short = 'z')]
    lazy: bool,
}

pub fn run(args: &UnmountArgs) -> anyhow::Result<()> {
    mezz_mount::session::unmount_path(&args.mountpoint, args.lazy)?;
    Ok(())
}
