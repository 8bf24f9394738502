//! The cache directory and its index: reading checked blocks, making room, writing.
//! Everything here blocks on the disk; the cache's read path (`store.rs`) calls it from
//! tokio's blocking pool.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::files::{self, Found};
use super::header::{self, FileId, HEADER_LEN, SIZE_RECORD};
use super::index::LruIndex;
use super::stats::{DiskCacheStats, add};
use super::{DiskCacheConfig, DiskCacheError, MAX_BLOCK_BYTES, MIN_BLOCK_BYTES};

/// Fetched bytes allowed to wait for the disk, as permits of `WRITE_PERMIT_BYTES`.
const WRITE_QUEUE_BYTES: u64 = 64 << 20;
pub(super) const WRITE_PERMIT_BYTES: u64 = 1 << 20;
pub(super) const WRITE_PERMITS: u32 = (WRITE_QUEUE_BYTES / WRITE_PERMIT_BYTES) as u32;
/// After a write error, writes stop this long: an unwritable or full directory costs one
/// failed syscall per 30 s, not one per block.
const WRITE_PAUSE: Duration = Duration::from_secs(30);
/// A hit refreshes the file's mtime (the restored LRU order) at most this often per file.
const TOUCH_AFTER: Duration = Duration::from_secs(60);
/// Rescans of a shared directory at most this often.
const RESCAN_EVERY: Duration = Duration::from_secs(60);

/// A block cache in one directory. Open once per mount; share it through `Arc`.
#[derive(Debug)]
pub struct DiskCache {
    /// This cache's own `Arc` (every `DiskCache` is made by [`DiskCache::open`]), so that
    /// blocking work can be handed to tokio's blocking pool from `&self`.
    me: Weak<DiskCache>,
    config: DiskCacheConfig,
    state: Mutex<State>,
    stats: Arc<DiskCacheStats>,
    pub(super) write_queue: Arc<Semaphore>,
    /// Writes are off until this moment (after an error).
    paused_until: Mutex<Option<Instant>>,
    warned_space: AtomicBool,
}

#[derive(Debug)]
struct State {
    index: LruIndex,
    /// Object sizes by key id, from size records.
    sizes: HashMap<u128, u64>,
    /// Seen another writer since the last scan (a file vanished or appeared).
    drift: bool,
    last_scan: Instant,
}

impl DiskCache {
    /// Creates `config.dir` if needed, deletes temp files of killed writers, indexes the cache
    /// files found (least recently modified first) and evicts down to the limits. Blocks on
    /// the disk: one readdir plus a read of each size record.
    pub fn open(config: DiskCacheConfig) -> Result<Arc<DiskCache>, DiskCacheError> {
        if !(MIN_BLOCK_BYTES..=MAX_BLOCK_BYTES).contains(&config.block_bytes) {
            return Err(DiskCacheError::BlockSize(config.block_bytes));
        }
        let dir_error = |error| DiskCacheError::Dir {
            dir: config.dir.clone(),
            error,
        };
        std::fs::create_dir_all(&config.dir).map_err(dir_error)?;
        let (found, cleaned) = files::scan(&config.dir).map_err(dir_error)?;
        if cleaned > 0 {
            tracing::info!(dir = %config.dir.display(), cleaned, "disk cache: removed temp files of interrupted writes");
        }
        let cache = DiskCache {
            me: Weak::new(),
            config,
            state: Mutex::new(State {
                index: LruIndex::default(),
                sizes: HashMap::new(),
                drift: false,
                last_scan: Instant::now(),
            }),
            stats: Arc::default(),
            write_queue: Arc::new(Semaphore::new(WRITE_PERMITS as usize)),
            paused_until: Mutex::new(None),
            warned_space: AtomicBool::new(false),
        };
        let sizes: Vec<FileId> = found
            .iter()
            .map(|f| f.id)
            .filter(|id| id.block == SIZE_RECORD)
            .collect();
        cache.rebuild(found);
        for id in sizes {
            cache.load_size(id.key);
        }
        cache.make_room(None, 0);
        Ok(Arc::new_cyclic(|me| DiskCache {
            me: me.clone(),
            ..cache
        }))
    }

    /// This cache's `Arc`. It exists as long as `&self` does: a `DiskCache` lives only in the
    /// `Arc` that `open` returned.
    pub(super) fn arc(&self) -> Arc<DiskCache> {
        self.me
            .upgrade()
            .expect("a DiskCache is only reachable through the Arc made by open")
    }

    pub fn config(&self) -> &DiskCacheConfig {
        &self.config
    }

    pub fn stats(&self) -> Arc<DiskCacheStats> {
        self.stats.clone()
    }

