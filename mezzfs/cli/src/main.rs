//! The `mezzfs` command line: thin argument handling over the `mezzfs` library.

mod cli;
mod fstab;
mod logging;
mod metrics;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let called = argv.first().map(|a| a.rsplit('/').next().unwrap_or(a));
    // Installed as /sbin/mount.mezzfs (a link), this program is mount(8)'s helper.
    let args = if called == Some("mount.mezzfs") {
        match fstab::helper_args(argv.get(1..).unwrap_or_default()) {
            Ok(h) if h.fake => return ExitCode::SUCCESS,
            Ok(h) => cli::Args::parse_from(std::iter::once("mezzfs".to_string()).chain(h.args)),
            Err(e) => {
                eprintln!("mount.mezzfs: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        cli::Args::parse()
    };
    logging::init(args.log_format());
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            logging::say_at(tracing::Level::ERROR, &format!("mezzfs: error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}
