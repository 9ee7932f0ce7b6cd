//! The sync planner of a folder kept in two-way sync with a bucket (a LocalPath drive): from
//! what the bucket shows, what the folder holds and what both held at the last sync (the
//! merge base), the operations that bring them together. Pure: the host observes, applies
//! the operations in order and records the new base of each path it settles.
//!
//! Rules, per path:
//! - A side changed when it differs from its base entry in type, size, mtime, or ETag (when
//!   both are known), or has no base entry; a folder changed only when its type did. A pinned
//!   local path is never removed for the bucket's sake: against a delete or a file/folder
//!   clash it counts as changed (an update of its content still comes down).
//! - Equal content on both sides (same size and ETag, or two folders) is never a conflict:
//!   the base just records it ([`Op::Adopt`]). So the host should give local files a hash
//!   comparable with the ETag; without one, a file both sides created is a conflict.
//! - One side changed: it is copied to the other. Both changed differently: both versions are
//!   kept ([`Op::Conflict`]): the local one is renamed to [`conflict_name`] (numbered when
//!   that name is taken) and copied up, the bucket's brought down.
//! - A delete spreads only when the other side is unchanged since the base; a side modified
//!   since beats the delete and is copied back.
//! - A folder and a file at one path: the side that changed wins, a folder counting as
//!   changed when anything inside it did; both changed is a conflict.
//! - A path missing from an incomplete observation (a listing or scan that failed or was cut)
//!   is unknown: nothing is planned for it, so such an observation never causes a delete on
//!   the other side nor a copy over something unseen.
//! - Directions: read-only drives and `DownloadOnly` never change the bucket, `UploadOnly`
//!   never changes the folder. A delete that may not spread is undone instead, by copying
//!   the file back from the side that still has it, so both sides agree again (without
//!   `allow_delete`, a file deleted locally comes back down). A change that may not go where
//!   it should (a local edit on a read-only drive, a conflict one way) is left as it is.
//! - More deletes planned on one side than `max_deletes`: none of that side's deletes, one
//!   [`Op::Guard`] instead (a wiped folder or an emptied bucket must not spread).
//! - A folder is kept where anything inside it is kept (and made on the other side).
//!
//! Order: deletes first, children before their folder (every deleted path has its own op:
//! the host removes a folder only once empty, never recursively, so whatever an observation
//! missed survives), then the rest by path, so folders are made before their content. An op
//! that could not apply after the ones before it is left out (the next pass sees what
//! remains). The same inputs give the same plan.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::transfers::paths::tagged;

/// One side's view of a path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Bytes (0 for a folder).
    pub size: u64,
    /// Last modification (Unix ms).
    pub mtime_ms: u64,
    /// The bucket's ETag, or the local content's hash when known; may be empty.
    pub etag: String,
    /// A folder.
    pub is_dir: bool,
    /// A local file's inode (0: not known, and on the bucket's side): a file replaced by
    /// another of the same size and time is still seen to change.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inode: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What one side holds, by relative path.
#[derive(Clone, Debug, Default)]
pub struct Observation {
    /// The entries seen.
    pub entries: BTreeMap<String, Entry>,
    /// Whether every path was seen: when not, a missing path is unknown, not absent.
    pub complete: bool,
}

/// What both sides held when a path was last in sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseEntry {
    /// The bucket's entry then.
    pub remote: Entry,
    /// The folder's entry then.
    pub local: Entry,
}

/// The merge base: every path in sync at the last pass.
#[derive(Clone, Debug, Default)]
pub struct Base {
    /// By relative path.
    pub entries: BTreeMap<String, BaseEntry>,
}

/// Which way changes may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Both ways.
    TwoWay,
    /// Local changes go up; the folder is never changed (the bucket's changes stay there).
    UploadOnly,
    /// The bucket's changes come down; local changes are kept beside them, never sent.
    DownloadOnly,
}

