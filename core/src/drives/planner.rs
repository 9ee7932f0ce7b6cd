//! The sync planner of a folder kept in two-way sync with a bucket (a LocalPath drive): from
//! what the bucket shows, what the folder holds and what both held at the last sync (the
//! merge base), the operations that bring them together. Pure: the host observes, applies
//! the operations and records the new base.
//!
//! Rules, per path:
//! - A side changed when it differs from its base entry (or has none). Equal content on both
//!   sides is never a conflict: the base just records it ([`Op::Adopt`]).
//! - One side changed: it is copied to the other. Both changed differently: both versions are
//!   kept, the local one renamed to [`conflict_name`] and copied up, the bucket's brought down.
//! - A delete spreads only when the other side is unchanged since the base; a side modified
//!   since beats the delete and is copied back. A pinned path counts as modified locally.
//! - A path missing from an incomplete observation (a listing or scan that failed or was cut)
//!   proves nothing: no operation touches it.
//! - Read-only drives never change the bucket; without `allow_delete` nothing is deleted in
//!   the bucket and a file deleted locally comes back, so that both sides agree again.
//! - More deletes planned on one side than `max_deletes`: none of that side's deletes, a
//!   [`Op::Guard`] instead (a wiped folder or an emptied bucket must not spread).
//! - A folder is kept where anything inside it is kept. Creations come parents first,
//!   deletions children first; the plan is sorted, so the same inputs give the same plan.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// One side's view of a path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Bytes (0 for a folder).
    pub size: u64,
    /// Last modification (Unix ms).
    pub mtime_ms: u64,
    /// The bucket's ETag, or the local content's hash when known; may be empty.
    pub etag: String,
    /// A folder.
    pub is_dir: bool,
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// Local changes go up; the bucket's changes stay there.
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
    /// Send the local file (or create the folder's marker) to the bucket.
    Upload {
        /// The path.
        path: String,
    },
    /// Bring the bucket's file down, replacing the local one.
    Download {
        /// The path.
        path: String,
    },
    /// Delete in the bucket (a folder: everything under it).
    DeleteRemote {
        /// The path.
        path: String,
    },
    /// Delete locally (a folder: everything under it).
    DeleteLocal {
        /// The path.
        path: String,
    },
    /// Create a local folder.
    MakeLocalDir {
        /// The path.
        path: String,
    },
    /// Create a folder marker in the bucket.
    MakeRemoteDir {
        /// The path.
        path: String,
    },
    /// Both sides changed differently: the local version moves to `conflict` (and is sent up
    /// under that name), the bucket's comes down as `path`.
    Conflict {
        /// The path.
        path: String,
        /// Where the local version goes.
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
    /// Gone on both sides: forget its base.
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
    fn path(&self) -> &str {
        match self {
            Op::Upload { path }
            | Op::Download { path }
            | Op::DeleteRemote { path }
            | Op::DeleteLocal { path }
            | Op::MakeLocalDir { path }
            | Op::MakeRemoteDir { path }
            | Op::Conflict { path, .. }
            | Op::Adopt { path, .. }
            | Op::ForgetBase { path } => path,
            Op::Guard { .. } => "",
        }
    }

    fn is_delete(&self) -> bool {
        matches!(self, Op::DeleteRemote { .. } | Op::DeleteLocal { .. })
    }
}

/// The operations of one pass, in the order they must run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Creations and copies parents first, then deletions children first.
    pub ops: Vec<Op>,
}

