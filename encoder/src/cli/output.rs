//! Output files that appear whole or not at all: written beside their final name and renamed
//! at the end, in a directory that must already exist (a typo in `-o` does not create
//! directories).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Refuses an output whose directory does not exist.
pub fn check_parent(path: &Path, option: &str) -> anyhow::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        bail!(
            "{option} {}: directory {} does not exist (create it first)",
            path.display(),
            parent.display()
        );
    }
    Ok(())
}

/// The output written beside its final name and renamed at the end: an interrupted or failed
/// run leaves nothing that looks like an output.
pub struct Partial {
    tmp: PathBuf,
    path: PathBuf,
    done: bool,
}

impl Partial {
    pub fn new(path: &Path) -> Partial {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The extension stays last: the container follows it.
        let tmp = path.with_file_name(format!(".partial-{}-{name}", std::process::id()));
        Partial {
            tmp,
            path: path.into(),
            done: false,
        }
    }

    /// Where the output is written until it is complete.
    pub fn writing(&self) -> &Path {
        &self.tmp
    }

    pub fn commit(mut self) -> anyhow::Result<()> {
        std::fs::rename(&self.tmp, &self.path)
            .with_context(|| format!("renaming to {}", self.path.display()))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
