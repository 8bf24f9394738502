//! The mezzfs mount: encrypted multi-part objects shown as read-only local files, and
//! writable directories whose new files become objects.
//!
//! - [`Mount`]: the one place a mount is assembled (sources, store stack, caches, read path,
//!   recorder), mounted ([`Opened::mount`]) and served until a shutdown future completes
//!   ([`Running::serve`]). Stores are opened through the caller's [`Connect`], so this crate
//!   does not compile the AWS SDK.
//! - [`spec`]: what a mount shows (object files and range files), parsed from arguments or a
//!   JSON spec file. Pure.
//! - [`Tree`]: the directory tree built from a spec; inode numbers are indexes. Pure.
//! - [`ReadPath`]: serves reads of mounted objects. Every decision of what to fetch is the
//!   read-ahead [`Schedule`](mezz_readahead::Schedule)'s (`mezz-readahead`, pure); the read path
//!   carries its requests out, then serves each segment from the block cache or by joining
//!   the fetch in flight. No FUSE in it, so it is tested with plain async calls.
//! - [`BlockCache`]: decrypted segments in memory, keyed by object version and segment,
//!   bounded in bytes, least recently used evicted first.
//! - [`MountEvents`]: what the FUSE adapter and the read path report (opens, reads, windows,
//!   fetches, cache changes) and the write path (creates, writes, commits, renames), once, to
//!   [`Events`], whose listeners are [`Metrics`] and, when the mount records, the [`Recorder`].
//! - [`Metrics`], [`LatencyHistogram`], [`MountStats`]: counters updated lock-free from the
//!   events, rendered as the `.mezzfs-stats` file and the unmount summary.
//! - [`Recorder`]: writes a replay (`mezz-replays`) of every open, read, window, fetch,
//!   cache change, create, write, commit and rename, when the mount is asked to.
//! - [`keys`]: each object's data key, unwrapped at the first open of one of its files (one
//!   key-service call, shared by concurrent opens), held while a handle or read needs it and
//!   dropped (wiped) a short grace period after the last; a pure lifecycle core (`KeySlot`)
//!   with the key-provider call at its edge. A mount starts from
//!   manifests alone, so it needs no key service to mount.
//! - [`audit`]: the `--audit-log` trail, a JSON line per open and close (who, object
//!   version, key id, bytes read); reads are counted in memory.
//! - [`WritePath`]: the writable directories (`--write-dir`): each new file written in
//!   order through a `mezz_object::StreamWriter` (sealed and uploaded as it arrives, memory
//!   bounded by one semaphore per mount) and committed at close; renames inside a writable
//!   directory rename the object in the store (`mezz_object::rename_object`, server-side
//!   part copies); the rules (order, existing names, states, what a rename may do) are the
//!   [`WriteTable`]'s (pure); `fs_write.rs` is its FUSE side.
//! - [`MezzFs`]: the thin FUSE adapter (kernel requests to tree lookups and read-path reads),
//!   and [`session`]: mounting, the checks before it, and unmounting; [`mountpoint`]: the
//!   directory's state (not empty, a dead mount left by a killed process) and the guard
//!   process that clears the mount if this one dies.
//!
//! Data flows one way: kernel read → `MezzFs::read` → `ReadPath::read_within` (the schedule's
//! step returns the GETs to start; wait for segments) → `ObjectReader::fetch_span` (GET,
//! authenticate, decrypt) → block cache → reply. No byte reaches a reply before its segment
//! is authenticated, and a segment damaged at rest fails only the reads that touch it.

pub mod audit;
mod block_cache;
mod events;
mod fs;
mod fs_write;
pub mod keys;
mod latency;
mod metrics;
mod mount;
pub mod mountpoint;
mod read_path;
mod recorder;
pub mod session;
pub mod spec;
mod stack;
mod stats;
mod tree;
mod write_path;
mod write_table;

pub use block_cache::{BlockCache, BlockKey, CacheCounters};
pub use events::{Events, MountEvents};
pub use fs::{MAX_READ, MezzFs};
pub use latency::{LatencyHistogram, LatencySnapshot};
pub use metrics::{Metrics, MetricsSnapshot};
pub use mount::{Ended, Mount, OpenError, Opened, Running, ServeError, Served};
pub use read_path::{ReadError, ReadPath, ReadPathConfig};
pub use recorder::Recorder;
pub use session::{MountError, MountOptions, Mounted};
pub use spec::{MountSpec, ObjectFile, RangeFile, SpecError};
pub use stack::{Connect, ConnectError, RegionalError};
pub use stats::{MountStats, READ_LATENCY};
pub use tree::{FileEntry, NodeKind, Tree};
pub use write_path::{WriteConfig, WritePath};
pub use write_table::{FileState, Refusal, WRITE_INO_BASE, WriteAttr, WriteDir, WriteTable};