/// `dir/name (conflict <host> <date>).ext`; a name without extension (or a dotfile) gets the
/// suffix at its end.
pub fn conflict_name(path: &str, host: &str, date: &str) -> String {
    let (dir, name) = match path.rsplit_once('/') {
        Some((d, n)) => (Some(d), n),
        None => (None, path),
    };
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let renamed = format!("{stem} (conflict {host} {date}){ext}");
    match dir {
        Some(d) => format!("{d}/{renamed}"),
        None => renamed,
    }
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

/// The same entry as before (on one side).
fn unchanged(now: &Entry, then: &Entry) -> bool {
    if now.is_dir || then.is_dir {
        return now.is_dir == then.is_dir;
    }
    if now.size != then.size {
        return false;
    }
    if !now.etag.is_empty() && !then.etag.is_empty() {
        return now.etag == then.etag;
    }
    now.mtime_ms == then.mtime_ms
}

/// The same content on both sides (mtimes of two machines prove nothing).
fn same_content(remote: &Entry, local: &Entry) -> bool {
    if remote.is_dir || local.is_dir {
        return remote.is_dir == local.is_dir;
    }
    remote.size == local.size && !remote.etag.is_empty() && remote.etag == local.etag
}

struct Planner<'a> {
    settings: &'a Settings,
    pins: &'a BTreeSet<String>,
    ops: Vec<Op>,
}

impl Planner<'_> {
    fn may_upload(&self) -> bool {
        !self.settings.read_only && self.settings.mode != Mode::DownloadOnly
    }

    fn may_download(&self) -> bool {
        self.settings.mode != Mode::UploadOnly
    }

    fn up(&mut self, path: &str, e: &Entry) {
        if !self.may_upload() {
            return;
        }
        let path = String::from(path);
        self.ops.push(if e.is_dir {
            Op::MakeRemoteDir { path }
        } else {
            Op::Upload { path }
        });
    }

    fn down(&mut self, path: &str, e: &Entry) {
        if !self.may_download() {
            return;
        }
        let path = String::from(path);
        self.ops.push(if e.is_dir {
            Op::MakeLocalDir { path }
        } else {
            Op::Download { path }
        });
    }

    fn both_present(&mut self, path: &str, r: &Entry, l: &Entry, b: Option<&BaseEntry>) {
        if same_content(r, l) {
            if b.is_none_or(|b| b.remote != *r || b.local != *l) {
                self.ops.push(Op::Adopt {
                    path: String::from(path),
                    remote: r.clone(),
                    local: l.clone(),
                });
            }
            return;
        }
        let r_changed = b.is_none_or(|b| !unchanged(r, &b.remote));
        let l_changed = b.is_none_or(|b| !unchanged(l, &b.local));
        match (r_changed, l_changed) {
            (true, false) => self.down(path, r),
            (false, true) => self.up(path, l),
            (false, false) => {}
            (true, true) if self.settings.mode == Mode::UploadOnly => self.up(path, l),
            (true, true) => {
                let s = self.settings;
                self.ops.push(Op::Conflict {
                    path: String::from(path),
                    conflict: conflict_name(path, &s.host, &s.date),
                });
            }
        }
    }

    /// Present in the bucket only.
    fn remote_only(&mut self, path: &str, r: &Entry, b: Option<&BaseEntry>) {
        let Some(b) = b else {
            return self.down(path, r);
        };
        let deleted_locally = !self.pins.contains(path);
        if !unchanged(r, &b.remote) || !deleted_locally {
            // Modified in the bucket since: it comes back.
            return self.down(path, r);
        }
        let s = self.settings;
        if s.read_only || !s.allow_delete {
            // The bucket keeps it, so the folder gets it back.
            return self.down(path, r);
        }
        match s.mode {
            Mode::TwoWay | Mode::UploadOnly => self.ops.push(Op::DeleteRemote {
                path: String::from(path),
            }),
            Mode::DownloadOnly => self.down(path, r),
        }
    }

    /// Present in the folder only.
    fn local_only(&mut self, path: &str, l: &Entry, b: Option<&BaseEntry>) {
        let Some(b) = b else {
            return self.up(path, l);
        };
        if !unchanged(l, &b.local) || self.pins.contains(path) {
            // Modified here since: it goes back up.
            if self.may_upload() {
                return self.up(path, l);
            }
            return self.ops.push(Op::ForgetBase {
                path: String::from(path),
            });
        }
        match self.settings.mode {
            Mode::TwoWay | Mode::DownloadOnly => self.ops.push(Op::DeleteLocal {
                path: String::from(path),
            }),
            Mode::UploadOnly => self.up(path, l),
        }
    }

    fn path(&mut self, path: &str, r: Seen<'_>, l: Seen<'_>, b: Option<&BaseEntry>) {
        match (r, l) {
            (Seen::Unknown, _) | (_, Seen::Unknown) => {}
            (Seen::Present(r), Seen::Present(l)) => self.both_present(path, r, l, b),
            (Seen::Present(r), Seen::Absent) => self.remote_only(path, r, b),
            (Seen::Absent, Seen::Present(l)) => self.local_only(path, l, b),
            (Seen::Absent, Seen::Absent) => {
                if b.is_some() {
                    self.ops.push(Op::ForgetBase {
                        path: String::from(path),
                    });
                }
            }
        }
    }
}

