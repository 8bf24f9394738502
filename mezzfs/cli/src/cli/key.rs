use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use mezz_format::{KeyProvider, LocalKeyFile};

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new random key-encryption key to FILE (mode 0600; never overwrites).
    ///
    /// Every object put with this key needs it to be read again: keep a copy somewhere safe.
    Generate {
        /// Where to write the key.
        file: PathBuf,
    },
}

pub fn run(cmd: &KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Generate { file } => {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let key = LocalKeyFile::generate(file)?;
            println!("wrote key {} to {}", key.key_id(), file.display());
            Ok(())
        }
    }
}
