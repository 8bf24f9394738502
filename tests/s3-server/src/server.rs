//! Server lifecycle: bind, accept loop with `TCP_NODELAY`, graceful stop.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::backend::Backend;
use crate::error::ServerError;
use crate::throttle::Throttle;
use crate::{ACCESS_KEY, SECRET_KEY};

/// How long open connections get to finish their current request on shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);
/// Worker threads of the server's runtime (file reads go to its blocking pool).
const WORKER_THREADS: usize = 2;

/// A running S3 server on its own thread and tokio runtime; stops when dropped.
pub struct S3TestServer {
    addr: SocketAddr,
    root: PathBuf,
    throttle: Arc<Throttle>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl fmt::Debug for S3TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3TestServer")
            .field("addr", &self.addr)
            .field("root", &self.root)
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl S3TestServer {
    /// Starts on `127.0.0.1` with a free port; data under `root` (created if missing).
    /// Creates each of `buckets` unless it exists already.
    pub fn start(root: &Path, buckets: &[&str]) -> Result<Self, ServerError> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), root, buckets)
    }

    /// Like [`start`](Self::start), listening on `addr` (port 0 picks a free port).
    pub fn start_on(addr: SocketAddr, root: &Path, buckets: &[&str]) -> Result<Self, ServerError> {
        std::fs::create_dir_all(root).map_err(|source| ServerError::Root {
            path: root.to_path_buf(),
            source,
        })?;
        let throttle = Arc::new(Throttle::default());
        let backend = Backend::new(root, throttle.clone())?;
        for &bucket in buckets {
            create_bucket_dir(&backend, bucket)?;
        }
        let service = {
            let mut builder = S3ServiceBuilder::new(backend);
            builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            builder.build()
        };

        let listener = std::net::TcpListener::bind(addr)
            .map_err(|source| ServerError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .and_then(|a| listener.set_nonblocking(true).map(|()| a))
            .map_err(|source| ServerError::Bind { addr, source })?;

        let (stop_tx, stop_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(format!("s3-server-{}", local_addr.port()))
            .spawn(move || server_thread(listener, service, stop_rx, ready_tx))
            .map_err(ServerError::Runtime)?;

        // The thread reports once its runtime is up and owns the listener.
        let ready = ready_rx.recv().unwrap_or_else(|_| {
            Err(ServerError::Runtime(std::io::Error::other(
                "server thread exited before it was ready",
            )))
        });
        if let Err(err) = ready {
            // It has returned already (or is about to); nothing is left to stop.
            let _ = thread.join();
            return Err(err);
        }
        tracing::info!(addr = %local_addr, root = %root.display(), "s3 test server listening");
        Ok(Self {
            addr: local_addr,
            root: root.to_path_buf(),
            throttle,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://IP:PORT`, ready for an S3 client's endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address actually listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The data directory, as given to `start`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The fault-injection hook: throttles `GetObject` (503 SlowDown) and counts requests.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// Stops accepting, lets open requests finish (up to a few seconds), joins the thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!(addr = %self.addr, "s3 test server thread panicked");
        }
    }
}

impl Drop for S3TestServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Makes `ROOT/bucket` (the layout `s3s-fs` uses for buckets); fine if it exists.
fn create_bucket_dir(backend: &Backend, bucket: &str) -> Result<(), ServerError> {
    let dir = backend
        .bucket_dir(bucket)
        .filter(|_| s3s::path::check_bucket_name(bucket))
        .ok_or_else(|| ServerError::InvalidBucketName(bucket.to_owned()))?;
    std::fs::create_dir_all(&dir).map_err(|source| ServerError::CreateBucket {
        bucket: bucket.to_owned(),
        path: dir,
        source,
    })
}

/// Body of the server thread: builds the runtime, reports readiness, serves until stopped.
fn server_thread(
    listener: std::net::TcpListener,
    service: S3Service,
    stop: oneshot::Receiver<()>,
    ready: mpsc::Sender<Result<(), ServerError>>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("s3-server-worker")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = ready.send(Err(ServerError::Runtime(err)));
            return;
        }
    };
    let listener = {
        let _guard = runtime.enter();
        match TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(err) => {
                let _ = ready.send(Err(ServerError::Runtime(err)));
                return;
            }
        }
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    runtime.block_on(serve(listener, service, stop));
    // Connections still open after the drain timeout are cut here.
    runtime.shutdown_timeout(Duration::from_secs(1));
}

/// Accepts until `stop` fires (or its sender is dropped), then drains open connections.
async fn serve(listener: TcpListener, service: S3Service, mut stop: oneshot::Receiver<()>) {
    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(conn) => conn,
            Err(err) => {
                // Typically EMFILE; back off instead of spinning.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        // Without this, each small response waits on the peer's delayed ACK (~40 ms).
        if let Err(err) = socket.set_nodelay(true) {
            tracing::warn!(%peer, %err, "cannot set TCP_NODELAY");
        }
        let conn = http.serve_connection(TokioIo::new(socket), service.clone());
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(%peer, %err, "connection ended with error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after drain timeout; closing them");
    }
}
