//! The FUSE adapter: kernel requests in, [`Tree`] lookups and [`ReadPath`] reads out.
//!
//! Nothing here decides what to fetch or cache. Reads are answered from tasks on the tokio
//! runtime, so the kernel can keep many reads in flight (`FUSE_ASYNC_READ`) while the FUSE
//! threads go back to receiving requests. Objects never change under a mount, so attributes
//! and entries carry long TTLs and opens keep the kernel's page cache.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    KernelConfig, LockOwner, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request,
    TimeOrNow, WriteFlags,
};

use crate::audit::{MountAudit, Who};
use crate::events::MountEvents;
use crate::fs_write::{WRITE_TTL, WriteFs};
use crate::keys::KeyHold;
use crate::read_path::ReadPath;
use crate::stats::MountStats;
use crate::tree::{NodeKind, ROOT, Tree};
use crate::write_path::WritePath;
use crate::write_table::WriteTable;

/// Objects are immutable versions: the kernel may cache what it learns for a long time.
const TTL: Duration = Duration::from_secs(24 * 3600);
/// The largest read the kernel is asked to send, and its read-ahead.
pub const MAX_READ: u32 = 1 << 20;
const BLOCK: u32 = 4096;

/// The filesystem handed to `fuser`.
#[derive(Debug)]
pub struct MezzFs {
    tree: Tree,
    path: ReadPath,
    rt: tokio::runtime::Handle,
    uid: u32,
    gid: u32,
    mounted_at: SystemTime,
    started: Instant,
    /// Open statistics files: each handle reads the snapshot taken when it was opened.
    stats_handles: Mutex<HashMap<u64, Vec<u8>>>,
    next_handle: AtomicU64,
    audit: Option<Arc<MountAudit>>,
    /// Each open object file handle holds its object's data key until it is released.
    key_holds: Arc<Mutex<HashMap<u64, KeyHold>>>,
    /// The writable directories, when the mount has any.
    writes: Option<Arc<WritePath>>,
}

impl MezzFs {
    /// `rt` runs the reads; every file belongs to the user and group running the mount.
    pub fn new(tree: Tree, path: ReadPath, rt: tokio::runtime::Handle) -> MezzFs {
        let (uid, gid) = crate::session::process_owner();
        MezzFs {
            tree,
            path,
            rt,
            uid,
            gid,
            mounted_at: SystemTime::now(),
            started: Instant::now(),
            stats_handles: Mutex::default(),
            next_handle: AtomicU64::new(1),
            audit: None,
            key_holds: Arc::default(),
            writes: None,
        }
    }

    /// Serves the writable directories of `writes` beside the read-only files.
    pub fn with_writes(mut self, writes: Option<Arc<WritePath>>) -> MezzFs {
        self.writes = writes;
        self
    }

