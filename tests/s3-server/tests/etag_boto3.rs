//! The S3 test server looks like S3 to an independent client: boto3 (from the venv
//! scripts/install-moto.sh makes, moto depends on it) checks ETags on PUT, GET, HEAD and
//! list for single-part and multipart objects, and `If-Match` / `If-None-Match` on GET
//! (tests/data/etag_check.py).

use std::path::PathBuf;
use std::process::Command;

use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};

/// The venv's python next to `MEZZ_MOTO_SERVER` (set by scripts/test.sh), else `python3`.
fn python() -> PathBuf {
    std::env::var_os("MEZZ_MOTO_SERVER")
        .map(PathBuf::from)
        .and_then(|moto| moto.parent().map(|bin| bin.join("python")))
        .unwrap_or_else(|| PathBuf::from("python3"))
}

#[test]
fn boto3_sees_s3_etags_and_get_conditions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = S3TestServer::start(dir.path(), &["media"]).expect("server starts");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/etag_check.py");
    let python = python();
    let out = Command::new(&python)
        .arg(&script)
        .args([&server.endpoint(), ACCESS_KEY, SECRET_KEY, REGION, "media"])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_CONFIG_FILE")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (scripts/test.sh installs boto3 with moto into a venv and sets \
                 MEZZ_MOTO_SERVER): {e}",
                python.display()
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim() == "ok",
        "boto3 check failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
