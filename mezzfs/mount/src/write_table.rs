//! The files and directories of a mount's writable directories (`--write-dir NAME=PREFIX`):
//! what exists, what is being written, and the rule that writes come in order. Pure: no
//! FUSE, no store; the write path ([`crate::WritePath`]) keeps one behind a lock.
//!
//! Inode numbers start at [`WRITE_INO_BASE`], far above the read-only tree's, so the FUSE
//! adapter tells the two apart by number. Each writable directory maps its relative paths to
//! object names under its prefix.

use std::collections::BTreeMap;

use mezz_object::naming;

/// First inode number of the writable directories' nodes.
pub const WRITE_INO_BASE: u64 = 1 << 40;

/// A writable directory: `dir` in the mount's root, files under it stored as objects
/// `prefix/<path>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteDir {
    pub dir: String,
    /// Object name prefix without a trailing `/` (empty: names are the paths themselves).
    pub prefix: String,
}

impl WriteDir {
    /// Parses `NAME=PREFIX` (`--write-dir out=encodes/`).
    pub fn parse(arg: &str) -> Result<WriteDir, String> {
        let (dir, prefix) = arg
            .split_once('=')
            .ok_or_else(|| format!("--write-dir '{arg}': give NAME=PREFIX (out=encodes/)"))?;
        if dir.is_empty() || dir.contains('/') || dir == "." || dir == ".." || dir.starts_with('.')
        {
            return Err(format!(
                "--write-dir '{arg}': NAME is one directory name in the mount's root, not \
                 empty, hidden or containing '/'"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|s| s == "." || s == "..")
            || prefix.contains("//")
            || prefix.chars().any(char::is_control)
        {
            return Err(format!(
                "--write-dir '{arg}': PREFIX is an object name prefix without '.', '..' or \
                 empty segments"
            ));
        }
        Ok(WriteDir {
            dir: dir.into(),
            prefix: prefix.into(),
        })
    }

    /// The object a file at `rel` (relative to this directory) is stored as.
    pub fn object_name(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.into()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }
}

/// What a file of a writable directory is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    /// Open for writing through handle `fh`; `len` bytes so far.
    Writing { fh: u64, len: u64 },
    /// Stored: `size` bytes.
    Committed { size: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Dir { children: BTreeMap<String, u64> },
    File(FileState),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Node {
    /// The parent's inode; a writable directory's own node has the mount's root (1).
    parent: u64,
    /// Index of its writable directory.
    dir: usize,
    /// Path relative to that directory ("" for the directory itself).
    rel: String,
    kind: Kind,
}

/// What the adapter needs to answer a lookup or getattr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteAttr {
    pub is_dir: bool,
    pub size: u64,
}

/// A directory's entries: (inode, name, is_dir), `.` and `..` first.
pub type Entries = Vec<(u64, String, bool)>;

/// Something the store already holds in a writable directory, found by a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// An object of `size` plaintext bytes.
    File { size: u64 },
    /// A directory: objects are stored below it.
    Dir,
}

/// What a listing names directly in a directory (before an object's size is read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listed {
    Object,
    Dir,
}

/// What a listing of the store under a directory's object prefix (`keys`, each starting with
/// `prefix`) holds directly in that directory, by name: objects, found by their manifests,
/// and directories, found by any key deeper down. Keys inside object folders (`x.mezz/...`)
/// name no directory. A name that is both an object and a directory is shown as the object.
pub fn stored_entries<'a>(
    prefix: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, Listed> {
    let mut out = BTreeMap::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        if let Some(name) = naming::name_of_manifest(rest).filter(|n| !n.contains('/')) {
            out.insert(name.to_string(), Listed::Object);
            continue;
        }
        let Some((first, _)) = rest.split_once('/') else {
            continue;
        };
        if check_component(first).is_ok() && !naming::is_object_folder(first) {
            out.entry(first.to_string()).or_insert(Listed::Dir);
        }
    }
    out
}

