//! `mezzfs mount --metrics-listen` (issue 20): the endpoint serves the mount's counters in the
//! text exposition format, a real Prometheus server (Debian's, installed by
//! scripts/install-prometheus.sh) scrapes them and its query API sees them move, and an
//! address that cannot be used stops the mount before it mounts.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{Kind, Mount, World, is_mounted, put};
use mezz_testkit::random_bytes;

const SIZE: usize = 2 << 20;

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// `GET path` over HTTP/1.0; the status line's code and the body.
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((code, body.to_string()))
}

/// The value of the exposition line starting with `series` (name and labels, exactly).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn mounted_world() -> (World, Mount, SocketAddr) {
    let w = World::new(Kind::Local);
    put(&w, &random_bytes(SIZE, 5), "clip", "1MiB");
    let addr = free_addr();
    let m = Mount::start(
        &w,
        "mnt",
        &["--object", "clip", "--metrics-listen", &addr.to_string()],
    );
    (w, m, addr)
}

#[test]
fn the_endpoint_serves_counters_that_move_with_reads() {
    let (_w, m, addr) = mounted_world();
    let (code, before) = http_get(addr, "/metrics").expect("scrape");
    assert_eq!(code, 200, "{before}");
    assert!(before.trim_end().ends_with("# EOF"), "{before}");
    assert_eq!(
        value(&before, "mezzfs_read_bytes_total"),
        Some(0.0),
        "{before}"
    );
    assert_eq!(
        value(&before, "mezzfs_memory_budget_bytes"),
        Some(256.0 * 1048576.0)
    );

    let file = std::fs::File::open(m.file("clip")).expect("open");
    let (_, open) = http_get(addr, "/metrics").expect("scrape");
    assert_eq!(value(&open, "mezzfs_open_handles"), Some(1.0), "{open}");
    let bytes = std::fs::read(m.file("clip")).expect("read");
    assert_eq!(bytes.len(), SIZE);
    drop(file);

    let (_, after) = http_get(addr, "/metrics").expect("scrape");
    let n = |s: &str| value(&after, s).unwrap_or_else(|| panic!("no {s} in:\n{after}"));
    assert_eq!(n("mezzfs_read_bytes_total"), SIZE as f64);
    assert!(n("mezzfs_fetched_bytes_total") >= SIZE as f64);
    assert!(n("mezzfs_reads_total{outcome=\"ok\"}") >= 1.0);
    assert_eq!(n("mezzfs_reads_total{outcome=\"error\"}"), 0.0);
    assert!(n("mezzfs_store_requests_total{outcome=\"ok\"}") >= 1.0);
    assert!(n("mezzfs_cache_misses_total{layer=\"memory\"}") >= 1.0);
    assert_eq!(
        n("mezzfs_read_latency_seconds_count"),
        n("mezzfs_read_latency_seconds_bucket{le=\"+Inf\"}")
    );
    assert!(n("mezzfs_read_latency_seconds_count") >= 1.0);
    assert!(n("mezzfs_resident_memory_bytes") > 0.0);
    // The kernel sends the release after close returns: wait for it, bounded.
    wait_for(Duration::from_secs(5), "the handle to be released", || {
        let (_, text) = http_get(addr, "/metrics").ok()?;
        (value(&text, "mezzfs_open_handles")? == 0.0).then_some(())
    });
    assert_eq!(http_get(addr, "/nothing").expect("404").0, 404);
}

#[test]
fn an_address_that_cannot_be_used_stops_the_mount_before_it_mounts() {
    let w = World::new(Kind::Local);
    put(&w, &random_bytes(1 << 20, 6), "clip", "1MiB");
    let dir = w.path("mnt");
    std::fs::create_dir_all(&dir).expect("dir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let in_use = taken.local_addr().expect("addr").to_string();
    // 192.0.2.1 (TEST-NET-1) is an address of no machine here: bind fails, nothing is sent.
    for (addr, says) in [
        (in_use.as_str(), "pick another port"),
        ("192.0.2.1:9464", "not an address of this machine"),
    ] {
        let msg = w.fails(&[
            "mount",
            dir.to_str().expect("utf-8"),
            "--object",
            "clip",
            "--metrics-listen",
            addr,
        ]);
        assert!(msg.contains(&format!("--metrics-listen {addr}")), "{msg}");
        assert!(msg.contains(says), "{msg}");
        assert!(!is_mounted(&dir), "mounted despite: {msg}");
    }
}

/// Debian's Prometheus on loopback, killed on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(target: SocketAddr) -> Prometheus {
        let bin = std::env::var_os("MEZZ_PROMETHEUS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("prometheus"));
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: mezzfs\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("config");
        let addr = free_addr();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new(&bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start prometheus ({}: {e}): run scripts/install-prometheus.sh (scripts/test.sh does), \
                     or set MEZZ_PROMETHEUS",
                    bin.display()
                )
            });
        let mut p = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        wait_for(Duration::from_secs(60), "prometheus to be ready", || {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("prometheus exited ({status})");
            }
            matches!(http_get(addr, "/-/ready"), Ok((200, _))).then_some(())
        });
        p
    }

    /// The value of an instant query that returns one series, if it does.
    fn query(&self, promql: &str) -> Option<f64> {
        let (code, body) = http_get(
            self.addr,
            &format!("/api/v1/query?query={}", encode(promql)),
        )
        .ok()?;
        if code != 200 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let result = v["data"]["result"].as_array()?;
        result.first()?["value"][1].as_str()?.parse().ok()
    }
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn prometheus_scrapes_the_mount_and_sees_the_counters_move() {
    let (_w, m, addr) = mounted_world();
    let prom = Prometheus::start(addr);
    let limit = Duration::from_secs(30);
    wait_for(limit, "a first scrape of the mount", || {
        (prom.query("up{job=\"mezzfs\"}")? == 1.0).then_some(())
    });
    assert_eq!(prom.query("mezzfs_read_bytes_total"), Some(0.0));

    assert_eq!(std::fs::read(m.file("clip")).expect("read").len(), SIZE);
    wait_for(limit, "the bytes read to reach Prometheus", || {
        (prom.query("mezzfs_read_bytes_total")? == SIZE as f64).then_some(())
    });
    for q in [
        "mezzfs_fetched_bytes_total",
        "mezzfs_reads_total{outcome=\"ok\"}",
        "mezzfs_cache_misses_total{layer=\"memory\"}",
        "mezzfs_read_latency_seconds_count",
    ] {
        let v = prom.query(q);
        assert!(v.is_some_and(|v| v >= 1.0), "{q}: {v:?}");
    }
    // The histogram is usable as one: a quantile over the buckets.
    let p99 = prom.query("histogram_quantile(0.99, mezzfs_read_latency_seconds_bucket)");
    assert!(p99.is_some_and(|v| v > 0.0), "p99 {p99:?}");
}
