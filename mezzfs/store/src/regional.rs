//! [`RegionalCache`]: a nearer bucket used as a cache of a far one (the seed's "regional
//! caching"), one of the [`RangeCache`]s a [`CachedStore`](crate::CachedStore) reads through. A worker in
//! region A reading an object stored in region B pays the cross-region transfer once, and every
//! other worker in A reads the copy nearby.
//!
//! - Ranged reads go to the near bucket first. On a miss the range is read from the origin and
//!   served at once, and the whole stored object (a part: ciphertext, copied byte for byte,
//!   never re-encrypted) is copied to the near bucket in the background, in 16 MiB pieces so a
//!   copy never holds a whole part in memory.
//! - A lease object in the near bucket (`.mezzfs-leases/<key>`, holder and expiry) tells other
//!   workers a copy is under way: they wait for the copy to land and read it nearby instead of
//!   all pulling the same bytes from the origin. A lease expires (and is renewed while the copy
//!   makes progress), so a crashed worker blocks no one for longer than the lease time.
//! - Manifests (whole-object `get`) always come from the origin: a replaced object is seen at
//!   once, and the new version's parts have new keys, so the near bucket never serves bytes of
//!   an older version.
//!
//! Leases are written then read back (last writer wins), which S3 without conditional writes
//! allows; two workers racing in the same few milliseconds may both copy, which costs origin
//! bytes but never correctness: the copies are identical.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::{ObjectMeta, ObjectStore, RangeCache, ReadStore, StoreError, StoreUrl};

/// Pieces of a background copy: above S3's 5 MiB multipart minimum, small enough to keep two
/// copies' buffers well under the mount's memory budget.
const COPY_PIECE: u64 = 16 << 20;
const LEASE_PREFIX: &str = ".mezzfs-leases/";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionalConfig {
    /// How long a lease holds without renewal.
    pub lease_ttl: Duration,
    /// How often a waiting worker looks for the copy.
    pub poll: Duration,
    /// Background copies at once.
    pub copies: usize,
}

impl Default for RegionalConfig {
    fn default() -> Self {
        RegionalConfig {
            lease_ttl: Duration::from_secs(30),
            poll: Duration::from_millis(100),
            copies: 2,
        }
    }
}

/// Who is copying an object to the near bucket, until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub holder: String,
    pub expires_unix_ms: u64,
}

/// What to do about a near-bucket miss, given the lease found there.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LeaseDecision {
    /// No live lease of someone else: take it and copy.
    Take,
    /// Someone else is copying until `until_ms`: wait for the copy.
    Wait { until_ms: u64 },
}

fn decide(found: Option<&Lease>, me: &str, now_ms: u64) -> LeaseDecision {
    match found {
        Some(l) if l.holder != me && l.expires_unix_ms > now_ms => LeaseDecision::Wait {
            until_ms: l.expires_unix_ms,
        },
        _ => LeaseDecision::Take,
    }
}

#[derive(Debug, Default)]
pub struct RegionalCounters {
    pub near_hits: AtomicU64,
    pub near_misses: AtomicU64,
    /// Bytes served from the near bucket.
    pub near_bytes: AtomicU64,
    /// Bytes read from the origin: misses served directly and background copies.
    pub origin_bytes: AtomicU64,
    pub copies_done: AtomicU64,
    pub copy_failures: AtomicU64,
    /// Misses that waited for another worker's copy instead of reading the origin.
    pub waited: AtomicU64,
    /// Background copies running now.
    pub copies_in_progress: AtomicU64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionalSnapshot {
    pub near_hits: u64,
    pub near_misses: u64,
    pub near_bytes: u64,
    pub origin_bytes: u64,
    pub copies_done: u64,
    pub copy_failures: u64,
    pub waited: u64,
    #[serde(default)]
    pub copies_in_progress: u64,
}

impl RegionalCounters {
    pub fn snapshot(&self) -> RegionalSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RegionalSnapshot {
            near_hits: l(&self.near_hits),
            near_misses: l(&self.near_misses),
            near_bytes: l(&self.near_bytes),
            origin_bytes: l(&self.origin_bytes),
            copies_done: l(&self.copies_done),
            copy_failures: l(&self.copy_failures),
            waited: l(&self.waited),
            copies_in_progress: l(&self.copies_in_progress),
        }
    }
}

#[derive(Debug)]
struct Shared {
    near: Arc<dyn ObjectStore>,
    config: RegionalConfig,
    counters: Arc<RegionalCounters>,
    holder: String,
    copying: Mutex<HashSet<String>>,
    slots: tokio::sync::Semaphore,
}

