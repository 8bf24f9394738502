//! The `mezzfs` command line: thin argument handling over the `mezzfs` library.

mod cli;
mod fstab;
mod logging;
mod metrics;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    mezz_ops::broken_pipe::exit_quietly_when_output_closes();
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let called = argv.first().map(|a| a.rsplit('/').next().unwrap_or(a));
    // Installed as /sbin/mount.mezzfs (a link), this program is mount(8)'s helper.
    if called == Some("mount.mezzfs") {
        return match fstab::helper_args(argv.get(1..).unwrap_or_default()) {
            Ok(h) if h.fake => ExitCode::SUCCESS,
            Ok(h) => run_translated(&h.args),
            Err(e) => {
                eprintln!("mount.mezzfs: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(code) = mezz_ops::assets::main_hook("mezzfs", cli::Args::command) {
        return code;
    }
    let args = cli::Args::parse();
    logging::init(args.log_format());
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            logging::say_at(tracing::Level::ERROR, &format!("mezzfs: error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Runs this program again with the translated arguments, so that the mount's daemon mode
/// (which re-runs the command line it was given) sees `mezzfs mount ...`, not mount(8)'s.
fn run_translated(args: &[String]) -> ExitCode {
    // mount(8) runs helpers with a minimal environment; fusermount3 must still be found.
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if !path.is_empty() {
        path.push(":");
    }
    path.push("/usr/sbin:/usr/bin:/sbin:/bin");
    let status = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .args(args)
            .env("PATH", path)
            .status()
    });
    match status {
        Ok(s) => ExitCode::from(s.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1)),
        Err(e) => {
            eprintln!("mount.mezzfs: cannot run mezzfs: {e}");
            ExitCode::FAILURE
        }
    }
}
