//! The data keys of a mount's objects: unwrapped when a file of the object is opened, held
//! while any handle (or read) needs it, dropped when the last one is released.
//!
//! A mount starts from manifests alone ([`LockedObject`]: sizes and layout, no key), so it
//! makes no key-service call at start-up and mounts even when KMS is out of reach. The first
//! open of an object unwraps its data key (one `Decrypt` for KMS); concurrent opens of the
//! same object share that one call; later opens and every read reuse the key while it is
//! held. When the last holder lets go, the key is kept for a short grace period and then
//! dropped: its bytes are wiped (`mezz_format::DataKey` and `ObjectCipher` zeroize on drop).
//!
//! The grace period exists because tools open the same file several times in a row (a probe,
//! then the decode; `cat` in a loop): without it each of those opens would be a key-service
//! call. It is short so that a key is not kept long after the last close. A failed unwrap is
//! not remembered: the next open tries again (KMS may be back).
//!
//! `KeySlot` is the pure lifecycle of one object's key (holders, unwrap in progress, grace
//! deadline; the clock is passed in); `ObjectKeys` is the edge that calls the key provider and
//! arms the grace timers; a [`KeyHold`] is what a file handle or a read keeps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use mezz_format::KeyProvider;
use mezz_object::{LockedObject, ObjectError, ObjectReader};

/// How long a data key stays after its last holder is released (see the module doc).
pub const DEFAULT_KEY_GRACE: Duration = Duration::from_secs(2);

/// What [`KeySlot::acquire`] asks the caller to do.
#[derive(Debug)]
pub(crate) enum Acquire<K, W> {
    /// The key is held; here it is.
    Ready(K),
    /// An unwrap is under way (`started`: by this call): wait on `wait`, then
    /// [`settle`](KeySlot::settle) with `generation`.
    Wait {
        generation: u64,
        wait: W,
        started: bool,
    },
}

/// What [`KeySlot::release`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Release {
    /// Others still hold the key (or it is pinned, or was never unwrapped).
    Kept,
    /// Nobody holds it: drop it at this instant unless it is acquired again first
    /// ([`KeySlot::expire`]).
    ExpireAt(Instant),
    /// Nobody holds it and there is no grace period: dropped now.
    Dropped,
}

#[derive(Debug)]
enum State<K, W> {
    Locked,
    Unlocking { generation: u64, wait: W },
    Open { key: K, idle_since: Option<Instant> },
}

/// The lifecycle of one object's data key: who holds it, and whether it is locked, being
/// unwrapped or open. `K` is the unwrapped key, `W` a shared wait for an unwrap in progress.
#[derive(Debug)]
pub(crate) struct KeySlot<K, W> {
    state: State<K, W>,
    holders: usize,
    generation: u64,
    grace: Duration,
    /// Never dropped (a read path built from readers that are already open).
    pinned: bool,
}

impl<K: Clone, W: Clone> KeySlot<K, W> {
    /// A locked slot whose key, once unwrapped, outlives its last holder by `grace`.
    pub(crate) fn locked(grace: Duration) -> Self {
        KeySlot {
            state: State::Locked,
            holders: 0,
            generation: 0,
            grace,
            pinned: false,
        }
    }

    /// A slot whose key is given and never dropped.
    pub(crate) fn pinned(key: K) -> Self {
        KeySlot {
            state: State::Open {
                key,
                idle_since: None,
            },
            holders: 0,
            generation: 0,
            grace: Duration::ZERO,
            pinned: true,
        }
    }

    /// One more holder. When the key is locked, `start` makes the unwrap to wait on.
    pub(crate) fn acquire(&mut self, start: impl FnOnce() -> W) -> Acquire<K, W> {
        self.holders += 1;
        match &mut self.state {
            State::Open { key, idle_since } => {
                *idle_since = None;
                Acquire::Ready(key.clone())
            }
            State::Unlocking { generation, wait } => Acquire::Wait {
                generation: *generation,
                wait: wait.clone(),
                started: false,
            },
            State::Locked => {
                self.generation += 1;
                let wait = start();
                self.state = State::Unlocking {
                    generation: self.generation,
                    wait: wait.clone(),
                };
                Acquire::Wait {
                    generation: self.generation,
                    wait,
                    started: true,
                }
            }
        }
    }

