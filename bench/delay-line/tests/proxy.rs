//! Runs the real binary on 127.0.0.1 in front of a tiny upstream and checks that the delay
//! and the per-connection rate cap are applied.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The proxy process, killed on drop.
struct DelayLine {
    child: Child,
    addr: SocketAddr,
}

impl DelayLine {
    fn start(upstream: SocketAddr, delay_ms: u64, rate_mbit: u64) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mezz-delay-line"))
            .args(["--listen", "127.0.0.1:0", "--upstream"])
            .arg(upstream.to_string())
            .args(["--delay-ms", &delay_ms.to_string()])
            .args(["--conn-rate-mbit", &rate_mbit.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn mezz-delay-line");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the ready line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("address");
        Self { child, addr }
    }
}

impl Drop for DelayLine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An upstream that, per connection, reads one line `N\n` and answers with N bytes.
fn upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let n: usize = line.trim().parse().expect("length");
                let mut conn = conn;
                let _ = conn.write_all(&vec![0xa5; n]);
                let _ = conn.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

/// Asks for `n` bytes; returns (time to first byte, total time, bytes received).
fn fetch(addr: SocketAddr, n: usize) -> (Duration, Duration, usize) {
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let start = Instant::now();
    conn.write_all(format!("{n}\n").as_bytes())
        .expect("request");
    let mut first = [0u8; 1];
    conn.read_exact(&mut first).expect("first byte");
    let ttfb = start.elapsed();
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).expect("response");
    (ttfb, start.elapsed(), 1 + rest.len())
}

#[test]
fn request_response_pays_the_delay_both_ways() {
    let proxy = DelayLine::start(upstream(), 40, 0);
    for _ in 0..3 {
        let (ttfb, _, len) = fetch(proxy.addr, 100);
        assert_eq!(len, 100);
        assert!(
            ttfb >= Duration::from_millis(80),
            "time to first byte {ttfb:?} < 2 x 40 ms"
        );
        assert!(ttfb < Duration::from_secs(2), "time to first byte {ttfb:?}");
    }
}

#[test]
fn each_connection_is_capped_at_the_rate() {
    let proxy = DelayLine::start(upstream(), 0, 100);
    let n = 4 << 20;
    // Two connections at once: each gets its own 100 Mbit/s, so together they take about
    // as long as one.
    let a = std::thread::spawn(move || fetch(proxy.addr, n));
    let (_, single, len) = fetch(proxy.addr, n);
    let (_, other, other_len) = a.join().expect("thread");
    assert_eq!((len, other_len), (n, n));
    // 4 MiB at 100 Mbit/s is 0.34 s (less one 64 KiB burst).
    for elapsed in [single, other] {
        assert!(
            elapsed >= Duration::from_millis(300),
            "4 MiB took only {elapsed:?}"
        );
        assert!(elapsed < Duration::from_secs(5), "4 MiB took {elapsed:?}");
    }
}

#[test]
fn unshaped_proxy_is_transparent() {
    let proxy = DelayLine::start(upstream(), 0, 0);
    let (_, elapsed, len) = fetch(proxy.addr, 16 << 20);
    assert_eq!(len, 16 << 20);
    assert!(elapsed < Duration::from_secs(5), "16 MiB took {elapsed:?}");
}
