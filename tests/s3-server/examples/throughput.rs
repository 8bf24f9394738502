//! Quick GET throughput check with the AWS SDK over loopback (not a test).
//!
//! ```text
//! cargo run --release -p mezz-s3-server --example throughput            # this crate's server
//! cargo run --release -p mezz-s3-server --example throughput -- --stock # plain s3s-fs, for comparison
//! ```
//!
//! Measures a 256 MiB full GET (three times) and 1000 random 64 KiB ranged GETs issued one
//! after another (so over one pooled connection).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};

type AnyResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const BUCKET: &str = "bench";
const KEY: &str = "big.bin";
const OBJECT_SIZE: u64 = 256 * 1024 * 1024;
const RANGE_SIZE: u64 = 64 * 1024;

#[tokio::main]
async fn main() -> AnyResult {
    let stock = std::env::args().any(|a| a == "--stock");
    let ranged_gets: usize = if stock { 100 } else { 1000 };
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("data");
    let source = dir.path().join("source.bin");
    write_object(&source)?;
    std::fs::create_dir_all(root.join(BUCKET))?;

    let _ours;
    let endpoint = if stock {
        stock::start(&root)?
    } else {
        _ours = S3TestServer::start(&root, &[BUCKET])?;
        _ours.endpoint()
    };
    let client = client_for(&endpoint);
    println!(
        "server: {}",
        if stock {
            "stock s3s-fs"
        } else {
            "mezz-s3-server"
        }
    );

    // Upload through the API so s3s-fs has its ETag sidecar (without it, stock GetObject
    // MD5s the whole file on every request).
    let start = Instant::now();
    let body = aws_sdk_s3::primitives::ByteStream::from_path(&source).await?;
    client
        .put_object()
        .bucket(BUCKET)
        .key(KEY)
        .body(body)
        .send()
        .await?;
    println!("PUT 256 MiB: {:.1} ms", ms(start.elapsed()));

    for round in 1..=3 {
        let start = Instant::now();
        let out = client.get_object().bucket(BUCKET).key(KEY).send().await?;
        let mut body = out.body;
        let mut total = 0u64;
        while let Some(chunk) = body.try_next().await? {
            total += chunk.len() as u64;
        }
        let took = start.elapsed();
        assert_eq!(total, OBJECT_SIZE);
        println!(
            "full GET 256 MiB #{round}: {:.1} ms, {:.2} GB/s",
            ms(took),
            OBJECT_SIZE as f64 / took.as_secs_f64() / 1e9
        );
    }

    let mut rng = 0x1234_5678_9ABC_DEF1u64;
    let mut latencies = Vec::with_capacity(ranged_gets);
    let all = Instant::now();
    for _ in 0..ranged_gets {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let first = rng % (OBJECT_SIZE - RANGE_SIZE);
        let start = Instant::now();
        let out = client
            .get_object()
            .bucket(BUCKET)
            .key(KEY)
            .range(format!("bytes={first}-{}", first + RANGE_SIZE - 1))
            .send()
            .await?;
        let body = out.body.collect().await?.into_bytes();
        latencies.push(start.elapsed());
        assert_eq!(body.len() as u64, RANGE_SIZE);
    }
    let total = all.elapsed();
    latencies.sort_unstable();
    let pct = |p: usize| ms(latencies[(latencies.len() * p / 100).min(latencies.len() - 1)]);
    println!(
        "{ranged_gets} random 64 KiB ranged GETs: total {:.1} ms, mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms",
        ms(total),
        ms(total) / ranged_gets as f64,
        pct(50),
        pct(99)
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Writes OBJECT_SIZE pseudo-random bytes to `path`.
fn write_object(path: &Path) -> AnyResult {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; 1024 * 1024];
    for _ in 0..OBJECT_SIZE / block.len() as u64 {
        for word in block.chunks_exact_mut(8) {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            word.copy_from_slice(&state.to_le_bytes());
        }
        file.write_all(&block)?;
    }
    file.flush()?;
    Ok(())
}

fn client_for(endpoint: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "bench",
        ))
        .build();
    Client::from_conf(config)
}

/// Plain `s3s_fs::FileSystem` behind a minimal accept loop without `TCP_NODELAY`: the
/// baseline this crate improves on.
mod stock {
    use super::*;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder as ConnBuilder;
    use s3s::auth::SimpleAuth;
    use s3s::service::S3ServiceBuilder;

    pub(super) fn start(root: &Path) -> AnyResult<String> {
        let fs = s3s_fs::FileSystem::new(root).map_err(|e| format!("{e:?}"))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        std::thread::spawn(move || -> AnyResult {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let http = ConnBuilder::new(TokioExecutor::new());
                loop {
                    let (socket, _) = listener.accept().await?;
                    let conn = http
                        .serve_connection(TokioIo::new(socket), service.clone())
                        .into_owned();
                    tokio::spawn(conn);
                }
            })
        });
        Ok(format!("http://{addr}"))
    }
}