/// How a drive may change each side.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Which way changes may go.
    pub mode: Mode,
    /// `permissionType` Read: the bucket is never changed.
    pub read_only: bool,
    /// Deletes may reach the bucket.
    pub allow_delete: bool,
    /// The most deletes one pass may make on one side.
    pub max_deletes: usize,
    /// Names this machine in conflict copies.
    pub host: String,
    /// `YYYY-MM-DD`, for conflict copies.
    pub date: String,
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Send the local file to the bucket, replacing what is there (an emptied folder).
    Upload {
        /// The path.
        path: String,
    },
    /// Bring the bucket's file down, replacing what is there (an emptied folder).
    Download {
        /// The path.
        path: String,
    },
    /// Delete in the bucket; a folder only once empty (its content has its own ops before).
    DeleteRemote {
        /// The path.
        path: String,
    },
    /// Delete locally; a folder only once empty (its content has its own ops before).
    DeleteLocal {
        /// The path.
        path: String,
    },
    /// Create a local folder (replacing a file there).
    MakeLocalDir {
        /// The path.
        path: String,
    },
    /// Create a folder marker in the bucket (replacing a file there).
    MakeRemoteDir {
        /// The path.
        path: String,
    },
    /// Both sides changed differently: the local version (a folder with all it holds) moves
    /// to `conflict` and is sent up under that name, then the bucket's comes down as `path`.
    Conflict {
        /// The path.
        path: String,
        /// Where the local version goes, next to `path`.
        conflict: String,
    },
    /// Both sides changed differently and the folder may not change (an upload-only drive,
    /// a backup): the local file is sent up as `conflict`, next to `path`, the bucket's
    /// version stays, and both are `path`'s new base. Nothing is overwritten.
    UploadAside {
        /// The path.
        path: String,
        /// The name the local version takes in the bucket.
        conflict: String,
    },
    /// Both sides hold the same thing: record it as the base.
    Adopt {
        /// The path.
        path: String,
        /// The bucket's entry.
        remote: Entry,
        /// The folder's entry.
        local: Entry,
    },
    /// Gone on both sides (or moved aside by a conflict): forget its base.
    ForgetBase {
        /// The path.
        path: String,
    },
    /// The max-delete guard held back this many deletes.
    Guard {
        /// How many.
        deletes: usize,
    },
}

impl Op {
    /// Whether the op leaves the tree's shape alone: it copies a file (folders are made by
    /// their own ops) one way or the other, or records what both sides hold.
    pub fn keeps_the_tree(&self) -> bool {
        matches!(
            self,
            Op::Upload { .. } | Op::Download { .. } | Op::Adopt { .. }
        )
    }

    /// The side this op deletes on, if it is a delete.
    fn deletes_on(&self) -> Option<Side> {
        match self {
            Op::DeleteRemote { .. } => Some(Side::Remote),
            Op::DeleteLocal { .. } => Some(Side::Local),
            _ => None,
        }
    }
}

/// The operations of one pass, in the order they must run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Deletes children first, then the rest parents first (what changes the tree before what
    /// copies files), then a [`Op::Guard`] if any.
    pub ops: Vec<Op>,
}

/// `dir/name (conflict <host> <date>).ext`; a name without extension (or a dotfile) gets the
/// suffix at its end.
pub fn conflict_name(path: &str, host: &str, date: &str) -> String {
    tagged(path, &format!("conflict {host} {date}"), true)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Remote,
    Local,
}

/// A side's knowledge of a path.
#[derive(Clone, Copy)]
enum Seen<'a> {
    Present(&'a Entry),
    Absent,
    Unknown,
}

fn seen<'a>(o: &'a Observation, path: &str) -> Seen<'a> {
    match o.entries.get(path) {
        Some(e) => Seen::Present(e),
        None if o.complete => Seen::Absent,
        None => Seen::Unknown,
    }
}