/// Why an operation on the writable directories was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no such file or directory")]
    NotFound,
    #[error("'{0}' exists (writing over an object needs --allow-overwrite)")]
    Exists(String),
    #[error("'{0}' is being written")]
    Busy(String),
    #[error("not a directory")]
    NotDir,
    #[error("is a directory")]
    IsDir,
    #[error("directory not empty")]
    NotEmpty,
    #[error("{0}")]
    NotPermitted(String),
    #[error(
        "'{name}': write at offset {offset}, but the file is written in order and has {expected} bytes; \
         nothing of it will be stored"
    )]
    NonSequential {
        name: String,
        offset: u64,
        expected: u64,
    },
    #[error("{0}")]
    Invalid(String),
    /// A rename the mount cannot do in place (across writable directories, into or out of
    /// the read-only tree, a directory with files): tools then copy and delete.
    #[error("{0}")]
    CrossDevice(String),
    #[error("{0}")]
    Io(String),
}

/// What a rename in the writable directories comes down to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenamePlan {
    /// Source and destination are the same entry: nothing to do.
    Nothing,
    /// Only the table changes: an empty directory, or a file still being written through
    /// handle `fh` (it will be committed under its new name).
    Move { ino: u64, writing: Option<u64> },
    /// A committed file: its object `from` is renamed to `to` in the store, then the table
    /// changes.
    Object { ino: u64, from: String, to: String },
}

impl RenamePlan {
    /// The entry being renamed (none when there is nothing to do).
    fn ino(&self) -> Option<u64> {
        match self {
            RenamePlan::Nothing => None,
            RenamePlan::Move { ino, .. } | RenamePlan::Object { ino, .. } => Some(*ino),
        }
    }
}

/// The writable directories' nodes.
#[derive(Clone, Debug)]
pub struct WriteTable {
    dirs: Vec<WriteDir>,
    /// Index `i` is inode `WRITE_INO_BASE + i`; removed nodes leave `None`.
    nodes: Vec<Option<Node>>,
}

impl WriteTable {
    pub fn new(dirs: Vec<WriteDir>) -> WriteTable {
        let nodes = (0..dirs.len())
            .map(|i| {
                Some(Node {
                    parent: crate::tree::ROOT,
                    dir: i,
                    rel: String::new(),
                    kind: Kind::Dir {
                        children: BTreeMap::new(),
                    },
                })
            })
            .collect();
        WriteTable { dirs, nodes }
    }

    pub fn dirs(&self) -> &[WriteDir] {
        &self.dirs
    }

    pub fn is_write_ino(ino: u64) -> bool {
        ino >= WRITE_INO_BASE
    }

    fn node(&self, ino: u64) -> Option<&Node> {
        let i = ino.checked_sub(WRITE_INO_BASE)?;
        self.nodes.get(usize::try_from(i).ok()?)?.as_ref()
    }

    fn node_mut(&mut self, ino: u64) -> Option<&mut Node> {
        let i = ino.checked_sub(WRITE_INO_BASE)?;
        self.nodes.get_mut(usize::try_from(i).ok()?)?.as_mut()
    }

    /// The writable directories as entries of the mount's root: (inode, name).
    pub fn roots(&self) -> Vec<(u64, String)> {
        self.dirs
            .iter()
            .enumerate()
            .map(|(i, d)| (WRITE_INO_BASE + i as u64, d.dir.clone()))
            .collect()
    }

    /// `name` in directory `parent` (the mount's root for the writable directories).
    pub fn lookup(&self, parent: u64, name: &str) -> Option<u64> {
        if parent == crate::tree::ROOT {
            return self
                .dirs
                .iter()
                .position(|d| d.dir == name)
                .map(|i| WRITE_INO_BASE + i as u64);
        }
        match &self.node(parent)?.kind {
            Kind::Dir { children } => children.get(name).copied(),
            Kind::File(_) => None,
        }
    }

    pub fn attr(&self, ino: u64) -> Option<WriteAttr> {
        Some(match &self.node(ino)?.kind {
            Kind::Dir { .. } => WriteAttr {
                is_dir: true,
                size: 0,
            },
            Kind::File(FileState::Writing { len, .. }) => WriteAttr {
                is_dir: false,
                size: *len,
            },
            Kind::File(FileState::Committed { size }) => WriteAttr {
                is_dir: false,
                size: *size,
            },
        })
    }

