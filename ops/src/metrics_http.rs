//! The metrics endpoint: a small HTTP/1.1 server answering `GET /metrics` with a fresh
//! exposition, one request per connection. Bound when the command starts (so a bad address
//! fails it at once), served once the command runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a scraper gets to send its request.
const REQUEST_LIMIT: Duration = Duration::from_secs(10);
/// The longest request head read.
const MAX_HEAD: usize = 8 << 10;
/// What prometheus-client's text encoder writes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// An address the endpoint cannot listen on, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen: {source}{}", hint(.source.kind()))]
pub struct ListenError {
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

fn hint(kind: std::io::ErrorKind) -> &'static str {
    match kind {
        std::io::ErrorKind::AddrInUse => " (another program listens there; pick another port)",
        std::io::ErrorKind::AddrNotAvailable => " (not an address of this machine)",
        std::io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        }
        _ => "",
    }
}

/// A bound, not yet serving, metrics socket.
#[derive(Debug)]
pub struct MetricsListener {
    listener: std::net::TcpListener,
}

impl MetricsListener {
    /// Binds `addr` now, so that a port in use or an address this machine does not have (or
    /// may not use) fails before any work starts.
    pub fn bind(addr: SocketAddr) -> Result<MetricsListener, ListenError> {
        let fail = |source| ListenError { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(fail)?;
        listener.set_nonblocking(true).map_err(fail)?;
        Ok(MetricsListener { listener })
    }

    /// The bound address (the port the system chose for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves on `rt` until the runtime shuts down; `sample` makes each response's body.
    /// `title` names the program on the index page (`GET /`).
    pub fn serve(
        self,
        rt: &tokio::runtime::Handle,
        title: &'static str,
        sample: impl Fn() -> String + Send + Sync + 'static,
    ) -> std::io::Result<()> {
        let _guard = rt.enter();
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        let sample = Arc::new(sample);
        rt.spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    // Out of file descriptors or similar: try again shortly.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let sample = sample.clone();
                tokio::spawn(async move {
                    if let Err(e) = answer(conn, title, sample.as_ref()).await {
                        tracing::debug!(error = %e, "metrics request failed");
                    }
                });
            }
        });
        Ok(())
    }
}

async fn answer(
    mut conn: tokio::net::TcpStream,
    title: &str,
    sample: &(dyn Fn() -> String + Send + Sync),
) -> std::io::Result<()> {
    let deadline = Instant::now() + REQUEST_LIMIT;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => head.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => return Err(e),
        }
    }
    let text = "text/plain; charset=utf-8";
    let reply = match route(&String::from_utf8_lossy(&head)) {
        Route::Metrics => response("200 OK", CONTENT_TYPE, &sample()),
        Route::Index => response("200 OK", text, &format!("{title} metrics: GET /metrics\n")),
        Route::NotFound => response("404 Not Found", text, "not found\n"),
        Route::BadMethod => response("405 Method Not Allowed", text, "only GET\n"),
    };
    conn.write_all(&reply).await?;
    conn.shutdown().await
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    Index,
    NotFound,
    BadMethod,
}

/// Routes by the request line (`GET /metrics?x HTTP/1.1`).
fn route(head: &str) -> Route {
    let mut words = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method != "GET" {
        return Route::BadMethod;
    }
    match target.split('?').next().unwrap_or("") {
        "/metrics" => Route::Metrics,
        "/" => Route::Index,
        _ => Route::NotFound,
    }
}

/// A complete HTTP/1.1 response closing the connection.
fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body.as_bytes());
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_method_and_path() {
        assert_eq!(
            route("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(
            route("GET /metrics?name[]=a HTTP/1.1\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route("GET / HTTP/1.0\r\n\r\n"), Route::Index);
        assert_eq!(route("GET /other HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route("POST /metrics HTTP/1.1\r\n\r\n"), Route::BadMethod);
        assert_eq!(route(""), Route::BadMethod);
    }

    #[test]
    fn a_response_has_its_length() {
        let r = String::from_utf8(response("200 OK", "text/plain", "héllo")).expect("utf-8");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("Content-Length: 6\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nhéllo"), "{r}");
    }

    #[test]
    fn a_port_in_use_is_refused_with_a_hint() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr");
        let e = MetricsListener::bind(addr).expect_err("in use");
        assert_eq!(e.addr, addr);
        assert!(e.to_string().contains("pick another port"), "{e}");
    }

    #[test]
    fn serves_the_sample_on_each_scrape() {
        use std::io::{Read, Write};
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let l = MetricsListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
        let addr = l.local_addr().expect("addr");
        let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = n.clone();
        l.serve(rt.handle(), "test", move || {
            let k = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("scrapes {k}\n# EOF\n")
        })
        .expect("serve");
        for (path, expect) in [
            ("/metrics", "scrapes 0"),
            ("/metrics", "scrapes 1"),
            ("/", "test metrics: GET /metrics"),
            ("/nope", "404 Not Found"),
        ] {
            let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            write!(s, "GET {path} HTTP/1.0\r\n\r\n").expect("request");
            let mut reply = String::new();
            s.read_to_string(&mut reply).expect("reply");
            assert!(reply.contains(expect), "{path}: {reply}");
        }
    }
}