/// Whether a side's entry differs from what it was at the base (or when it was observed).
/// An ETag only one of them knows (a listing without them, a HEAD with) says nothing; a time
/// of 0 is not known (an upload's answer gives the ETag, not the time), and then the ETags
/// must say; another inode is another file.
pub fn changed(now: &Entry, then: &Entry) -> bool {
    if now.is_dir || then.is_dir {
        // A folder's size and mtime follow its content, which has entries of its own.
        return now.is_dir != then.is_dir;
    }
    let both_etags = !now.etag.is_empty() && !then.etag.is_empty();
    let etags_differ = both_etags && now.etag != then.etag;
    let time_unknown = now.mtime_ms == 0 || then.mtime_ms == 0;
    let times_differ = now.mtime_ms != then.mtime_ms && !(time_unknown && both_etags);
    let inodes_differ = now.inode != 0 && then.inode != 0 && now.inode != then.inode;
    now.size != then.size || times_differ || etags_differ || inodes_differ
}

/// The same content on both sides (mtimes of two machines prove nothing).
fn same_content(remote: &Entry, local: &Entry) -> bool {
    if remote.is_dir || local.is_dir {
        return remote.is_dir == local.is_dir;
    }
    remote.size == local.size && !remote.etag.is_empty() && remote.etag == local.etag
}

/// Whether the base already says what both sides hold (for folders, that both are folders).
/// A base written from an upload's answer learns the bucket's time this way.
fn recorded(b: &BaseEntry, remote: &Entry, local: &Entry) -> bool {
    if remote.is_dir {
        b.remote.is_dir && b.local.is_dir
    } else {
        b.remote == *remote && b.local == *local
    }
}

/// Whether `path` lies strictly inside folder `dir`.
fn inside(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

/// The entries strictly inside folder `dir`: keys from `dir/` up to `dir0` (`0` follows `/`).
fn under<'a, V>(
    map: &'a BTreeMap<String, V>,
    dir: &str,
) -> impl Iterator<Item = (&'a String, &'a V)> {
    map.range(format!("{dir}/")..format!("{dir}0"))
}

/// `path` and the folders above it, innermost first.
fn self_and_ancestors(path: &str) -> impl Iterator<Item = &str> {
    core::iter::successors(Some(path), |p| p.rsplit_once('/').map(|(d, _)| d))
}

struct Planner<'a> {
    remote: &'a Observation,
    local: &'a Observation,
    base: &'a Base,
    pins: &'a BTreeSet<String>,
    settings: &'a Settings,
    /// Local folders a conflict moves aside: nothing inside them is planned on its own.
    moved: BTreeSet<String>,
}

