//! `mezz-s3-server --root DIR [--listen 127.0.0.1:0] [--bucket NAME]...`
//!
//! Serves the test S3 server until SIGINT or SIGTERM. Once ready it prints exactly one line,
//! `listening on http://ADDR`, to stdout so scripts can read the port. Logs go to stderr,
//! filtered by `RUST_LOG` (default `info`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};
use tracing_subscriber::EnvFilter;

/// S3-compatible test server (s3s-fs backend, fast ranged GETs).
#[derive(Debug, Parser)]
#[command(version, about, after_help = credentials_help())]
struct Args {
    /// Data directory (created if missing).
    #[arg(long, value_name = "DIR")]
    root: PathBuf,

    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Bucket to create at startup (repeatable; existing buckets are kept).
    #[arg(long = "bucket", value_name = "NAME")]
    buckets: Vec<String>,
}

fn credentials_help() -> String {
    format!(
        "Clients must sign with access key {ACCESS_KEY:?}, secret key {SECRET_KEY:?}, region {REGION:?}, and use path-style addressing."
    )
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mezz-s3-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    // Signal handlers go in before the "listening" line, so a script that signals right
    // after reading it still gets a clean shutdown.
    let signals =
        Signals::install().map_err(|err| format!("cannot install signal handlers: {err}"))?;

    let buckets: Vec<&str> = args.buckets.iter().map(String::as_str).collect();
    let server =
        S3TestServer::start_on(args.listen, &args.root, &buckets).map_err(|err| err.to_string())?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", server.endpoint())
        .and_then(|()| stdout.flush())
        .map_err(|err| format!("cannot write to stdout: {err}"))?;
    drop(stdout);

    signals.wait();
    tracing::info!("shutting down");
    server.shutdown();
    Ok(())
}

/// SIGINT and SIGTERM handlers on a small runtime of their own.
struct Signals {
    runtime: tokio::runtime::Runtime,
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (interrupt, terminate) = {
            let _guard = runtime.enter();
            (
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            )
        };
        Ok(Self {
            runtime,
            interrupt,
            terminate,
        })
    }

    /// Blocks until SIGINT or SIGTERM arrives.
    fn wait(mut self) {
        self.runtime.block_on(async {
            tokio::select! {
                _ = self.interrupt.recv() => tracing::info!("SIGINT received"),
                _ = self.terminate.recv() => tracing::info!("SIGTERM received"),
            }
        });
    }
}