/// The near bucket as a cache; the origin is the store a [`CachedStore`](crate::CachedStore)
/// puts it in front of.
#[derive(Debug)]
pub struct RegionalCache {
    shared: Arc<Shared>,
}

/// Longest the end of a mount waits for copies still running: they would be lost work for
/// the next worker.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn lease_key(key: &str) -> String {
    format!("{LEASE_PREFIX}{key}")
}

impl RegionalCache {
    pub fn new(near: Arc<dyn ObjectStore>, config: RegionalConfig) -> RegionalCache {
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        RegionalCache {
            shared: Arc::new(Shared {
                near,
                counters: Arc::default(),
                holder: format!("{}/{}/{}", host.trim(), std::process::id(), hex::encode(id)),
                copying: Mutex::default(),
                slots: tokio::sync::Semaphore::new(config.copies.max(1)),
                config,
            }),
        }
    }

    pub fn counters(&self) -> Arc<RegionalCounters> {
        self.shared.counters.clone()
    }

    /// Waits until the background copies started so far have ended (for tests and for a
    /// clean unmount).
    pub async fn settle(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while !self
            .shared
            .copying
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Shared {
    async fn read_lease(&self, key: &str) -> Option<Lease> {
        let raw = self.near.get(&lease_key(key)).await.ok()?;
        serde_json::from_slice(&raw).ok()
    }

    async fn write_lease(&self, key: &str) -> Result<(), StoreError> {
        let lease = Lease {
            holder: self.holder.clone(),
            expires_unix_ms: now_ms() + self.config.lease_ttl.as_millis() as u64,
        };
        let body = serde_json::to_vec(&lease).unwrap_or_default();
        self.near.put(&lease_key(key), Bytes::from(body)).await
    }

    /// Takes the lease unless someone else holds a live one; says whether to copy or to wait.
    async fn try_lease(&self, key: &str) -> Result<LeaseDecision, StoreError> {
        if let d @ LeaseDecision::Wait { .. } =
            decide(self.read_lease(key).await.as_ref(), &self.holder, now_ms())
        {
            return Ok(d);
        }
        self.write_lease(key).await?;
        // Read back: of two workers writing at once, the later write wins.
        Ok(decide(
            self.read_lease(key).await.as_ref(),
            &self.holder,
            now_ms(),
        ))
    }

    /// Copies `key` from the origin to the near bucket under the lease.
    async fn copy(&self, origin: &dyn ReadStore, key: &str) -> Result<(), StoreError> {
        let size = origin.head(key).await?.size;
        let mut renewed = std::time::Instant::now();
        if size <= COPY_PIECE {
            let body = origin.get_range(key, 0..size).await?;
            self.counters
                .origin_bytes
                .fetch_add(size, Ordering::Relaxed);
            self.near.put(key, body).await?;
        } else {
            let upload = self.near.create_upload(key).await?;
            let result = async {
                let mut tags = Vec::new();
                let mut at = 0;
                let mut number = 1;
                while at < size {
                    let end = (at + COPY_PIECE).min(size);
                    let piece = origin.get_range(key, at..end).await?;
                    self.counters
                        .origin_bytes
                        .fetch_add(end - at, Ordering::Relaxed);
                    tags.push(self.near.upload_piece(key, &upload, number, piece).await?);
                    if renewed.elapsed() > self.config.lease_ttl / 3 {
                        self.write_lease(key).await?;
                        renewed = std::time::Instant::now();
                    }
                    at = end;
                    number += 1;
                }
                self.near.complete_upload(key, &upload, tags).await
            }
            .await;
            if result.is_err() {
                let _ = self.near.abort_upload(key, &upload).await;
            }
            result?;
        }
        self.counters.copies_done.fetch_add(1, Ordering::Relaxed);
        let _ = self.near.delete(&lease_key(key)).await;
        Ok(())
    }

    /// Starts a background copy of `key` unless one is under way in this process.
    fn spawn_copy(self: &Arc<Self>, origin: &Arc<dyn ReadStore>, key: &str) {
        if !self
            .copying
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string())
        {
            return;
        }
        let this = self.clone();
        let origin = origin.clone();
        let key = key.to_string();
        this.counters
            .copies_in_progress
            .fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let result = match this.slots.acquire().await {
                Ok(_permit) => this.copy(origin.as_ref(), &key).await,
                Err(_) => Ok(()),
            };
            if let Err(e) = result {
                this.counters.copy_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(key, error = %e, "copy to the regional cache failed; reads keep using the origin");
            }
            this.copying
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
            this.counters
                .copies_in_progress
                .fetch_sub(1, Ordering::Relaxed);
        });
    }

    async fn read_near(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        let b = self.near.get_range(key, range).await?;
        self.counters.near_hits.fetch_add(1, Ordering::Relaxed);
        self.counters
            .near_bytes
            .fetch_add(b.len() as u64, Ordering::Relaxed);
        Ok(b)
    }

    async fn read_origin(
        &self,
        origin: &dyn ReadStore,
        key: &str,
        range: Range<u64>,
    ) -> Result<Bytes, StoreError> {
        let b = origin.get_range(key, range).await?;
        self.counters
            .origin_bytes
            .fetch_add(b.len() as u64, Ordering::Relaxed);
        Ok(b)
    }
}