    pub fn state(&self, ino: u64) -> Option<FileState> {
        match self.node(ino)?.kind {
            Kind::File(s) => Some(s),
            Kind::Dir { .. } => None,
        }
    }

    /// The object name of file `ino`.
    pub fn object_name(&self, ino: u64) -> Option<String> {
        let n = self.node(ino)?;
        Some(self.dirs[n.dir].object_name(&n.rel))
    }

    /// The path of `name` in directory `parent` from the mount's root (what a replay names).
    pub fn mount_path(&self, parent: u64, name: &str) -> String {
        match self.path_of(parent) {
            Some(dir) => join(&dir, name),
            None => name.into(),
        }
    }

    /// The path of `ino` from the mount's root.
    pub fn path_of(&self, ino: u64) -> Option<String> {
        let n = self.node(ino)?;
        let dir = &self.dirs[n.dir].dir;
        Some(if n.rel.is_empty() {
            dir.clone()
        } else {
            format!("{dir}/{}", n.rel)
        })
    }

    /// The object name a new entry `name` of directory `parent` would have.
    pub fn child_object_name(&self, parent: u64, name: &str) -> Result<String, Refusal> {
        let p = self.node(parent).ok_or(Refusal::NotFound)?;
        if !matches!(p.kind, Kind::Dir { .. }) {
            return Err(Refusal::NotDir);
        }
        check_component(name)?;
        Ok(self.dirs[p.dir].object_name(&join(&p.rel, name)))
    }

    /// The object-name prefix that every object stored under directory `ino` starts with
    /// (what to list to find them), or `None` when `ino` is not a directory here.
    pub fn listing_prefix(&self, ino: u64) -> Option<String> {
        let n = self.node(ino)?;
        if !matches!(n.kind, Kind::Dir { .. }) {
            return None;
        }
        let dir = &self.dirs[n.dir];
        Some(match (n.rel.is_empty(), dir.prefix.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!("{}/", dir.prefix),
            (false, _) => format!("{}/", dir.object_name(&n.rel)),
        })
    }

    /// Makes `name` in `parent` show what the store holds (found by a listing), unless the
    /// table already has that name: then its inode is returned unchanged.
    pub fn adopt(&mut self, parent: u64, name: &str, stored: Stored) -> Result<u64, Refusal> {
        if let Some(ino) = self.lookup(parent, name) {
            return Ok(ino);
        }
        let kind = match stored {
            Stored::File { size } => Kind::File(FileState::Committed { size }),
            Stored::Dir => Kind::Dir {
                children: BTreeMap::new(),
            },
        };
        self.add(parent, name, kind)
    }

    /// Entries of directory `ino`, after `.` and `..`: (inode, name, is_dir).
    pub fn entries(&self, ino: u64) -> Option<Entries> {
        let n = self.node(ino)?;
        let Kind::Dir { children } = &n.kind else {
            return None;
        };
        let mut out = vec![(ino, ".".into(), true), (n.parent, "..".into(), true)];
        for (name, &child) in children {
            let is_dir = self.attr(child).is_some_and(|a| a.is_dir);
            out.push((child, name.clone(), is_dir));
        }
        Some(out)
    }

    fn add(&mut self, parent: u64, name: &str, kind: Kind) -> Result<u64, Refusal> {
        check_component(name)?;
        let ino = WRITE_INO_BASE + self.nodes.len() as u64;
        let p = self.node_mut(parent).ok_or(Refusal::NotFound)?;
        let (dir, rel) = (p.dir, join(&p.rel, name));
        let Kind::Dir { children } = &mut p.kind else {
            return Err(Refusal::NotDir);
        };
        if children.contains_key(name) {
            return Err(Refusal::Exists(name.into()));
        }
        children.insert(name.into(), ino);
        self.nodes.push(Some(Node {
            parent,
            dir,
            rel,
            kind,
        }));
        Ok(ino)
    }

    pub fn mkdir(&mut self, parent: u64, name: &str) -> Result<u64, Refusal> {
        self.add(
            parent,
            name,
            Kind::Dir {
                children: BTreeMap::new(),
            },
        )
    }

