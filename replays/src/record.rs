//! What a replay holds: the mount's description, then one record per event.
//!
//! Times are microseconds since the mount started. Handles are the FUSE file handles the mount
//! gave out; `file` is an index into [`Meta::files`]; `object` an index into [`Meta::objects`];
//! offsets of reads are in the file, offsets of fetches and cache blocks in the object.
//! Writes (creates, writes, commits, renames in the writable directories) name the handle of
//! the file written and paths in the mount; the objects they make are not in [`Meta`].

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// Always the first record of a replay.
    Meta(Meta),
    Open {
        t: u64,
        handle: u64,
        file: u64,
    },
    /// A read answered (or failed, `ok` false) after `dur` µs; `t` is when it arrived.
    Read {
        t: u64,
        handle: u64,
        offset: u64,
        len: u64,
        dur: u64,
        ok: bool,
    },
    Release {
        t: u64,
        handle: u64,
    },
    /// A read-ahead window decided: these object bytes should be cached or in flight.
    Schedule {
        t: u64,
        object: u64,
        offset: u64,
        len: u64,
    },
    FetchStart {
        t: u64,
        fetch: u64,
        object: u64,
        offset: u64,
        len: u64,
    },
    /// `bytes` is what came over the wire (ciphertext), 0 on failure.
    FetchDone {
        t: u64,
        fetch: u64,
        bytes: u64,
        ok: bool,
    },
    /// Segments `first..first + count` of an object went into the block cache.
    CacheInsert {
        t: u64,
        object: u64,
        first: u64,
        count: u64,
    },
    CacheEvict {
        t: u64,
        object: u64,
        first: u64,
        count: u64,
    },
    Error {
        t: u64,
        message: String,
    },
    /// A digest of the bytes returned by the `reads` read records before it (since the
    /// previous digest), so a rerun can check it got the same bytes.
    Digest {
        reads: u64,
        digest: u64,
    },
    /// The mount's statistics at the end (the `.mezzfs-stats` document).
    Stats(serde_json::Value),
    /// A file created in a writable directory (or opened to be written again): `path` is its
    /// path in the mount, `handle` the FUSE handle its writes and commit name.
    Create {
        t: u64,
        handle: u64,
        path: String,
    },
    /// A write taken (or refused, `ok` false) after `dur` µs; `t` is when it arrived.
    Write {
        t: u64,
        handle: u64,
        offset: u64,
        len: u64,
        dur: u64,
        ok: bool,
    },
    /// The file written through `handle` stored as `object` (`bytes` long), the commit
    /// beginning at `t` and taking `dur` µs; `ok` false: nothing was stored (a refused write,
    /// a failed upload or commit).
    Commit {
        t: u64,
        handle: u64,
        object: String,
        bytes: u64,
        dur: u64,
        ok: bool,
    },
    /// A rename in a writable directory (paths in the mount); `ok` false: refused or failed.
    Rename {
        t: u64,
        from: String,
        to: String,
        ok: bool,
    },
    /// A record kind this version does not know (written by a newer one): skipped.
    Unknown {
        kind: u64,
        body: Vec<u8>,
    },
}

impl Record {
    /// The record's time, if it has one.
    pub fn time(&self) -> Option<u64> {
        match self {
            Record::Open { t, .. }
            | Record::Read { t, .. }
            | Record::Release { t, .. }
            | Record::Schedule { t, .. }
            | Record::FetchStart { t, .. }
            | Record::FetchDone { t, .. }
            | Record::CacheInsert { t, .. }
            | Record::CacheEvict { t, .. }
            | Record::Error { t, .. }
            | Record::Create { t, .. }
            | Record::Write { t, .. }
            | Record::Commit { t, .. }
            | Record::Rename { t, .. } => Some(*t),
            _ => None,
        }
    }
}

/// What was mounted and how.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub mezzfs_version: String,
    /// Wall-clock start of the mount, Unix seconds.
    pub started_unix: u64,
    pub host: String,
    /// The read-ahead strategy and its parameters, in words and as settings.
    pub readahead: String,
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub objects: Vec<ObjectMeta>,
    pub files: Vec<FileMeta>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// The source as given to the mount (object name or URL).
    pub source: String,
    pub size: u64,
    /// The object version (manifest object id, hex).
    pub version: String,
    pub segment_size: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub path: String,
    pub object: u64,
    pub offset: u64,
    pub len: u64,
}
