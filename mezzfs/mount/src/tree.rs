//! The mount's directory tree: fixed at mount time, so inode numbers are indexes into a vector
//! and lookups never change anything.
//!
//! Inode 1 is the root. Every file maps to a byte range of one mounted object (the whole object
//! for object files). The statistics file is a node of its own kind.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::spec::STATS_FILE;

pub const ROOT: u64 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Dir {
        /// Children by name, in name order (readdir order).
        children: BTreeMap<String, u64>,
    },
    File {
        /// Index of the file in the list the tree was built from (replays name files by it).
        file: usize,
        object: usize,
        range: Range<u64>,
    },
    Stats,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub parent: u64,
    pub kind: NodeKind,
}

/// A file to place in the tree: its path and the object bytes it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub object: usize,
    pub range: Range<u64>,
}

#[derive(Clone, Debug)]
pub struct Tree {
    /// Index 0 is unused so that an inode number is its index.
    nodes: Vec<Node>,
}

impl Tree {
    /// Builds the tree. Paths were validated by [`crate::MountSpec::validate`]; a path that
    /// collides with an existing one is skipped rather than corrupting the tree.
    pub fn build(files: &[FileEntry]) -> Tree {
        let root = Node {
            parent: ROOT,
            kind: NodeKind::Dir {
                children: BTreeMap::new(),
            },
        };
        let mut tree = Tree {
            nodes: vec![root.clone(), root],
        };
        tree.add_child(ROOT, STATS_FILE, NodeKind::Stats);
        for (index, f) in files.iter().enumerate() {
            let mut dir = ROOT;
            let segs: Vec<&str> = f.path.split('/').collect();
            let Some((name, dirs)) = segs.split_last() else {
                continue;
            };
            let mut ok = true;
            for d in dirs {
                dir = match tree.lookup(dir, d) {
                    Some(ino) if matches!(tree.nodes[ino as usize].kind, NodeKind::Dir { .. }) => {
                        ino
                    }
                    Some(_) => {
                        ok = false;
                        break;
                    }
                    None => tree.add_child(
                        dir,
                        d,
                        NodeKind::Dir {
                            children: BTreeMap::new(),
                        },
                    ),
                };
            }
            if ok && tree.lookup(dir, name).is_none() {
                tree.add_child(
                    dir,
                    name,
                    NodeKind::File {
                        file: index,
                        object: f.object,
                        range: f.range.clone(),
                    },
                );
            }
        }
        tree
    }

    fn add_child(&mut self, parent: u64, name: &str, kind: NodeKind) -> u64 {
        let ino = self.nodes.len() as u64;
        self.nodes.push(Node { parent, kind });
        if let NodeKind::Dir { children } = &mut self.nodes[parent as usize].kind {
            children.insert(name.to_string(), ino);
        }
        ino
    }

    pub fn node(&self, ino: u64) -> Option<&Node> {
        if ino == 0 {
            return None;
        }
        self.nodes.get(ino as usize)
    }

    pub fn lookup(&self, parent: u64, name: &str) -> Option<u64> {
        match &self.node(parent)?.kind {
            NodeKind::Dir { children } => children.get(name).copied(),
            _ => None,
        }
    }

    /// Entries of a directory after `.` and `..`: (inode, name, is_dir).
    pub fn entries(&self, dir: u64) -> Option<Vec<(u64, String, bool)>> {
        let node = self.node(dir)?;
        let NodeKind::Dir { children } = &node.kind else {
            return None;
        };
        let mut out = vec![
            (dir, ".".to_string(), true),
            (node.parent, "..".to_string(), true),
        ];
        for (name, &ino) in children {
            let is_dir = matches!(self.nodes[ino as usize].kind, NodeKind::Dir { .. });
            out.push((ino, name.clone(), is_dir));
        }
        Some(out)
    }

    pub fn len(&self) -> usize {
        self.nodes.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, object: usize, range: Range<u64>) -> FileEntry {
        FileEntry {
            path: path.into(),
            object,
            range,
        }
    }

    #[test]
    fn files_and_directories() {
        let t = Tree::build(&[
            entry("movie.y4m", 0, 0..1000),
            entry("scenes/s1.y4m", 0, 0..10),
            entry("scenes/s2.y4m", 0, 10..30),
            entry("other/deep/x", 1, 5..6),
        ]);
        let movie = t.lookup(ROOT, "movie.y4m").expect("movie");
        assert_eq!(
            t.node(movie).map(|n| &n.kind),
            Some(&NodeKind::File {
                file: 0,
                object: 0,
                range: 0..1000
            })
        );
        let scenes = t.lookup(ROOT, "scenes").expect("scenes");
        let s2 = t.lookup(scenes, "s2.y4m").expect("s2");
        assert!(
            matches!(t.node(s2).map(|n| &n.kind), Some(NodeKind::File { range, .. }) if *range == (10..30))
        );
        assert_eq!(t.node(s2).map(|n| n.parent), Some(scenes));
        let names: Vec<String> = t
            .entries(ROOT)
            .expect("root")
            .into_iter()
            .map(|e| e.1)
            .collect();
        assert_eq!(
            names,
            [".", "..", STATS_FILE, "movie.y4m", "other", "scenes"]
        );
        let deep = t
            .lookup(t.lookup(ROOT, "other").expect("other"), "deep")
            .expect("deep");
        assert_eq!(t.entries(deep).expect("deep").len(), 3);
        assert!(t.lookup(movie, "x").is_none(), "files have no children");
        assert!(t.entries(movie).is_none());
        assert!(t.node(0).is_none() && t.node(999).is_none());
    }

    #[test]
    fn colliding_paths_are_skipped() {
        let t = Tree::build(&[
            entry("a", 0, 0..1),
            entry("a/b", 0, 0..1),
            entry("a", 1, 0..2),
        ]);
        let a = t.lookup(ROOT, "a").expect("a");
        assert!(matches!(
            t.node(a).map(|n| &n.kind),
            Some(NodeKind::File { object: 0, .. })
        ));
        assert_eq!(t.len(), 3, "root, stats, a");
    }
}
