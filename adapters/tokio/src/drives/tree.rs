//! The inodes of a mounted drive: what the kernel has been told about, by number, with the
//! listing each folder was last filled from. Inodes live as long as the mount (the kernel's
//! `forget` is not tracked), and a file keeps its inode across renames.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const ROOT: u64 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// What the local cache holds of a file, beside its blocks (the cache policy's business).
#[derive(Clone, Debug, Default)]
pub struct Local {
    /// Every byte is in the cache file (hydrated, or written here).
    pub complete: bool,
    /// Holds changes the bucket does not have yet.
    pub dirty: bool,
    /// Bumped by every change, so an upload knows whether it sent the latest bytes.
    pub generation: u64,
    /// Open handles.
    pub open: u32,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub parent: u64,
    pub name: String,
    /// Relative path inside the drive (`/`-separated, empty for the root).
    pub rel: String,
    pub kind: Kind,
    pub size: u64,
    pub mtime: SystemTime,
    /// Where the file's bytes are in the bucket now; `None` until its first upload. A renamed
    /// file's old key stays here until the copy under the new name exists.
    pub remote_key: Option<String>,
    /// When the bucket's object was last written (Unix ms) as the last listing showed it;
    /// `None` until listed (and after an upload from here, until listed again).
    pub remote_mtime: Option<u64>,
    /// Folders: children by name.
    pub children: BTreeMap<String, u64>,
    /// Folders: when the children were last filled from a complete listing.
    pub listed: Option<Instant>,
    pub local: Local,
}

impl Node {
    fn new(parent: u64, name: &str, rel: String, kind: Kind) -> Node {
        Node {
            parent,
            name: name.to_string(),
            rel,
            kind,
            size: 0,
            mtime: SystemTime::now(),
            remote_key: None,
            remote_mtime: None,
            children: BTreeMap::new(),
            listed: None,
            local: Local::default(),
        }
    }
}

/// One entry of a folder listing.
pub struct Listed {
    pub name: String,
    pub kind: Kind,
    pub size: u64,
    /// Unix ms.
    pub mtime: Option<u64>,
    pub key: String,
}

/// What a listing changed that the kernel may hold in its caches.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// Files whose bytes in the bucket changed.
    pub changed: Vec<u64>,
    /// Names gone from their folder (or replaced by a node of another kind), with the files
    /// that were under them.
    pub gone: Vec<Gone>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Gone {
    pub parent: u64,
    pub name: String,
    pub files: Vec<u64>,
}

pub struct Tree {
    nodes: HashMap<u64, Node>,
    next: u64,
}

pub fn child_rel(parent_rel: &str, name: &str) -> String {
    if parent_rel.is_empty() {
        name.to_string()
    } else {
        format!("{parent_rel}/{name}")
    }
}

impl Tree {
    pub fn new() -> Tree {
        let mut nodes = HashMap::new();
        nodes.insert(ROOT, Node::new(ROOT, "", String::new(), Kind::Dir));
        Tree {
            nodes,
            next: ROOT + 1,
        }
    }

    pub fn get(&self, ino: u64) -> Option<&Node> {
        self.nodes.get(&ino)
    }

    pub fn get_mut(&mut self, ino: u64) -> Option<&mut Node> {
        self.nodes.get_mut(&ino)
    }

    pub fn child(&self, parent: u64, name: &str) -> Option<u64> {
        self.nodes.get(&parent)?.children.get(name).copied()
    }

    /// The inode at `rel` among the nodes already known.
    pub fn find(&self, rel: &str) -> Option<u64> {
        rel.split('/')
            .filter(|n| !n.is_empty())
            .try_fold(ROOT, |ino, name| self.child(ino, name))
    }

    /// A new node `name` in `parent` (replacing one of that name).
    pub fn insert(&mut self, parent: u64, name: &str, kind: Kind) -> u64 {
        if let Some(old) = self.child(parent, name) {
            self.remove(old);
        }
        let ino = self.next;
        self.next += 1;
        let rel = child_rel(&self.nodes[&parent].rel, name);
        self.nodes.insert(ino, Node::new(parent, name, rel, kind));
        if let Some(p) = self.nodes.get_mut(&parent) {
            p.children.insert(name.to_string(), ino);
        }
        ino
    }

