//! The in-memory block cache shared by every handle of a mount.
//!
//! Blocks are decrypted segments keyed by object version and segment index, so a new version
//! of an object can never be served from an old version's blocks. The cache is bounded in
//! bytes, not entries.
//!
//! Blocks are views into the buffer their fetch decrypted into (no copy): the memory of a
//! fetch is freed when its last block is evicted. Blocks come in two kinds:
//! - **unread** blocks (fetched ahead, not yet read to their end) are the read-ahead's work and
//!   are evicted last, least recently used first;
//! - **consumed** blocks (read to their end) are kept only for re-reads that miss the kernel's
//!   page cache, and are evicted first, oldest first (which frees whole fetch buffers in the
//!   order a stream read them).
//!
//! Fetches in flight [`reserve`](BlockCache::reserve) their bytes here, and consumed blocks
//! give way to reservations: what is in flight and what is cached together stay within the
//! capacity. Without that, a full-speed stream held a whole cache of consumed blocks beside
//! its window in flight, and the mount's memory was the two added up.

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
    unread: LruCache<BlockKey, Bytes>,
    consumed: LruCache<BlockKey, Bytes>,
    bytes: u64,
    consumed_bytes: u64,
    /// Bytes of fetches in flight, which will be inserted as unread blocks.
    reserved: u64,
    capacity: u64,
    counters: CacheCounters,
}

impl BlockCache {
    pub fn new(capacity_bytes: u64) -> BlockCache {
        BlockCache {
            unread: LruCache::unbounded(),
            consumed: LruCache::unbounded(),
            bytes: 0,
            consumed_bytes: 0,
            reserved: 0,
            capacity: capacity_bytes,
            counters: CacheCounters::default(),
        }
    }

    /// The block, marked as recently used; counts a hit or a miss.
    pub fn get(&mut self, key: &BlockKey) -> Option<Bytes> {
        let found = match self.unread.get(key) {
            Some(b) => Some(b.clone()),
            None => self.consumed.get(key).cloned(),
        };
        if found.is_some() {
            self.counters.hits += 1;
        } else {
            self.counters.misses += 1;
        }
        found
    }

    /// Marks the block as read to its end: from now on it is the first to go.
    pub fn consume(&mut self, key: &BlockKey) {
        if let Some(data) = self.unread.pop(key) {
            self.consumed_bytes += data.len() as u64;
            self.consumed.put(*key, data);
        }
    }

    /// Counts `bytes` of a fetch about to start against the capacity, and returns the keys
    /// of the consumed blocks evicted to make room for them (unread blocks stay).
    pub fn reserve(&mut self, bytes: u64) -> Vec<BlockKey> {
        self.reserved += bytes;
        let mut evicted = Vec::new();
        while self.bytes + self.reserved > self.capacity {
            match self.evict_consumed() {
                Some(k) => evicted.push(k),
                None => break,
            }
        }
        evicted
    }

    /// Bytes of the fetches in flight (reserved and not yet released).
    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    /// Ends a reservation (its fetch is done, and its blocks are inserted next, or it failed).
    pub fn release(&mut self, bytes: u64) {
        self.reserved = self.reserved.saturating_sub(bytes);
    }

    fn evict_consumed(&mut self) -> Option<BlockKey> {
        let (k, v) = self.consumed.pop_lru()?;
        self.consumed_bytes -= v.len() as u64;
        self.bytes -= v.len() as u64;
        self.counters.evictions += 1;
        Some(k)
    }

    /// Whether the block is cached, without touching its recency or the counters.
    pub fn contains(&self, key: &BlockKey) -> bool {
        self.unread.contains(key) || self.consumed.contains(key)
    }