    /// Starts writing `name` in `parent` through handle `fh`: a new file, or a new version
    /// of a committed one when `overwrite`. Returns its inode.
    pub fn begin_write(
        &mut self,
        parent: u64,
        name: &str,
        fh: u64,
        overwrite: bool,
    ) -> Result<u64, Refusal> {
        let writing = Kind::File(FileState::Writing { fh, len: 0 });
        match self.lookup(parent, name) {
            None => self.add(parent, name, writing),
            Some(ino) => self.rewrite(ino, fh, overwrite).map(|()| ino),
        }
    }

    /// Starts a new version of the committed file `ino` through handle `fh`.
    pub fn rewrite(&mut self, ino: u64, fh: u64, overwrite: bool) -> Result<(), Refusal> {
        let name = self.object_name(ino).unwrap_or_default();
        let node = self.node_mut(ino).ok_or(Refusal::NotFound)?;
        match node.kind {
            Kind::Dir { .. } => Err(Refusal::IsDir),
            Kind::File(FileState::Writing { .. }) => Err(Refusal::Busy(name)),
            Kind::File(FileState::Committed { .. }) if !overwrite => Err(Refusal::Exists(name)),
            Kind::File(FileState::Committed { .. }) => {
                node.kind = Kind::File(FileState::Writing { fh, len: 0 });
                Ok(())
            }
        }
    }

    /// Checks that a write of `len` bytes at `offset` continues file `ino` written through
    /// `fh`, and counts it. A write anywhere else is refused.
    pub fn append(&mut self, ino: u64, fh: u64, offset: u64, len: u64) -> Result<(), Refusal> {
        let name = self.object_name(ino).unwrap_or_default();
        let node = self.node_mut(ino).ok_or(Refusal::NotFound)?;
        match &mut node.kind {
            Kind::File(FileState::Writing { fh: f, len: have }) if *f == fh => {
                if offset != *have {
                    return Err(Refusal::NonSequential {
                        name,
                        offset,
                        expected: *have,
                    });
                }
                *have += len;
                Ok(())
            }
            Kind::Dir { .. } => Err(Refusal::IsDir),
            _ => Err(Refusal::NotPermitted(format!(
                "'{name}' is not open for writing through this handle"
            ))),
        }
    }

    /// Writing through `fh` ended: committed with `size` bytes, or (None) given up, which
    /// removes the file.
    pub fn end_write(&mut self, ino: u64, fh: u64, committed: Option<u64>) {
        let ours = self.node(ino).is_some_and(
            |n| matches!(n.kind, Kind::File(FileState::Writing { fh: f, .. }) if f == fh),
        );
        if !ours {
            return;
        }
        match committed {
            Some(size) => {
                if let Some(node) = self.node_mut(ino) {
                    node.kind = Kind::File(FileState::Committed { size });
                }
            }
            None => self.forget(ino),
        }
    }

    /// Removes node `ino` from its parent.
    fn forget(&mut self, ino: u64) {
        let Some(node) = self.node(ino).cloned() else {
            return;
        };
        if let Some(Node {
            kind: Kind::Dir { children },
            ..
        }) = self.node_mut(node.parent)
        {
            children.retain(|_, &mut c| c != ino);
        }
        if let Some(slot) = ino
            .checked_sub(WRITE_INO_BASE)
            .and_then(|i| self.nodes.get_mut(i as usize))
        {
            *slot = None;
        }
    }

