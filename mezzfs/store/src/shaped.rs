//! A store wrapper that makes a nearby store behave like a distant one: every request waits a
//! round trip before its first byte, each response arrives no faster than a per-connection
//! rate, and all responses share one link of a given rate (first come, first served). For reruns and tests that need a realistic cost per request without a
//! shaped network (the benchmark harness shapes a real one).

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{ObjectMeta, ReadStore, StoreError};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    /// Time to first byte of every request.
    pub latency: Duration,
    /// Bytes per second of one response, or unlimited.
    pub per_request_rate: Option<f64>,
    /// Bytes per second of all responses together, or unlimited.
    pub link_rate: Option<f64>,
}

#[derive(Debug)]
pub struct ShapedStore {
    inner: Arc<dyn ReadStore>,
    shape: Shape,
    /// When the shared link is free again.
    link_free: std::sync::Mutex<Instant>,
}

impl ShapedStore {
    pub fn new(inner: Arc<dyn ReadStore>, shape: Shape) -> ShapedStore {
        ShapedStore {
            inner,
            shape,
            link_free: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// How long a response of `bytes` takes in all.
    pub fn cost(&self, bytes: u64) -> Duration {
        let transfer = self
            .shape
            .per_request_rate
            .filter(|r| *r > 0.0)
            .map_or(Duration::ZERO, |r| {
                Duration::from_secs_f64(bytes as f64 / r)
            });
        self.shape.latency + transfer
    }

    async fn shaped(&self, started: Instant, body: Bytes) -> Bytes {
        let mut due = started + self.cost(body.len() as u64);
        if let Some(rate) = self.shape.link_rate.filter(|r| *r > 0.0) {
            // The response takes its turn on the link once its first byte could flow.
            let mut free = self.link_free.lock().unwrap_or_else(|p| p.into_inner());
            let start = (*free).max(started + self.shape.latency);
            *free = start + Duration::from_secs_f64(body.len() as f64 / rate);
            due = due.max(*free);
        }
        tokio::time::sleep_until(due.into()).await;
        body
    }
}

#[async_trait::async_trait]
impl ReadStore for ShapedStore {
    fn describe(&self) -> String {
        format!("{} (shaped: {:?})", self.inner.describe(), self.shape)
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StoreError> {
        let started = Instant::now();
        let body = self.inner.get_range(key, range).await?;
        Ok(self.shaped(started, body).await)
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        let started = Instant::now();
        let body = self.inner.get(key).await?;
        Ok(self.shaped(started, body).await)
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        tokio::time::sleep(self.shape.latency).await;
        self.inner.head(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectStore;

    #[tokio::test]
    async fn responses_take_latency_plus_transfer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = Arc::new(crate::LocalStore::open(dir.path()).expect("store"));
        local
            .put("k", Bytes::from(vec![7u8; 100_000]))
            .await
            .expect("put");
        let s = ShapedStore::new(
            local.clone(),
            Shape {
                latency: Duration::from_millis(30),
                per_request_rate: Some(1_000_000.0),
                link_rate: None,
            },
        );
        assert_eq!(s.cost(100_000), Duration::from_millis(130));
        let t = Instant::now();
        let b = s.get_range("k", 0..50_000).await.expect("get");
        let took = t.elapsed();
        assert_eq!(b.len(), 50_000);
        assert!(took >= Duration::from_millis(80), "{took:?}");
    }
}
