//! The fleet's only door to mezzfs: opening a store, putting a mezzanine, reading one scene's
//! byte range of it (authenticated, decrypted, optionally through a regional cache bucket),
//! and plain small objects (job record, chunks, done and error records) next to it.
//!
//! Every use of the mezzfs crates (`mezz_store`, `mezz_object`, `mezz_format`) is here, so
//! that moving them changes one file.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use mezz_format::LocalKeyFile;
use mezz_keys_kms::KeyRing;
use mezz_object::{ObjectError, ObjectReader, PutOptions, PutProgress, put_object};
use mezz_store::{
    CachedStore, ObjectStore, ReadStore, RegionalCache, RegionalConfig, StoreError, StoreUrl,
    near_store_url,
};
use mezz_store_s3::{S3Options, open_store};

use super::FleetError;

/// How to reach a store: the S3 endpoint and region (else the standard AWS configuration),
/// the mezzfs key file (else `MEZZFS_KEY_FILE` or the default location), the KMS key new
/// mezzanines are wrapped under (else the key file), and an optional regional cache bucket
/// that object reads go through.
///
/// Reading needs no KMS setting: each manifest names the provider that unwraps it, and a
/// worker reading KMS-wrapped mezzanines needs only permission to call KMS `Decrypt` (the
/// endpoint found the AWS way, e.g. `AWS_ENDPOINT_URL_KMS`), no key file.
#[derive(Clone, Debug, Default)]
pub struct StoreConfig {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub key_file: Option<PathBuf>,
    pub kms_key_id: Option<String>,
    pub regional_cache: Option<String>,
}

/// An object version: its id and plaintext size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub id: String,
    pub size: u64,
}

/// A store opened for a fleet job.
#[derive(Debug, Clone)]
pub struct FleetStore {
    url: String,
    store: Arc<dyn ObjectStore>,
    /// What object reads go through: the store, or a regional cache in front of it.
    reads: Arc<dyn ReadStore>,
    regional: Option<Arc<RegionalCache>>,
    /// One ring for the store's life: KMS is connected once, on the first object that needs it.
    keys: Arc<KeyRing>,
}

fn err(context: impl std::fmt::Display, e: impl std::fmt::Display) -> FleetError {
    FleetError::Store(format!("{context}: {e}"))
}