    /// The write side, when `ino` (or the handle) belongs to it.
    fn write_fs(&self) -> Option<WriteFs<'_>> {
        Some(WriteFs {
            path: self.writes.as_deref()?,
            rt: &self.rt,
            uid: self.uid,
            gid: self.gid,
        })
    }

    fn write_ino(&self, ino: u64) -> Option<WriteFs<'_>> {
        WriteTable::is_write_ino(ino)
            .then(|| self.write_fs())
            .flatten()
    }

    /// Every open and close of an object file is recorded in `audit` (when given).
    pub fn with_audit(mut self, audit: Option<Arc<MountAudit>>) -> MezzFs {
        self.audit = audit;
        self
    }

    fn stats_json(&self) -> Vec<u8> {
        let mut v = MountStats::collect(&self.path, self.started.elapsed()).to_json();
        v.push('\n');
        v.into_bytes()
    }

    fn attr(&self, ino: u64) -> Option<FileAttr> {
        if let Some(w) = &self.writes
            && WriteTable::is_write_ino(ino)
        {
            let a = w.attr(ino)?;
            return Some(crate::fs_write::file_attr(
                ino,
                a,
                self.uid,
                self.gid,
                SystemTime::now(),
            ));
        }
        let node = self.tree.node(ino)?;
        let (kind, size, perm, nlink) = match &node.kind {
            NodeKind::Dir { .. } => (FileType::Directory, 0, 0o555, 2),
            NodeKind::File { range, .. } => {
                (FileType::RegularFile, range.end - range.start, 0o444, 1)
            }
            NodeKind::Stats => (
                FileType::RegularFile,
                self.stats_json().len() as u64,
                0o444,
                1,
            ),
        };
        Some(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: self.mounted_at,
            mtime: self.mounted_at,
            ctime: self.mounted_at,
            crtime: self.mounted_at,
            kind,
            perm,
            nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            flags: 0,
            blksize: MAX_READ,
        })
    }

    fn ttl(&self, ino: u64) -> Duration {
        if WriteTable::is_write_ino(ino) {
            return WRITE_TTL;
        }
        match self.tree.node(ino).map(|n| &n.kind) {
            // Its size changes with every read, so the kernel must ask each time.
            Some(NodeKind::Stats) => Duration::ZERO,
            _ => TTL,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Filesystem for MezzFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Each setter answers the nearest allowed value when ours is out of range.
        let _ = config
            .set_max_readahead(MAX_READ)
            .or_else(|nearest| config.set_max_readahead(nearest));
        let _ = config.set_max_background(64);
        let _ = config.set_congestion_threshold(48);
        if self.writes.is_some() {
            let _ = config
                .set_max_write(MAX_READ)
                .or_else(|nearest| config.set_max_write(nearest));
        }
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Some(name) = name.to_str() else {
            reply.error(Errno::ENOENT);
            return;
        };
        let found = match self.tree.lookup(parent.0, name) {
            Some(ino) => Ok(self.attr(ino).map(|a| (ino, a))),
            None => match self.write_fs() {
                // The root holds the writable directories themselves.
                Some(w) if parent.0 == ROOT || WriteTable::is_write_ino(parent.0) => {
                    w.lookup(parent.0, name)
                }
                _ => Ok(None),
            },
        };
        match found {
            Ok(Some((ino, attr))) => reply.entry(&self.ttl(ino), &attr, Generation(0)),
            Ok(None) => reply.error(Errno::ENOENT),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.attr(ino.0) {
            Some(attr) => reply.attr(&self.ttl(ino.0), &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if let Some(w) = self.write_ino(ino.0) {
            let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
            let writing = flags.acc_mode() != OpenAccMode::O_RDONLY;
            match w.open(ino.0, fh, req.pid(), writing) {
                Ok(()) => reply.opened(FileHandle(fh), crate::fs_write::WRITE_OPEN),
                Err(e) => reply.error(e),
            }
            return;
        }
        if flags.acc_mode() != OpenAccMode::O_RDONLY {
            reply.error(Errno::EROFS);
            return;
        }
        match self.tree.node(ino.0).map(|n| &n.kind) {
            Some(NodeKind::File { file, object, .. }) => {
                // Every open gets its own handle, so a replay can tell readers apart.
                let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
                let (file, object) = (*file, *object);
                // Read now: the opening process may be gone by the time the key is unwrapped.
                let who = self
                    .audit
                    .as_ref()
                    .map(|_| Who::process(req.uid(), req.pid()));
                let (path, audit, holds) = (
                    self.path.clone(),
                    self.audit.clone(),
                    self.key_holds.clone(),
                );
                // The first open of an object unwraps its data key (a key-service call for
                // KMS): answered from a task so the FUSE threads keep serving.
                self.rt.spawn(async move {
                    let hold = match path.hold_key(object).await {
                        Ok(hold) => hold,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot open: the object's data key was not unwrapped; answering EIO");
                            reply.error(Errno::EIO);
                            return;
                        }
                    };
                    if let (Some(audit), Some(who)) = (&audit, who)
                        && let Err(e) = audit.open(fh, who, file, object)
                    {
                        // An open that cannot be audited is refused.
                        tracing::error!(error = %e, "refusing an open: answering EIO");
                        reply.error(Errno::EIO);
                        return;
                    }
                    lock(&holds).insert(fh, hold);
                    path.events().opened(fh, file);
                    reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE)
                });
            }
            Some(NodeKind::Stats) => {
                let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
                lock(&self.stats_handles).insert(fh, self.stats_json());
                reply.opened(FileHandle(fh), FopenFlags::FOPEN_DIRECT_IO);
            }
            Some(NodeKind::Dir { .. }) => reply.error(Errno::EISDIR),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.tree.node(ino.0).map(|n| &n.kind) {
            Some(NodeKind::File { object, range, .. }) => {
                let start = range.start.saturating_add(offset).min(range.end);
                let end = start.saturating_add(u64::from(size)).min(range.end);
                if start == end {
                    reply.data(&[]);
                    return;
                }
                let (path, object, bound) = (self.path.clone(), *object, range.clone());
                let in_file = offset..offset + (end - start);
                let audit = self.audit.clone();
                self.rt.spawn(async move {
                    // The replay's read latency starts where the statistics' does (in
                    // `read_within`): when the read starts on the runtime, so `mezzfs stats`
                    // and `replay info` report the same interval (see the README).
                    let arrived = Instant::now();
                    let result = path.read_within(object, start..end, bound).await;
                    path.events()
                        .answered(fh.0, in_file, arrived, result.as_deref().ok());
                    if let (Some(audit), Ok(bytes)) = (&audit, &result) {
                        audit.read(fh.0, bytes.len() as u64);
                    }
                    match result {
                        Ok(bytes) => reply.data(&bytes),
                        Err(e) => {
                            tracing::error!(error = %e, offset = start, len = end - start, "read failed; answering EIO");
                            reply.error(Errno::EIO);
                        }
                    }
                });
            }
            Some(NodeKind::Stats) => {
                let handles = lock(&self.stats_handles);
                let data = handles.get(&fh.0).map_or(&[][..], |v| v.as_slice());
                let from = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                let to = from.saturating_add(size as usize).min(data.len());
                reply.data(&data[from..to]);
            }
            Some(NodeKind::Dir { .. }) => reply.error(Errno::EISDIR),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: fuser::ReplyEmpty,
    ) {
        if let Some(w) = &self.writes
            && w.owns(fh.0)
        {
            let w = w.clone();
            self.rt.spawn(async move { w.release(fh.0).await });
            reply.ok();
            return;
        }
        if lock(&self.stats_handles).remove(&fh.0).is_none() {
            // Dropped after the map's lock is let go: the last hold may drop the key.
            let hold = lock(&self.key_holds).remove(&fh.0);
            drop(hold);
            self.path.events().released(fh.0);
            if let Some(audit) = &self.audit {
                audit.close(fh.0);
            }
        }
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        // The store is listed once per directory read, not for every batch of entries.
        let write_entries = match self.write_ino(ino.0) {
            Some(w) if offset == 0 => Some(w.entries(ino.0)),
            Some(w) => Some(Ok(w.path.entries(ino.0))),
            None => None,
        };
        let listed = match write_entries {
            Some(Ok(entries)) => entries,
            Some(Err(e)) => {
                reply.error(e);
                return;
            }
            None => self.tree.entries(ino.0),
        };
        let Some(mut entries) = listed else {
            reply.error(Errno::ENOTDIR);
            return;
        };
        if ino.0 == ROOT
            && let Some(w) = &self.writes
        {
            entries.extend(w.roots().into_iter().map(|(i, n)| (i, n, true)));
        }
        for (i, (child, name, is_dir)) in entries.into_iter().enumerate().skip(offset as usize) {
            let kind = if is_dir {
                FileType::Directory
            } else {
                FileType::RegularFile
            };
            // `add` answers true when the kernel's buffer is full; the rest comes next call.
            if reply.add(INodeNo(child), (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let (Some(w), Some(name)) = (self.write_ino(parent.0), name.to_str()) else {
            reply.error(Errno::EROFS);
            return;
        };
        let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
        w.create(parent.0, name, fh, req.pid(), reply);
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.write_fs() {
            Some(w) => w.write(fh.0, offset, data, reply),
            None => reply.error(Errno::EROFS),
        }
    }

    fn flush(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        match self.write_fs() {
            Some(w) if w.path.owns(fh.0) => w.flush(fh.0, req.pid(), reply),
            _ => reply.ok(),
        }
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.write_fs() {
            Some(w) if w.path.owns(fh.0) => w.fsync(fh.0, reply),
            _ => reply.ok(),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        match self.write_ino(ino.0) {
            Some(w) => match w.setattr(ino.0, size) {
                Ok(attr) => reply.attr(&WRITE_TTL, &attr),
                Err(e) => reply.error(e),
            },
            None => reply.error(Errno::EROFS),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        match (self.write_ino(parent.0), name.to_str()) {
            (Some(w), Some(name)) => w.mkdir(parent.0, name, reply),
            _ => reply.error(Errno::EROFS),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match (self.write_ino(parent.0), name.to_str()) {
            (Some(w), Some(name)) => w.unlink(parent.0, name, reply),
            _ => reply.error(Errno::EROFS),
        }
    }

    /// Within one writable directory only; into or out of one is EXDEV (tools copy), in
    /// the read-only tree EROFS.
    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let (from, to) = (self.write_ino(parent.0), self.write_ino(newparent.0));
        let (Some(w), Some(_)) = (&from, &to) else {
            reply.error(if from.is_some() || to.is_some() {
                Errno::EXDEV
            } else {
                Errno::EROFS
            });
            return;
        };
        if !(flags - RenameFlags::RENAME_NOREPLACE).is_empty() {
            reply.error(Errno::EINVAL);
            return;
        }
        let (Some(name), Some(newname)) = (name.to_str(), newname.to_str()) else {
            reply.error(Errno::EINVAL);
            return;
        };
        let no_replace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        w.rename(parent.0, name, newparent.0, newname, no_replace, reply);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match (self.write_ino(parent.0), name.to_str()) {
            (Some(w), Some(name)) => w.rmdir(parent.0, name, reply),
            _ => reply.error(Errno::EROFS),
        }
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let bytes: u64 = (ROOT..=self.tree.len() as u64)
            .filter_map(|ino| match &self.tree.node(ino)?.kind {
                NodeKind::File { range, .. } => Some(range.end - range.start),
                _ => None,
            })
            .sum();
        reply.statfs(
            bytes.div_ceil(u64::from(BLOCK)),
            0,
            0,
            self.tree.len() as u64,
            0,
            BLOCK,
            255,
            BLOCK,
        );
    }
}
