//! Where every plaintext byte of an object lives once it is split into parts and sealed segments.
//!
//! An object of `plaintext_size` bytes is cut into segments of `segment_size` plaintext bytes
//! (the last one may be shorter). Consecutive segments are grouped into parts of `part_size`
//! plaintext bytes, each part stored as its own object in the bucket. On disk every segment
//! becomes `segment_size + TAG_LEN` bytes, so a plaintext range maps to one contiguous ciphertext
//! range per part: one ranged GET per part, nothing else read.
//!
//! Everything here is integer arithmetic on `u64` and is checked against overflow, so the
//! same code is right for a 1 KiB clip and a 10 TiB mezzanine.

use std::ops::Range;

use crate::FormatError;

/// Bytes the AES-GCM tag adds to each sealed segment.
pub const TAG_LEN: u64 = 16;

/// Smallest and largest segment sizes a manifest may declare. The floor keeps the tag overhead
/// under 0.4%; the ceiling keeps one segment (the unit that must be fetched whole to
/// authenticate any byte of it) small next to the reads it serves.
pub const MIN_SEGMENT_SIZE: u32 = 4 * 1024;
pub const MAX_SEGMENT_SIZE: u32 = 4 * 1024 * 1024;

/// Segment indices go into an 88-bit nonce counter, but we cap them so index arithmetic stays
/// in `u64` with room to spare; 2^40 segments of 4 KiB is 4 PiB.
pub const MAX_SEGMENTS: u64 = 1 << 40;

/// The geometry of one object: sizes only, no keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    plaintext_size: u64,
    part_size: u64,
    segment_size: u32,
}

/// The part of a plaintext range that falls into one part object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartSpan {
    /// Index of the part object.
    pub part: u64,
    /// Global index of the first segment fetched (segment indices run across parts).
    pub first_segment: u64,
    /// Number of whole segments fetched.
    pub segment_count: u64,
    /// Byte range to GET inside the part object.
    pub ciphertext: Range<u64>,
    /// Plaintext bytes those segments decrypt to (absolute object offsets).
    pub plaintext: Range<u64>,
}

impl Layout {
    /// Checks the geometry: segments within bounds, parts a whole number of segments.
    pub fn new(
        plaintext_size: u64,
        part_size: u64,
        segment_size: u32,
    ) -> Result<Self, FormatError> {
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&segment_size) {
            return Err(FormatError::InvalidLayout(format!(
                "segment size {segment_size} is outside {MIN_SEGMENT_SIZE}..={MAX_SEGMENT_SIZE}"
            )));
        }
        if part_size == 0 || !part_size.is_multiple_of(u64::from(segment_size)) {
            return Err(FormatError::InvalidLayout(format!(
                "part size {part_size} is not a positive multiple of the segment size {segment_size}"
            )));
        }
        let layout = Layout {
            plaintext_size,
            part_size,
            segment_size,
        };
        if layout.segment_count() > MAX_SEGMENTS {
            return Err(FormatError::InvalidLayout(format!(
                "{plaintext_size} bytes in {segment_size}-byte segments is more than {MAX_SEGMENTS} segments"
            )));
        }
        // The sealed size of the largest part must fit in u64 as well.
        layout
            .segments_per_part()
            .checked_mul(layout.sealed_segment_size())
            .ok_or_else(|| {
                FormatError::InvalidLayout(format!("part size {part_size} is too large"))
            })?;
        Ok(layout)
    }

    pub fn plaintext_size(&self) -> u64 {
        self.plaintext_size
    }

    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    pub fn segment_size(&self) -> u32 {
        self.segment_size
    }

    /// Size of one full segment once sealed.
    pub fn sealed_segment_size(&self) -> u64 {
        u64::from(self.segment_size) + TAG_LEN
    }

    pub fn segments_per_part(&self) -> u64 {
        self.part_size / u64::from(self.segment_size)
    }

    /// Number of segments; an empty object has none.
    pub fn segment_count(&self) -> u64 {
        self.plaintext_size.div_ceil(u64::from(self.segment_size))
    }

    pub fn part_count(&self) -> u64 {
        self.plaintext_size.div_ceil(self.part_size)
    }

    /// Plaintext bytes of segment `index` (absolute offsets).
    pub fn segment_plaintext(&self, index: u64) -> Range<u64> {
        let start = index * u64::from(self.segment_size);
        start..(start + u64::from(self.segment_size)).min(self.plaintext_size)
    }

    /// Whether `index` is the final segment, which is sealed with the last-segment flag.
    pub fn is_last_segment(&self, index: u64) -> bool {
        index + 1 == self.segment_count()
    }

    /// Global indices of the segments stored in `part`.
    pub fn part_segments(&self, part: u64) -> Range<u64> {
        let first = part * self.segments_per_part();
        first..(first + self.segments_per_part()).min(self.segment_count())
    }

    /// Plaintext bytes stored in `part`.
    pub fn part_plaintext(&self, part: u64) -> Range<u64> {
        let start = part * self.part_size;
        start..(start + self.part_size).min(self.plaintext_size)
    }

    /// Size of the part object as stored: its plaintext plus one tag per segment.
    pub fn part_sealed_size(&self, part: u64) -> u64 {
        let plain = self.part_plaintext(part);
        let segments = self.part_segments(part);
        (plain.end - plain.start) + (segments.end - segments.start) * TAG_LEN
    }

    /// Byte range inside its part object of the sealed segment `index`.
    pub fn segment_ciphertext(&self, index: u64) -> Range<u64> {
        let in_part = index % self.segments_per_part();
        let start = in_part * self.sealed_segment_size();
        let plain = self.segment_plaintext(index);
        start..start + (plain.end - plain.start) + TAG_LEN
    }

    /// The whole segments that hold `range`, grouped by part, in order.
    ///
    /// The range is clamped to the object; an empty range yields no spans.
    pub fn locate(&self, range: Range<u64>) -> Vec<PartSpan> {
        let start = range.start.min(self.plaintext_size);
        let end = range.end.min(self.plaintext_size);
        if start >= end {
            return Vec::new();
        }
        let seg = u64::from(self.segment_size);
        let first = start / seg;
        let last = (end - 1) / seg;
        let spp = self.segments_per_part();
        let mut spans = Vec::with_capacity(((last / spp) - (first / spp) + 1) as usize);
        let mut s = first;
        while s <= last {
            let part = s / spp;
            let part_last = ((part + 1) * spp - 1).min(last);
            let ct_start = self.segment_ciphertext(s).start;
            let ct_end = self.segment_ciphertext(part_last).end;
            spans.push(PartSpan {
                part,
                first_segment: s,
                segment_count: part_last - s + 1,
                ciphertext: ct_start..ct_end,
                plaintext: self.segment_plaintext(s).start..self.segment_plaintext(part_last).end,
            });
            s = part_last + 1;
        }
        spans
    }
}

