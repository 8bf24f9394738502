//! The FUSE side of the writable directories: kernel requests to [`WritePath`] calls, its
//! refusals to errnos. [`MezzFs`](crate::MezzFs) hands over every request about an inode or
//! handle of the write path. Write-path calls block the FUSE thread that made them (on the
//! mount's runtime): a writer waiting for memory or the store is slowed down, in order.

use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, FopenFlags, Generation, INodeNo, ReplyCreate,
    ReplyEmpty, ReplyEntry, ReplyWrite,
};

use crate::write_path::WritePath;
use crate::write_table::{self, Refusal, WriteAttr};

/// Sizes change while a file is written: the kernel must ask every time.
pub(crate) const WRITE_TTL: Duration = Duration::ZERO;

/// Written files bypass the kernel's page cache. Their bytes are never read back through this
/// mount (reads go to the store), so caching them would only copy every byte once more in the
/// writer's system call and fill memory with pages that the kernel must reclaim later, which on
/// a busy machine shows up as the writer stalling. Writes are still sent one `max_write`
/// request at a time, in order (the mount does not ask for asynchronous direct I/O).
pub(crate) const WRITE_OPEN: FopenFlags = FopenFlags::FOPEN_DIRECT_IO;

pub(crate) fn errno(r: &Refusal) -> Errno {
    match r {
        Refusal::NotFound => Errno::ENOENT,
        Refusal::Exists(_) => Errno::EEXIST,
        Refusal::Busy(_) => Errno::EBUSY,
        Refusal::NotDir => Errno::ENOTDIR,
        Refusal::IsDir => Errno::EISDIR,
        Refusal::NotEmpty => Errno::ENOTEMPTY,
        Refusal::NotPermitted(_) => Errno::EPERM,
        Refusal::NonSequential { .. } | Refusal::Invalid(_) => Errno::EINVAL,
        Refusal::CrossDevice(_) => Errno::EXDEV,
        Refusal::Io(_) => Errno::EIO,
    }
}

/// The attributes of a write-path node.
pub(crate) fn file_attr(ino: u64, a: WriteAttr, uid: u32, gid: u32, at: SystemTime) -> FileAttr {
    let (kind, perm, nlink) = if a.is_dir {
        (FileType::Directory, 0o755, 2)
    } else {
        (FileType::RegularFile, 0o644, 1)
    };
    FileAttr {
        ino: INodeNo(ino),
        size: a.size,
        blocks: a.size.div_ceil(512),
        atime: at,
        mtime: at,
        ctime: at,
        crtime: at,
        kind,
        perm,
        nlink,
        uid,
        gid,
        rdev: 0,
        flags: 0,
        blksize: crate::fs::MAX_READ,
    }
}

/// The adapter's view of one write path: what it needs besides the path itself.
pub(crate) struct WriteFs<'a> {
    pub path: &'a WritePath,
    pub rt: &'a tokio::runtime::Handle,
    pub uid: u32,
    pub gid: u32,
}

