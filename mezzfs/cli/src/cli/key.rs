use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use mezz_format::{KeyProvider, LocalKeyFile};
use mezz_keys_kms::KeyRing;

use super::Global;

mod rewrap;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new random key-encryption key to FILE (mode 0600; never overwrites).
    ///
    /// Every object put with this key needs it to be read again: keep a copy somewhere safe.
    Generate {
        /// Where to write the key.
        file: PathBuf,
    },
    /// Re-wrap objects' data keys under a new key (a new key file or another KMS key).
    ///
    /// Only manifests are read and rewritten, each in one atomic PUT; no part is read or
    /// written, so the cost is per object, not per byte. Objects are unwrapped with the key
    /// their manifest names (--key-file, or KMS). Objects already under the new key are
    /// skipped, so an interrupted rewrap resumes when run again. Afterwards the old key can
    /// be retired: every object reads with the new one.
    ///
    /// Example: mezzfs key rewrap --to-kms-key-id alias/media-2027
    Rewrap(rewrap::RewrapArgs),
}

pub fn run(g: &Global, cmd: &KeyCommand) -> anyhow::Result<()> {
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
        KeyCommand::Rewrap(a) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?
            .block_on(rewrap::run(g, a)),
    }
}

/// The ring new wraps go to: the key file `file`, or the KMS key `kms`.
fn target_ring(
    g: &Global,
    file: Option<&PathBuf>,
    kms: Option<&String>,
) -> anyhow::Result<Arc<KeyRing>> {
    let ring = match (file, kms) {
        (Some(f), None) => KeyRing::new(Ok(LocalKeyFile::load(f)?), None, None),
        (None, Some(id)) => KeyRing::new(Err(None), Some(id.clone()), g.kms_endpoint_url.clone()),
        _ => anyhow::bail!("give one new key: --to-key-file FILE or --to-kms-key-id ID"),
    };
    Ok(Arc::new(ring))
}
