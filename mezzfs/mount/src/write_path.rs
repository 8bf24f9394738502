//! The write side of a mount: files created in its writable directories become objects,
//! written through a [`StreamWriter`] each (sealed and uploaded as they arrive, memory bounded
//! by one semaphore for the whole mount) and committed when the writer closes them.
//!
//! The rules are the [`WriteTable`]'s (pure); this file carries them out against the store,
//! and is called by the FUSE adapter with plain values, so it is tested without FUSE.
//!
//! - create: refused when the object exists unless overwriting is allowed (a new version;
//!   readers that opened the old one keep reading it, its parts are kept);
//! - write: only at the end of the file; anything else poisons the file (EINVAL, logged with
//!   the file and offsets), and nothing of it is stored;
//! - fsync: waits for the uploads of everything full so far and reports their errors;
//! - flush (close) by the process that created the file, once something was written, or
//!   release: commit, manifest last,
//!   within the mount's timeout; a failed upload means no object and an error (EIO);
//! - rename, within one writable directory: a file still being written only changes the
//!   name it will be committed under (its parts are copied there inside the store at
//!   commit); a committed file is renamed in the store (parts copied server-side, manifest
//!   re-sealed for the new name, old object deleted: nothing is downloaded or re-encrypted).
//!   An existing destination needs `--allow-overwrite` (EEXIST otherwise). Another writable
//!   directory is another prefix of the same store, so renames cross them alike; the
//!   read-only tree is EXDEV, which tools answer by copying;
//! - unlink: only with `--allow-delete`;
//! - lookup and readdir: what this mount wrote or made, and what the store already holds
//!   under the directory's prefix (a listing; objects' sizes from their manifests), which
//!   then joins the table, so stat, rm, mv and writing over a stored object find it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mezz_format::KeyProvider;
use mezz_object::{ObjectError, StreamOptions, StreamWriter, naming};
use mezz_store::{ObjectStore, StoreError};
use tokio::sync::Semaphore;

use crate::events::MountEvents;
use crate::write_table::{
    Entries, FileState, Listed, Refusal, RenamePlan, Stored, WriteAttr, WriteDir, WriteTable,
    stored_entries,
};

/// How a mount's writable directories behave.
#[derive(Clone, Debug)]
pub struct WriteConfig {
    pub dirs: Vec<WriteDir>,
    /// Creating an existing name makes a new version instead of failing with EEXIST.
    pub allow_overwrite: bool,
    /// `rm` deletes the object.
    pub allow_delete: bool,
    /// Bytes of write buffers for the whole mount (chunks being filled, sealed, uploaded).
    pub memory: u64,
    pub stream: StreamOptions,
    /// Longest a commit (or fsync) may take before the writer gets EIO.
    pub timeout: Duration,
}

impl WriteConfig {
    /// `memory` is the mount's whole budget: writes take a quarter of it, at least two
    /// chunks (one filling, one uploading).
    pub fn new(dirs: Vec<WriteDir>, memory: u64) -> WriteConfig {
        WriteConfig {
            dirs,
            allow_overwrite: false,
            allow_delete: false,
            memory: memory / 4,
            stream: StreamOptions {
                keep_old_versions: true,
                ..StreamOptions::default()
            },
            timeout: Duration::from_secs(40),
        }
    }

    fn permits(&self) -> usize {
        (self.memory / self.stream.chunk_size.max(1)).max(2) as usize
    }
}

struct Handle {
    ino: u64,
    /// Thread group of the process that created the file: its close commits.
    owner: Option<u32>,
    writer: Option<StreamWriter>,
    /// Why the file will not be stored (a write out of order, an upload failure); later
    /// writes get the same answer.
    poisoned: Option<Refusal>,
}

/// The writable directories of one mount.
pub struct WritePath {
    config: WriteConfig,
    store: Arc<dyn ObjectStore>,
    keys: Arc<dyn KeyProvider>,
    permits: Arc<Semaphore>,
    table: Mutex<WriteTable>,
    handles: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<Handle>>>>,
    /// Where creates, writes, commits and renames are told (the mount's events).
    events: Option<Arc<dyn MountEvents>>,
}

