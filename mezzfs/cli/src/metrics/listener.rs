//! The metrics endpoint: a small HTTP/1.1 server answering `GET /metrics` with a fresh
//! exposition, one request per connection. Bound before the mount, served once it runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a scraper gets to send its request.
const REQUEST_LIMIT: Duration = Duration::from_secs(10);
/// The longest request head read.
const MAX_HEAD: usize = 8 << 10;
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A bound, not yet serving, metrics socket.
#[derive(Debug)]
pub struct MetricsListener {
    listener: std::net::TcpListener,
}

impl MetricsListener {
    /// Binds `addr` now, so that a port in use or an address this machine does not have (or
    /// may not use) fails the mount before it mounts.
    pub fn bind(addr: SocketAddr) -> anyhow::Result<MetricsListener> {
        let listener = std::net::TcpListener::bind(addr).map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    " (another program listens there; pick another port)"
                }
                std::io::ErrorKind::AddrNotAvailable => " (not an address of this machine)",
                std::io::ErrorKind::PermissionDenied => {
                    " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
                }
                _ => "",
            };
            anyhow::anyhow!("--metrics-listen {addr}: cannot listen: {e}{hint}")
        })?;
        listener
            .set_nonblocking(true)
            .context("--metrics-listen: making the socket non-blocking")?;
        Ok(MetricsListener { listener })
    }

    /// Serves on `rt` until the runtime shuts down; `sample` makes each response's body.
    pub fn serve(
        self,
        rt: &tokio::runtime::Handle,
        sample: impl Fn() -> String + Send + Sync + 'static,
    ) -> anyhow::Result<()> {
        let _guard = rt.enter();
        let listener = tokio::net::TcpListener::from_std(self.listener)
            .context("--metrics-listen: registering the socket")?;
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
                    if let Err(e) = answer(conn, sample.as_ref()).await {
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
    let reply = match route(&String::from_utf8_lossy(&head)) {
        Route::Metrics => response("200 OK", CONTENT_TYPE, &sample()),
        Route::Index => response(
            "200 OK",
            "text/plain; charset=utf-8",
            "mezzfs mount metrics: GET /metrics\n",
        ),
        Route::NotFound => response("404 Not Found", "text/plain; charset=utf-8", "not found\n"),
        Route::BadMethod => response(
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET\n",
        ),
    };
    conn.write_all(&reply).await?;
    conn.shutdown().await
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Metrics,
    Index,
    NotFound,
    BadMethod,
}

/// Routes by the request line (`GET /metrics?x HTTP/1.1`).
pub fn route(head: &str) -> Route {
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
pub fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
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
        let e = MetricsListener::bind(addr).expect_err("in use").to_string();
        assert!(e.contains(&format!("--metrics-listen {addr}")), "{e}");
        assert!(e.contains("pick another port"), "{e}");
    }
}
