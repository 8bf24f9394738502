//! `mezzfs generate-assets DIR` (hidden): man pages made from the clap definitions
//! (`mezzfs.1`, `mezzfs-mount.1`, `mezzfs-key-generate.1`, ...) and bash, zsh and fish
//! completions, for scripts/build-deb.sh.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

pub fn write(dir: &Path) -> anyhow::Result<()> {
    let mut cmd = super::Args::command();
    // Built, so that the global options appear on every subcommand's page.
    cmd.build();
    let man = dir.join("man1");
    std::fs::create_dir_all(&man).with_context(|| format!("creating {}", man.display()))?;
    man_pages(&cmd, "mezzfs", &man)?;
    let completions = dir.join("completions");
    std::fs::create_dir_all(&completions)
        .with_context(|| format!("creating {}", completions.display()))?;
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        clap_complete::generate_to(shell, &mut cmd.clone(), "mezzfs", &completions)
            .with_context(|| format!("writing {shell} completions"))?;
    }
    Ok(())
}

/// `name.1` for `cmd`, then one page per visible subcommand, named `name-sub`.
fn man_pages(cmd: &clap::Command, name: &str, dir: &Path) -> anyhow::Result<()> {
    // The page's NAME is `mezzfs-mount`, not `mount`; clap wants a 'static name (this runs
    // once per page in a short-lived process).
    let page = cmd
        .clone()
        .name(&*Box::leak(name.to_string().into_boxed_str()));
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        man_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
