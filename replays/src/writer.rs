//! Writing a replay as it happens: records go into the current chunk, which is written out
//! whole when it reaches `chunk_bytes` or on [`ReplayWriter::flush`], so a writer killed at any
//! moment leaves a file that decodes up to its last whole chunk.

use std::io::Write;

use crate::codec::{ChunkEncoder, header};
use crate::record::{Meta, Record};

/// Chunks are written out once their payload reaches this size.
pub const DEFAULT_CHUNK_BYTES: usize = 64 << 10;

#[derive(Debug)]
pub struct ReplayWriter<W: Write> {
    out: W,
    chunk: ChunkEncoder,
    chunk_bytes: usize,
    digest: ReadDigest,
    records: u64,
    bytes: u64,
}

impl<W: Write> ReplayWriter<W> {
    /// Writes the header and the mount's description (in a chunk of its own, so it is on disk
    /// before the first event).
    pub fn new(mut out: W, meta: Meta) -> std::io::Result<ReplayWriter<W>> {
        out.write_all(&header())?;
        let mut w = ReplayWriter {
            out,
            chunk: ChunkEncoder::default(),
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            digest: ReadDigest::default(),
            records: 0,
            bytes: crate::codec::HEADER_LEN as u64,
        };
        w.push(&Record::Meta(meta))?;
        w.flush()?;
        Ok(w)
    }

    pub fn with_chunk_bytes(mut self, n: usize) -> Self {
        self.chunk_bytes = n.clamp(64, crate::codec::MAX_CHUNK / 2);
        self
    }

    pub fn push(&mut self, r: &Record) -> std::io::Result<()> {
        self.chunk.push(r);
        self.records += 1;
        if self.chunk.len() >= self.chunk_bytes {
            self.flush()?;
        }
        Ok(())
    }

    /// Records a read and folds the bytes it returned into the running digest.
    pub fn push_read(&mut self, r: &Record, returned: &[u8]) -> std::io::Result<()> {
        self.digest.add(returned);
        self.push(r)
    }

    /// Writes the current chunk (with a digest of its reads) if it holds anything.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if let Some((reads, digest)) = self.digest.take() {
            self.chunk.push(&Record::Digest { reads, digest });
            self.records += 1;
        }
        if !self.chunk.is_empty() {
            let bytes = self.chunk.finish();
            self.bytes += bytes.len() as u64;
            self.out.write_all(&bytes)?;
        }
        self.out.flush()
    }

    /// Ends the replay with the mount's statistics.
    pub fn finish(mut self, stats: serde_json::Value) -> std::io::Result<W> {
        self.flush()?;
        self.push(&Record::Stats(stats))?;
        self.flush()?;
        Ok(self.out)
    }

    /// Records pushed so far (digests included).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }
}

/// A digest of the bytes returned by a sequence of reads, in order: each read's bytes are
/// hashed (XXH3-64) and folded in, so equal digests mean the same bytes for the same reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadDigest {
    reads: u64,
    state: u64,
}

impl ReadDigest {
    pub fn add(&mut self, bytes: &[u8]) {
        self.add_hash(Self::hash(bytes));
    }

    /// The per-read hash that [`ReadDigest::add`] folds in.
    pub fn hash(bytes: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64(bytes)
    }

    /// Folds in a read whose bytes were hashed with [`ReadDigest::hash`] elsewhere.
    pub fn add_hash(&mut self, h: u64) {
        self.state = (self.state.rotate_left(5) ^ h).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.reads += 1;
    }

    pub fn reads(&self) -> u64 {
        self.reads
    }

    pub fn value(&self) -> u64 {
        self.state
    }

    /// The digest so far and a fresh start, or `None` if no read was added.
    pub fn take(&mut self) -> Option<(u64, u64)> {
        (self.reads > 0).then(|| {
            let r = (self.reads, self.state);
            *self = ReadDigest::default();
            r
        })
    }
}