    /// The unwrap of `generation` finished: `Some(key)` opens the slot, `None` (it failed)
    /// locks it again, so the next acquire tries anew. A late or repeated report is ignored.
    /// A failed waiter still holds: it must [`release`](Self::release).
    pub(crate) fn settle(&mut self, generation: u64, key: Option<K>) {
        if !matches!(&self.state, State::Unlocking { generation: g, .. } if *g == generation) {
            return;
        }
        self.state = match key {
            Some(key) => State::Open {
                key,
                idle_since: None,
            },
            None => State::Locked,
        };
    }

    /// One holder fewer, at `now`.
    pub(crate) fn release(&mut self, now: Instant) -> Release {
        self.holders = self.holders.saturating_sub(1);
        if self.holders > 0 || self.pinned {
            return Release::Kept;
        }
        match &mut self.state {
            State::Open { .. } if self.grace.is_zero() => {
                self.state = State::Locked;
                Release::Dropped
            }
            State::Open { idle_since, .. } => {
                *idle_since = Some(now);
                Release::ExpireAt(now + self.grace)
            }
            _ => Release::Kept,
        }
    }

    /// Drops the key if nobody has held it for the grace period by `now`; true if dropped.
    pub(crate) fn expire(&mut self, now: Instant) -> bool {
        match &self.state {
            State::Open {
                idle_since: Some(since),
                ..
            } if self.holders == 0 && !self.pinned && now >= *since + self.grace => {
                self.state = State::Locked;
                true
            }
            _ => false,
        }
    }

    /// Whether the unwrapped key is in memory.
    pub(crate) fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    #[cfg(test)]
    fn holders(&self) -> usize {
        self.holders
    }
}

type Unwrap = Shared<BoxFuture<'static, Result<ObjectReader, Arc<ObjectError>>>>;

/// The data keys of a mount's objects (the edge around [`KeySlot`]): unwraps through the
/// key provider, arms the grace timers on the runtime, counts unwraps.
pub(crate) struct ObjectKeys {
    /// Each object's manifest; `None` for pinned objects (opened by the caller).
    locked: Vec<Option<LockedObject>>,
    provider: Option<Arc<dyn KeyProvider>>,
    slots: Mutex<Vec<KeySlot<ObjectReader, Unwrap>>>,
    /// Runs the grace timers; without one, a key is dropped at its last release.
    rt: Option<tokio::runtime::Handle>,
    unwraps: AtomicU64,
}