    /// Forgets `ino` and everything under it.
    pub fn remove(&mut self, ino: u64) {
        let Some(node) = self.nodes.remove(&ino) else {
            return;
        };
        if let Some(p) = self.nodes.get_mut(&node.parent)
            && p.children.get(&node.name) == Some(&ino)
        {
            p.children.remove(&node.name);
        }
        for child in node.children.into_values() {
            self.remove(child);
        }
    }

    /// Moves `ino` to `name` in `parent`, replacing what was there; paths below follow.
    pub fn rename(&mut self, ino: u64, parent: u64, name: &str) {
        if let Some(old) = self.child(parent, name).filter(|o| *o != ino) {
            self.remove(old);
        }
        let Some(node) = self.nodes.get(&ino) else {
            return;
        };
        let (old_parent, old_name) = (node.parent, node.name.clone());
        if let Some(p) = self.nodes.get_mut(&old_parent) {
            p.children.remove(&old_name);
        }
        if let Some(p) = self.nodes.get_mut(&parent) {
            p.children.insert(name.to_string(), ino);
        }
        let rel = child_rel(&self.nodes[&parent].rel, name);
        let node = self.nodes.get_mut(&ino).expect("checked above");
        node.parent = parent;
        node.name = name.to_string();
        self.set_rel(ino, rel);
    }

    fn set_rel(&mut self, ino: u64, rel: String) {
        let Some(node) = self.nodes.get_mut(&ino) else {
            return;
        };
        node.rel = rel;
        let children: Vec<(String, u64)> =
            node.children.iter().map(|(n, i)| (n.clone(), *i)).collect();
        let base = node.rel.clone();
        for (name, child) in children {
            self.set_rel(child, child_rel(&base, &name));
        }
    }

    /// Fills folder `dir` from a listing. A complete listing also drops the children it no
    /// longer has, except files holding local changes (not uploaded yet) and nodes a folder
    /// rename is still moving (`keep`).
    pub fn merge(
        &mut self,
        dir: u64,
        entries: Vec<Listed>,
        complete: bool,
        keep: impl Fn(&Node) -> bool,
    ) -> Merged {
        let mut merged = Merged::default();
        let mut seen = std::collections::HashSet::new();
        for e in entries {
            seen.insert(e.name.clone());
            let ino = match self.child(dir, &e.name) {
                Some(i) if self.nodes[&i].kind == e.kind => i,
                existing => {
                    if let Some(old) = existing {
                        merged.gone.push(self.gone(dir, &e.name, old));
                    }
                    self.insert(dir, &e.name, e.kind)
                }
            };
            let node = self.nodes.get_mut(&ino).expect("just found or made");
            if node.kind == Kind::File && !node.local.dirty {
                let rewritten =
                    matches!((node.remote_mtime, e.mtime), (Some(a), Some(b)) if a != b);
                let known = node.remote_key.is_some();
                if known
                    && (rewritten
                        || node.size != e.size
                        || node.remote_key.as_deref() != Some(&e.key))
                {
                    node.local.complete = false;
                    node.local.generation += 1;
                    merged.changed.push(ino);
                }
                node.size = e.size;
                if let Some(ms) = e.mtime {
                    node.mtime = UNIX_EPOCH + Duration::from_millis(ms);
                }
                node.remote_mtime = e.mtime;
                node.remote_key = Some(e.key);
            }
        }
        if complete {
            let gone: Vec<(String, u64)> = self.nodes[&dir]
                .children
                .iter()
                .filter(|(name, _)| !seen.contains(*name))
                .map(|(name, ino)| (name.clone(), *ino))
                .filter(|(_, ino)| {
                    let n = &self.nodes[ino];
                    !n.local.dirty && n.local.open == 0 && !keep(n)
                })
                .collect();
            for (name, ino) in gone {
                merged.gone.push(self.gone(dir, &name, ino));
                self.remove(ino);
            }
            if let Some(d) = self.nodes.get_mut(&dir) {
                d.listed = Some(Instant::now());
            }
        }
        merged
    }

