//! The in-memory block cache shared by every handle of a mount.
//!
//! Blocks are decrypted segments keyed by object version and segment index, so a new version
//! of an object can never be served from an old version's blocks. The cache is bounded in
//! bytes, not entries, and evicts least recently used first.
//!
//! Blocks are views into the buffer their fetch decrypted into (no copy): the memory of a
//! fetch is freed when its last block is evicted. Because a block that has been read to its
//! end is demoted to the eviction end (the kernel's page cache keeps what applications
//! re-read), blocks of one fetch leave together, and read-ahead blocks not yet read are the
//! last to go.

use bytes::Bytes;
use lru::LruCache;

/// Which bytes a block holds: one segment of one object version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockKey {
    /// The object version's id (its manifest's object id).
    pub version: [u8; 16],
    pub segment: u64,
}

/// Groups ascending segment indexes into runs of consecutive segments.
pub fn segment_runs(segments: impl IntoIterator<Item = u64>) -> Vec<std::ops::Range<u64>> {
    let mut out: Vec<std::ops::Range<u64>> = Vec::new();
    for s in segments {
        match out.last_mut() {
            Some(r) if r.end == s => r.end = s + 1,
            _ => out.push(s..s + 1),
        }
    }
    out
}

/// Hit, miss and eviction counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounters {
    pub hits: u64,
    pub misses: u64,
    pub inserts: u64,
    pub evictions: u64,
}

#[derive(Debug)]
pub struct BlockCache {
    lru: LruCache<BlockKey, Bytes>,
    bytes: u64,
    capacity: u64,
    counters: CacheCounters,
}

impl BlockCache {
    pub fn new(capacity_bytes: u64) -> BlockCache {
        BlockCache {
            lru: LruCache::unbounded(),
            bytes: 0,
            capacity: capacity_bytes,
            counters: CacheCounters::default(),
        }
    }

    /// The block, marked as recently used; counts a hit or a miss.
    pub fn get(&mut self, key: &BlockKey) -> Option<Bytes> {
        let found = self.lru.get(key).cloned();
        if found.is_some() {
            self.counters.hits += 1;
        } else {
            self.counters.misses += 1;
        }
        found
    }

    /// Marks the block as the next to evict: it has been read to its end and the page cache
    /// of the kernel keeps it for re-reads.
    pub fn demote(&mut self, key: &BlockKey) {
        self.lru.demote(key);
    }

    /// Whether the block is cached, without touching its recency or the counters.
    pub fn contains(&self, key: &BlockKey) -> bool {
        self.lru.contains(key)
    }

    /// Caches `data` under `key` (replacing any older block there) and returns the keys evicted
    /// to make room. A block larger than the whole cache is not cached.
    pub fn insert(&mut self, key: BlockKey, data: Bytes) -> Vec<BlockKey> {
        let len = data.len() as u64;
        let mut evicted = Vec::new();
        if let Some(old) = self.lru.pop(&key) {
            self.bytes -= old.len() as u64;
        }
        if len > self.capacity {
            return evicted;
        }
        while self.bytes + len > self.capacity {
            match self.lru.pop_lru() {
                Some((k, v)) => {
                    self.bytes -= v.len() as u64;
                    self.counters.evictions += 1;
                    evicted.push(k);
                }
                None => break,
            }
        }
        self.lru.put(key, data);
        self.bytes += len;
        self.counters.inserts += 1;
        evicted
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.lru.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lru.is_empty()
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    pub fn counters(&self) -> CacheCounters {
        self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_coalesce_consecutive_segments() {
        assert_eq!(segment_runs([1, 3, 4, 5, 9, 10]), vec![1..2, 3..6, 9..11]);
        assert!(segment_runs([]).is_empty());
    }
}
