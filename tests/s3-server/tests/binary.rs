//! The `mezz-s3-server` binary: prints its listening line, serves, stops on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Kills the child if the test bails out early.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn binary_prints_listening_line_and_stops_on_sigterm() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("data");
    let child = Command::new(env!("CARGO_BIN_EXE_mezz-s3-server"))
        .arg("--root")
        .arg(&root)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--bucket",
            "alpha",
            "--bucket",
            "beta",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut child = Reaper(child);
    let stdout = child.0.stdout.take().ok_or("no stdout")?;

    // Read stdout on a helper thread so a hung server fails the test instead of hanging it:
    // first the listening line, then (after exit) whatever else was printed.
    let (line_tx, line_rx) = mpsc::channel();
    let (rest_tx, rest_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = line_tx.send(reader.read_line(&mut line).map(|_| line));
        let mut rest = String::new();
        let _ = rest_tx.send(reader.read_to_string(&mut rest).map(|_| rest));
    });
    let line = match line_rx.recv_timeout(Duration::from_secs(30)) {
        Ok(line) => line?,
        Err(_) => return Err("no listening line within 30 s".into()),
    };

    let endpoint = line
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("listening on "))
        .ok_or_else(|| format!("unexpected first line {line:?}"))?;
    let addr = endpoint
        .strip_prefix("http://")
        .ok_or("endpoint is not http://")?;
    let addr: std::net::SocketAddr = addr.parse()?;
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    TcpStream::connect(addr)?;
    assert!(root.join("alpha").is_dir() && root.join("beta").is_dir());

    // Graceful stop on SIGTERM (std can only SIGKILL, so use kill(1)).
    let pid = child.0.id().to_string();
    let signalled = Command::new("kill").args(["-TERM", &pid]).status()?;
    assert!(signalled.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.0.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            return Err("server did not exit within 15 s of SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");

    // Exactly one line on stdout.
    let rest = rest_rx.recv_timeout(Duration::from_secs(5))??;
    assert_eq!(rest, "");
    Ok(())
}

#[test]
fn binary_fails_cleanly_on_a_bad_bucket_name() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = Command::new(env!("CARGO_BIN_EXE_mezz-s3-server"))
        .arg("--root")
        .arg(dir.path())
        .args(["--bucket", "Bad_Name"])
        .stdin(Stdio::null())
        .output()?;
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid bucket name"));
    Ok(())
}
