//! The `segment-encode` command line: thin argument handling over the `segment_encode` library.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    mezz_ops::broken_pipe::exit_quietly_when_output_closes();
    if let Some(code) = mezz_ops::assets::main_hook("segment-encode", cli::Args::command) {
        return code;
    }
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("segment-encode: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