    /// What renaming `name` of `parent` to `new_name` of `new_parent` must do, or why it is
    /// refused. A destination that is a committed file is replaced only when `overwrite`;
    /// one being written, or a directory, never is. Files move within and between writable
    /// directories (an object takes its new directory's prefix), directories only when empty.
    pub fn plan_rename(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
        overwrite: bool,
    ) -> Result<RenamePlan, Refusal> {
        let ino = self.lookup(parent, name).ok_or(Refusal::NotFound)?;
        if parent == crate::tree::ROOT {
            return Err(Refusal::NotPermitted(
                "a writable directory itself cannot be renamed".into(),
            ));
        }
        let node = self.node(ino).ok_or(Refusal::NotFound)?;
        // Another writable directory is another prefix in the same store: the object is
        // renamed there like anywhere else. Out of the writable directories is not.
        let target = self.node(new_parent).ok_or(Refusal::CrossDevice(
            "renaming out of a writable directory".into(),
        ))?;
        if !matches!(target.kind, Kind::Dir { .. }) {
            return Err(Refusal::NotDir);
        }
        check_component(new_name)?;
        let existing = self.lookup(new_parent, new_name);
        if existing == Some(ino) {
            return Ok(RenamePlan::Nothing);
        }
        let to = self.dirs[target.dir].object_name(&join(&target.rel, new_name));
        match (&node.kind, existing.map(|e| self.node(e).map(|n| &n.kind))) {
            (_, Some(None)) => return Err(Refusal::NotFound),
            (Kind::Dir { children }, dest) => {
                if !children.is_empty() {
                    return Err(Refusal::CrossDevice(
                        "renaming a directory with files in it (each object would be renamed)"
                            .into(),
                    ));
                }
                if dest.is_some() {
                    return Err(Refusal::Exists(to));
                }
            }
            (Kind::File(_), Some(Some(Kind::Dir { .. }))) => return Err(Refusal::IsDir),
            (Kind::File(_), Some(Some(Kind::File(FileState::Writing { .. })))) => {
                return Err(Refusal::Busy(to));
            }
            (Kind::File(_), Some(Some(Kind::File(FileState::Committed { .. })))) if !overwrite => {
                return Err(Refusal::Exists(to));
            }
            (Kind::File(_), _) => {}
        }
        Ok(match node.kind {
            Kind::Dir { .. } => RenamePlan::Move { ino, writing: None },
            Kind::File(FileState::Writing { fh, .. }) => RenamePlan::Move {
                ino,
                writing: Some(fh),
            },
            Kind::File(FileState::Committed { .. }) => RenamePlan::Object {
                ino,
                from: self.dirs[node.dir].object_name(&node.rel),
                to,
            },
        })
    }

    /// Carries out a planned rename in the table: the entry moves to `new_name` of
    /// `new_parent`, replacing (forgetting) what was there.
    pub fn apply_rename(
        &mut self,
        plan: &RenamePlan,
        new_parent: u64,
        new_name: &str,
    ) -> Result<(), Refusal> {
        let Some(ino) = plan.ino() else {
            return Ok(());
        };
        let (dir, rel) = {
            let target = self.node(new_parent).ok_or(Refusal::NotFound)?;
            (target.dir, join(&target.rel, new_name))
        };
        if let Some(replaced) = self.lookup(new_parent, new_name) {
            self.forget(replaced);
        }
        let old_parent = self.node(ino).ok_or(Refusal::NotFound)?.parent;
        if let Some(Node {
            kind: Kind::Dir { children },
            ..
        }) = self.node_mut(old_parent)
        {
            children.retain(|_, &mut c| c != ino);
        }
        if let Some(Node {
            kind: Kind::Dir { children },
            ..
        }) = self.node_mut(new_parent)
        {
            children.insert(new_name.into(), ino);
        }
        let node = self.node_mut(ino).ok_or(Refusal::NotFound)?;
        node.parent = new_parent;
        node.dir = dir;
        node.rel = rel;
        Ok(())
    }

    /// Removes the committed file `name` of `parent` (the object is deleted by the caller).
    pub fn unlink(&mut self, parent: u64, name: &str) -> Result<u64, Refusal> {
        let ino = self.lookup(parent, name).ok_or(Refusal::NotFound)?;
        match self.state(ino) {
            None => Err(Refusal::IsDir),
            Some(FileState::Writing { .. }) => Err(Refusal::Busy(name.into())),
            Some(FileState::Committed { .. }) => {
                self.forget(ino);
                Ok(ino)
            }
        }
    }

    /// Removes the empty directory `name` of `parent`.
    pub fn rmdir(&mut self, parent: u64, name: &str) -> Result<(), Refusal> {
        let ino = self.lookup(parent, name).ok_or(Refusal::NotFound)?;
        match &self.node(ino).ok_or(Refusal::NotFound)?.kind {
            Kind::Dir { children } if children.is_empty() => {
                if parent == crate::tree::ROOT {
                    return Err(Refusal::NotPermitted(
                        "a writable directory itself cannot be removed".into(),
                    ));
                }
                self.forget(ino);
                Ok(())
            }
            Kind::Dir { .. } => Err(Refusal::NotEmpty),
            Kind::File(_) => Err(Refusal::NotDir),
        }
    }
}

