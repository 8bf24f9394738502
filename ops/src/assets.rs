//! A binary's man pages and shell completions, made from its clap definition: `NAME.1`, then
//! `NAME-SUB.1` for each visible subcommand (`mezzfs-mount.1`, `segment-encode-worker.1`,
//! `mezzfs-key-generate.1`, ...) in `DIR/man1`, and `NAME.bash`, `_NAME` and `NAME.fish` in
//! `DIR/completions`.
//!
//! A binary writes them when run as `NAME --generate-assets DIR` ([`main_hook`], first thing
//! in `main`), for scripts/build-deb.sh. The request is read before clap parses, so it is not
//! part of any command line: no help, no man page and no completion offers it (clap_complete
//! lists even hidden subcommands).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap_complete::{Generator, Shell};

/// A page or completion file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing {}: {source}", path.display())]
pub struct AssetError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The flag [`main_hook`] answers to.
pub const FLAG: &str = "--generate-assets";

/// `DIR` when the arguments (program name first) are exactly `--generate-assets DIR`.
pub fn requested(args: impl IntoIterator<Item = OsString>) -> Option<PathBuf> {
    let mut args = args.into_iter().skip(1);
    match (args.next(), args.next(), args.next()) {
        (Some(flag), Some(dir), None) if flag == FLAG => Some(PathBuf::from(dir)),
        _ => None,
    }
}

/// For `main`: when this process was run as `NAME --generate-assets DIR`, writes `cmd()`'s
/// assets there and returns the exit code; otherwise `None` (parse the arguments as usual).
pub fn main_hook(name: &str, cmd: impl FnOnce() -> clap::Command) -> Option<ExitCode> {
    let dir = requested(std::env::args_os())?;
    Some(match write(cmd(), name, &dir) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: error: {e}");
            ExitCode::FAILURE
        }
    })
}

/// Writes `cmd`'s pages and completions under `dir`, as the program `name` (the binary's
/// file name, which clap's derived name need not be); returns the files written.
pub fn write(cmd: clap::Command, name: &str, dir: &Path) -> Result<Vec<PathBuf>, AssetError> {
    let mut cmd = cmd.name(leak(name)).bin_name(leak(name));
    // Built, so that global options appear on every subcommand's page.
    cmd.build();
    let mut written = Vec::new();
    let man = dir.join("man1");
    create_dir(&man)?;
    man_pages(&cmd, name, &man, &mut written)?;
    let completions = dir.join("completions");
    create_dir(&completions)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path = clap_complete::generate_to(shell, &mut cmd.clone(), name, &completions)
            .map_err(|source| AssetError {
                path: completions.join(shell.file_name(name)),
                source,
            })?;
        written.push(path);
    }
    Ok(written)
}

/// clap wants 'static names (without its `string` feature); this runs once per page in a
/// short-lived process.
fn leak(name: &str) -> &'static str {
    Box::leak(name.to_owned().into_boxed_str())
}

fn create_dir(dir: &Path) -> Result<(), AssetError> {
    std::fs::create_dir_all(dir).map_err(|source| AssetError {
        path: dir.to_path_buf(),
        source,
    })
}

/// `name.1` for `cmd`, then one page per visible subcommand, named `name-sub`.
fn man_pages(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), AssetError> {
    // The page's NAME is `mezzfs-mount`, not `mount`.
    let page = cmd.clone().name(leak(name));
    let path = dir.join(format!("{name}.1"));
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .and_then(|()| std::fs::write(&path, out))
        .map_err(|source| AssetError {
            path: path.clone(),
            source,
        })?;
    written.push(path);
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        man_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> clap::Command {
        clap::Command::new("whatever-the-crate-is")
            .about("Does things.")
            .arg(clap::Arg::new("verbose").long("verbose").global(true))
            .arg(clap::Arg::new("secret").long("secret").hide(true))
            .subcommand(clap::Command::new("run").about("Runs."))
            .subcommand(clap::Command::new("internal").hide(true))
    }

    #[test]
    fn pages_per_visible_subcommand_and_three_completions() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let written = write(cli(), "tool", dir).expect("written");
        let names: Vec<String> = written
            .iter()
            .map(|p| p.strip_prefix(dir).expect("inside").display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "man1/tool.1",
                "man1/tool-run.1",
                "completions/tool.bash",
                "completions/_tool",
                "completions/tool.fish"
            ]
        );
        let page = std::fs::read_to_string(dir.join("man1/tool-run.1")).expect("page");
        assert!(page.contains("tool\\-run"), "{page}");
        assert!(
            page.contains("verbose"),
            "global options on each page: {page}"
        );
        let top = std::fs::read_to_string(dir.join("man1/tool.1")).expect("page");
        assert!(
            !top.contains("secret") && !top.contains("internal"),
            "{top}"
        );
        let fish = std::fs::read_to_string(dir.join("completions/tool.fish")).expect("fish");
        assert!(fish.contains("complete -c tool"), "{fish}");
    }

    #[test]
    fn only_exactly_the_flag_and_a_directory_is_a_request() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            requested(args(&["tool", "--generate-assets", "out"])),
            Some(PathBuf::from("out"))
        );
        assert_eq!(requested(args(&["tool", "--generate-assets"])), None);
        assert_eq!(
            requested(args(&["tool", "--generate-assets", "a", "b"])),
            None
        );
        assert_eq!(requested(args(&["tool", "run", "--generate-assets"])), None);
        assert_eq!(requested(args(&["tool"])), None);
    }
}
