//! The in-memory LRU index (pure): which cache files this instance knows, their sizes on disk,
//! and their order of last use. Bytes are counted as file lengths (header included).

use std::collections::{BTreeMap, HashMap};

use super::header::FileId;

#[derive(Debug, Default)]
pub struct LruIndex {
    /// id -> (bytes, tick of last use)
    entries: HashMap<FileId, (u64, u64)>,
    /// tick of last use -> id; the first entry is the least recently used.
    order: BTreeMap<u64, FileId>,
    next_tick: u64,
    total: u64,
}

impl LruIndex {
    /// Adds or replaces `id` as the most recently used entry.
    pub fn insert(&mut self, id: FileId, bytes: u64) {
        self.remove(id);
        let tick = self.tick();
        self.entries.insert(id, (bytes, tick));
        self.order.insert(tick, id);
        self.total += bytes;
    }

    /// Marks `id` as just used; false if it is not indexed.
    pub fn touch(&mut self, id: FileId) -> bool {
        let tick = self.tick();
        let Some(entry) = self.entries.get_mut(&id) else {
            return false;
        };
        self.order.remove(&entry.1);
        entry.1 = tick;
        self.order.insert(tick, id);
        true
    }

    /// Forgets `id`; its bytes if it was indexed.
    pub fn remove(&mut self, id: FileId) -> Option<u64> {
        let (bytes, tick) = self.entries.remove(&id)?;
        self.order.remove(&tick);
        self.total -= bytes;
        Some(bytes)
    }

    /// Removes and returns the least recently used entry.
    pub fn pop_lru(&mut self) -> Option<(FileId, u64)> {
        let (_, id) = self.order.pop_first()?;
        let (bytes, _) = self.entries.remove(&id)?;
        self.total -= bytes;
        Some((id, bytes))
    }

    pub fn contains(&self, id: FileId) -> bool {
        self.entries.contains_key(&id)
    }

    /// Every indexed entry of one key (for forgetting a key that was rewritten).
    pub fn ids_of_key(&self, key: u128) -> Vec<FileId> {
        self.entries
            .keys()
            .filter(|id| id.key == key)
            .copied()
            .collect()
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn tick(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u64) -> FileId {
        FileId { key: 9, block: n }
    }

    #[test]
    fn evicts_least_recently_used_first() {
        let mut ix = LruIndex::default();
        ix.insert(id(1), 10);
        ix.insert(id(2), 20);
        ix.insert(id(3), 30);
        assert!(ix.touch(id(1)));
        assert_eq!(ix.total(), 60);
        assert_eq!(ix.pop_lru(), Some((id(2), 20)));
        assert_eq!(ix.pop_lru(), Some((id(3), 30)));
        assert_eq!(ix.pop_lru(), Some((id(1), 10)));
        assert_eq!(ix.pop_lru(), None);
        assert_eq!(ix.total(), 0);
        assert!(!ix.touch(id(1)));
    }

    #[test]
    fn reinsert_replaces_bytes() {
        let mut ix = LruIndex::default();
        ix.insert(id(1), 10);
        ix.insert(id(1), 4);
        assert_eq!((ix.total(), ix.len()), (4, 1));
        assert_eq!(ix.remove(id(1)), Some(4));
        assert_eq!(ix.remove(id(1)), None);
        assert_eq!(ix.total(), 0);
    }

    proptest! {
        /// After any sequence of operations the total is the sum of what is indexed, and
        /// popping returns entries oldest-use first.
        #[test]
        fn accounting_holds(ops in proptest::collection::vec((0u8..4, 0u64..8, 0u64..100), 0..200)) {
            let mut ix = LruIndex::default();
            let mut model: Vec<(u64, u64)> = Vec::new(); // (block, bytes), oldest use first
            for (op, n, bytes) in ops {
                match op {
                    0 => {
                        ix.insert(id(n), bytes);
                        model.retain(|e| e.0 != n);
                        model.push((n, bytes));
                    }
                    1 => {
                        let known = ix.touch(id(n));
                        let at = model.iter().position(|e| e.0 == n);
                        prop_assert_eq!(known, at.is_some());
                        if let Some(at) = at {
                            let e = model.remove(at);
                            model.push(e);
                        }
                    }
                    2 => {
                        let at = model.iter().position(|e| e.0 == n);
                        prop_assert_eq!(ix.remove(id(n)), at.map(|at| model.remove(at).1));
                    }
                    _ => {
                        let want = (!model.is_empty()).then(|| model.remove(0));
                        prop_assert_eq!(ix.pop_lru(), want.map(|(n, b)| (id(n), b)));
                    }
                }
                prop_assert_eq!(ix.total(), model.iter().map(|e| e.1).sum::<u64>());
                prop_assert_eq!(ix.len(), model.len());
            }
        }
    }
}