impl FleetStore {
    /// Opens the store `url` names (`s3://bucket/prefix`, a directory).
    pub async fn open(url: &str, config: &StoreConfig) -> Result<FleetStore, FleetError> {
        let parsed = StoreUrl::parse(url).map_err(|e| err("store URL", e))?;
        let opts = S3Options {
            endpoint_url: config.endpoint_url.clone(),
            region: config.region.clone(),
            max_attempts: 4,
            connect_timeout: Duration::from_secs(3),
            ..S3Options::default()
        };
        let store = open_store(&parsed, &opts)
            .await
            .map_err(|e| err(format!("opening {url}"), e))?;
        let (reads, regional) = match &config.regional_cache {
            None => (store.clone() as Arc<dyn ReadStore>, None),
            Some(near) => {
                let near_url = near_store_url(
                    &StoreUrl::parse(near).map_err(|e| err("--regional-cache", e))?,
                    store.as_ref(),
                );
                let near = open_store(&near_url, &opts)
                    .await
                    .map_err(|e| err(format!("opening the regional cache {near_url}"), e))?;
                let cache = Arc::new(RegionalCache::new(near, RegionalConfig::default()));
                let reads: Arc<dyn ReadStore> =
                    Arc::new(CachedStore::new(store.clone(), cache.clone()));
                (reads, Some(cache))
            }
        };
        Ok(FleetStore {
            url: url.into(),
            store,
            reads,
            regional,
            keys: Arc::new(key_ring(config)?),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The current version of object `name`, `None` if there is none.
    pub async fn object_info(&self, name: &str) -> Result<Option<ObjectInfo>, FleetError> {
        match ObjectReader::open(self.store.clone(), &*self.keys, name).await {
            Ok(r) => Ok(Some(ObjectInfo {
                id: r.opened().id.to_string(),
                size: r.size(),
            })),
            Err(ObjectError::NotFound { .. }) => Ok(None),
            Err(e) => Err(err(format!("object '{name}'"), e)),
        }
    }

    /// Stores the file `path` as object `name` (encrypted, in parts).
    pub async fn put_file(&self, name: &str, path: &Path) -> Result<ObjectInfo, FleetError> {
        self.keys
            .check_can_wrap()
            .map_err(|e| err(format!("putting '{name}'"), e))?;
        let file = std::fs::File::open(path).map_err(|e| err(path.display(), e))?;
        put_object(
            self.store.clone(),
            &*self.keys,
            name,
            Box::new(file),
            &PutOptions::default(),
            Arc::new(PutProgress::default()),
        )
        .await
        .map_err(|e| err(format!("putting {} as '{name}'", path.display()), e))?;
        self.object_info(name)
            .await?
            .ok_or_else(|| FleetError::Store(format!("'{name}' is not there after the put")))
    }

    /// Writes bytes `range` of object `name`, version `id`, to the file `out`. Returns the
    /// bytes fetched from the store (sealed segments, tags included). A different current
    /// version is an error: the job was made for `id`.
    pub async fn read_range_to_file(
        &self,
        name: &str,
        id: &str,
        range: Range<u64>,
        out: &Path,
    ) -> Result<u64, FleetError> {
        let reader = ObjectReader::open(self.reads.clone(), &*self.keys, name)
            .await
            .map_err(|e| err(format!("object '{name}'"), e))?;
        let found = reader.opened().id.to_string();
        if found != id {
            return Err(FleetError::Store(format!(
                "object '{name}' is version {found} now, the job was submitted for {id}"
            )));
        }
        if range.end > reader.size() {
            return Err(FleetError::Store(format!(
                "object '{name}' is {} bytes, the scene ends at {}",
                reader.size(),
                range.end
            )));
        }
        let spans = reader
            .opened()
            .layout
            .locate_bounded(range.clone(), 8 << 20);
        let fetched: u64 = spans
            .iter()
            .map(|s| s.ciphertext.end - s.ciphertext.start)
            .sum();
        let file = std::fs::File::create(out).map_err(|e| err(out.display(), e))?;
        let mut file = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut stream = std::pin::pin!(reader.stream_range(range, 8 << 20, 4));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| err(format!("reading '{name}'"), e))?;
            file.write_all(&chunk).map_err(|e| err(out.display(), e))?;
        }
        file.flush().map_err(|e| err(out.display(), e))?;
        Ok(fetched)
    }

    /// Waits (up to `limit`) for copies to the regional cache still running.
    pub async fn settle(&self, limit: Duration) {
        if let Some(r) = &self.regional {
            r.settle(limit).await;
        }
    }

    /// A small object, `None` if it is not there.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, FleetError> {
        match self.store.get(key).await {
            Ok(b) => Ok(Some(b)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(err(format!("reading {key}"), e)),
        }
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), FleetError> {
        self.store
            .put(key, Bytes::from(body))
            .await
            .map_err(|e| err(format!("writing {key}"), e))
    }

    pub async fn delete(&self, key: &str) -> Result<(), FleetError> {
        self.store
            .delete(key)
            .await
            .map_err(|e| err(format!("deleting {key}"), e))
    }

    /// Keys and sizes under `prefix`, in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, FleetError> {
        let found = self
            .store
            .list(prefix)
            .await
            .map_err(|e| err(format!("listing {prefix}"), e))?;
        Ok(found.into_iter().map(|m| (m.key, m.size)).collect())
    }
}

/// The key file where `config` or the environment says (an error only when it exists but
/// cannot be used), and KMS for manifests that name it.
fn key_ring(config: &StoreConfig) -> Result<KeyRing, FleetError> {
    let path = config
        .key_file
        .clone()
        .or_else(mezz_format::default_key_path);
    let local = match &path {
        Some(p) if p.exists() => Ok(LocalKeyFile::load(p).map_err(|e| err(p.display(), e))?),
        _ => Err(path),
    };
    Ok(KeyRing::new(local, config.kms_key_id.clone(), None))
}

/// Creates a new mezzfs key file at `path` (what `mezzfs key generate` does), for scripts and
/// tests that set up a store from scratch.
pub fn generate_key_file(path: &Path) -> Result<(), FleetError> {
    LocalKeyFile::generate(path)
        .map(|_| ())
        .map_err(|e| err(path.display(), e))
}