impl WriteFs<'_> {
    fn attr(&self, ino: u64) -> Option<FileAttr> {
        let a = self.path.attr(ino)?;
        Some(file_attr(ino, a, self.uid, self.gid, SystemTime::now()))
    }

    /// `name` in the write-path directory `parent`, including what the store already holds.
    pub fn lookup(&self, parent: u64, name: &str) -> Result<Option<(u64, FileAttr)>, Errno> {
        match self.rt.block_on(self.path.lookup(parent, name)) {
            Ok(found) => Ok(found.and_then(|(ino, _)| Some((ino, self.attr(ino)?)))),
            Err(r) => {
                tracing::warn!(error = %r, name, "lookup failed");
                Err(errno(&r))
            }
        }
    }

    /// The entries of directory `ino`, after adding what the store holds in it.
    pub fn entries(&self, ino: u64) -> Result<Option<write_table::Entries>, Errno> {
        if let Err(r) = self.rt.block_on(self.path.load_stored(ino)) {
            tracing::warn!(error = %r, "listing a writable directory failed");
            return Err(errno(&r));
        }
        Ok(self.path.entries(ino))
    }

    pub fn create(&self, parent: u64, name: &str, fh: u64, pid: u32, reply: ReplyCreate) {
        match self.rt.block_on(self.path.create(parent, name, fh, pid)) {
            Ok(ino) => match self.attr(ino) {
                Some(attr) => {
                    reply.created(&WRITE_TTL, &attr, Generation(0), FileHandle(fh), WRITE_OPEN)
                }
                None => reply.error(Errno::ENOENT),
            },
            Err(r) => {
                tracing::warn!(error = %r, name, "create refused");
                reply.error(errno(&r));
            }
        }
    }

    /// An open of a write-path file: writing again (a new version) or refused.
    pub fn open(&self, ino: u64, fh: u64, pid: u32, writing: bool) -> Result<(), Errno> {
        if !writing {
            // Written files are read back through `mezzfs get` or another mount.
            return Err(Errno::EACCES);
        }
        self.rt
            .block_on(self.path.reopen(ino, fh, pid))
            .map_err(|r| {
                tracing::warn!(error = %r, "open for writing refused");
                errno(&r)
            })
    }

    pub fn write(&self, fh: u64, offset: u64, data: &[u8], reply: ReplyWrite) {
        match self.rt.block_on(self.path.write(fh, offset, data)) {
            Ok(n) => reply.written(n),
            Err(r) => reply.error(errno(&r)),
        }
    }

    pub fn flush(&self, fh: u64, pid: u32, reply: ReplyEmpty) {
        match self.rt.block_on(self.path.flush(fh, pid)) {
            Ok(()) => reply.ok(),
            Err(r) => reply.error(errno(&r)),
        }
    }

    pub fn fsync(&self, fh: u64, reply: ReplyEmpty) {
        match self.rt.block_on(self.path.fsync(fh)) {
            Ok(()) => reply.ok(),
            Err(r) => reply.error(errno(&r)),
        }
    }

    pub fn mkdir(&self, parent: u64, name: &str, reply: ReplyEntry) {
        match self.path.mkdir(parent, name) {
            Ok(ino) => match self.attr(ino) {
                Some(attr) => reply.entry(&WRITE_TTL, &attr, Generation(0)),
                None => reply.error(Errno::ENOENT),
            },
            Err(r) => reply.error(errno(&r)),
        }
    }

    pub fn unlink(&self, parent: u64, name: &str, reply: ReplyEmpty) {
        match self.rt.block_on(self.path.unlink(parent, name)) {
            Ok(()) => reply.ok(),
            Err(r) => {
                tracing::warn!(error = %r, name, "unlink refused");
                reply.error(errno(&r));
            }
        }
    }

    pub fn rename(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
        no_replace: bool,
        reply: ReplyEmpty,
    ) {
        let renamed = self.rt.block_on(
            self.path
                .rename(parent, name, new_parent, new_name, no_replace),
        );
        match renamed {
            Ok(()) => reply.ok(),
            Err(r) => {
                tracing::warn!(error = %r, name, new_name, "rename refused");
                reply.error(errno(&r));
            }
        }
    }

    pub fn rmdir(&self, parent: u64, name: &str, reply: ReplyEmpty) {
        match self.path.rmdir(parent, name) {
            Ok(()) => reply.ok(),
            Err(r) => reply.error(errno(&r)),
        }
    }

    /// setattr: only a size equal to the current one (O_TRUNC, `dd`'s ftruncate); modes and
    /// times are accepted and ignored.
    pub fn setattr(&self, ino: u64, size: Option<u64>) -> Result<FileAttr, Errno> {
        if let Some(size) = size {
            self.path.truncate(ino, size).map_err(|r| {
                tracing::warn!(error = %r, "truncate refused");
                errno(&r)
            })?;
        }
        self.attr(ino).ok_or(Errno::ENOENT)
    }
}
