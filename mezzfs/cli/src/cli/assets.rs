//! `mezzfs generate-assets DIR` (hidden): man pages made from the clap definitions
//! (`mezzfs.1`, `mezzfs-mount.1`, `mezzfs-key-generate.1`, ...) and bash, zsh and fish
//! completions, for scripts/build-deb.sh (written by `mezz_ops::assets`).

use std::path::Path;

use clap::CommandFactory;

pub fn write(dir: &Path) -> anyhow::Result<()> {
    mezz_ops::assets::write(super::Args::command(), "mezzfs", dir)?;
    Ok(())
}
