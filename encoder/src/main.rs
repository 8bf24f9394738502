//! The `segment-encode` command line: thin argument handling over the `segment_encode` library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("segment-encode: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
