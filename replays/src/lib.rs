//! Replays of mezzfs mounts: the binary format, a pure codec, and analyses of what a replay
//! holds.
//!
//! - [`Record`] / [`Meta`]: what a replay says: the mount's description, then every open,
//!   read, release, read-ahead window, fetch, cache insert and eviction, error, a digest of
//!   the bytes read, the writes through its writable directories (create, write, commit,
//!   rename), and the mount's statistics at the end.
//! - [`codec`]: bytes in, records out. A header and self-contained, checksummed chunks of
//!   delta- and varint-encoded records (about 3-4 bytes per sequential read); a file cut
//!   anywhere decodes to a prefix, unknown record kinds are skipped, garbage never panics.
//! - [`ReplayWriter`]: appends records as they happen, a chunk at a time.
//! - [`retarget`]: a replay moved onto other bytes of the same sizes (its digests
//!   recomputed), so recordings of real tools on real media can be rerun without the media.
//! - [`handle_spans`]: which handles ran one after another (the order a rerun keeps).
//! - [`analysis`]: summaries (totals, histograms, access pattern per object, files written),
//!   Chrome trace export, JSON lines. Pure functions of decoded records.
//!
//! The mount (`mezz-mount`) records through [`ReplayWriter`]; `mezzfs replay` inspects,
//! exports and reruns replays; the visualizer animates them.

pub mod analysis;
pub mod codec;
mod handles;
mod record;
pub mod retarget;
mod varint;
mod writer;

pub use codec::{DecodeError, Decoded, End, decode};
pub use handles::{HandleSpan, handle_spans};
pub use record::{FileMeta, Meta, ObjectMeta, Record};
pub use writer::{DEFAULT_CHUNK_BYTES, ReadDigest, ReplayWriter};
