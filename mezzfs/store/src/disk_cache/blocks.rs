//! Block arithmetic (pure): which fixed-size blocks of a stored object a byte range touches,
//! how long each block is, and how the missing ones group into contiguous fetches.

use std::ops::Range;

/// The block indices that bytes `range` of an object touch (empty for an empty range).
/// `block_bytes` must be non-zero.
pub fn blocks_of(range: &Range<u64>, block_bytes: u64) -> Range<u64> {
    if range.start >= range.end {
        return 0..0;
    }
    range.start / block_bytes..range.end.div_ceil(block_bytes)
}

/// Bytes of the object that block `index` holds: `block_bytes` except for the last, shorter,
/// block; empty past the end.
pub fn block_span(index: u64, block_bytes: u64, object_size: u64) -> Range<u64> {
    let start = index.saturating_mul(block_bytes).min(object_size);
    let end = start.saturating_add(block_bytes).min(object_size);
    start..end
}

/// The span of the object covering the blocks `blocks` (clipped to the object's end).
pub fn blocks_span(blocks: &Range<u64>, block_bytes: u64, object_size: u64) -> Range<u64> {
    if blocks.start >= blocks.end {
        return 0..0;
    }
    let first = block_span(blocks.start, block_bytes, object_size);
    let last = block_span(blocks.end - 1, block_bytes, object_size);
    first.start..last.end
}

/// Groups the blocks marked missing into maximal runs of consecutive indices, so each run is
/// fetched with one request. `missing[i]` says whether block `first + i` is missing.
pub fn missing_runs(first: u64, missing: &[bool]) -> Vec<Range<u64>> {
    let mut runs: Vec<Range<u64>> = Vec::new();
    for (i, gone) in missing.iter().enumerate() {
        if !gone {
            continue;
        }
        let index = first + i as u64;
        match runs.last_mut() {
            Some(run) if run.end == index => run.end = index + 1,
            _ => runs.push(index..index + 1),
        }
    }
    runs
}

/// The part of `block` (which holds bytes `span` of the object) that falls in `wanted`, as an
/// offset range inside the block.
pub fn slice_in_block(span: &Range<u64>, wanted: &Range<u64>) -> Range<usize> {
    let start = wanted.start.clamp(span.start, span.end) - span.start;
    let end = wanted.end.clamp(span.start, span.end) - span.start;
    start as usize..end.max(start) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(blocks_of(&(0..1), 10), 0..1);
        assert_eq!(blocks_of(&(9..11), 10), 0..2);
        assert_eq!(blocks_of(&(10..20), 10), 1..2);
        assert_eq!(blocks_of(&(5..5), 10), 0..0);
        assert_eq!(block_span(2, 10, 25), 20..25);
        assert_eq!(block_span(3, 10, 25), 25..25);
        assert_eq!(block_span(u64::MAX, 10, 25), 25..25);
        assert_eq!(blocks_span(&(1..3), 10, 25), 10..25);
        assert_eq!(
            missing_runs(4, &[true, true, false, true, false, false, true]),
            vec![4..6, 7..8, 10..11]
        );
        assert!(missing_runs(0, &[false, false]).is_empty());
        assert_eq!(slice_in_block(&(10..20), &(15..40)), 5..10);
        assert_eq!(slice_in_block(&(10..20), &(0..12)), 0..2);
    }

    proptest! {
        /// The blocks of a range cover it exactly once, in order, each no longer than a block,
        /// and only the object's last block is short.
        #[test]
        fn blocks_tile_the_range(
            size in 1u64..1 << 40,
            block in 1u64..1 << 24,
            a in any::<u64>(),
            b in any::<u64>(),
        ) {
            let (a, b) = (a % size, b % size);
            let range = a.min(b)..a.max(b) + 1;
            let blocks = blocks_of(&range, block);
            prop_assert!(blocks.end - blocks.start <= (range.end - range.start) / block + 2);
            let span = blocks_span(&blocks, block, size);
            prop_assert!(span.start <= range.start && span.end >= range.end);
            prop_assert_eq!(span.start % block, 0);
            // Walking every block would be too slow for tiny blocks of huge ranges: check the
            // ends and the middle; `pieces_sum_to_range` walks all blocks of small objects.
            let n = blocks.end - blocks.start;
            for i in [0, n / 2, n - 1] {
                let s = block_span(blocks.start + i, block, size);
                prop_assert!(!s.is_empty());
                prop_assert_eq!(s.start, (blocks.start + i) * block);
                prop_assert!(s.end - s.start <= block);
                if s.end < size {
                    prop_assert_eq!(s.end - s.start, block);
                }
                let piece = slice_in_block(&s, &range);
                prop_assert!(!piece.is_empty(), "block {} adds nothing", blocks.start + i);
            }
        }

        /// Runs are disjoint, ordered, separated by present blocks, and cover exactly the
        /// missing ones.
        #[test]
        fn runs_cover_exactly_the_missing(first in 0u64..1000, missing in proptest::collection::vec(any::<bool>(), 0..64)) {
            let runs = missing_runs(first, &missing);
            let mut marked = vec![false; missing.len()];
            for (k, run) in runs.iter().enumerate() {
                prop_assert!(run.start < run.end);
                if k > 0 {
                    prop_assert!(runs[k - 1].end < run.start, "runs touch or overlap");
                }
                for i in run.clone() {
                    marked[(i - first) as usize] = true;
                }
            }
            prop_assert_eq!(marked, missing);
        }

        /// Summing the pieces of every block of a small object gives the range's length.
        #[test]
        fn pieces_sum_to_range(size in 1u64..5000, block in 1u64..300, a in any::<u64>(), b in any::<u64>()) {
            let (a, b) = (a % size, b % size);
            let range = a.min(b)..a.max(b) + 1;
            let mut total = 0;
            for i in blocks_of(&range, block) {
                total += slice_in_block(&block_span(i, block, size), &range).len() as u64;
            }
            prop_assert_eq!(total, range.end - range.start);
        }
    }
}