    /// Caches `data` under `key` as unread (replacing any older block there) and returns the
    /// keys evicted to make room. A block larger than the whole cache is not cached.
    pub fn insert(&mut self, key: BlockKey, data: Bytes) -> Vec<BlockKey> {
        let len = data.len() as u64;
        let mut evicted = Vec::new();
        if let Some(old) = self.unread.pop(&key) {
            self.bytes -= old.len() as u64;
        }
        if let Some(old) = self.consumed.pop(&key) {
            self.bytes -= old.len() as u64;
            self.consumed_bytes -= old.len() as u64;
        }
        if len > self.capacity {
            return evicted;
        }
        // Consumed blocks also make room for the fetches still in flight; unread ones only for
        // the block being inserted, so a window's blocks are not evicted for its own fetches.
        while self.bytes + self.reserved + len > self.capacity {
            match self.evict_consumed() {
                Some(k) => evicted.push(k),
                None => break,
            }
        }
        while self.bytes + len > self.capacity {
            match self.unread.pop_lru() {
                Some((k, v)) => {
                    self.bytes -= v.len() as u64;
                    self.counters.evictions += 1;
                    evicted.push(k);
                }
                None => break,
            }
        }
        self.unread.put(key, data);
        self.bytes += len;
        self.counters.inserts += 1;
        evicted
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.unread.len() + self.consumed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    fn key(segment: u64) -> BlockKey {
        BlockKey {
            version: [7; 16],
            segment,
        }
    }

    fn block() -> Bytes {
        Bytes::from(vec![0u8; 16])
    }

    #[test]
    fn consumed_blocks_give_way_to_fetches_in_flight_oldest_first() {
        // 16 blocks of 16 bytes fill it.
        let mut c = BlockCache::new(256);
        for s in 0..12 {
            assert!(c.insert(key(s), block()).is_empty());
        }
        for s in 0..8 {
            c.consume(&key(s));
        }
        // Room for 4 blocks is free; a fetch of 6 takes 2 consumed blocks, the oldest.
        assert_eq!(c.reserve(6 * 16), vec![key(0), key(1)]);
        // A fetch of 6 more takes the other 6 consumed blocks, and no unread one.
        assert_eq!(c.reserve(6 * 16), (2..8).map(key).collect::<Vec<_>>());
        assert!(
            (8..12).all(|s| c.contains(&key(s))),
            "an unread block was evicted"
        );
        assert_eq!(c.reserve(16), Vec::<BlockKey>::new(), "unread blocks stay");
        // The fetches land: their reservations end and their blocks come in as unread.
        c.release(13 * 16);
        for s in 12..24 {
            assert!(c.insert(key(s), block()).is_empty());
        }
        assert_eq!(c.bytes(), 16 * 16);
        // Full of unread blocks: a new block evicts the least recently used unread one.
        c.get(&key(8));
        assert_eq!(c.insert(key(24), block()), vec![key(9)]);
    }

    #[test]
    fn a_consumed_block_reinserted_is_unread_again() {
        let mut c = BlockCache::new(64);
        c.insert(key(0), block());
        c.consume(&key(0));
        c.insert(key(0), block());
        assert_eq!(c.bytes(), 16);
        for s in 1..4 {
            c.insert(key(s), block());
        }
        c.consume(&key(2));
        // Full: the only consumed block goes first, then the oldest unread.
        assert_eq!(c.insert(key(4), block()), vec![key(2)]);
        assert_eq!(c.insert(key(5), block()), vec![key(0)]);
    }

    proptest::proptest! {
        /// Whatever the operations, the byte counts match the blocks held, the cache stays
        /// within its capacity, and after an insert or a reservation, cache plus reservations
        /// stay within it too unless no consumed block is left to give way.
        #[test]
        fn accounting_holds(ops in proptest::collection::vec((0u8..5, 0u64..24, 1usize..40), 1..300)) {
            let mut c = BlockCache::new(400);
            let mut held: std::collections::HashMap<u64, usize> = Default::default();
            let mut reservations: Vec<u64> = Vec::new();
            for (op, s, len) in ops {
                let evicted = match op {
                    0 => {
                        let e = c.insert(key(s), Bytes::from(vec![1u8; len]));
                        held.insert(s, len);
                        e
                    }
                    1 => {
                        c.consume(&key(s));
                        Vec::new()
                    }
                    2 => {
                        reservations.push(len as u64);
                        c.reserve(len as u64)
                    }
                    3 => {
                        if let Some(r) = reservations.pop() {
                            c.release(r);
                        }
                        Vec::new()
                    }
                    _ => {
                        c.get(&key(s));
                        Vec::new()
                    }
                };
                for k in evicted {
                    proptest::prop_assert!(k != key(s) || op != 0, "evicted the block just inserted");
                    held.remove(&k.segment);
                }
                proptest::prop_assert_eq!(c.bytes(), held.values().sum::<usize>() as u64);
                proptest::prop_assert_eq!(c.len(), held.len());
                proptest::prop_assert!(c.bytes() <= c.capacity());
                proptest::prop_assert_eq!(c.reserved, reservations.iter().sum::<u64>());
                // Consuming and releasing evict nothing; the next insert or fetch settles.
                if op == 0 || op == 2 {
                    proptest::prop_assert!(
                        c.bytes() + c.reserved <= c.capacity() || c.consumed_bytes == 0
                    );
                }
            }
        }
    }

    #[test]
    fn runs_coalesce_consecutive_segments() {
        assert_eq!(segment_runs([1, 3, 4, 5, 9, 10]), vec![1..2, 3..6, 9..11]);
        assert!(segment_runs([]).is_empty());
    }
}