#[async_trait::async_trait]
impl RangeCache for RegionalCache {
    fn describe(&self) -> String {
        format!("regional cache {}", self.shared.near.describe())
    }

    async fn get_range(
        &self,
        origin: &Arc<dyn ReadStore>,
        key: &str,
        range: Range<u64>,
    ) -> Result<Bytes, StoreError> {
        let s = &self.shared;
        match s.read_near(key, range.clone()).await {
            Ok(b) => return Ok(b),
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => {
                // The near bucket failing must not fail reads the origin can serve.
                tracing::debug!(key, error = %e, "regional cache unavailable; reading the origin");
                return s.read_origin(origin.as_ref(), key, range).await;
            }
        }
        s.counters.near_misses.fetch_add(1, Ordering::Relaxed);
        if s.copying
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
        {
            return s.read_origin(origin.as_ref(), key, range).await;
        }
        match s.try_lease(key).await {
            Ok(LeaseDecision::Take) => {
                s.spawn_copy(origin, key);
                s.read_origin(origin.as_ref(), key, range).await
            }
            Ok(LeaseDecision::Wait { mut until_ms }) => {
                s.counters.waited.fetch_add(1, Ordering::Relaxed);
                while now_ms() < until_ms {
                    tokio::time::sleep(s.config.poll).await;
                    match s.read_near(key, range.clone()).await {
                        Ok(b) => return Ok(b),
                        Err(StoreError::NotFound { .. }) => {}
                        Err(_) => break,
                    }
                    // The holder renews its lease while it makes progress: wait longer.
                    if let Some(l) = s.read_lease(key).await
                        && l.holder != s.holder
                    {
                        until_ms = until_ms.max(l.expires_unix_ms);
                    }
                }
                // The holder is gone (its lease expired): copy it ourselves.
                s.spawn_copy(origin, key);
                s.read_origin(origin.as_ref(), key, range).await
            }
            Err(e) => {
                tracing::debug!(key, error = %e, "cannot write a lease to the regional cache");
                s.read_origin(origin.as_ref(), key, range).await
            }
        }
    }

    /// A copy's size nearby answers without a trip to the origin.
    async fn head(&self, origin: &Arc<dyn ReadStore>, key: &str) -> Result<ObjectMeta, StoreError> {
        match self.shared.near.head(key).await {
            Ok(m) => Ok(m),
            Err(_) => origin.head(key).await,
        }
    }

    async fn drain(&self) {
        let running = self
            .shared
            .counters
            .copies_in_progress
            .load(Ordering::Relaxed);
        if running > 0 {
            tracing::warn!(
                copies = running,
                "waiting up to {DRAIN_LIMIT:?} for copies to the regional cache"
            );
            self.settle(DRAIN_LIMIT).await;
        }
    }
}

/// Where the regional cache of `origin` lives under the near bucket `near`: a folder of its own,
/// named by a hash (FNV-1a) of the origin's description. Every mount and fleet worker names it
/// the same way, so they share one cache per origin.
pub fn near_store_url(near: &StoreUrl, origin: &dyn ReadStore) -> StoreUrl {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in origin.describe().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let namespace = format!("{h:016x}");
    match near {
        StoreUrl::S3 { bucket, prefix } => StoreUrl::S3 {
            bucket: bucket.clone(),
            prefix: format!(
                "{prefix}{}{namespace}/",
                if prefix.is_empty() || prefix.ends_with('/') {
                    ""
                } else {
                    "/"
                }
            ),
        },
        StoreUrl::Local(path) => StoreUrl::Local(path.join(namespace)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_of_others_are_waited_for_until_they_expire() {
        let l = |holder: &str, expires| Lease {
            holder: holder.into(),
            expires_unix_ms: expires,
        };
        assert_eq!(decide(None, "me", 100), LeaseDecision::Take);
        assert_eq!(decide(Some(&l("me", 200)), "me", 100), LeaseDecision::Take);
        assert_eq!(
            decide(Some(&l("other", 200)), "me", 100),
            LeaseDecision::Wait { until_ms: 200 }
        );
        assert_eq!(
            decide(Some(&l("other", 100)), "me", 100),
            LeaseDecision::Take,
            "expired"
        );
    }
}
