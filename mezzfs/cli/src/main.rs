//! The `mezzfs` command line: thin argument handling over the `mezzfs` library.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MEZZFS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,fuser=error")),
        )
        .with_writer(std::io::stderr)
        // A daemon's stderr is its log file: colour codes only on a terminal.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mezzfs: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