/// Whether `path` lies strictly inside folder `dir`.
fn inside(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

/// A folder some of whose content is kept is not deleted: it is made again on the side that
/// lost it instead.
fn keep_folders_with_content(ops: &mut [Op]) {
    let keeps: Vec<String> = ops
        .iter()
        .filter(|op| !op.is_delete() && !matches!(op, Op::ForgetBase { .. } | Op::Guard { .. }))
        .map(|op| String::from(op.path()))
        .collect();
    for op in ops.iter_mut() {
        let replacement = match op {
            Op::DeleteRemote { path } if keeps.iter().any(|k| inside(k, path)) => {
                Op::MakeLocalDir { path: path.clone() }
            }
            Op::DeleteLocal { path } if keeps.iter().any(|k| inside(k, path)) => {
                Op::MakeRemoteDir { path: path.clone() }
            }
            _ => continue,
        };
        *op = replacement;
    }
}

/// Drops one side's deletes when there are more than `max` of them.
fn guard_deletes(ops: &mut Vec<Op>, max: usize) {
    let remote = ops
        .iter()
        .filter(|o| matches!(o, Op::DeleteRemote { .. }))
        .count();
    let local = ops
        .iter()
        .filter(|o| matches!(o, Op::DeleteLocal { .. }))
        .count();
    let mut held = 0;
    if remote > max {
        ops.retain(|o| !matches!(o, Op::DeleteRemote { .. }));
        held += remote;
    }
    if local > max {
        ops.retain(|o| !matches!(o, Op::DeleteLocal { .. }));
        held += local;
    }
    if held > 0 {
        ops.push(Op::Guard { deletes: held });
    }
}

/// Nested deletes are one delete of the outermost folder; deletes go children first.
fn order(mut ops: Vec<Op>) -> Vec<Op> {
    let (deletes, mut rest): (Vec<Op>, Vec<Op>) = ops.drain(..).partition(Op::is_delete);
    rest.sort_by(|a, b| a.path().cmp(b.path()));
    let mut deletes: Vec<Op> = deletes
        .iter()
        .filter(|d| {
            !deletes.iter().any(|outer| {
                core::mem::discriminant(outer) == core::mem::discriminant(*d)
                    && inside(d.path(), outer.path())
            })
        })
        .cloned()
        .collect();
    deletes.sort_by(|a, b| b.path().cmp(a.path()));
    rest.extend(deletes);
    rest
}

/// The operations that bring `remote` and `local` together from `base`.
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
    let mut p = Planner {
        settings,
        pins,
        ops: Vec::new(),
    };
    for path in paths {
        p.path(
            path,
            seen(remote, path),
            seen(local, path),
            base.entries.get(path),
        );
    }
    let mut ops = p.ops;
    keep_folders_with_content(&mut ops);
    guard_deletes(&mut ops, settings.max_deletes);
    Plan { ops: order(ops) }
}

#[cfg(test)]
mod tests;