impl Layout {
    /// Like [`Layout::locate`], but no span holds more than `max_bytes` of plaintext (at
    /// least one segment): the unit of one bounded fetch-and-decrypt.
    pub fn locate_bounded(&self, range: Range<u64>, max_bytes: u64) -> Vec<PartSpan> {
        let per = (max_bytes / u64::from(self.segment_size)).max(1);
        let mut out = Vec::new();
        for span in self.locate(range) {
            let mut s = span.first_segment;
            let end = span.first_segment + span.segment_count;
            while s < end {
                let last = (s + per).min(end) - 1;
                out.push(PartSpan {
                    part: span.part,
                    first_segment: s,
                    segment_count: last - s + 1,
                    ciphertext: self.segment_ciphertext(s).start..self.segment_ciphertext(last).end,
                    plaintext: self.segment_plaintext(s).start..self.segment_plaintext(last).end,
                });
                s = last + 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    const GIB: u64 = 1024 * MIB;
    const TIB: u64 = 1024 * GIB;

    #[test]
    fn ten_tib_object_maps_its_last_byte() {
        let l = Layout::new(10 * TIB, 256 * MIB, 64 * 1024).expect("valid");
        assert_eq!(l.part_count(), 40 * 1024);
        assert_eq!(l.segment_count(), 10 * TIB / (64 * KIB));
        let spans = l.locate(10 * TIB - 1..10 * TIB);
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s.part, 40 * 1024 - 1);
        assert_eq!(s.first_segment, l.segment_count() - 1);
        assert!(l.is_last_segment(s.first_segment));
        let sealed = 64 * KIB + TAG_LEN;
        assert_eq!(s.ciphertext, (4096 - 1) * sealed..4096 * sealed);
        assert_eq!(l.part_sealed_size(s.part), 4096 * sealed);
        assert_eq!(s.plaintext, 10 * TIB - 64 * KIB..10 * TIB);
    }

    #[test]
    fn ten_tib_range_across_a_part_boundary() {
        let l = Layout::new(10 * TIB + 5, 256 * MIB, 16 * 1024).expect("valid");
        let boundary = 7 * TIB;
        let spans = l.locate(boundary - 10..boundary + 10);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].part + 1, spans[1].part);
        assert_eq!(spans[0].plaintext.end, boundary);
        assert_eq!(spans[1].plaintext.start, boundary);
        assert_eq!(spans[1].ciphertext.start, 0);
        assert_eq!(spans[0].ciphertext.end, l.part_sealed_size(spans[0].part));
        // The tail part holds 5 bytes in one short segment.
        assert_eq!(l.part_sealed_size(l.part_count() - 1), 5 + TAG_LEN);
    }

    #[test]
    fn empty_object_has_no_parts_and_no_spans() {
        let l = Layout::new(0, MIB, 64 * 1024).expect("valid");
        assert_eq!(l.part_count(), 0);
        assert_eq!(l.segment_count(), 0);
        assert!(l.locate(0..100).is_empty());
    }

    #[test]
    fn range_past_the_end_is_clamped() {
        let l = Layout::new(100_000, MIB, 4096).expect("valid");
        let spans = l.locate(99_990..200_000);
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].plaintext.end, 100_000);
        assert!(l.locate(100_000..100_001).is_empty());
    }

    #[test]
    fn bounded_spans_tile_the_range() {
        let l = Layout::new(10 * MIB + 3, 4 * MIB, 16 * 1024).expect("valid");
        let spans = l.locate_bounded(100..10 * MIB + 3, MIB);
        assert_eq!(spans.first().map(|s| s.plaintext.start), Some(0));
        assert_eq!(spans.last().map(|s| s.plaintext.end), Some(10 * MIB + 3));
        for w in spans.windows(2) {
            assert_eq!(w[0].plaintext.end, w[1].plaintext.start);
        }
        assert!(
            spans
                .iter()
                .all(|s| s.plaintext.end - s.plaintext.start <= MIB)
        );
        assert_eq!(spans.len(), 11);
    }

    #[test]
    fn rejects_bad_geometry() {
        assert!(Layout::new(1, 1000, 4096).is_err());
        assert!(Layout::new(1, 8192, 1024).is_err());
        assert!(Layout::new(1, 0, 4096).is_err());
        assert!(Layout::new(u64::MAX, 1 << 20, 4096).is_err());
    }
}
