//! `mezzfs doctor`: checks what a mount needs on this machine and says what to fix. Facts are
//! gathered here (files, /dev/fuse, PATH, the AWS credential chain, the stores); the verdicts
//! are the plain functions of [`checks`].

mod checks;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use checks::Status;
use mezz_format::LocalKeyFile;
use mezz_mount::spec;
use mezz_store::StoreUrl;

use super::Global;

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Check every store this mount spec file names (JSON, as `mezzfs mount --spec`); without
    /// it, the --store store is checked.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Check this disk cache directory (as `mezzfs mount --cache-dir`).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

pub async fn run(g: &Global, a: &DoctorArgs) -> anyhow::Result<()> {
    let mut report = vec![
        checks::dev_fuse(&dev_fuse()),
        checks::fusermount(&fusermount()),
        checks::key_file(&key_file(g)),
    ];
    for url in store_urls(g, a)? {
        report.push(checks::store(&store(g, url).await));
    }
    report.push(checks::cache_dir(
        a.cache_dir.as_deref().map(cache_dir).as_ref(),
    ));
    for c in &report {
        println!("{}", c.line());
    }
    let failed = report.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        anyhow::bail!("{failed} of {} checks failed", report.len());
    }
    Ok(())
}

fn dev_fuse() -> checks::DevFuse {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        Ok(_) => checks::DevFuse::Opened,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => checks::DevFuse::Missing,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => checks::DevFuse::Denied,
        Err(e) => checks::DevFuse::Other(e.to_string()),
    }
}

fn fusermount() -> checks::Fusermount {
    let path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("fusermount3"))
            .find(|f| f.is_file())
    });
    let setuid_root = path
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .is_some_and(|m| m.uid() == 0 && m.mode() & 0o4000 != 0);
    checks::Fusermount {
        path,
        setuid_root,
        // /proc/self belongs to the effective user.
        running_as_root: std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0),
    }
}

fn key_file(g: &Global) -> checks::KeyFile {
    let path = g.key_file.clone().or_else(mezz_format::default_key_path);
    let mode = path
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.mode());
    let loaded = match (&path, mode) {
        (Some(p), Some(_)) => LocalKeyFile::load(p).map(|_| ()).map_err(|e| e.to_string()),
        _ => Ok(()),
    };
    checks::KeyFile {
        path,
        mode,
        loaded,
        kms_key_id: g.kms_key_id.clone(),
    }
}

/// The stores to check: each named by the spec's sources (the --store store for plain object
/// names), or just the --store store.
fn store_urls(g: &Global, a: &DoctorArgs) -> anyhow::Result<Vec<StoreUrl>> {
    let mut urls = Vec::new();
    let mut default = a.spec.is_none();
    if let Some(path) = &a.spec {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading spec file {}", path.display()))?;
        let parsed = spec::parse_spec_file(&text)
            .with_context(|| format!("spec file {}", path.display()))?;
        for s in parsed.sources() {
            match spec::split_source(&s).0 {
                Some(u) => {
                    let u = StoreUrl::parse(u).with_context(|| format!("source '{s}'"))?;
                    if !urls.contains(&u) {
                        urls.push(u);
                    }
                }
                None => default = true,
            }
        }
    }
    if default {
        let u = g.store_url()?;
        if !urls.contains(&u) {
            urls.insert(0, u);
        }
    }
    Ok(urls)
}

async fn store(g: &Global, url: StoreUrl) -> checks::Store {
    let s3 = matches!(url, StoreUrl::S3 { .. });
    let credentials = if s3 {
        match mezz_store_s3::credential_provider_name().await {
            Ok(name) => {
                let guess = checks::credential_source(&|k| std::env::var(k).ok(), aws_files());
                Ok(format!("{guess}; SDK provider {name}"))
            }
            Err(e) => Err(e),
        }
    } else {
        Ok(String::new())
    };
    let mut opts = g.s3_options(None);
    opts.max_attempts = 1;
    opts.attempt_timeout = Duration::from_secs(10);
    let reached = async {
        let store = mezz_store_s3::connect_store(&url, &opts).await?;
        // An empty prefix: cheap, and it fails on a missing bucket (a HEAD would not say).
        store.list("mezzfs-doctor-probe/").await.map(|_| ())
    };
    let reached = match tokio::time::timeout(Duration::from_secs(15), reached).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("no answer within 15 s".to_string()),
    };
    checks::Store {
        url: url.to_string(),
        s3,
        credentials,
        reached,
    }
}

/// Whether ~/.aws/credentials or ~/.aws/config exists (or the files AWS_SHARED_CREDENTIALS_FILE
/// and AWS_CONFIG_FILE name).
fn aws_files() -> bool {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, name: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    [
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        file("AWS_CONFIG_FILE", "config"),
    ]
    .into_iter()
    .flatten()
    .any(|p| p.is_file())
}

fn cache_dir(dir: &Path) -> checks::CacheDir {
    let writable = std::fs::create_dir_all(dir)
        .and_then(|()| tempfile_in(dir))
        .map_err(|e| e.to_string());
    let free_bytes = rustix::fs::statvfs(dir)
        .ok()
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize));
    checks::CacheDir {
        path: dir.to_path_buf(),
        writable,
        free_bytes,
        floor_bytes: mezz_store::DiskCacheConfig::new(dir).min_free_bytes,
    }
}

/// Writes and removes a small file in `dir`.
fn tempfile_in(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".mezzfs-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"probe")?;
    std::fs::remove_file(&probe)
}
