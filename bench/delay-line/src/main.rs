//! `mezz-delay-line`: a TCP proxy that makes a loopback or veth link look like a long-haul
//! one, for benchmarks.
//!
//! Every accepted connection is forwarded to `--upstream`; in each direction the bytes are
//! held for `--delay-ms` (one-way delay, so a request/response pays it twice) and paced by a
//! per-connection token bucket of `--conn-rate-mbit` (0 = no cap), the way a single
//! connection to an object store is limited far below the link. Memory per direction is
//! bounded by the bandwidth-delay product plus a little; beyond that the proxy stops
//! reading and TCP pushes back. Both sockets use TCP_NODELAY. When ready it prints
//! `listening on ADDR` to stdout. The kernel here has no netem, so this plus `tc tbf` on a
//! veth pair is how bench/netns.sh builds its network profiles.

mod pipe;
mod shaper;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::shaper::{Schedule, TokenBucket};

/// Queue cap per direction when there is a delay but no rate cap.
const UNLIMITED_QUEUE: usize = 8 << 20;

/// TCP proxy adding one-way delay and a per-connection rate cap.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,

    /// Address to forward every connection to.
    #[arg(long, value_name = "ADDR")]
    upstream: SocketAddr,

    /// One-way delay added in each direction, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    delay_ms: u64,

    /// Per-connection rate cap in each direction, in Mbit/s (10^6 bit/s); 0 = no cap.
    #[arg(long, value_name = "M", default_value_t = 0.0)]
    conn_rate_mbit: f64,

    /// Token bucket depth in KiB: how much a connection may send at once after idling.
    #[arg(long, value_name = "KIB", default_value_t = 64)]
    burst_kib: usize,

    /// Report every connection's end (and errors) on stderr.
    #[arg(long)]
    verbose: bool,
}

/// The shaping parameters shared by every connection.
#[derive(Debug, Clone, Copy)]
struct Shape {
    delay: Duration,
    bytes_per_sec: Option<f64>,
    burst: usize,
}

impl Shape {
    fn schedule(&self) -> Schedule {
        let bucket = self
            .bytes_per_sec
            .map(|rate| TokenBucket::new(rate, self.burst));
        Schedule::new(bucket, self.delay)
    }

    fn queue_limit(&self) -> usize {
        shaper::queue_limit(
            self.bytes_per_sec,
            self.delay,
            self.burst,
            pipe::CHUNK,
            UNLIMITED_QUEUE,
        )
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.conn_rate_mbit >= 0.0 && args.conn_rate_mbit.is_finite(),
        "--conn-rate-mbit must be a non-negative number"
    );
    let shape = Shape {
        delay: Duration::from_millis(args.delay_ms),
        bytes_per_sec: (args.conn_rate_mbit > 0.0)
            .then(|| shaper::mbit_to_bytes_per_sec(args.conn_rate_mbit)),
        burst: args.burst_kib << 10,
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("listening on {}", listener.local_addr()?);

    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                eprintln!("accept: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let upstream = args.upstream;
        let verbose = args.verbose;
        tokio::spawn(async move {
            match proxy(client, upstream, shape).await {
                Ok((up, down)) if verbose => eprintln!("{peer}: {up} bytes up, {down} down"),
                Err(err) if verbose => eprintln!("{peer}: {err:#}"),
                _ => {}
            }
        });
    }
}

/// Forwards one connection both ways until both directions end or one fails.
async fn proxy(
    client: TcpStream,
    upstream: SocketAddr,
    shape: Shape,
) -> anyhow::Result<(u64, u64)> {
    let server = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(upstream))
        .await
        .context("connect to upstream timed out")?
        .with_context(|| format!("connect to {upstream}"))?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let epoch = Instant::now();
    let limit = shape.queue_limit();
    let up = pipe::forward(client_read, server_write, shape.schedule(), limit, epoch);
    let down = pipe::forward(server_read, client_write, shape.schedule(), limit, epoch);
    Ok(tokio::try_join!(up, down)?)
}