impl std::fmt::Debug for ObjectKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectKeys")
            .field("objects", &self.locked.len())
            .field("unwraps", &self.unwraps.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update of a slot is a single assignment: a poisoned lock still holds valid slots.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ObjectKeys {
    /// Keys unwrapped on demand by `provider`, kept `grace` after their last holder.
    pub(crate) fn lazy(
        objects: Vec<LockedObject>,
        provider: Arc<dyn KeyProvider>,
        grace: Duration,
    ) -> Self {
        let rt = tokio::runtime::Handle::try_current().ok();
        let grace = if rt.is_some() { grace } else { Duration::ZERO };
        ObjectKeys {
            slots: Mutex::new(objects.iter().map(|_| KeySlot::locked(grace)).collect()),
            locked: objects.into_iter().map(Some).collect(),
            provider: Some(provider),
            rt,
            unwraps: AtomicU64::new(0),
        }
    }

    /// Objects the caller has already opened: their keys stay for the read path's life.
    pub(crate) fn pinned(readers: Vec<ObjectReader>) -> Self {
        ObjectKeys {
            locked: readers.iter().map(|_| None).collect(),
            slots: Mutex::new(readers.into_iter().map(KeySlot::pinned).collect()),
            provider: None,
            rt: None,
            unwraps: AtomicU64::new(0),
        }
    }

    /// Key-service calls made so far (one per unwrap, shared by concurrent opens).
    pub(crate) fn unwraps(&self) -> u64 {
        self.unwraps.load(Ordering::Relaxed)
    }

    /// Whether object `object`'s data key is in memory now.
    pub(crate) fn is_open(&self, object: usize) -> bool {
        lock(&self.slots).get(object).is_some_and(KeySlot::is_open)
    }

    /// Objects whose data key is in memory now.
    pub(crate) fn held(&self) -> u64 {
        lock(&self.slots).iter().filter(|s| s.is_open()).count() as u64
    }

    /// Holds `object`'s key, unwrapping it first when nobody holds it. An error names the
    /// object; nothing is kept of a failed unwrap.
    pub(crate) async fn hold(self: &Arc<Self>, object: usize) -> Result<KeyHold, Arc<ObjectError>> {
        let acquired = {
            let mut slots = lock(&self.slots);
            let slot = slots.get_mut(object).ok_or_else(|| {
                Arc::new(ObjectError::Other(format!(
                    "no mounted object with index {object}"
                )))
            })?;
            slot.acquire(|| self.unwrap(object))
        };
        // The slot now counts this caller; the holder gives that back when dropped, also
        // when this future is dropped while waiting (a read that timed out).
        let holder = Holder {
            keys: self.clone(),
            object,
        };
        let (generation, wait, started) = match acquired {
            Acquire::Ready(reader) => return Ok(KeyHold { holder, reader }),
            Acquire::Wait {
                generation,
                wait,
                started,
            } => (generation, wait, started),
        };
        if started {
            self.unwraps.fetch_add(1, Ordering::Relaxed);
        }
        let result = wait.await;
        lock(&self.slots)[object].settle(generation, result.as_ref().ok().cloned());
        let reader = result?;
        if started {
            tracing::info!(object = reader.name(), "data key unwrapped");
        }
        Ok(KeyHold { holder, reader })
    }

    fn unwrap(&self, object: usize) -> Unwrap {
        let locked = self.locked.get(object).cloned().flatten();
        let provider = self.provider.clone();
        async move {
            match (locked, provider) {
                (Some(locked), Some(provider)) => {
                    locked.unlock(provider.as_ref()).await.map_err(Arc::new)
                }
                _ => Err(Arc::new(ObjectError::Other(format!(
                    "object {object} has no key to unwrap"
                )))),
            }
        }
        .boxed()
        .shared()
    }

    fn release(self: &Arc<Self>, object: usize) {
        let now = Instant::now();
        let outcome = match lock(&self.slots).get_mut(object) {
            Some(slot) => slot.release(now),
            None => return,
        };
        match outcome {
            Release::Kept => {}
            Release::Dropped => self.dropped(object),
            Release::ExpireAt(at) => match &self.rt {
                Some(rt) => {
                    let keys = self.clone();
                    rt.spawn(async move {
                        tokio::time::sleep_until(at.into()).await;
                        let gone = lock(&keys.slots)[object].expire(Instant::now());
                        if gone {
                            keys.dropped(object);
                        }
                    });
                }
                None => {
                    if lock(&self.slots)[object].expire(at) {
                        self.dropped(object);
                    }
                }
            },
        }
    }

    fn dropped(&self, object: usize) {
        if let Some(Some(l)) = self.locked.get(object) {
            tracing::info!(object = l.name(), "data key dropped (no file of it open)");
        }
    }
}

/// One counted holder of a slot; released when dropped.
#[derive(Debug)]
struct Holder {
    keys: Arc<ObjectKeys>,
    object: usize,
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.keys.release(self.object);
    }
}

/// A hold on one object's unwrapped key; the key may be dropped once every hold is gone.
/// Fetches started under a hold keep their own reference until they finish.
#[derive(Debug)]
pub struct KeyHold {
    holder: Holder,
    reader: ObjectReader,
}

impl KeyHold {
    /// The opened object, to fetch and decrypt with.
    pub fn reader(&self) -> &ObjectReader {
        &self.reader
    }