    pub fn block_bytes(&self) -> u64 {
        self.config.block_bytes
    }

    /// Waits until every write queued so far has reached the disk (for tests and unmount).
    pub async fn flush(&self) {
        // Holding every permit means no write task is running; the closed-semaphore error
        // cannot happen (it is never closed).
        let _all = self.write_queue.acquire_many(WRITE_PERMITS).await;
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn path(&self, id: FileId) -> std::path::PathBuf {
        files::path_of(&self.config.dir, id)
    }

    /// Replaces the index with the files found, oldest modification first.
    fn rebuild(&self, mut found: Vec<Found>) {
        found.sort_by_key(|f| f.modified);
        let mut st = self.state();
        st.index = LruIndex::default();
        for f in found {
            st.index.insert(f.id, f.bytes);
        }
        st.drift = false;
        st.last_scan = Instant::now();
        self.stats
            .bytes_on_disk
            .store(st.index.total(), Ordering::Relaxed);
    }

    /// Block `id` from disk if its file is there and passes every check, holding exactly
    /// `len` bytes. Anything else is a miss; a damaged file is deleted.
    pub(super) fn read_block(&self, id: FileId, len: u64) -> Option<Bytes> {
        let path = self.path(id);
        let raw = match files::read_and_touch(&path, TOUCH_AFTER) {
            Ok(raw) => raw,
            Err(e) => {
                let mut st = self.state();
                if e.kind() == std::io::ErrorKind::NotFound {
                    // Evicted by another mount sharing the directory (or never written).
                    if st.index.remove(id).is_some() {
                        st.drift = true;
                    }
                } else {
                    tracing::debug!(file = %path.display(), error = %e, "disk cache: read failed, treated as a miss");
                }
                return None;
            }
        };
        let file_len = raw.len() as u64;
        let checked = header::parse_expected(&raw, id).and_then(|data| {
            if data.len() as u64 == len {
                Ok(())
            } else {
                Err(header::HeaderError::Truncated {
                    header: u32::try_from(len).unwrap_or(u32::MAX),
                    actual: data.len(),
                })
            }
        });
        if let Err(e) = checked {
            self.discard_corrupt(id, &path, &e);
            return None;
        }
        let mut st = self.state();
        if !st.index.touch(id) {
            // Written by another mount: count it from now on.
            st.index.insert(id, file_len);
            st.drift = true;
            let over = st.index.total() > self.config.max_bytes;
            drop(st);
            if over {
                self.make_room(None, 0);
            }
        } else {
            drop(st);
        }
        Some(Bytes::from(raw).slice(HEADER_LEN..))
    }

    fn discard_corrupt(&self, id: FileId, path: &Path, e: &header::HeaderError) {
        tracing::warn!(file = %path.display(), error = %e, "disk cache: damaged cache file, deleted and refetched");
        add(&self.stats.corrupt_files, 1);
        if let Err(err) = files::remove(path) {
            tracing::debug!(file = %path.display(), error = %err, "disk cache: cannot delete damaged file");
        }
        let mut st = self.state();
        st.index.remove(id);
        if id.block == SIZE_RECORD {
            st.sizes.remove(&id.key);
        }
        self.stats
            .bytes_on_disk
            .store(st.index.total(), Ordering::Relaxed);
    }

    /// The size of the object with key id `key`, if remembered in memory.
    pub(super) fn known_size(&self, key: u128) -> Option<u64> {
        let mut st = self.state();
        let size = st.sizes.get(&key).copied()?;
        // Keep the size record as fresh as the blocks that need it.
        st.index.touch(FileId {
            key,
            block: SIZE_RECORD,
        });
        Some(size)
    }

    /// The size record of `key` from disk (a previous mount or another one wrote it).
    pub(super) fn load_size(&self, key: u128) -> Option<u64> {
        let data = self.read_block(
            FileId {
                key,
                block: SIZE_RECORD,
            },
            8,
        )?;
        let size = u64::from_le_bytes(data[..].try_into().ok()?);
        self.state().sizes.insert(key, size);
        Some(size)
    }

    pub(super) fn remember_size(&self, key: u128, size: u64) {
        self.state().sizes.insert(key, size);
    }

    /// Forgets `key`'s size and deletes the files this instance knows for it.
    pub(super) fn forget(&self, key: u128) {
        let ids = {
            let mut st = self.state();
            st.sizes.remove(&key);
            let ids = st.index.ids_of_key(key);
            for id in &ids {
                st.index.remove(*id);
            }
            self.stats
                .bytes_on_disk
                .store(st.index.total(), Ordering::Relaxed);
            ids
        };
        for id in ids {
            let _ = files::remove(&self.path(id));
        }
        let _ = files::remove(&self.path(FileId {
            key,
            block: SIZE_RECORD,
        }));
    }

    /// Evicts least recently used files until `reserve` bytes fit under `max_bytes` and leave
    /// `min_free_bytes` free, then (if given) indexes `id` with those bytes so concurrent
    /// writers account for each other. False if the room cannot be made.
    fn make_room(&self, id: Option<FileId>, reserve: u64) -> bool {
        // statvfs outside the lock; a failure to query leaves only the byte limit.
        let free = files::free_bytes(&self.config.dir).ok();
        let deficit = free.map_or(0, |free| {
            (self.config.min_free_bytes.saturating_add(reserve)).saturating_sub(free)
        });
        let mut victims = Vec::new();
        let fits = {
            let mut st = self.state();
            let mut freed = 0u64;
            while st.index.total().saturating_add(reserve) > self.config.max_bytes
                || freed < deficit
            {
                let Some((victim, bytes)) = st.index.pop_lru() else {
                    break;
                };
                if victim.block == SIZE_RECORD {
                    st.sizes.remove(&victim.key);
                }
                freed += bytes;
                victims.push(victim);
            }
            let fits = st.index.total().saturating_add(reserve) <= self.config.max_bytes
                && freed >= deficit;
            if let (true, Some(id)) = (fits, id) {
                st.index.insert(id, reserve);
            }
            self.stats
                .bytes_on_disk
                .store(st.index.total(), Ordering::Relaxed);
            fits
        };
        add(&self.stats.evictions, victims.len() as u64);
        for victim in victims {
            let path = self.path(victim);
            if let Err(e) = files::remove(&path) {
                tracing::debug!(file = %path.display(), error = %e, "disk cache: eviction failed");
            }
        }
        fits
    }

    fn writes_paused(&self) -> bool {
        let mut until = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    /// Writes the blocks (and size records) of one fetch. Errors turn into counters and a
    /// pause; the reads that fetched these bytes have already been answered.
    pub(super) fn write_blocks(&self, blocks: Vec<(FileId, Bytes)>) {
        self.rescan_if_drifted();
        for (n, (id, data)) in blocks.iter().enumerate() {
            if self.writes_paused() {
                add(&self.stats.writes_dropped, (blocks.len() - n) as u64);
                return;
            }
            let bytes = (HEADER_LEN + data.len()) as u64;
            if !self.make_room(Some(*id), bytes) {
                add(&self.stats.writes_dropped, 1);
                if !self.warned_space.swap(true, Ordering::Relaxed) {
                    tracing::warn!(dir = %self.config.dir.display(), "disk cache: no room (size limit or free-space floor), some blocks are not cached");
                }
                continue;
            }
            match files::write_atomic(&self.config.dir, *id, data) {
                Ok(written) => {
                    add(&self.stats.writes, 1);
                    // A concurrent writer's eviction or a rescan may have dropped the
                    // reservation while the file was written: count it again, and evict if
                    // that takes us over the limit.
                    let mut st = self.state();
                    let lost = !st.index.touch(*id);
                    st.index.insert(*id, written);
                    drop(st);
                    if lost {
                        self.make_room(None, 0);
                    }
                }
                Err(e) => {
                    add(&self.stats.write_errors, 1);
                    add(&self.stats.writes_dropped, 1);
                    let mut st = self.state();
                    st.index.remove(*id);
                    self.stats
                        .bytes_on_disk
                        .store(st.index.total(), Ordering::Relaxed);
                    drop(st);
                    tracing::warn!(dir = %self.config.dir.display(), error = %e, pause = ?WRITE_PAUSE, "disk cache: write failed; reading through without caching for a while");
                    *self.paused_until.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(Instant::now() + WRITE_PAUSE);
                }
            }
        }
    }

    /// Another mount shares the directory: our accounting has drifted. Rescan (at most once
    /// a minute) so the size limit is enforced over what is really there.
    fn rescan_if_drifted(&self) {
        {
            let st = self.state();
            if !st.drift || st.last_scan.elapsed() < RESCAN_EVERY {
                return;
            }
        }
        match files::scan(&self.config.dir) {
            Ok((found, _)) => {
                self.rebuild(found);
                self.make_room(None, 0);
            }
            Err(e) => {
                tracing::debug!(dir = %self.config.dir.display(), error = %e, "disk cache: rescan failed")
            }
        }
    }

    /// Whether this instance indexes file `id` (for tests of eviction).
    pub fn holds(&self, key: &str, block: u64) -> bool {
        let id = FileId {
            key: FileId::key_id(key, self.config.block_bytes),
            block,
        };
        self.state().index.contains(id)
    }
}
