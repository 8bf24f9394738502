//! The chunk cutter (`mezz_object::chunking`): whatever pieces the bytes arrive in, the
//! chunks are the ones `put` makes of the same bytes: they concatenate to the input, never
//! cross a part, are full except each part's last, number their pieces 1, 2, ... per part,
//! and exactly the last one ends the object.

use mezz_object::chunking::{ChunkGeometry, Cutter};
use proptest::prelude::*;

proptest! {
    #[test]
    fn pushed_pieces_cut_like_put(
        segs_per_part in 1u64..6,
        segs_per_chunk in 1u64..8,
        len in 0usize..2000,
        cuts in proptest::collection::vec(1usize..300, 1..40),
    ) {
        let seg = 16u32;
        let part = segs_per_part * u64::from(seg);
        let g = ChunkGeometry::new(part, seg, segs_per_chunk * u64::from(seg));
        let input: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let mut c = Cutter::new(g);
        let mut chunks = Vec::new();
        let mut rest = &input[..];
        let mut i = 0;
        while !rest.is_empty() {
            let piece = &rest[..cuts[i % cuts.len()].min(rest.len())];
            i += 1;
            let mut p = piece;
            while !p.is_empty() {
                let pushed = c.push(p);
                p = &p[pushed.taken..];
                chunks.extend(pushed.full);
            }
            rest = &rest[piece.len()..];
        }
        prop_assert_eq!(c.len(), len as u64);
        chunks.extend(c.finish());

        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
        prop_assert_eq!(&joined, &input);
        let mut offset = 0u64;
        for (k, ch) in chunks.iter().enumerate() {
            let n = ch.data.len() as u64;
            let last = k + 1 == chunks.len();
            prop_assert!(n > 0);
            prop_assert_eq!(ch.place, g.place(offset, n, last));
            prop_assert!(offset / part == (offset + n - 1) / part, "crosses a part");
            if !last {
                prop_assert_eq!(n, g.max_len_at(offset), "only the last chunk is short");
            }
            prop_assert_eq!(ch.place.ends_object, last);
            let expected_piece = if ch.place.first_segment * u64::from(seg) % part == 0 {
                1
            } else {
                chunks[k - 1].place.piece + 1
            };
            prop_assert_eq!(ch.place.piece, expected_piece);
            offset += n;
        }
    }
}
