//! Starting, stopping and restarting servers; start-up errors.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};

use mezz_s3_server::{S3TestServer, ServerError};

use crate::{BUCKET, TestResult, client_for, get, put};

#[test]
fn start_reports_address_and_creates_buckets() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("nested/data");
    let server = S3TestServer::start(&root, &["one", "two-2"])?;

    assert!(server.addr().ip().is_loopback());
    assert_ne!(server.addr().port(), 0);
    assert_eq!(
        server.endpoint(),
        format!("http://127.0.0.1:{}", server.addr().port())
    );
    assert_eq!(server.root(), root.as_path());
    assert!(root.join("one").is_dir() && root.join("two-2").is_dir());
    assert!(format!("{server:?}").contains("S3TestServer"));

    let addr = server.addr();
    TcpStream::connect(addr)?;
    server.shutdown();
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
    Ok(())
}

#[tokio::test]
async fn data_survives_a_restart_on_the_same_root() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let server = S3TestServer::start(dir.path(), &[BUCKET])?;
        put(
            &client_for(&server.endpoint()),
            BUCKET,
            "kept",
            b"still here",
        )
        .await?;
        // Dropped while the client's pooled connection is still open.
    }
    // Creating an existing bucket again is fine.
    let server = S3TestServer::start(dir.path(), &[BUCKET])?;
    assert_eq!(
        get(&client_for(&server.endpoint()), BUCKET, "kept").await?,
        b"still here"
    );
    Ok(())
}

#[test]
fn start_up_errors_are_reported_not_panicked() -> TestResult {
    let dir = tempfile::tempdir()?;

    let bad = S3TestServer::start(dir.path(), &["Not_A_Bucket"]);
    assert!(matches!(bad, Err(ServerError::InvalidBucketName(ref n)) if n == "Not_A_Bucket"));
    let bad = S3TestServer::start(dir.path(), &["../escape"]);
    assert!(matches!(bad, Err(ServerError::InvalidBucketName(_))));

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x")?;
    let bad = S3TestServer::start(&file, &[]);
    assert!(matches!(bad, Err(ServerError::Root { .. })), "{bad:?}");

    let taken = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    let bad = S3TestServer::start_on(taken.local_addr()?, dir.path(), &[]);
    match bad {
        Err(err @ ServerError::Bind { .. }) => assert!(err.to_string().contains("cannot listen")),
        other => panic!("expected a bind error, got {other:?}"),
    }
    Ok(())
}