impl std::fmt::Debug for WritePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritePath")
            .field("config", &self.config)
            .field("store", &self.store.describe())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn io(e: ObjectError) -> Refusal {
    Refusal::Io(e.to_string())
}

impl WritePath {
    /// `store` is written with the mount's retries around it; `keys` make the data keys.
    pub fn new(
        config: WriteConfig,
        store: Arc<dyn ObjectStore>,
        keys: Arc<dyn KeyProvider>,
    ) -> WritePath {
        WritePath {
            permits: Arc::new(Semaphore::new(config.permits())),
            table: Mutex::new(WriteTable::new(config.dirs.clone())),
            config,
            store,
            keys,
            handles: Mutex::default(),
            events: None,
        }
    }

    /// Tells `events` every create, write, commit and rename (the replay records them).
    pub fn with_events(mut self, events: Arc<dyn MountEvents>) -> WritePath {
        self.events = Some(events);
        self
    }

    fn tell(&self, f: impl FnOnce(&dyn MountEvents)) {
        if let Some(e) = &self.events {
            f(e.as_ref());
        }
    }

    /// Logs the unfinished part uploads under the writable directories' prefixes (a mount
    /// killed while writing leaves them), with the command that aborts them.
    pub async fn report_abandoned(&self) {
        for d in &self.config.dirs {
            let prefix = if d.prefix.is_empty() {
                String::new()
            } else {
                format!("{}/", d.prefix)
            };
            match mezz_object::abandoned::find_abandoned(
                self.store.as_ref(),
                &prefix,
                Duration::ZERO,
            )
            .await
            {
                Ok(found) if found.is_empty() => {}
                Ok(found) => tracing::warn!(
                    count = found.len(),
                    prefix = %prefix,
                    first = %found[0].key,
                    "unfinished uploads under a writable directory's prefix (a writer killed or \
                     cut off mid-write; no object was committed): `mezzfs gc {prefix}` aborts them"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, prefix = %prefix, "could not list unfinished uploads")
                }
            }
        }
    }

    pub fn config(&self) -> &WriteConfig {
        &self.config
    }

    pub fn roots(&self) -> Vec<(u64, String)> {
        lock(&self.table).roots()
    }

    /// `name` in directory `parent`: what the table has, else what the store holds under
    /// that name, which joins the table. `None`: neither, or `parent` is not a directory here.
    pub async fn lookup(
        &self,
        parent: u64,
        name: &str,
    ) -> Result<Option<(u64, WriteAttr)>, Refusal> {
        if let Some(found) = self.known(parent, name) {
            return Ok(Some(found));
        }
        let Some(prefix) = lock(&self.table).listing_prefix(parent) else {
            return Ok(None);
        };
        if lock(&self.table).child_object_name(parent, name).is_err() {
            return Ok(None);
        }
        // Everything starting with the name: its manifest, or keys of a directory below it
        // (and siblings that merely share the start, which the filter drops).
        let listed = self.listed(&format!("{prefix}{name}"), &prefix).await?;
        let Some(&what) = listed.get(name) else {
            return Ok(None);
        };
        self.adopt(parent, &prefix, [(name.to_string(), what)])
            .await?;
        Ok(self.known(parent, name))
    }

    fn known(&self, parent: u64, name: &str) -> Option<(u64, WriteAttr)> {
        let t = lock(&self.table);
        let ino = t.lookup(parent, name)?;
        Some((ino, t.attr(ino)?))
    }

    /// Adds to directory `ino` what the store holds directly in it (before a readdir).
    pub async fn load_stored(&self, ino: u64) -> Result<(), Refusal> {
        let Some(prefix) = lock(&self.table).listing_prefix(ino) else {
            return Ok(());
        };
        let listed = self.listed(&prefix, &prefix).await?;
        let new: Vec<_> = {
            let t = lock(&self.table);
            listed
                .into_iter()
                .filter(|(name, _)| t.lookup(ino, name).is_none())
                .collect()
        };
        self.adopt(ino, &prefix, new).await
    }

    async fn listed(
        &self,
        list_prefix: &str,
        dir_prefix: &str,
    ) -> Result<std::collections::BTreeMap<String, Listed>, Refusal> {
        let keys = self
            .store
            .list(list_prefix)
            .await
            .map_err(|e| Refusal::Io(format!("listing '{list_prefix}' in the store: {e}")))?;
        Ok(stored_entries(
            dir_prefix,
            keys.iter().map(|k| k.key.as_str()),
        ))
    }

    /// Adds listed entries of directory `parent`, reading each object's size from its
    /// manifest (a few at a time). An object gone meanwhile is left out.
    async fn adopt(
        &self,
        parent: u64,
        prefix: &str,
        entries: impl IntoIterator<Item = (String, Listed)>,
    ) -> Result<(), Refusal> {
        use futures::{StreamExt, TryStreamExt};
        let store = self.store.as_ref();
        let found: Vec<(String, Option<Stored>)> = futures::stream::iter(entries)
            .map(|(name, what)| async move {
                let stored = match what {
                    Listed::Dir => Some(Stored::Dir),
                    Listed::Object => mezz_object::stored_size(store, &format!("{prefix}{name}"))
                        .await
                        .map_err(io)?
                        .map(|size| Stored::File { size }),
                };
                Ok::<_, Refusal>((name, stored))
            })
            .buffer_unordered(16)
            .try_collect()
            .await?;
        let mut t = lock(&self.table);
        for (name, stored) in found {
            if let Some(stored) = stored {
                t.adopt(parent, &name, stored)?;
            }
        }
        Ok(())
    }

    pub fn attr(&self, ino: u64) -> Option<WriteAttr> {
        lock(&self.table).attr(ino)
    }

    pub fn entries(&self, ino: u64) -> Option<Entries> {
        lock(&self.table).entries(ino)
    }

    pub fn mkdir(&self, parent: u64, name: &str) -> Result<u64, Refusal> {
        lock(&self.table).mkdir(parent, name)
    }

    pub fn rmdir(&self, parent: u64, name: &str) -> Result<(), Refusal> {
        lock(&self.table).rmdir(parent, name)
    }

    /// Creates `name` in `parent` for writing through handle `fh`, opened by process `pid`.
    pub async fn create(&self, parent: u64, name: &str, fh: u64, pid: u32) -> Result<u64, Refusal> {
        let object = lock(&self.table).child_object_name(parent, name)?;
        let exists_here = lock(&self.table).lookup(parent, name).is_some();
        if !exists_here && !self.config.allow_overwrite {
            self.refuse_existing(&object).await?;
        }
        let ino = lock(&self.table).begin_write(parent, name, fh, self.config.allow_overwrite)?;
        let path = lock(&self.table).mount_path(parent, name);
        self.start(ino, &object, &path, fh, pid).await.map(|()| ino)
    }

    /// Opens the committed file `ino` for writing again (O_TRUNC): a new version when
    /// overwriting is allowed.
    pub async fn reopen(&self, ino: u64, fh: u64, pid: u32) -> Result<(), Refusal> {
        let object = lock(&self.table)
            .object_name(ino)
            .ok_or(Refusal::NotFound)?;
        lock(&self.table).rewrite(ino, fh, self.config.allow_overwrite)?;
        let path = lock(&self.table).path_of(ino).unwrap_or_default();
        self.start(ino, &object, &path, fh, pid).await
    }

    /// `path` is the file's path in the mount (for the events).
    async fn start(
        &self,
        ino: u64,
        object: &str,
        path: &str,
        fh: u64,
        pid: u32,
    ) -> Result<(), Refusal> {
        let created = StreamWriter::create(
            self.store.clone(),
            self.keys.as_ref(),
            object,
            self.config.stream,
            self.permits.clone(),
        )
        .await;
        let writer = match created {
            Ok(w) => w,
            Err(e) => {
                lock(&self.table).end_write(ino, fh, None);
                return Err(io(e));
            }
        };
        tracing::info!(object, "writing a new object");
        let handle = Handle {
            ino,
            owner: thread_group(pid),
            writer: Some(writer),
            poisoned: None,
        };
        lock(&self.handles).insert(fh, Arc::new(tokio::sync::Mutex::new(handle)));
        self.tell(|e| e.created(fh, path));
        Ok(())
    }

    async fn refuse_existing(&self, object: &str) -> Result<(), Refusal> {
        match self.store.head(&naming::manifest_key(object)).await {
            Ok(_) => Err(Refusal::Exists(object.into())),
            Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(Refusal::Io(format!(
                "checking whether '{object}' exists: {e}"
            ))),
        }
    }

    fn handle(&self, fh: u64) -> Option<Arc<tokio::sync::Mutex<Handle>>> {
        lock(&self.handles).get(&fh).cloned()
    }

    /// Whether `fh` is a handle of this write path.
    pub fn owns(&self, fh: u64) -> bool {
        lock(&self.handles).contains_key(&fh)
    }

    /// Appends `data` at `offset` of the file written through `fh`; waits while the memory
    /// budget is spent. Returns the bytes taken.
    pub async fn write(&self, fh: u64, offset: u64, data: &[u8]) -> Result<u32, Refusal> {
        let arrived = Instant::now();
        let handle = self.handle(fh).ok_or(Refusal::NotFound)?;
        let written = self.write_to(&handle, fh, offset, data).await;
        let range = offset..offset.saturating_add(data.len() as u64);
        self.tell(|e| e.wrote(fh, range, arrived, written.is_ok()));
        written
    }

    async fn write_to(
        &self,
        handle: &tokio::sync::Mutex<Handle>,
        fh: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<u32, Refusal> {
        let mut h = handle.lock().await;
        if let Some(why) = &h.poisoned {
            return Err(why.clone());
        }
        let checked = lock(&self.table).append(h.ino, fh, offset, data.len() as u64);
        if let Err(refusal) = checked {
            tracing::error!(
                error = %refusal,
                "refusing a write out of order; answering EINVAL"
            );
            h.poisoned = Some(refusal.clone());
            return Err(refusal);
        }
        let Some(writer) = h.writer.as_mut() else {
            return Err(Refusal::Invalid("the file was already closed".into()));
        };
        if let Err(e) = writer.write(data).await {
            let why = io(e);
            tracing::error!(error = %why, "upload failed; the file will not be stored");
            h.poisoned = Some(why.clone());
            return Err(why);
        }
        Ok(data.len() as u32)
    }

    /// Uploads what is full and reports upload errors (the object is committed at close).
    pub async fn fsync(&self, fh: u64) -> Result<(), Refusal> {
        let handle = self.handle(fh).ok_or(Refusal::NotFound)?;
        let mut h = handle.lock().await;
        if let Some(why) = &h.poisoned {
            return Err(Refusal::Io(why.to_string()));
        }
        let Some(writer) = h.writer.as_mut() else {
            return Ok(());
        };
        let result = match tokio::time::timeout(self.config.timeout, writer.flush()).await {
            Ok(r) => r.map_err(io),
            Err(_) => Err(Refusal::Io(format!(
                "uploads did not finish within {:?}",
                self.config.timeout
            ))),
        };
        if let Err(e) = &result {
            h.poisoned = Some(e.clone());
        }
        result
    }

    /// A close of a descriptor of `fh` by process `pid`: the creating process's close
    /// commits the file once bytes were written (errors are the close's); other closes do
    /// nothing, and a file closed empty is committed at its release.
    pub async fn flush(&self, fh: u64, pid: u32) -> Result<(), Refusal> {
        let Some(handle) = self.handle(fh) else {
            return Ok(());
        };
        let mut h = handle.lock().await;
        let owner = h.owner.is_some() && thread_group(pid) == h.owner;
        // A shell's `> file` opens, dup2s onto stdout and closes the first descriptor before
        // anything is written: a close with nothing written waits for the release instead.
        let written = h.writer.as_ref().is_some_and(|w| !w.is_empty());
        if !owner || (!written && h.poisoned.is_none()) {
            return Ok(());
        }
        self.finish(fh, &mut h).await
    }

    /// The last reference to `fh` is gone: commit if no close did.
    pub async fn release(&self, fh: u64) {
        let Some(handle) = lock(&self.handles).remove(&fh) else {
            return;
        };
        let mut h = handle.lock().await;
        if let Err(e) = self.finish(fh, &mut h).await {
            tracing::warn!(error = %e, "a file released without a successful close was not stored");
        }
    }

    /// Commits (or, when poisoned, abandons) the file of `h`, once.
    async fn finish(&self, fh: u64, h: &mut Handle) -> Result<(), Refusal> {
        let began = Instant::now();
        let Some(writer) = h.writer.take() else {
            return match &h.poisoned {
                Some(why) => Err(Refusal::Io(why.to_string())),
                None => Ok(()),
            };
        };
        let name = writer.name().to_string();
        let size = writer.len();
        if let Some(why) = h.poisoned.as_ref().map(ToString::to_string) {
            // The name it has now (renamed while written), before the table forgets it.
            let now = lock(&self.table).object_name(h.ino);
            lock(&self.table).end_write(h.ino, fh, None);
            // Nothing of it may appear: abort its uploads in the background.
            tokio::spawn(writer.abandon());
            tracing::warn!(object = %name, reason = %why, "not stored");
            let now = now.unwrap_or(name);
            self.tell(|e| e.committed(fh, &now, size, began, Some(&why)));
            return Err(Refusal::Io(why));
        }
        // Renamed while it was written: committed under the name it has now.
        let target = lock(&self.table).object_name(h.ino);
        let committed = match target.filter(|t| *t != name) {
            None => tokio::time::timeout(self.config.timeout, writer.commit()).await,
            Some(to) => {
                tracing::info!(object = %name, to = %to, "renamed while written: stored under its new name");
                let commit = writer.commit_as(self.keys.as_ref(), &to);
                tokio::time::timeout(self.config.timeout, commit).await
            }
        };
        let name = lock(&self.table).object_name(h.ino).unwrap_or(name);
        let result = match committed {
            Ok(Ok(_)) => {
                lock(&self.table).end_write(h.ino, fh, Some(size));
                tracing::info!(object = %name, bytes = size, "stored");
                self.tell(|e| e.committed(fh, &name, size, began, None));
                return Ok(());
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!(
                "storing '{name}' did not finish within {:?}; its upload is left for `mezzfs gc`",
                self.config.timeout
            ),
        };
        lock(&self.table).end_write(h.ino, fh, None);
        tracing::error!(object = %name, error = %result, "not stored; answering EIO");
        self.tell(|e| e.committed(fh, &name, size, began, Some(&result)));
        h.poisoned = Some(Refusal::Io(result.clone()));
        Err(Refusal::Io(result))
    }

    /// Truncation is refused except to the current length (what `O_TRUNC` on a new file and
    /// `dd`'s ftruncate ask for).
    pub fn truncate(&self, ino: u64, size: u64) -> Result<(), Refusal> {
        match lock(&self.table).attr(ino) {
            Some(a) if a.is_dir => Err(Refusal::IsDir),
            Some(a) if a.size == size => Ok(()),
            Some(a) => Err(Refusal::Invalid(format!(
                "truncating to {size} bytes (the file has {}): files here are written in order",
                a.size
            ))),
            None => Err(Refusal::NotFound),
        }
    }

    /// Deletes the committed file `name` of `parent` and its object.
    pub async fn unlink(&self, parent: u64, name: &str) -> Result<(), Refusal> {
        if !self.config.allow_delete {
            return Err(Refusal::NotPermitted(
                "deleting needs --allow-delete".into(),
            ));
        }
        let object = lock(&self.table).child_object_name(parent, name)?;
        let ino = lock(&self.table).unlink(parent, name)?;
        let _ = ino;
        mezz_object::delete_object(self.store.as_ref(), &object)
            .await
            .map_err(io)?;
        tracing::info!(object = %object, "deleted");
        Ok(())
    }

    /// Renames `name` of `parent` to `new_name` of `new_parent`, both in writable
    /// directories (the table's rules; the FUSE adapter answers EXDEV for anything else).
    pub async fn rename(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
        no_replace: bool,
    ) -> Result<(), Refusal> {
        let renamed = self
            .rename_entry(parent, name, new_parent, new_name, no_replace)
            .await;
        let (from, to) = {
            let t = lock(&self.table);
            (
                t.mount_path(parent, name),
                t.mount_path(new_parent, new_name),
            )
        };
        let error = renamed.as_ref().err().map(ToString::to_string);
        self.tell(|e| e.renamed(&from, &to, error.as_deref()));
        renamed
    }

    async fn rename_entry(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
        no_replace: bool,
    ) -> Result<(), Refusal> {
        let overwrite = self.config.allow_overwrite && !no_replace;
        let plan = self.plan_rename(parent, name, new_parent, new_name, overwrite)?;
        match &plan {
            RenamePlan::Nothing => Ok(()),
            RenamePlan::Move { writing: None, .. } => {
                lock(&self.table).apply_rename(&plan, new_parent, new_name)
            }
            RenamePlan::Move {
                writing: Some(fh), ..
            } => {
                self.refuse_existing_unless(overwrite, new_parent, new_name)
                    .await?;
                // Under the handle's lock, so that a commit in progress finishes first (the
                // file is then committed, and renamed as such).
                let handle = self.handle(*fh);
                let _guard = match &handle {
                    Some(h) => Some(h.lock().await),
                    None => None,
                };
                let again = self.plan_rename(parent, name, new_parent, new_name, overwrite)?;
                if again != plan {
                    drop(_guard);
                    return Box::pin(
                        self.rename_entry(parent, name, new_parent, new_name, no_replace),
                    )
                    .await;
                }
                lock(&self.table).apply_rename(&plan, new_parent, new_name)
            }
            RenamePlan::Object { ino, from, to } => {
                self.refuse_existing_unless(overwrite, new_parent, new_name)
                    .await?;
                // One server-side copy per part, eight at once: the deadline grows with the
                // rounds of copies. Cut off, the rename leaves the old object whole; parts
                // already copied stay under the new name, invisible (no manifest).
                let size = lock(&self.table).attr(*ino).map_or(0, |a| a.size);
                let rounds = size
                    .div_ceil(self.config.stream.part_size.max(1))
                    .div_ceil(8)
                    .max(1);
                let deadline = self.config.timeout * u32::try_from(rounds).unwrap_or(u32::MAX);
                let renamed = tokio::time::timeout(
                    deadline,
                    mezz_object::rename_object(
                        self.store.as_ref(),
                        self.keys.as_ref(),
                        from,
                        to,
                        overwrite,
                    ),
                )
                .await;
                match renamed {
                    Ok(Ok(_)) => {}
                    Ok(Err(ObjectError::Exists { name })) => return Err(Refusal::Exists(name)),
                    Ok(Err(ObjectError::NotFound { .. })) => return Err(Refusal::NotFound),
                    Ok(Err(e)) => {
                        tracing::error!(from = %from, to = %to, error = %e, "rename failed; answering EIO");
                        return Err(io(e));
                    }
                    Err(_) => {
                        tracing::error!(from = %from, to = %to, "rename did not finish in time; answering EIO");
                        return Err(Refusal::Io(format!(
                            "renaming '{from}' to '{to}' did not finish within {deadline:?}"
                        )));
                    }
                }
                tracing::info!(from = %from, to = %to, "renamed");
                lock(&self.table).apply_rename(&plan, new_parent, new_name)
            }
        }
    }

    fn plan_rename(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
        overwrite: bool,
    ) -> Result<RenamePlan, Refusal> {
        lock(&self.table).plan_rename(parent, name, new_parent, new_name, overwrite)
    }

    /// An object this mount did not write may sit at the destination: refused unless
    /// overwriting (a destination in the table was already checked by the plan).
    async fn refuse_existing_unless(
        &self,
        overwrite: bool,
        new_parent: u64,
        new_name: &str,
    ) -> Result<(), Refusal> {
        if overwrite || lock(&self.table).lookup(new_parent, new_name).is_some() {
            return Ok(());
        }
        let object = lock(&self.table).child_object_name(new_parent, new_name)?;
        self.refuse_existing(&object).await
    }

    /// Whether file `ino` is open for writing.
    pub fn is_writing(&self, ino: u64) -> bool {
        matches!(
            lock(&self.table).state(ino),
            Some(FileState::Writing { .. })
        )
    }
}

/// The thread group (process) of thread `pid`, as the kernel names requests by thread.
fn thread_group(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}
