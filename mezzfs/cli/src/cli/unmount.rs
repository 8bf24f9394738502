//! `mezzfs unmount`: ends a mount made by `mezzfs mount` (its process then prints its
//! statistics to its log and exits).

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct UnmountArgs {
    /// The mount point.
    mountpoint: PathBuf,
}

pub fn run(args: &UnmountArgs) -> anyhow::Result<()> {
    mezz_mount::session::unmount_path(&args.mountpoint)?;
    Ok(())
}