    fn gone(&self, parent: u64, name: &str, ino: u64) -> Gone {
        Gone {
            parent,
            name: name.to_string(),
            files: self.files_under(ino),
        }
    }

    /// Marks folder `ino` and the folders under it as never listed.
    pub fn forget_listings(&mut self, ino: u64) {
        let Some(node) = self.nodes.get_mut(&ino) else {
            return;
        };
        node.listed = None;
        let children: Vec<u64> = node.children.values().copied().collect();
        for child in children {
            self.forget_listings(child);
        }
    }

    /// Every file under `ino` (itself, if a file).
    pub fn files_under(&self, ino: u64) -> Vec<u64> {
        let Some(node) = self.nodes.get(&ino) else {
            return Vec::new();
        };
        match node.kind {
            Kind::File => vec![ino],
            Kind::Dir => node
                .children
                .values()
                .flat_map(|c| self.files_under(*c))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, kind: Kind, size: u64) -> Listed {
        Listed {
            name: name.into(),
            kind,
            size,
            mtime: None,
            key: name.into(),
        }
    }

    #[test]
    fn renames_carry_paths_below_and_replace_the_target() {
        let mut t = Tree::new();
        let a = t.insert(ROOT, "a", Kind::Dir);
        let f = t.insert(a, "f", Kind::File);
        let b = t.insert(ROOT, "b", Kind::File);
        t.rename(a, ROOT, "b");
        assert_eq!(t.get(f).unwrap().rel, "b/f");
        assert!(t.get(b).is_none());
        assert_eq!(t.find("b/f"), Some(f));
        assert_eq!(t.find("a"), None);
    }

    #[test]
    fn a_listing_reports_rewritten_files_and_names_gone() {
        let mut t = Tree::new();
        let at = |mut l: Listed, ms: u64| {
            l.mtime = Some(ms);
            l
        };
        let first = t.merge(
            ROOT,
            vec![
                at(listed("same", Kind::File, 1), 10),
                at(listed("rewritten", Kind::File, 1), 10),
                at(listed("grown", Kind::File, 1), 10),
                listed("dir", Kind::Dir, 0),
            ],
            true,
            |_| false,
        );
        assert_eq!(first, Merged::default(), "nothing was known before");
        let dir = t.find("dir").unwrap();
        let inside = t.insert(dir, "inside", Kind::File);
        let merged = t.merge(
            ROOT,
            vec![
                at(listed("same", Kind::File, 1), 10),
                at(listed("rewritten", Kind::File, 1), 11),
                at(listed("grown", Kind::File, 2), 10),
                listed("dir", Kind::File, 5),
            ],
            true,
            |_| false,
        );
        let (rewritten, grown) = (t.find("rewritten").unwrap(), t.find("grown").unwrap());
        assert_eq!(merged.changed, vec![rewritten, grown]);
        assert!(!t.get(rewritten).unwrap().local.complete);
        assert_eq!(
            merged.gone,
            vec![Gone {
                parent: ROOT,
                name: "dir".into(),
                files: vec![inside],
            }],
            "a folder replaced by a file is gone, with the files under it"
        );
        let gone = t.merge(ROOT, vec![], true, |_| false);
        assert_eq!(gone.gone.len(), 4);
    }

    #[test]
    fn a_complete_listing_drops_what_is_gone_but_keeps_local_changes() {
        let mut t = Tree::new();
        t.merge(
            ROOT,
            vec![listed("x", Kind::File, 1), listed("y", Kind::File, 2)],
            true,
            |_| false,
        );
        let y = t.find("y").unwrap();
        let new = t.insert(ROOT, "new", Kind::File);
        t.get_mut(new).unwrap().local.dirty = true;
        t.merge(ROOT, vec![listed("x", Kind::File, 5)], true, |_| false);
        assert!(t.get(y).is_none());
        assert!(t.find("new").is_some());
        let x = t.get(t.find("x").unwrap()).unwrap();
        assert_eq!(x.size, 5);
        // An incomplete listing proves nothing about what it lacks.
        t.merge(ROOT, vec![], false, |_| false);
        assert!(t.find("x").is_some());
    }
}
