//! What the store wrappers of a mount did, gathered in one place for its statistics.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{DiskCacheStats, RegionalCounters, RegionalSnapshot, RetryCounters};

/// Handles to the counters of every wrapper in a mount's store stacks.
#[derive(Clone, Debug, Default)]
pub struct StoreCounters {
    pub retry: Vec<Arc<RetryCounters>>,
    pub regional: Vec<Arc<RegionalCounters>>,
    pub disk: Option<Arc<DiskCacheStats>>,
}

/// The sums, as the stats file shows them. Field names are part of its format.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreSnapshot {
    /// Requests repeated after a transient failure.
    pub retries: u64,
    /// Attempts that took longer than the per-request timeout.
    pub timeouts: u64,
    /// Operations that failed after their last attempt or at their deadline.
    pub gave_up: u64,
    /// Retries not made because the mount's retry budget was spent (a store throttling or
    /// failing everything).
    #[serde(default)]
    pub budget_refusals: u64,
    /// Present when a regional cache bucket is in use.
    #[serde(default)]
    pub regional: Option<RegionalSnapshot>,
    /// Present when a disk cache is in use.
    #[serde(default)]
    pub disk_cache: Option<serde_json::Value>,
}

impl StoreCounters {
    pub fn snapshot(&self) -> StoreSnapshot {
        let mut s = StoreSnapshot::default();
        for r in &self.retry {
            let r = r.snapshot();
            s.retries += r.retries;
            s.timeouts += r.timeouts;
            s.gave_up += r.gave_up;
            s.budget_refusals += r.budget_refusals;
        }
        if !self.regional.is_empty() {
            let mut sum = RegionalSnapshot::default();
            for r in &self.regional {
                let r = r.snapshot();
                sum.near_hits += r.near_hits;
                sum.near_misses += r.near_misses;
                sum.near_bytes += r.near_bytes;
                sum.origin_bytes += r.origin_bytes;
                sum.copies_done += r.copies_done;
                sum.copy_failures += r.copy_failures;
                sum.waited += r.waited;
                sum.copies_in_progress += r.copies_in_progress;
            }
            s.regional = Some(sum);
        }
        s.disk_cache = self
            .disk
            .as_ref()
            .and_then(|d| serde_json::to_value(d.snapshot()).ok());
        s
    }
}