fn join(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.into()
    } else {
        format!("{rel}/{name}")
    }
}

fn check_component(name: &str) -> Result<(), Refusal> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Refusal::Invalid(format!("invalid name '{name}'")));
    }
    if name.ends_with(".mezz") {
        return Err(Refusal::Invalid(format!(
            "'{name}': names ending in '.mezz' are reserved for object folders"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::ROOT;

    fn table() -> WriteTable {
        WriteTable::new(vec![WriteDir::parse("out=encodes/").expect("dir")])
    }

    #[test]
    fn a_listing_names_the_objects_and_directories_directly_inside() {
        let keys = [
            "encodes/a.bin.mezz/manifest",
            "encodes/a.bin.mezz/0123abcd/000000",
            "encodes/a.bin2.mezz/manifest",
            "encodes/scenes/s1.ivf.mezz/manifest",
            "encodes/scenes/s1.ivf.mezz/0123abcd/000000",
            "encodes/old.mp4.mezz/0123abcd/000000", // parts without a manifest: no object
            "encodes/both.mezz/manifest",
            "encodes/both/inner.mezz/manifest",
            "elsewhere/x.mezz/manifest",
        ];
        let found = stored_entries("encodes/", keys);
        let expect: BTreeMap<String, Listed> = [
            ("a.bin", Listed::Object),
            ("a.bin2", Listed::Object),
            ("both", Listed::Object),
            ("scenes", Listed::Dir),
        ]
        .into_iter()
        .map(|(n, l)| (n.to_string(), l))
        .collect();
        assert_eq!(found, expect);
    }

    #[test]
    fn stored_names_join_the_table_and_known_ones_stay_as_they_are() {
        let mut t = table();
        let out = t.lookup(ROOT, "out").expect("out");
        assert_eq!(t.listing_prefix(out).as_deref(), Some("encodes/"));
        let a = t
            .adopt(out, "a.bin", Stored::File { size: 9 })
            .expect("adopt");
        assert_eq!(t.state(a), Some(FileState::Committed { size: 9 }));
        let d = t.adopt(out, "scenes", Stored::Dir).expect("adopt dir");
        assert_eq!(t.listing_prefix(d).as_deref(), Some("encodes/scenes/"));
        assert_eq!(t.object_name(a).as_deref(), Some("encodes/a.bin"));
        // Adopting a name the table has changes nothing.
        let again = t
            .adopt(out, "a.bin", Stored::File { size: 1 })
            .expect("again");
        assert_eq!(
            (again, t.state(a)),
            (a, Some(FileState::Committed { size: 9 }))
        );
        // What was adopted behaves as what was written: deleting it is allowed.
        assert_eq!(t.unlink(out, "a.bin"), Ok(a));
        assert_eq!(t.listing_prefix(a), None);
        let none = WriteTable::new(vec![WriteDir::parse("o=").expect("dir")]);
        assert_eq!(
            none.listing_prefix(none.lookup(ROOT, "o").expect("o"))
                .as_deref(),
            Some("")
        );
    }

    #[test]
    fn write_dir_arguments() {
        let d = WriteDir::parse("out=encodes/").expect("ok");
        assert_eq!(d.prefix, "encodes");
        assert_eq!(d.object_name("a/b.ivf"), "encodes/a/b.ivf");
        assert_eq!(WriteDir::parse("out=").expect("ok").object_name("x"), "x");
        for bad in ["out", "=x", "a/b=x", ".hidden=x", "out=a/../b", "out=a//b"] {
            assert!(WriteDir::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn files_are_written_in_order_then_committed() {
        let mut t = table();
        let out = t.lookup(ROOT, "out").expect("out");
        let sub = t.mkdir(out, "scenes").expect("mkdir");
        let f = t.begin_write(sub, "x.ivf", 7, false).expect("create");
        assert_eq!(t.object_name(f).as_deref(), Some("encodes/scenes/x.ivf"));
        t.append(f, 7, 0, 10).expect("first");
        t.append(f, 7, 10, 5).expect("next");
        assert_eq!(
            t.append(f, 7, 3, 1),
            Err(Refusal::NonSequential {
                name: "encodes/scenes/x.ivf".into(),
                offset: 3,
                expected: 15
            })
        );
        assert!(t.append(f, 8, 15, 1).is_err(), "another handle");
        assert_eq!(t.attr(f).map(|a| a.size), Some(15));
        t.end_write(f, 7, Some(15));
        assert_eq!(t.state(f), Some(FileState::Committed { size: 15 }));
        assert!(matches!(
            t.begin_write(sub, "x.ivf", 9, false),
            Err(Refusal::Exists(_))
        ));
        assert_eq!(t.begin_write(sub, "x.ivf", 9, true), Ok(f));
        assert!(matches!(t.unlink(sub, "x.ivf"), Err(Refusal::Busy(_))));
    }

    #[test]
    fn paths_in_the_mount_start_at_the_writable_directory() {
        let mut t = table();
        let out = t.lookup(ROOT, "out").expect("out");
        let sub = t.mkdir(out, "scenes").expect("mkdir");
        let f = t.begin_write(sub, "x.ivf", 7, false).expect("create");
        assert_eq!(t.mount_path(out, "a.ivf"), "out/a.ivf");
        assert_eq!(t.mount_path(sub, "x.ivf"), "out/scenes/x.ivf");
        assert_eq!(t.path_of(f).as_deref(), Some("out/scenes/x.ivf"));
        assert_eq!(t.path_of(out).as_deref(), Some("out"));
        assert_eq!(t.mount_path(ROOT, "movie"), "movie");
    }

    #[test]
    fn a_given_up_file_disappears() {
        let mut t = table();
        let out = t.lookup(ROOT, "out").expect("out");
        let f = t.begin_write(out, "x", 1, false).expect("create");
        t.end_write(f, 1, None);
        assert_eq!(t.lookup(out, "x"), None);
        assert_eq!(t.entries(out).map(|e| e.len()), Some(2));
        assert!(t.attr(f).is_none());
    }

    #[test]
    fn renames_within_and_across_writable_directories() {
        let mut t = WriteTable::new(vec![
            WriteDir::parse("out=encodes/").expect("dir"),
            WriteDir::parse("logs=logs").expect("dir"),
        ]);
        let out = t.lookup(ROOT, "out").expect("out");
        let logs = t.lookup(ROOT, "logs").expect("logs");
        let sub = t.mkdir(out, "sub").expect("mkdir");
        let tmp = t.begin_write(out, "x.tmp1", 1, false).expect("create");
        // Still being written: only the table changes, the file keeps its inode.
        let plan = t.plan_rename(out, "x.tmp1", sub, "x", false).expect("plan");
        assert_eq!(
            plan,
            RenamePlan::Move {
                ino: tmp,
                writing: Some(1)
            }
        );
        t.apply_rename(&plan, sub, "x").expect("apply");
        assert_eq!(t.lookup(out, "x.tmp1"), None);
        assert_eq!(t.lookup(sub, "x"), Some(tmp));
        assert_eq!(t.object_name(tmp).as_deref(), Some("encodes/sub/x"));
        t.end_write(tmp, 1, Some(4));
        // Committed: the object is renamed.
        let plan = t.plan_rename(sub, "x", out, "final", false).expect("plan");
        assert_eq!(
            plan,
            RenamePlan::Object {
                ino: tmp,
                from: "encodes/sub/x".into(),
                to: "encodes/final".into()
            }
        );
        t.apply_rename(&plan, out, "final").expect("apply");
        assert_eq!(t.entries(sub).map(|e| e.len()), Some(2));
        // Onto a committed file: only when overwriting, and the replaced entry goes away.
        let other = t.begin_write(out, "other", 2, false).expect("create");
        assert_eq!(
            t.plan_rename(out, "final", out, "other", false),
            Err(Refusal::Busy("encodes/other".into()))
        );
        t.end_write(other, 2, Some(9));
        assert_eq!(
            t.plan_rename(out, "final", out, "other", false),
            Err(Refusal::Exists("encodes/other".into()))
        );
        let plan = t
            .plan_rename(out, "final", out, "other", true)
            .expect("plan");
        t.apply_rename(&plan, out, "other").expect("apply");
        assert_eq!(t.lookup(out, "other"), Some(tmp));
        assert!(t.attr(other).is_none(), "the replaced file is forgotten");
        assert_eq!(t.attr(tmp).map(|a| a.size), Some(4));
        // Onto itself: nothing.
        assert_eq!(
            t.plan_rename(out, "other", out, "other", false),
            Ok(RenamePlan::Nothing)
        );
        // Into another writable directory: the object moves to that directory's prefix.
        assert_eq!(
            t.plan_rename(out, "other", logs, "x", true),
            Ok(RenamePlan::Object {
                ino: tmp,
                from: "encodes/other".into(),
                to: "logs/x".into()
            })
        );
        // Refused: out of them, onto a directory, into a file, a missing source, a reserved
        // name, the writable directory itself.
        assert!(matches!(
            t.plan_rename(out, "other", ROOT, "x", true),
            Err(Refusal::CrossDevice(_))
        ));
        assert_eq!(
            t.plan_rename(out, "other", out, "sub", true),
            Err(Refusal::IsDir)
        );
        assert_eq!(
            t.plan_rename(out, "sub", tmp, "x", true),
            Err(Refusal::NotDir)
        );
        assert_eq!(
            t.plan_rename(out, "nope", out, "x", true),
            Err(Refusal::NotFound)
        );
        assert!(matches!(
            t.plan_rename(out, "other", out, "x.mezz", true),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            t.plan_rename(ROOT, "out", ROOT, "out2", true),
            Err(Refusal::NotPermitted(_))
        ));
        // Directories: empty ones move, others are left to the tools (EXDEV: copy).
        let plan = t.plan_rename(out, "sub", out, "sub2", false).expect("plan");
        assert_eq!(
            plan,
            RenamePlan::Move {
                ino: sub,
                writing: None
            }
        );
        t.apply_rename(&plan, out, "sub2").expect("apply");
        t.begin_write(sub, "f", 3, false)
            .expect("create in the moved dir");
        assert_eq!(
            t.object_name(t.lookup(sub, "f").expect("f")).as_deref(),
            Some("encodes/sub2/f")
        );
        assert!(matches!(
            t.plan_rename(out, "sub2", out, "sub3", false),
            Err(Refusal::CrossDevice(_))
        ));
    }

    #[test]
    fn a_file_being_written_moves_to_another_writable_directory() {
        let mut t = WriteTable::new(vec![
            WriteDir::parse("out=encodes/").expect("dir"),
            WriteDir::parse("logs=logs").expect("dir"),
        ]);
        let (out, logs) = (
            t.lookup(ROOT, "out").expect("out"),
            t.lookup(ROOT, "logs").expect("logs"),
        );
        let f = t.begin_write(out, "run.log.tmp", 7, false).expect("create");
        let plan = t
            .plan_rename(out, "run.log.tmp", logs, "run.log", false)
            .expect("plan");
        assert_eq!(
            plan,
            RenamePlan::Move {
                ino: f,
                writing: Some(7)
            }
        );
        t.apply_rename(&plan, logs, "run.log").expect("apply");
        // It will be committed under the other directory's prefix, and writes go on in order.
        assert_eq!(t.object_name(f).as_deref(), Some("logs/run.log"));
        assert_eq!(t.path_of(f).as_deref(), Some("logs/run.log"));
        t.append(f, 7, 0, 5).expect("in order");
        assert_eq!(t.entries(out).map(|e| e.len()), Some(2));
    }

    #[test]
    fn directories() {
        let mut t = table();
        let out = t.lookup(ROOT, "out").expect("out");
        let d = t.mkdir(out, "d").expect("mkdir");
        t.begin_write(d, "f", 1, false).expect("create");
        assert_eq!(t.rmdir(out, "d"), Err(Refusal::NotEmpty));
        assert!(t.mkdir(out, "x.mezz").is_err());
        assert!(t.rmdir(ROOT, "out").is_err());
        assert!(t.child_object_name(out, "..").is_err());
    }
}
