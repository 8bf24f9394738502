//! A store wrapper that injects faults, for tests of the layers above.
//!
//! Each read draws from a seeded generator, so a failing run can be repeated exactly. Faults:
//! an error before any byte, a delay, a body cut short, one flipped bit in the body.

use std::ops::Range;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use mezz_store::{
    ObjectMeta, ObjectStore, PendingUpload, PieceTag, ReadStore, StoreError, UploadId,
};

/// Probabilities are per request, between 0 and 1.
#[derive(Clone, Debug, Default)]
pub struct FaultConfig {
    pub seed: u64,
    pub error_rate: f64,
    pub delay_rate: f64,
    pub delay: Duration,
    pub short_read_rate: f64,
    pub corrupt_rate: f64,
    /// Also fail puts and uploads with `error_rate`.
    pub fail_writes: bool,
}

/// How many faults of each kind were injected so far.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub errors: AtomicU64,
    pub delays: AtomicU64,
    pub short_reads: AtomicU64,
    pub corruptions: AtomicU64,
}

#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    config: FaultConfig,
    rng: Mutex<u64>,
    counts: Arc<FaultCounts>,
}

/// splitmix64: tiny, seedable and good enough to pick faults.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn ObjectStore>, config: FaultConfig) -> FaultyStore {
        let rng = Mutex::new(config.seed);
        FaultyStore {
            inner,
            config,
            rng,
            counts: Arc::default(),
        }
    }

    pub fn counts(&self) -> Arc<FaultCounts> {
        self.counts.clone()
    }

    fn draw(&self) -> (f64, u64) {
        let mut s = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let a = next(&mut s);
        let b = next(&mut s);
        ((a >> 11) as f64 / (1u64 << 53) as f64, b)
    }

    fn chance(&self, p: f64) -> bool {
        p > 0.0 && self.draw().0 < p
    }

    async fn before(&self, key: &str, write: bool) -> Result<(), StoreError> {
        if self.chance(self.config.delay_rate) {
            self.counts.delays.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.config.delay).await;
        }
        if (!write || self.config.fail_writes) && self.chance(self.config.error_rate) {
            self.counts.errors.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Injected {
                key: key.into(),
                kind: "error",
            });
        }
        Ok(())
    }

    fn mangle(&self, key: &str, body: Bytes) -> Result<Bytes, StoreError> {
        if !body.is_empty() && self.chance(self.config.short_read_rate) {
            self.counts.short_reads.fetch_add(1, Ordering::Relaxed);
            let got = self.draw().1 % body.len() as u64;
            return Err(StoreError::ShortRead {
                key: key.into(),
                expected: body.len() as u64,
                got,
            });
        }
        if !body.is_empty() && self.chance(self.config.corrupt_rate) {
            self.counts.corruptions.fetch_add(1, Ordering::Relaxed);
            let r = self.draw().1;
            let mut v = body.to_vec();
            let i = (r % v.len() as u64) as usize;
            v[i] ^= 1 << ((r >> 32) % 8);
            return Ok(Bytes::from(v));
        }
        Ok(body)
    }
}

#[async_trait::async_trait]
impl ReadStore for FaultyStore {
    fn describe(&self) -> String {
        format!("faulty({})", self.inner.describe())
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        self.before(key, false).await?;
        let body = self.inner.get_range(key, range).await?;
        self.mangle(key, body)
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.before(key, false).await?;
        let body = self.inner.get(key).await?;
        self.mangle(key, body)
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.before(key, false).await?;
        self.inner.head(key).await
    }
}

#[async_trait::async_trait]
impl ObjectStore for FaultyStore {
    async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        self.before(key, true).await?;
        self.inner.put(key, body).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.before(prefix, false).await?;
        self.inner.list(prefix).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.before(key, true).await?;
        self.inner.delete(key).await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.before(to, true).await?;
        self.inner.copy(from, to).await
    }

    async fn create_upload(&self, key: &str) -> Result<UploadId, StoreError> {
        self.before(key, true).await?;
        self.inner.create_upload(key).await
    }

    async fn upload_piece(
        &self,
        key: &str,
        upload: &UploadId,
        number: u32,
        body: Bytes,
    ) -> Result<PieceTag, StoreError> {
        self.before(key, true).await?;
        self.inner.upload_piece(key, upload, number, body).await
    }

    async fn complete_upload(
        &self,
        key: &str,
        upload: &UploadId,
        pieces: Vec<PieceTag>,
    ) -> Result<(), StoreError> {
        self.before(key, true).await?;
        self.inner.complete_upload(key, upload, pieces).await
    }

    async fn abort_upload(&self, key: &str, upload: &UploadId) -> Result<(), StoreError> {
        self.inner.abort_upload(key, upload).await
    }

    async fn get_tagged(&self, key: &str) -> Result<(Bytes, String), StoreError> {
        self.before(key, false).await?;
        self.inner.get_tagged(key).await
    }

    async fn put_if_match(&self, key: &str, body: Bytes, tag: &str) -> Result<(), StoreError> {
        self.before(key, true).await?;
        self.inner.put_if_match(key, body, tag).await
    }

    async fn list_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>, StoreError> {
        self.before(prefix, false).await?;
        self.inner.list_uploads(prefix).await
    }
}
