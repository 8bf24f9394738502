//! The state of every block of an object's bytes, and how blocks become pixels.
//!
//! A block is the unit the visualizer tracks: the object's segment size, or larger for huge
//! objects so that one object never needs more than [`MAX_BLOCKS`] cells (128 Ki blocks is
//! more than the pixels of any terminal: 400 columns × 100 rows × 2 = 80,000). A cell is one
//! byte: where the bytes are (residency, low bits) and whether they were ever returned to a
//! reader (the `READ` bit), so "read, then evicted" and "fetched, never read, evicted"
//! (wasted read-ahead) stay apart.

/// Upper bound on blocks per object.
pub const MAX_BLOCKS: u64 = 1 << 17;
/// Upper bound on blocks of all objects together, so that a replay naming thousands of
/// objects cannot make every keyframe huge: with many objects each gets a coarser map.
pub const MAX_TOTAL_BLOCKS: u64 = 1 << 21;
/// The coarsest map an object gets however many objects there are.
const MIN_BLOCK_CAP: u64 = 256;

/// Block size when the replay does not give a segment size.
const FALLBACK_BLOCK: u64 = 64 << 10;

pub const NONE: u8 = 0;
pub const SCHEDULED: u8 = 1;
pub const DOWNLOADING: u8 = 2;
pub const CACHED: u8 = 3;
pub const EVICTED: u8 = 4;
pub const ERROR: u8 = 5;
pub const RESIDENCY: u8 = 0b0111;
pub const READ: u8 = 0b1000;

/// What a pixel shows, from least to most important: a pixel covering several blocks shows
/// the most important state among them (an error or a download in flight must never be
/// hidden by its quiet neighbours).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shade {
    Untouched,
    /// Returned to a reader, then evicted from the cache.
    ReturnedEvicted,
    /// Fetched and evicted without ever being read: wasted read-ahead.
    Wasted,
    /// In the cache, not read yet.
    Cached,
    /// In a read-ahead window, not fetched yet.
    Scheduled,
    /// Returned to a reader (and still cached).
    Returned,
    /// Being downloaded.
    Downloading,
    /// A fetch or a read of these bytes failed.
    Error,
}

impl Shade {
    pub const ALL: [Shade; 8] = [
        Shade::Untouched,
        Shade::ReturnedEvicted,
        Shade::Wasted,
        Shade::Cached,
        Shade::Scheduled,
        Shade::Returned,
        Shade::Downloading,
        Shade::Error,
    ];

    pub fn of(cell: u8) -> Shade {
        SHADES[(cell & 0x0f) as usize]
    }

    pub fn name(self) -> &'static str {
        match self {
            Shade::Untouched => "untouched",
            Shade::ReturnedEvicted => "read, evicted",
            Shade::Wasted => "fetched, never read",
            Shade::Cached => "cached",
            Shade::Scheduled => "scheduled",
            Shade::Returned => "returned",
            Shade::Downloading => "downloading",
            Shade::Error => "error",
        }
    }

    /// One character per state, for terminals without colour and for text snapshots.
    pub fn glyph(self) -> char {
        match self {
            Shade::Untouched => '.',
            Shade::ReturnedEvicted => '+',
            Shade::Wasted => 'x',
            Shade::Cached => 'o',
            Shade::Scheduled => ':',
            Shade::Returned => '#',
            Shade::Downloading => '~',
            Shade::Error => '!',
        }
    }
}

const fn shade_of(cell: u8) -> Shade {
    let read = cell & READ != 0;
    match (cell & RESIDENCY, read) {
        (ERROR, _) => Shade::Error,
        (DOWNLOADING, _) => Shade::Downloading,
        (SCHEDULED, _) => Shade::Scheduled,
        (CACHED, true) => Shade::Returned,
        (CACHED, false) => Shade::Cached,
        (EVICTED, true) => Shade::ReturnedEvicted,
        (EVICTED, false) => Shade::Wasted,
        (_, true) => Shade::Returned,
        _ => Shade::Untouched,
    }
}

const SHADES: [Shade; 16] = {
    let mut t = [Shade::Untouched; 16];
    let mut i = 0;
    while i < 16 {
        t[i] = shade_of(i as u8);
        i += 1;
    }
    t
};

/// How an object's bytes map onto blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub size: u64,
    pub block: u64,
    pub blocks: usize,
}

impl Geometry {
    pub fn new(size: u64, segment_size: u64) -> Geometry {
        Geometry::capped(size, segment_size, MAX_BLOCKS)
    }

    /// The geometry of one of `objects` objects: each gets an equal share of
    /// [`MAX_TOTAL_BLOCKS`].
    pub fn for_one_of(objects: usize, size: u64, segment_size: u64) -> Geometry {
        let cap = (MAX_TOTAL_BLOCKS / objects.max(1) as u64).clamp(MIN_BLOCK_CAP, MAX_BLOCKS);
        Geometry::capped(size, segment_size, cap)
    }