impl Planner<'_> {
    fn may_upload(&self) -> bool {
        !self.settings.read_only && self.settings.mode != Mode::DownloadOnly
    }

    fn may_download(&self) -> bool {
        self.settings.mode != Mode::UploadOnly
    }

    fn entries(&self, side: Side) -> &BTreeMap<String, Entry> {
        match side {
            Side::Remote => &self.remote.entries,
            Side::Local => &self.local.entries,
        }
    }

    /// Whether a side's entry at `path` is new or changed since the base.
    fn changed_on(&self, side: Side, path: &str, e: &Entry) -> bool {
        let Some(b) = self.base.entries.get(path) else {
            return true;
        };
        match side {
            Side::Remote => changed(e, &b.remote),
            Side::Local => changed(e, &b.local),
        }
    }

    /// Whether removing a side's entry would lose something: a change since the base, or a
    /// pinned local path.
    fn must_keep(&self, side: Side, path: &str, e: &Entry) -> bool {
        self.changed_on(side, path, e) || (side == Side::Local && self.pinned(path))
    }

    /// Whether anything inside folder `dir` on one side must be kept.
    fn holds_changes(&self, side: Side, dir: &str) -> bool {
        under(self.entries(side), dir).any(|(p, e)| self.must_keep(side, p, e))
    }

    fn pinned(&self, path: &str) -> bool {
        self_and_ancestors(path).any(|p| self.pins.contains(p))
    }

    fn up(&self, path: &str, e: &Entry) -> Option<Op> {
        let path = String::from(path);
        let op = if e.is_dir {
            Op::MakeRemoteDir { path }
        } else {
            Op::Upload { path }
        };
        self.may_upload().then_some(op)
    }

    fn down(&self, path: &str, e: &Entry) -> Option<Op> {
        let path = String::from(path);
        let op = if e.is_dir {
            Op::MakeLocalDir { path }
        } else {
            Op::Download { path }
        };
        self.may_download().then_some(op)
    }

    fn decide(&mut self, path: &str) -> Option<Op> {
        let b = self.base.entries.get(path);
        if self_and_ancestors(path)
            .skip(1)
            .any(|d| self.moved.contains(d))
        {
            return b.map(|_| Op::ForgetBase { path: path.into() });
        }
        match (seen(self.remote, path), seen(self.local, path)) {
            (Seen::Unknown, _) | (_, Seen::Unknown) => None,
            (Seen::Present(r), Seen::Present(l)) => self.both_present(path, r, l, b),
            (Seen::Present(r), Seen::Absent) => self.remote_only(path, r),
            (Seen::Absent, Seen::Present(l)) => self.local_only(path, l),
            (Seen::Absent, Seen::Absent) => b.map(|_| Op::ForgetBase { path: path.into() }),
        }
    }

    /// Present on both sides.
    fn both_present(
        &mut self,
        path: &str,
        r: &Entry,
        l: &Entry,
        b: Option<&BaseEntry>,
    ) -> Option<Op> {
        if same_content(r, l) {
            let adopt = Op::Adopt {
                path: path.into(),
                remote: r.clone(),
                local: l.clone(),
            };
            return b.is_none_or(|b| !recorded(b, r, l)).then_some(adopt);
        }
        let (r_changed, l_changed) = if r.is_dir == l.is_dir {
            let r_changed = self.changed_on(Side::Remote, path, r);
            (r_changed, self.changed_on(Side::Local, path, l))
        } else {
            // A folder and a file: the loser is removed, so what must be kept counts, and
            // a folder holds what it contains.
            let keeps = |side, e: &Entry| {
                self.must_keep(side, path, e) || (e.is_dir && self.holds_changes(side, path))
            };
            (keeps(Side::Remote, r), keeps(Side::Local, l))
        };
        match (r_changed, l_changed) {
            // Both as the base recorded them, different as they were then.
            (false, false) => None,
            (true, false) => self.down(path, r),
            (false, true) => self.up(path, l),
            (true, true) => self.conflict(path, r, l),
        }
    }

    fn conflict(&mut self, path: &str, r: &Entry, l: &Entry) -> Option<Op> {
        if self.may_upload() && !self.may_download() && !l.is_dir && !r.is_dir {
            let conflict = self.free_conflict_name(path, false);
            return Some(Op::UploadAside {
                path: path.into(),
                conflict,
            });
        }
        if !self.may_upload() || !self.may_download() {
            return None;
        }
        let conflict = self.free_conflict_name(path, l.is_dir);
        if l.is_dir {
            self.moved.insert(path.into());
        }
        Some(Op::Conflict {
            path: path.into(),
            conflict,
        })
    }

    /// The conflict name of `path`, numbered when an earlier conflict of the day holds it.
    fn free_conflict_name(&self, path: &str, is_dir: bool) -> String {
        let s = self.settings;
        let is_free = |name: &String| {
            !self.remote.entries.contains_key(name)
                && !self.local.entries.contains_key(name)
                && !self.base.entries.contains_key(name)
        };
        (1u32..)
            .map(|n| {
                let tag = match n {
                    1 => format!("conflict {} {}", s.host, s.date),
                    n => format!("conflict {} {} {n}", s.host, s.date),
                };
                // A folder's name has no extension to keep.
                tagged(path, &tag, !is_dir)
            })
            .find(is_free)
            .expect("some number is free")
    }

    /// Present in the bucket only.
    fn remote_only(&self, path: &str, r: &Entry) -> Option<Op> {
        if self.must_keep(Side::Remote, path, r) {
            // New, or modified in the bucket since it was deleted here: it comes down.
            return self.down(path, r);
        }
        if self.may_upload() && self.settings.allow_delete {
            return Some(Op::DeleteRemote { path: path.into() });
        }
        // The delete may not reach the bucket: the file comes back so both sides agree.
        self.down(path, r)
    }

    /// Present in the folder only.
    fn local_only(&self, path: &str, l: &Entry) -> Option<Op> {
        if self.must_keep(Side::Local, path, l) {
            // New, or modified here since it was deleted in the bucket: it goes up.
            return self.up(path, l);
        }
        if self.may_download() {
            return Some(Op::DeleteLocal { path: path.into() });
        }
        // The folder may not change: the bucket gets the file back.
        self.up(path, l)
    }

    /// A folder that keeps some of its content on one side is not deleted there: it is
    /// made again on the side that lost it (or the delete is dropped when that side may not
    /// change). Innermost folders first, so a kept folder keeps its own parent too.
    fn keep_folders_with_content(&self, ops: &mut BTreeMap<String, Op>) {
        let deletes: Vec<(String, Side)> = ops
            .iter()
            .rev()
            .filter_map(|(p, op)| op.deletes_on().map(|side| (p.clone(), side)))
            .collect();
        for (dir, side) in deletes {
            let Some(e) = self.entries(side).get(&dir).filter(|e| e.is_dir) else {
                continue;
            };
            let keeps = under(self.entries(side), &dir)
                .any(|(p, _)| ops.get(p).and_then(Op::deletes_on) != Some(side));
            if !keeps {
                continue;
            }
            let remade = match side {
                Side::Remote => self.down(&dir, e),
                Side::Local => self.up(&dir, e),
            };
            match remade {
                Some(op) => ops.insert(dir, op),
                None => ops.remove(&dir),
            };
        }
    }
}

