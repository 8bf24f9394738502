//! The block cache never holds more bytes than its capacity, returns exactly what was
//! inserted, and evicts the least recently used block first.

use mezz_mount::{BlockCache, BlockKey};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Insert {
        version: u8,
        segment: u64,
        len: usize,
    },
    Get {
        version: u8,
        segment: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3, 0u64..40, 0usize..5000).prop_map(|(version, segment, len)| Op::Insert {
            version,
            segment,
            len
        }),
        (0u8..3, 0u64..40).prop_map(|(version, segment)| Op::Get { version, segment }),
    ]
}

fn key(version: u8, segment: u64) -> BlockKey {
    BlockKey {
        version: [version; 16],
        segment,
    }
}

fn fill(version: u8, segment: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64 ^ segment ^ u64::from(version) << 3) as u8)
        .collect()
}

proptest! {
    #[test]
    fn bounded_and_exact(ops in prop::collection::vec(op(), 1..300), capacity in 0u64..40_000) {
        let mut cache = BlockCache::new(capacity);
        // A model: the blocks the cache should hold, in recency order (oldest first).
        let mut model: Vec<(BlockKey, usize)> = Vec::new();
        for op in ops {
            match op {
                Op::Insert { version, segment, len } => {
                    let k = key(version, segment);
                    let evicted = cache.insert(k, fill(version, segment, len).into());
                    model.retain(|(m, _)| *m != k);
                    if len as u64 <= capacity {
                        let mut used: u64 = model.iter().map(|(_, l)| *l as u64).sum();
                        let mut expect_evicted = Vec::new();
                        while used + len as u64 > capacity {
                            let (old, l) = model.remove(0);
                            used -= l as u64;
                            expect_evicted.push(old);
                        }
                        model.push((k, len));
                        prop_assert_eq!(evicted, expect_evicted);
                    }
                }
                Op::Get { version, segment } => {
                    let k = key(version, segment);
                    let got = cache.get(&k);
                    match model.iter().position(|(m, _)| *m == k) {
                        Some(i) => {
                            let (m, len) = model.remove(i);
                            prop_assert_eq!(got.as_deref(), Some(&fill(version, segment, len)[..]));
                            model.push((m, len));
                        }
                        None => prop_assert!(got.is_none()),
                    }
                }
            }
            prop_assert!(cache.bytes() <= capacity);
            prop_assert_eq!(cache.bytes(), model.iter().map(|(_, l)| *l as u64).sum::<u64>());
            prop_assert_eq!(cache.len(), model.len());
        }
    }
}

#[test]
fn versions_never_share_blocks() {
    let mut cache = BlockCache::new(1 << 20);
    cache.insert(key(1, 7), bytes::Bytes::from_static(b"old version"));
    assert!(cache.get(&key(2, 7)).is_none());
    assert_eq!(cache.get(&key(1, 7)).as_deref(), Some(&b"old version"[..]));
    let c = cache.counters();
    assert_eq!((c.hits, c.misses, c.inserts), (1, 1, 1));
}
