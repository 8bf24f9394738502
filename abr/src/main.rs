//! `abr-sim`: run, compare and plot ABR sessions over throughput traces. See abr/README.md.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// ABR trace simulator: joint audio and video bitrate selection against throughput traces.
///
/// Traces: Sabre JSON, Pensieve "cooked" text, mahimahi, CSV (format guessed; --trace-format
/// overrides). Manifests: Sabre movie JSON, our JSON/TOML with audio and video tracks, or a
/// directory of Pensieve video_size_N files; video-only manifests get a default audio ladder
/// (64-640 kbps, 2 s segments) unless --no-audio. Without --manifest the built-in ladder of
/// the article's scenario is used.
#[derive(Debug, Parser)]
#[command(name = "abr-sim", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One trace, one rule: metrics, and the per-segment log with --log.
    Run(cli::run::RunArgs),
    /// Trace sets x rules in parallel: a table, CSV/JSON, and paired differences with
    /// bootstrap confidence intervals.
    Compare(cli::compare::CompareArgs),
    /// SVG charts: bitrates and buffers over time for one trace and some rules, or a summary
    /// of a comparison's CSV.
    Plot(cli::plot::PlotArgs),
    /// Sabre compatibility mode: Sabre's model and rules, printing what Sabre prints.
    Sabre(cli::sabre::SabreArgs),
    /// Write a seeded synthetic trace set (high-bandwidth fades, or LTE-like in mahimahi format).
    Synth(cli::synth::SynthArgs),
    /// List the rule names `run` and `compare` accept.
    Algorithms,
}

fn main() -> ExitCode {
    mezz_ops::broken_pipe::exit_quietly_when_output_closes();
    if let Some(code) = mezz_ops::assets::main_hook("abr-sim", Cli::command) {
        return code;
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => cli::run::main(a),
        Command::Compare(a) => cli::compare::main(a),
        Command::Plot(a) => cli::plot::main(a),
        Command::Sabre(a) => cli::sabre::main(a),
        Command::Synth(a) => cli::synth::main(a),
        Command::Algorithms => {
            for n in abr_sim::algo::NAMES {
                println!("{n}");
            }
            println!("optimum (compare --optimum: offline DP upper bound)");
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // One line with its causes, as the other tools print: never a backtrace, whatever
        // RUST_BACKTRACE says (returning the error from main would print one).
        Err(e) => {
            eprintln!("abr-sim: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