    fn capped(size: u64, segment_size: u64, cap: u64) -> Geometry {
        let seg = if segment_size == 0 {
            FALLBACK_BLOCK
        } else {
            segment_size
        };
        // checked: a hostile segment size near u64::MAX must not overflow the rounding.
        let block = size
            .div_ceil(cap)
            .checked_next_multiple_of(seg)
            .unwrap_or(seg)
            .max(seg);
        Geometry {
            size,
            block,
            blocks: size.div_ceil(block) as usize,
        }
    }

    /// The blocks touched by object bytes `start..end`, clamped to the object.
    pub fn blocks_of(&self, start: u64, end: u64) -> std::ops::Range<usize> {
        let end = end.min(self.size);
        if start >= end {
            return 0..0;
        }
        (start / self.block) as usize..end.div_ceil(self.block) as usize
    }
}

/// The most important shade under each of `pixels` equal byte spans of the object.
/// `cells` has one entry per block of `g`; `out` is cleared and refilled.
pub fn pixels(g: &Geometry, cells: &[u8], pixels: usize, out: &mut Vec<Shade>) {
    out.clear();
    if pixels == 0 {
        return;
    }
    if g.blocks == 0 || cells.is_empty() {
        out.resize(pixels, Shade::Untouched);
        return;
    }
    let n = cells.len().min(g.blocks) as u128;
    let p = pixels as u128;
    for i in 0..pixels as u128 {
        // Pixel i covers blocks floor(i·n/p) .. ceil((i+1)·n/p): every block lands in at least
        // one pixel, and a pixel narrower than a block still shows that block.
        let a = (i * n / p) as usize;
        let b = ((i + 1) * n).div_ceil(p).max(i * n / p + 1) as usize;
        let best = cells[a..b.min(n as usize)]
            .iter()
            .map(|c| SHADES[(c & 0x0f) as usize])
            .max()
            .unwrap_or(Shade::Untouched);
        out.push(best);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_uses_segments_until_the_block_cap() {
        let g = Geometry::new(128 << 20, 16 << 10);
        assert_eq!((g.block, g.blocks), (16 << 10, 8192));
        let huge = Geometry::new(1 << 40, 16 << 10);
        assert!(huge.blocks as u64 <= MAX_BLOCKS);
        assert_eq!(huge.block % (16 << 10), 0);
        assert_eq!(Geometry::new(1000, 0).blocks, 1);
        assert_eq!(Geometry::new(0, 4096).blocks, 0);
        assert_eq!(Geometry::new(u64::MAX, u64::MAX - 1).blocks, 2);
        let many = Geometry::for_one_of(100_000, 1 << 40, 1);
        assert!(many.blocks as u64 <= MIN_BLOCK_CAP);
        assert_eq!(
            Geometry::for_one_of(3, 1 << 40, 1).blocks as u64,
            MAX_BLOCKS
        );
    }

    #[test]
    fn blocks_of_touches_partial_blocks_and_clamps() {
        let g = Geometry::new(10 * 4096, 4096);
        assert_eq!(g.blocks_of(0, 1), 0..1);
        assert_eq!(g.blocks_of(4095, 4097), 0..2);
        assert_eq!(g.blocks_of(9 * 4096, u64::MAX), 9..10);
        assert_eq!(g.blocks_of(50 * 4096, 60 * 4096), 0..0);
        assert_eq!(g.blocks_of(5, 5), 0..0);
    }

    #[test]
    fn shades_rank_errors_and_downloads_above_everything() {
        assert_eq!(Shade::of(ERROR | READ), Shade::Error);
        assert_eq!(Shade::of(DOWNLOADING | READ), Shade::Downloading);
        assert_eq!(Shade::of(CACHED | READ), Shade::Returned);
        assert_eq!(Shade::of(CACHED), Shade::Cached);
        assert_eq!(Shade::of(EVICTED), Shade::Wasted);
        assert_eq!(Shade::of(EVICTED | READ), Shade::ReturnedEvicted);
        assert_eq!(Shade::of(NONE), Shade::Untouched);
        let glyphs: std::collections::HashSet<char> =
            Shade::ALL.iter().map(|s| s.glyph()).collect();
        assert_eq!(
            glyphs.len(),
            Shade::ALL.len(),
            "glyphs must tell states apart"
        );
    }

    #[test]
    fn a_pixel_shows_the_most_important_block_under_it() {
        let g = Geometry::new(8 * 4096, 4096);
        let mut cells = vec![NONE; 8];
        cells[5] = ERROR;
        cells[1] = CACHED;
        let mut out = Vec::new();
        pixels(&g, &cells, 2, &mut out);
        assert_eq!(out, [Shade::Cached, Shade::Error]);
        pixels(&g, &cells, 16, &mut out);
        assert_eq!(out.len(), 16);
        assert_eq!(out[2], Shade::Cached);
        assert_eq!(out[3], Shade::Cached);
        assert_eq!(out[10], Shade::Error);
        assert_eq!(out.iter().filter(|s| **s == Shade::Error).count(), 2);
        pixels(&g, &cells, 3, &mut out);
        assert_eq!(out, [Shade::Cached, Shade::Error, Shade::Error]);
    }
}