/// Drops one side's deletes when there are more than `max` of them; how many were dropped.
fn guard_deletes(ops: &mut BTreeMap<String, Op>, max: usize) -> usize {
    let mut held = 0;
    for side in [Side::Remote, Side::Local] {
        let count = ops
            .values()
            .filter(|o| o.deletes_on() == Some(side))
            .count();
        if count > max {
            ops.retain(|_, o| o.deletes_on() != Some(side));
            held += count;
        }
    }
    held
}

/// The shape (path -> is a folder) of both sides as the plan's ops change them, to leave
/// out an op that could not apply after the ones before it.
struct Shapes {
    remote: BTreeMap<String, bool>,
    local: BTreeMap<String, bool>,
}

impl Shapes {
    fn of(o: &Observation) -> BTreeMap<String, bool> {
        o.entries
            .iter()
            .map(|(p, e)| (p.clone(), e.is_dir))
            .collect()
    }

    fn side(&mut self, side: Side) -> &mut BTreeMap<String, bool> {
        match side {
            Side::Remote => &mut self.remote,
            Side::Local => &mut self.local,
        }
    }

    /// Applies `op` if it can apply; whether it did.
    fn apply(&mut self, op: &Op) -> bool {
        match op {
            Op::DeleteRemote { path } => Self::delete(&mut self.remote, path),
            Op::DeleteLocal { path } => Self::delete(&mut self.local, path),
            Op::Upload { path } | Op::MakeRemoteDir { path } => self.copy(Side::Local, path),
            Op::Download { path } | Op::MakeLocalDir { path } => self.copy(Side::Remote, path),
            Op::Conflict { path, conflict } => self.conflict(path, conflict),
            Op::UploadAside { path, conflict } => self.aside(path, conflict),
            Op::Adopt { .. } | Op::ForgetBase { .. } | Op::Guard { .. } => true,
        }
    }

    fn delete(tree: &mut BTreeMap<String, bool>, path: &str) -> bool {
        let empty = under(tree, path).next().is_none();
        empty && tree.remove(path).is_some()
    }

    fn parent_is_dir(tree: &BTreeMap<String, bool>, path: &str) -> bool {
        path.rsplit_once('/')
            .is_none_or(|(dir, _)| tree.get(dir) == Some(&true))
    }

