//! Writing the ladder directory all or nothing: everything goes into a hidden sibling
//! directory, which is renamed to the output's name only once every file is written and
//! synced. A failure removes the partial directory; an existing output is never touched.

use std::fs;
use std::path::{Path, PathBuf};

use super::Rung;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    #[error("{0} already exists; remove it or name another output directory")]
    Exists(PathBuf),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Mux(#[from] crate::mux::MuxError),
}

pub fn io_error(path: &Path) -> impl Fn(std::io::Error) -> OutputError + '_ {
    move |error| OutputError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Creates directory `out` with the files `fill` writes into the directory it is given.
/// (`fill`'s error type is the caller's: the audio ladder fills it too.)
pub fn write_dir<E: From<OutputError>>(
    out: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    if out.exists() {
        return Err(OutputError::Exists(out.to_path_buf()).into());
    }
    let name = out
        .file_name()
        .map_or_else(|| "ladder".into(), |n| n.to_string_lossy().into_owned());
    let partial = out.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(io_error(&partial))?;
    }
    fs::create_dir_all(&partial).map_err(io_error(&partial))?;
    let result = fill(&partial).and_then(|()| {
        sync_tree(&partial)
            .and_then(|()| fs::rename(&partial, out).map_err(io_error(out)))
            .map_err(E::from)
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&partial);
    }
    result
}

fn sync_tree(dir: &Path) -> Result<(), OutputError> {
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io_error(&path))?;
        }
    }
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_error(dir))
}

/// The rungs as CSV (`rung,target_kbps,kbps,<metric>...`), what `segment-encode bdrate`
/// reads. Fixed rungs no configuration fits are left out.
pub fn rungs_csv<'a>(rungs: impl IntoIterator<Item = &'a Rung>, metrics: &[&str]) -> String {
    let mut out = format!("rung,target_kbps,kbps,{}\n", metrics.join(","));
    for (i, r) in rungs.into_iter().enumerate() {
        out.push_str(&format!("{i},{},{:.3}", r.target_kbps, r.kbps));
        for s in &r.scores {
            out.push_str(&format!(",{s:.4}"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_fill_leaves_nothing_and_an_existing_output_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("ladder");
        let err: Result<(), OutputError> = write_dir(&out, |tmp| {
            fs::write(tmp.join("half"), b"x").map_err(io_error(tmp))?;
            Err(OutputError::Exists(tmp.to_path_buf()))
        });
        assert!(err.is_err());
        assert_eq!(fs::read_dir(dir.path()).expect("read").count(), 0);
        write_dir::<OutputError>(&out, |tmp| {
            fs::write(tmp.join("a"), b"1").map_err(io_error(tmp))
        })
        .expect("ok");
        assert!(matches!(
            write_dir(&out, |_| Ok::<(), OutputError>(())),
            Err(OutputError::Exists(_))
        ));
        assert_eq!(fs::read(out.join("a")).expect("kept"), b"1");
    }
}
