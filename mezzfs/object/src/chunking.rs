//! Where an object's bytes are cut into upload chunks: the one owner of that arithmetic,
//! shared by [`put_object`](crate::put_object) (which reads a source into chunks) and
//! [`StreamWriter`](crate::StreamWriter) (which is handed bytes as a program writes them).
//!
//! A chunk is at most `chunk_size` bytes (a whole number of segments) and never crosses a
//! part: within a part, chunks are full except the part's last, so a chunk's multipart piece
//! number follows from its offset. Whether a chunk ends the object (its last segment sealed
//! with the last-segment flag) is known only when no byte follows, so [`Cutter`] holds a
//! full chunk back until the next byte arrives or the object is finished. Pure: no I/O.

/// Where one chunk lies in the object, and what it closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPlace {
    pub part: u64,
    /// 1-based multipart piece number within the part.
    pub piece: u32,
    /// Global index of the chunk's first segment.
    pub first_segment: u64,
    pub ends_part: bool,
    pub ends_object: bool,
}

impl ChunkPlace {
    /// This chunk turned out to be the object's last.
    pub fn mark_last(&mut self) {
        self.ends_part = true;
        self.ends_object = true;
    }
}

/// The sizes that decide where chunks are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkGeometry {
    part_size: u64,
    segment_size: u64,
    chunk_size: u64,
}

impl ChunkGeometry {
    /// `chunk_size` is rounded down to whole segments (at least one) and capped at the part
    /// size. `part_size` must be a positive multiple of `segment_size` (checked by the
    /// format's `Layout` before a put starts).
    pub fn new(part_size: u64, segment_size: u32, chunk_size: u64) -> ChunkGeometry {
        let seg = u64::from(segment_size.max(1));
        let part_size = part_size.max(seg);
        ChunkGeometry {
            part_size,
            segment_size: seg,
            chunk_size: (chunk_size.max(seg) / seg * seg).min(part_size),
        }
    }

    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// The longest chunk that may start at `offset`: a chunk never crosses a part.
    pub fn max_len_at(&self, offset: u64) -> u64 {
        self.chunk_size
            .min(self.part_size - offset % self.part_size)
    }

    /// The place of the `len`-byte chunk at `offset` (a chunk boundary).
    pub fn place(&self, offset: u64, len: u64, ends_object: bool) -> ChunkPlace {
        let in_part = offset % self.part_size;
        ChunkPlace {
            part: offset / self.part_size,
            piece: (in_part / self.chunk_size) as u32 + 1,
            first_segment: offset / self.segment_size,
            ends_part: ends_object || in_part + len == self.part_size,
            ends_object,
        }
    }

    /// Bytes a chunk of `plain` bytes takes once sealed (a tag per segment): chunks are
    /// allocated this large so they are sealed where they lie.
    pub fn sealed_capacity(&self, plain: u64) -> usize {
        (plain + plain.div_ceil(self.segment_size) * mezz_format::TAG_LEN) as usize
    }
}

/// A chunk of plaintext, to be sealed in place and uploaded.
#[derive(Debug)]
pub struct Chunk {
    pub place: ChunkPlace,
    pub data: Vec<u8>,
}

/// What one [`Cutter::push`] did.
#[derive(Debug)]
pub struct Pushed {
    /// Bytes of the input taken into the chunk being filled.
    pub taken: usize,
    /// A full chunk that more bytes have proved is not the last; its buffer is handed over,
    /// and the next push starts a new one.
    pub full: Option<Chunk>,
}

/// Cuts bytes pushed in any pieces into the same chunks `put_object` makes of a source.
#[derive(Debug)]
pub struct Cutter {
    geometry: ChunkGeometry,
    /// Offset of the chunk being filled.
    offset: u64,
    buf: Vec<u8>,
}

impl Cutter {
    pub fn new(geometry: ChunkGeometry) -> Cutter {
        Cutter {
            geometry,
            offset: 0,
            buf: Vec::new(),
        }
    }

    /// Bytes pushed so far: the offset the next byte must have.
    pub fn len(&self) -> u64 {
        self.offset + self.buf.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held in the chunk being filled (not yet handed out).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Takes bytes from `data` into the chunk being filled. When that chunk is already full
    /// and `data` is not empty, nothing is taken: the full chunk is handed out instead (it is
    /// not the last, since more bytes follow), and the caller pushes the rest again.
    pub fn push(&mut self, data: &[u8]) -> Pushed {
        let want = self.geometry.max_len_at(self.offset);
        if data.is_empty() {
            return Pushed {
                taken: 0,
                full: None,
            };
        }
        if self.buf.len() as u64 == want {
            let len = want;
            let chunk = Chunk {
                place: self.geometry.place(self.offset, len, false),
                data: std::mem::take(&mut self.buf),
            };
            self.offset += len;
            return Pushed {
                taken: 0,
                full: Some(chunk),
            };
        }
        if self.buf.capacity() == 0 {
            self.buf = Vec::with_capacity(self.geometry.sealed_capacity(want));
        }
        let room = (want - self.buf.len() as u64) as usize;
        let taken = room.min(data.len());
        self.buf.extend_from_slice(&data[..taken]);
        Pushed { taken, full: None }
    }

    /// The object's last chunk (sealed with the last-segment flag), or `None` for an empty
    /// object.
    pub fn finish(self) -> Option<Chunk> {
        if self.buf.is_empty() {
            return None;
        }
        let len = self.buf.len() as u64;
        Some(Chunk {
            place: self.geometry.place(self.offset, len, true),
            data: self.buf,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_chunk_waits_for_the_next_byte() {
        let g = ChunkGeometry::new(64, 4, 16);
        let mut c = Cutter::new(g);
        assert_eq!(c.push(&[1; 16]).taken, 16);
        let p = c.push(&[2; 3]);
        assert_eq!(p.taken, 0);
        let full = p.full.expect("handed out once more bytes came");
        assert_eq!(full.place, g.place(0, 16, false));
        assert!(!full.place.ends_object);
        assert_eq!(c.push(&[2; 3]).taken, 3);
        let last = c.finish().expect("last");
        assert_eq!(last.place.first_segment, 4);
        assert!(last.place.ends_object && last.place.ends_part);
        assert_eq!(last.data, [2; 3]);
    }

    #[test]
    fn chunks_never_cross_a_part() {
        let g = ChunkGeometry::new(40, 4, 16);
        assert_eq!(g.max_len_at(32), 8);
        assert_eq!(g.place(32, 8, false).piece, 3);
        assert!(g.place(32, 8, false).ends_part);
        assert_eq!(g.place(40, 16, false).part, 1);
        assert_eq!(g.place(40, 16, false).piece, 1);
    }

    #[test]
    fn an_empty_object_has_no_chunk() {
        let c = Cutter::new(ChunkGeometry::new(64, 4, 16));
        assert!(c.is_empty());
        assert!(c.finish().is_none());
    }
}