    pub fn object(&self) -> usize {
        self.holder.object
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Slot = KeySlot<&'static str, u32>;
    const GRACE: Duration = Duration::from_secs(2);

    fn started(a: Acquire<&'static str, u32>) -> (u64, bool) {
        match a {
            Acquire::Wait {
                generation,
                started,
                ..
            } => (generation, started),
            Acquire::Ready(k) => panic!("expected a wait, got key {k}"),
        }
    }

    #[test]
    fn the_first_open_unwraps_and_concurrent_opens_share_it() {
        let mut s = Slot::locked(GRACE);
        let mut calls = 0;
        let (g1, first) = started(s.acquire(|| {
            calls += 1;
            7
        }));
        let (g2, second) = started(s.acquire(|| {
            calls += 1;
            8
        }));
        assert!(first && !second);
        assert_eq!((g1, calls), (g2, 1));
        s.settle(g1, Some("k"));
        s.settle(g2, Some("k"));
        assert!(s.is_open());
        assert!(matches!(s.acquire(|| 9), Acquire::Ready("k")));
        assert_eq!(s.holders(), 3);
    }

    #[test]
    fn the_key_outlives_its_last_holder_by_the_grace_period_only() {
        let t0 = Instant::now();
        let mut s = Slot::locked(GRACE);
        let (g, _) = started(s.acquire(|| 1));
        s.settle(g, Some("k"));
        let _ = s.acquire(|| 2);
        assert_eq!(s.release(t0), Release::Kept);
        assert_eq!(s.release(t0), Release::ExpireAt(t0 + GRACE));
        assert!(!s.expire(t0 + GRACE / 2), "too early");
        assert!(s.is_open());
        assert!(s.expire(t0 + GRACE));
        assert!(!s.is_open());
        // Locked again: the next open unwraps anew.
        assert!(started(s.acquire(|| 3)).1);
    }

    #[test]
    fn reopening_within_the_grace_period_keeps_the_key_and_cancels_the_expiry() {
        let t0 = Instant::now();
        let mut s = Slot::locked(GRACE);
        let (g, _) = started(s.acquire(|| 1));
        s.settle(g, Some("k"));
        assert_eq!(s.release(t0), Release::ExpireAt(t0 + GRACE));
        assert!(matches!(s.acquire(|| 2), Acquire::Ready("k")));
        assert!(
            !s.expire(t0 + GRACE * 10),
            "held again: the old timer must not drop it"
        );
        let later = t0 + GRACE * 3;
        assert_eq!(s.release(later), Release::ExpireAt(later + GRACE));
        assert!(!s.expire(t0 + GRACE), "the first timer is stale");
        assert!(s.expire(later + GRACE));
    }

    #[test]
    fn without_a_grace_period_the_last_release_drops_the_key() {
        let mut s = Slot::locked(Duration::ZERO);
        let (g, _) = started(s.acquire(|| 1));
        s.settle(g, Some("k"));
        assert_eq!(s.release(Instant::now()), Release::Dropped);
        assert!(!s.is_open());
    }

    #[test]
    fn a_failed_unwrap_is_not_remembered_and_late_reports_are_ignored() {
        let mut s = Slot::locked(GRACE);
        let (g, _) = started(s.acquire(|| 1));
        let (g_waiter, started_by_waiter) = started(s.acquire(|| 2));
        assert!(!started_by_waiter);
        s.settle(g, None);
        assert_eq!(s.release(Instant::now()), Release::Kept);
        // The waiter's report of the same failed unwrap changes nothing.
        s.settle(g_waiter, None);
        assert_eq!(s.release(Instant::now()), Release::Kept);
        assert_eq!(s.holders(), 0);
        assert!(!s.is_open());
        // The next open tries again, as a new generation; an old success cannot open it.
        let (g2, again) = started(s.acquire(|| 3));
        assert!(again && g2 > g);
        s.settle(g, Some("stale"));
        assert!(!s.is_open());
        s.settle(g2, Some("k"));
        assert!(s.is_open());
    }

    #[test]
    fn a_pinned_key_is_never_dropped() {
        let mut s = Slot::pinned("k");
        assert!(matches!(s.acquire(|| 1), Acquire::Ready("k")));
        assert_eq!(s.release(Instant::now()), Release::Kept);
        assert!(!s.expire(Instant::now() + GRACE * 100));
        assert!(s.is_open());
    }
}