    /// Copies the entry at `path` from side `from` to the other one.
    fn copy(&mut self, from: Side, path: &str) -> bool {
        let Some(&is_dir) = self.side(from).get(path) else {
            return false;
        };
        let to = self.side(match from {
            Side::Remote => Side::Local,
            Side::Local => Side::Remote,
        });
        let replaces_a_full_folder = !is_dir && under(to, path).next().is_some();
        if !Self::parent_is_dir(to, path) || replaces_a_full_folder {
            return false;
        }
        to.insert(path.into(), is_dir);
        true
    }

    /// A local file goes up as `conflict` beside `path`.
    fn aside(&mut self, path: &str, conflict: &str) -> bool {
        let free = !self.remote.contains_key(conflict);
        if self.local.get(path) != Some(&false) || !free || !Self::parent_is_dir(&self.remote, path)
        {
            return false;
        }
        self.remote.insert(conflict.into(), false);
        true
    }

    fn conflict(&mut self, path: &str, conflict: &str) -> bool {
        let (Some(&remote_dir), Some(&local_dir)) = (self.remote.get(path), self.local.get(path))
        else {
            return false;
        };
        let free = |t: &BTreeMap<String, bool>| {
            !t.contains_key(conflict) && under(t, conflict).next().is_none()
        };
        if !free(&self.remote) || !free(&self.local) || !Self::parent_is_dir(&self.remote, path) {
            return false;
        }
        let mut moved: Vec<(String, bool)> = under(&self.local, path)
            .map(|(p, d)| (format!("{conflict}{}", &p[path.len()..]), *d))
            .collect();
        moved.push((conflict.into(), local_dir));
        self.local.retain(|p, _| !inside(p, path));
        for (p, d) in moved {
            self.local.insert(p.clone(), d);
            self.remote.insert(p, d);
        }
        self.local.insert(path.into(), remote_dir);
        true
    }
}

/// Deletes children first, then the rest parents first; ops that could not apply are left
/// out.
fn order(remote: &Observation, local: &Observation, ops: BTreeMap<String, Op>) -> Vec<Op> {
    let (deletes, rest): (Vec<Op>, Vec<Op>) =
        ops.into_values().partition(|o| o.deletes_on().is_some());
    let mut shapes = Shapes {
        remote: Shapes::of(remote),
        local: Shapes::of(local),
    };
    // Folders are made (and conflicts moved aside) before files are copied, so the copies
    // form one run that a pass applies concurrently; each group stays in path order.
    let (copies, tree): (Vec<Op>, Vec<Op>) = rest.into_iter().partition(Op::keeps_the_tree);
    // A child's path sorts after its folder's: reversed, children come first.
    deletes
        .into_iter()
        .rev()
        .chain(tree)
        .chain(copies)
        .filter(|op| shapes.apply(op))
        .collect()
}

/// The operations that bring `remote` and `local` together from `base`. `pins`: paths kept
/// offline (a folder pins what it holds).
pub fn plan(
    remote: &Observation,
    local: &Observation,
    base: &Base,
    pins: &BTreeSet<String>,
    settings: &Settings,
) -> Plan {
    let paths: BTreeSet<&String> = remote
        .entries
        .keys()
        .chain(local.entries.keys())
        .chain(base.entries.keys())
        .collect();
    let mut planner = Planner {
        remote,
        local,
        base,
        pins,
        settings,
        moved: BTreeSet::new(),
    };
    let mut ops = BTreeMap::new();
    for path in paths {
        if let Some(op) = planner.decide(path) {
            ops.insert(path.clone(), op);
        }
    }
    planner.keep_folders_with_content(&mut ops);
    let held = guard_deletes(&mut ops, settings.max_deletes);
    let mut ops = order(remote, local, ops);
    if held > 0 {
        ops.push(Op::Guard { deletes: held });
    }
    Plan { ops }
}

#[cfg(test)]
mod tests;
