//! The planner's rules one by one, then seeded random cases: three trees (a base, and the
//! folder and the bucket each edited from it) planned, applied to models of both sides by a
//! small host that refuses what a file system would, and planned again, checked to converge
//! without losing any change, whatever the settings allow.

extern crate std;

use super::*;
use alloc::string::ToString;
use alloc::vec;

/// A file whose content is `id` (as size, mtime and ETag).
fn file(id: u64) -> Entry {
    Entry {
        size: id,
        mtime_ms: id,
        etag: id.to_string(),
        is_dir: false,
        inode: 0,
    }
}

fn dir() -> Entry {
    Entry {
        is_dir: true,
        ..Entry::default()
    }
}

fn obs(entries: &[(&str, Entry)]) -> Observation {
    Observation {
        entries: entries
            .iter()
            .map(|(p, e)| (p.to_string(), e.clone()))
            .collect(),
        complete: true,
    }
}

fn base(entries: &[(&str, Entry)]) -> Base {
    let both = |e: &Entry| BaseEntry {
        remote: e.clone(),
        local: e.clone(),
    };
    Base {
        entries: entries
            .iter()
            .map(|(p, e)| (p.to_string(), both(e)))
            .collect(),
    }
}

fn settings() -> Settings {
    Settings {
        mode: Mode::TwoWay,
        read_only: false,
        allow_delete: true,
        max_deletes: usize::MAX,
        host: "nas".into(),
        date: "2026-12-04".into(),
    }
}

type Tree<'a> = &'a [(&'a str, Entry)];

fn run(r: Tree, l: Tree, b: Tree, s: &Settings) -> Vec<Op> {
    plan(&obs(r), &obs(l), &base(b), &BTreeSet::new(), s).ops
}

/// Checks each case: (what, remote, local, base, expected ops).
fn table(s: &Settings, cases: &[(&str, Tree, Tree, Tree, Vec<Op>)]) {
    for (what, r, l, b, expected) in cases {
        assert_eq!(&run(r, l, b, s), expected, "{what}");
    }
}

fn up(p: &str) -> Op {
    Op::Upload { path: p.into() }
}

fn down(p: &str) -> Op {
    Op::Download { path: p.into() }
}

fn del_remote(p: &str) -> Op {
    Op::DeleteRemote { path: p.into() }
}

fn del_local(p: &str) -> Op {
    Op::DeleteLocal { path: p.into() }
}

fn forget(p: &str) -> Op {
    Op::ForgetBase { path: p.into() }
}

fn conflict(p: &str, c: &str) -> Op {
    Op::Conflict {
        path: p.into(),
        conflict: c.into(),
    }
}

#[test]
fn one_side_changed_goes_to_the_other() {
    // Without a hash to compare, only size and mtime tell.
    let touched = Entry {
        mtime_ms: 77,
        etag: String::new(),
        ..file(1)
    };
    let no_etag = Entry {
        etag: String::new(),
        ..file(2)
    };
    table(
        &settings(),
        &[
            (
                "the bucket changed",
                &[("a", file(2))],
                &[("a", file(1))],
                &[("a", file(1))],
                vec![down("a")],
            ),
            (
                "the folder changed",
                &[("a", file(1))],
                &[("a", file(3))],
                &[("a", file(1))],
                vec![up("a")],
            ),
            (
                "nothing changed",
                &[("a", file(1))],
                &[("a", file(1))],
                &[("a", file(1))],
                vec![],
            ),
            (
                "a new mtime is a change",
                &[("a", file(1))],
                &[("a", touched.clone())],
                &[("a", file(1))],
                vec![up("a")],
            ),
            (
                "new in the bucket",
                &[("a", file(1))],
                &[],
                &[],
                vec![down("a")],
            ),
            (
                "new in the folder",
                &[],
                &[("a", file(1))],
                &[],
                vec![up("a")],
            ),
            (
                "an unknown hash with a new size",
                &[("a", file(1))],
                &[("a", no_etag)],
                &[("a", file(1))],
                vec![up("a")],
            ),
        ],
    );
}

#[test]
fn both_changed_keeps_both_unless_the_content_is_equal() {
    let adopt = |p: &str, r: Entry, l: Entry| Op::Adopt {
        path: p.into(),
        remote: r,
        local: l,
    };
    let touched = Entry {
        mtime_ms: 9,
        ..file(4)
    };
    table(
        &settings(),
        &[
            (
                "both edited",
                &[("d", dir()), ("d/a.txt", file(2))],
                &[("d", dir()), ("d/a.txt", file(3))],
                &[("d", dir()), ("d/a.txt", file(1))],
                vec![conflict("d/a.txt", "d/a (conflict nas 2026-12-04).txt")],
            ),
            (
                "both created",
                &[("a", file(2))],
                &[("a", file(3))],
                &[],
                vec![conflict("a", "a (conflict nas 2026-12-04)")],
            ),
            (
                "the same edit on both sides, mtimes apart",
                &[("a", file(4))],
                &[("a", touched.clone())],
                &[("a", file(1))],
                vec![adopt("a", file(4), touched)],
            ),
            (
                "the same new file",
                &[("a", file(4))],
                &[("a", file(4))],
                &[],
                vec![adopt("a", file(4), file(4))],
            ),
            (
                "two new folders",
                &[("d", dir())],
                &[("d", dir())],
                &[],
                vec![adopt("d", dir(), dir())],
            ),
            (
                "already recorded",
                &[("d", dir())],
                &[("d", dir())],
                &[("d", dir())],
                vec![],
            ),
        ],
    );
    // A conflict copy of the day already there: the next number.
    let taken = "a (conflict nas 2026-12-04).txt";
    assert_eq!(
        run(
            &[("a.txt", file(2)), (taken, file(5))],
            &[("a.txt", file(3)), (taken, file(5))],
            &[("a.txt", file(1)), (taken, file(5))],
            &settings()
        ),
        [conflict("a.txt", "a (conflict nas 2026-12-04 2).txt")]
    );
}

#[test]
fn modify_beats_delete_and_deletes_spread_only_over_unchanged_files() {
    let b: Tree = &[("a", file(1)), ("b", file(1))];
    table(
        &settings(),
        &[
            (
                "deleted here, changed there",
                &[("a", file(2)), ("b", file(1))],
                &[],
                b,
                vec![del_remote("b"), down("a")],
            ),
            (
                "deleted there, changed here",
                &[],
                &[("a", file(1)), ("b", file(5))],
                b,
                vec![del_local("a"), up("b")],
            ),
            (
                "deleted on both sides",
                &[],
                &[],
                b,
                vec![forget("a"), forget("b")],
            ),
        ],
    );
}

#[test]
fn an_incomplete_observation_deletes_nothing_and_overwrites_nothing_unseen() {
    let s = settings();
    let b = base(&[("a", file(1)), ("b", file(1))]);
    let mut cut = obs(&[("b", file(2))]);
    cut.complete = false;
    let full = obs(&[("a", file(1)), ("b", file(1)), ("new", file(7))]);
    let none = BTreeSet::new();
    // `a` and `new` are unknown in the cut listing: no delete, no upload over them.
    assert_eq!(plan(&cut, &full, &b, &none, &s).ops, [down("b")]);
    assert_eq!(plan(&full, &cut, &b, &none, &s).ops, [up("b")]);
}

#[test]
fn read_only_and_no_delete_drives_leave_the_bucket_alone() {
    let b: Tree = &[("a", file(1))];
    let ro = Settings {
        read_only: true,
        ..settings()
    };
    table(
        &ro,
        &[
            (
                "local edits and new files stay local",
                &[("a", file(1))],
                &[("a", file(9)), ("n", file(3))],
                b,
                vec![],
            ),
            (
                "deleted locally: it comes back",
                &[("a", file(1))],
                &[],
                b,
                vec![down("a")],
            ),
            (
                "a conflict is left as it is",
                &[("a", file(2))],
                &[("a", file(3))],
                b,
                vec![],
            ),
            (
                "the bucket's changes come down",
                &[("a", file(2))],
                &[("a", file(1))],
                b,
                vec![down("a")],
            ),
            (
                "the bucket's deletes come down",
                &[],
                &[("a", file(1))],
                b,
                vec![del_local("a")],
            ),
        ],
    );
    let keep = Settings {
        allow_delete: false,
        ..settings()
    };
    table(
        &keep,
        &[
            (
                "deleted locally: it comes back",
                &[("a", file(1))],
                &[],
                b,
                vec![down("a")],
            ),
            (
                "edits still go up",
                &[("a", file(1))],
                &[("a", file(5))],
                b,
                vec![up("a")],
            ),
        ],
    );
}

/// A file replaced by another of the same size and time (`cp -p`, `rsync -t`) is another
/// file: its inode says so, and its content goes up.
#[test]
fn a_file_replaced_with_the_same_size_and_time_is_seen_by_its_inode() {
    let kept = Entry {
        inode: 5,
        ..file(1)
    };
    let scanned = |inode| Entry {
        inode,
        etag: String::new(),
        ..file(1)
    };
    let (same, replaced) = (scanned(5), scanned(6));
    table(
        &settings(),
        &[
            (
                "the same file",
                &[("a", file(1))],
                &[("a", same)],
                &[("a", kept.clone())],
                vec![],
            ),
            (
                "another file in its place",
                &[("a", file(1))],
                &[("a", replaced)],
                &[("a", kept)],
                vec![up("a")],
            ),
        ],
    );
}

#[test]
fn one_way_modes_change_one_side_only() {
    let b: Tree = &[("a", file(1)), ("b", file(1))];
    let only = |mode| Settings { mode, ..settings() };
    table(
        &only(Mode::UploadOnly),
        &[
            (
                "local edits go up",
                &[("a", file(1))],
                &[("a", file(5))],
                &[("a", file(1))],
                vec![up("a")],
            ),
            (
                "the bucket's edits stay there",
                &[("a", file(5))],
                &[("a", file(1))],
                &[("a", file(1))],
                vec![],
            ),
            (
                "deleted in the bucket: sent again",
                &[("b", file(1))],
                &[("a", file(1)), ("b", file(1))],
                b,
                vec![up("a")],
            ),
            (
                "local deletes go up",
                &[("a", file(1)), ("b", file(1))],
                &[("b", file(1))],
                b,
                vec![del_remote("a")],
            ),
            (
                "edited on both sides: the local version goes up beside the bucket's",
                &[("a", file(2))],
                &[("a", file(3))],
                &[("a", file(1))],
                vec![Op::UploadAside {
                    path: "a".into(),
                    conflict: "a (conflict nas 2026-12-04)".into(),
                }],
            ),
        ],
    );
    table(
        &only(Mode::DownloadOnly),
        &[
            (
                "the bucket's edits come down",
                &[("a", file(5))],
                &[("a", file(1))],
                &[("a", file(1))],
                vec![down("a")],
            ),
            (
                "local edits stay local",
                &[("a", file(1))],
                &[("a", file(5))],
                &[("a", file(1))],
                vec![],
            ),
            (
                "deleted locally: it comes back",
                &[("a", file(1)), ("b", file(1))],
                &[("b", file(1))],
                b,
                vec![down("a")],
            ),
            (
                "the bucket's deletes come down",
                &[("b", file(1))],
                &[("a", file(1)), ("b", file(1))],
                b,
                vec![del_local("a")],
            ),
        ],
    );
}

#[test]
fn folders_are_made_parents_first_and_deleted_children_first() {
    let s = settings();
    let tree: Tree = &[
        ("d", dir()),
        ("d/e", dir()),
        ("d/e/x", file(1)),
        ("d/y", file(2)),
    ];
    table(
        &s,
        &[
            (
                "a new folder comes down",
                tree,
                &[],
                &[],
                vec![
                    Op::MakeLocalDir { path: "d".into() },
                    Op::MakeLocalDir { path: "d/e".into() },
                    down("d/e/x"),
                    down("d/y"),
                ],
            ),
            (
                "a folder deleted locally",
                tree,
                &[],
                tree,
                vec![
                    del_remote("d/y"),
                    del_remote("d/e/x"),
                    del_remote("d/e"),
                    del_remote("d"),
                ],
            ),
        ],
    );
}

#[test]
fn a_folder_deleted_on_one_side_stays_for_what_changed_inside_on_the_other() {
    let b: Tree = &[
        ("d", dir()),
        ("d/e", dir()),
        ("d/e/x", file(1)),
        ("d/y", file(2)),
    ];
    table(
        &settings(),
        &[
            (
                "changed in the bucket",
                &[
                    ("d", dir()),
                    ("d/e", dir()),
                    ("d/e/x", file(8)),
                    ("d/y", file(2)),
                ],
                &[],
                b,
                vec![
                    del_remote("d/y"),
                    Op::MakeLocalDir { path: "d".into() },
                    Op::MakeLocalDir { path: "d/e".into() },
                    down("d/e/x"),
                ],
            ),
            (
                "created locally",
                &[],
                &[
                    ("d", dir()),
                    ("d/e", dir()),
                    ("d/e/x", file(1)),
                    ("d/e/n", file(9)),
                    ("d/y", file(2)),
                ],
                b,
                vec![
                    del_local("d/y"),
                    del_local("d/e/x"),
                    Op::MakeRemoteDir { path: "d".into() },
                    Op::MakeRemoteDir { path: "d/e".into() },
                    up("d/e/n"),
                ],
            ),
        ],
    );
}

#[test]
fn a_folder_and_a_file_at_one_path_the_changed_side_wins() {
    let b: Tree = &[("d", dir()), ("d/x", file(1))];
    table(
        &settings(),
        &[
            (
                "the folder became a file locally",
                &[("d", dir()), ("d/x", file(1))],
                &[("d", file(5))],
                b,
                vec![del_remote("d/x"), up("d")],
            ),
            (
                "the folder became a file in the bucket, while its content changed locally",
                &[("d", file(5))],
                &[("d", dir()), ("d/x", file(6))],
                b,
                vec![conflict("d", "d (conflict nas 2026-12-04)"), forget("d/x")],
            ),
            (
                "a file became a folder in the bucket, and changed locally",
                &[("f.txt", dir()), ("f.txt/n", file(7))],
                &[("f.txt", file(2))],
                &[("f.txt", file(1))],
                vec![
                    conflict("f.txt", "f (conflict nas 2026-12-04).txt"),
                    down("f.txt/n"),
                ],
            ),
            (
                "a file became a folder in the bucket",
                &[("f", dir()), ("f/n", file(7))],
                &[("f", file(1))],
                &[("f", file(1))],
                vec![Op::MakeLocalDir { path: "f".into() }, down("f/n")],
            ),
        ],
    );
}

#[test]
fn the_max_delete_guard_holds_back_a_mass_delete() {
    let b: Tree = &[("a", file(1)), ("b", file(1)), ("c", file(1))];
    let guarded = |max| Settings {
        max_deletes: max,
        ..settings()
    };
    assert_eq!(run(b, &[], b, &guarded(2)), [Op::Guard { deletes: 3 }]);
    assert_eq!(run(b, &[], b, &guarded(3)).len(), 3);
    // The other side's deletes, and the copies, still go.
    let ops = run(
        &[
            ("a", file(1)),
            ("b", file(1)),
            ("c", file(1)),
            ("n", file(4)),
        ],
        &[("c", file(1)), ("z", file(1))],
        &[
            ("a", file(1)),
            ("b", file(1)),
            ("c", file(1)),
            ("z", file(1)),
        ],
        &guarded(1),
    );
    assert_eq!(ops, [del_local("z"), down("n"), Op::Guard { deletes: 2 }]);
    // A folder replaced by a file waits for the deletes it needs.
    let d: Tree = &[("d", dir()), ("d/x", file(1)), ("d/y", file(1))];
    assert_eq!(
        run(d, &[("d", file(5))], d, &guarded(1)),
        [Op::Guard { deletes: 2 }]
    );
}

#[test]
fn conflict_names_keep_the_extension_and_the_folder() {
    for (path, name) in [
        (
            "a/b/report.final.pdf",
            "a/b/report.final (conflict h d).pdf",
        ),
        ("README", "README (conflict h d)"),
        (".bashrc", ".bashrc (conflict h d)"),
        ("dir.v2/.env", "dir.v2/.env (conflict h d)"),
    ] {
        assert_eq!(conflict_name(path, "h", "d"), name);
    }
}

#[test]
fn a_pinned_file_is_never_deleted_for_the_buckets_sake() {
    let pins: BTreeSet<String> = ["p".to_string()].into_iter().collect();
    let b = base(&[("p", dir()), ("p/a", file(1))]);
    let local = obs(&[("p", dir()), ("p/a", file(1))]);
    let s = settings();
    let kept = |remote: &[(&str, Entry)]| plan(&obs(remote), &local, &b, &pins, &s).ops;
    assert_eq!(
        kept(&[]),
        [Op::MakeRemoteDir { path: "p".into() }, up("p/a")]
    );
    assert_eq!(
        kept(&[("p", file(3))]),
        [conflict("p", "p (conflict nas 2026-12-04)"), forget("p/a")]
    );
    assert_eq!(
        kept(&[("p", dir()), ("p/a", file(2))]),
        [down("p/a")],
        "updates still come down"
    );
}

// ---- seeded random cases

use crate::testing::Seeded as Rng;

/// One side: path -> entry.
type Files = BTreeMap<String, Entry>;

fn parent(p: &str) -> Option<&str> {
    p.rsplit_once('/').map(|(d, _)| d)
}

fn has_children(t: &Files, p: &str) -> bool {
    under(t, p).next().is_some()
}

fn remove_under(t: &mut Files, p: &str) {
    t.retain(|k, _| k != p && !inside(k, p));
}

/// Names drawn from one small pool for files and folders alike, so that both sides often
/// pick the same new path, and a file often takes a folder's place.
const NAMES: [&str; 4] = ["a", "b.txt", ".c", "d"];

fn folders(t: &Files) -> Vec<String> {
    let mut out = vec![String::new()];
    out.extend(t.iter().filter(|(_, e)| e.is_dir).map(|(p, _)| p.clone()));
    out
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.into()
    } else {
        alloc::format!("{dir}/{name}")
    }
}

fn random_base(rng: &mut Rng) -> Files {
    let mut t = Files::new();
    for _ in 0..rng.below(5) {
        let d = join(rng.pick(&folders(&t)).unwrap(), rng.pick(&NAMES).unwrap());
        t.entry(d).or_insert_with(dir);
    }
    for _ in 0..rng.below(8) {
        let p = join(rng.pick(&folders(&t)).unwrap(), rng.pick(&NAMES).unwrap());
        t.entry(p).or_insert_with(|| file(1 + rng.below(3)));
    }
    t
}

/// Edits on one tree: modify, touch, delete, create a file or a folder (replacing what is
/// there). `fresh` hands out new content ids, all above 100.
fn edit(rng: &mut Rng, t: &mut Files, fresh: &mut u64) {
    let paths: Vec<String> = t.keys().cloned().collect();
    let files: Vec<&String> = paths.iter().filter(|p| !t[*p].is_dir).collect();
    *fresh += 1;
    match rng.below(6) {
        0 => {
            if let Some(p) = rng.pick(&files) {
                t.insert((*p).clone(), file(*fresh));
            }
        }
        1 => {
            if let Some(p) = rng.pick(&files) {
                t.get_mut(*p).unwrap().mtime_ms = *fresh;
            }
        }
        2 => {
            if let Some(p) = rng.pick(&paths) {
                remove_under(t, p);
            }
        }
        k => {
            let at = rng.pick(&folders(t)).unwrap().clone();
            let (name, new) = match k {
                3 => (rng.pick(&NAMES).unwrap(), file(*fresh)),
                _ => (rng.pick(&NAMES).unwrap(), dir()),
            };
            let p = join(&at, name);
            remove_under(t, &p);
            if new.is_dir && rng.below(2) == 0 {
                t.insert(join(&p, "in"), file(*fresh));
            }
            t.insert(p, new);
        }
    }
}

/// Both sides and the base as a host keeps them, with ops applied the way a file system
/// and a bucket allow.
#[derive(Clone)]
struct World {
    remote: Files,
    local: Files,
    base: Base,
}

impl World {
    fn record(&mut self, p: &str) {
        match (self.remote.get(p), self.local.get(p)) {
            (Some(r), Some(l)) => {
                let b = BaseEntry {
                    remote: r.clone(),
                    local: l.clone(),
                };
                self.base.entries.insert(p.into(), b);
            }
            _ => {
                self.base.entries.remove(p);
            }
        }
    }

    /// Copies `p` from one tree to the other, as a file system would let it.
    fn copy(from: &Files, to: &mut Files, p: &str) -> Result<(), String> {
        let e = from.get(p).ok_or("nothing to copy")?;
        if parent(p).is_some_and(|d| !to.get(d).is_some_and(|e| e.is_dir)) {
            return Err("no folder to copy into".into());
        }
        if !e.is_dir && has_children(to, p) {
            return Err("a file over a full folder".into());
        }
        to.insert(p.into(), e.clone());
        Ok(())
    }

    fn delete(t: &mut Files, p: &str) -> Result<(), String> {
        if has_children(t, p) {
            return Err("a full folder".into());
        }
        t.remove(p)
            .map(drop)
            .ok_or_else(|| "nothing to delete".into())
    }

    fn apply(&mut self, op: &Op) -> Result<(), String> {
        match op {
            Op::Upload { path } | Op::MakeRemoteDir { path } => {
                Self::copy(&self.local, &mut self.remote, path)?;
                self.record(path);
            }
            Op::Download { path } | Op::MakeLocalDir { path } => {
                Self::copy(&self.remote, &mut self.local, path)?;
                self.record(path);
            }
            Op::DeleteRemote { path } => {
                Self::delete(&mut self.remote, path)?;
                self.base.entries.remove(path);
            }
            Op::DeleteLocal { path } => {
                Self::delete(&mut self.local, path)?;
                self.base.entries.remove(path);
            }
            Op::Conflict { path, conflict } => self.conflict(path, conflict)?,
            Op::UploadAside { path, conflict } => {
                let l = self.local.get(path).ok_or("no local file")?.clone();
                if self.remote.contains_key(conflict) {
                    return Err("the conflict name is taken".into());
                }
                self.remote.insert(conflict.clone(), l);
                self.record(path);
            }
            Op::Adopt {
                path,
                remote,
                local,
            } => {
                let b = BaseEntry {
                    remote: remote.clone(),
                    local: local.clone(),
                };
                self.base.entries.insert(path.clone(), b);
            }
            Op::ForgetBase { path } => {
                self.base.entries.remove(path);
            }
            Op::Guard { .. } => {}
        }
        Ok(())
    }

    /// The local version (with all it holds) moves to `conflict` on both sides; the
    /// bucket's comes down as `path`.
    fn conflict(&mut self, path: &str, conflict: &str) -> Result<(), String> {
        if self.local.contains_key(conflict) || self.remote.contains_key(conflict) {
            return Err("the conflict name is taken".into());
        }
        let moved: Vec<(String, Entry)> = self
            .local
            .iter()
            .filter(|(k, _)| *k == path || inside(k, path))
            .map(|(k, e)| (alloc::format!("{conflict}{}", &k[path.len()..]), e.clone()))
            .collect();
        remove_under(&mut self.local, path);
        for (k, e) in moved {
            self.local.insert(k.clone(), e.clone());
            self.remote.insert(k.clone(), e);
            self.record(&k);
        }
        Self::copy(&self.remote, &mut self.local, path)?;
        self.record(path);
        Ok(())
    }

    fn observe(t: &Files) -> Observation {
        Observation {
            entries: t.clone(),
            complete: true,
        }
    }

    fn plan(&self, pins: &BTreeSet<String>, s: &Settings) -> Vec<Op> {
        let (r, l) = (Self::observe(&self.remote), Self::observe(&self.local));
        plan(&r, &l, &self.base, pins, s).ops
    }

    fn apply_all(&mut self, ops: &[Op], seed: u64) {
        for op in ops {
            if let Err(why) = self.apply(op) {
                panic!("seed {seed}: {op:?} cannot apply: {why}; plan {ops:?}");
            }
        }
    }

    /// Every content id (new since the base, all above 100) still somewhere.
    fn keeps_all(&self, ids: &BTreeSet<String>) -> Result<(), String> {
        let held: BTreeSet<&String> = self
            .local
            .values()
            .chain(self.remote.values())
            .map(|e| &e.etag)
            .collect();
        match ids.iter().find(|id| !held.contains(id)) {
            Some(id) => Err(alloc::format!("change {id} lost")),
            None => Ok(()),
        }
    }
}

/// What a tree holds, mtimes aside: path -> content id ("" for a folder).
fn content(t: &Files) -> BTreeMap<&String, &String> {
    t.iter().map(|(p, e)| (p, &e.etag)).collect()
}

/// Parents of every entry exist as folders (as on a disk).
fn well_formed(t: &Files) -> bool {
    t.keys()
        .all(|k| parent(k).is_none_or(|d| t.get(d).is_some_and(|e| e.is_dir)))
}

/// A random case: the world after edits from a shared base (some edits made on both sides
/// alike), random pins, and the new content ids.
fn random_case(seed: u64) -> (World, BTreeSet<String>, BTreeSet<String>) {
    let mut rng = Rng(seed);
    let b = random_base(&mut rng);
    let mut fresh = 100;
    let mut both = b.clone();
    for _ in 0..rng.below(3) {
        edit(&mut rng, &mut both, &mut fresh);
    }
    let (mut local, mut remote) = (both.clone(), both);
    for _ in 0..rng.below(5) {
        edit(&mut rng, &mut local, &mut fresh);
    }
    for _ in 0..rng.below(5) {
        edit(&mut rng, &mut remote, &mut fresh);
    }
    assert!(
        well_formed(&local) && well_formed(&remote),
        "seed {seed}: a bad generator"
    );
    let ids = local
        .values()
        .chain(remote.values())
        .filter(|e| !e.is_dir && e.size > 100)
        .map(|e| e.etag.clone())
        .collect();
    let pins = local
        .keys()
        .filter(|_| rng.below(12) == 0)
        .cloned()
        .collect();
    let base = Base {
        entries: b
            .iter()
            .map(|(k, e)| {
                let both = BaseEntry {
                    remote: e.clone(),
                    local: e.clone(),
                };
                (k.clone(), both)
            })
            .collect(),
    };
    (
        World {
            remote,
            local,
            base,
        },
        pins,
        ids,
    )
}

/// `CLICK_PLANNER_CASES` (read when the tests run), else 2,000.
fn cases() -> u64 {
    std::env::var("CLICK_PLANNER_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn moves_data(op: &Op) -> bool {
    !matches!(op, Op::Adopt { .. } | Op::ForgetBase { .. })
}

#[test]
fn random_trees_converge_without_losing_a_change() {
    let s = settings();
    let (mut conflicts, mut deletes) = (0, 0);
    for seed in 0..cases() {
        let (mut w, pins, ids) = random_case(seed);
        let first = w.plan(&pins, &s);
        conflicts += first
            .iter()
            .filter(|o| matches!(o, Op::Conflict { .. }))
            .count();
        deletes += first.iter().filter(|o| o.deletes_on().is_some()).count();
        w.apply_all(&first, seed);
        assert_eq!(
            content(&w.local),
            content(&w.remote),
            "seed {seed}: the trees differ after {first:?}"
        );
        assert!(well_formed(&w.local), "seed {seed}: {:?}", w.local);
        w.keeps_all(&ids)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}: {first:?}"));
        let second = w.plan(&pins, &s);
        assert!(
            !second.iter().any(moves_data),
            "seed {seed}: a second pass moves data: {second:?} after {first:?}"
        );
        w.apply_all(&second, seed);
        let third = w.plan(&pins, &s);
        assert!(third.is_empty(), "seed {seed}: a third pass: {third:?}");
    }
    if cases() >= 1_000 {
        assert!(
            conflicts > 100 && deletes > 100,
            "cases too tame: {conflicts} conflicts, {deletes} deletes"
        );
    }
}

#[test]
fn the_guard_holds_back_one_sides_deletes_and_nothing_else() {
    for seed in 0..cases() {
        let (w, pins, ids) = random_case(seed);
        let max = Rng(!seed).below(4) as usize;
        let free = w.plan(&pins, &settings());
        let guarded = Settings {
            max_deletes: max,
            ..settings()
        };
        let ops = w.plan(&pins, &guarded);
        let count = |ops: &[Op], side| ops.iter().filter(|o| o.deletes_on() == Some(side)).count();
        let mut held = 0;
        for side in [Side::Remote, Side::Local] {
            let planned = count(&free, side);
            assert!(count(&ops, side) <= max, "seed {seed}: {ops:?}");
            if planned > max {
                held += planned;
                assert_eq!(count(&ops, side), 0, "seed {seed}");
            } else {
                assert_eq!(
                    count(&ops, side),
                    planned,
                    "seed {seed}: the other side's deletes"
                );
            }
        }
        let guard = ops.iter().find_map(|o| match o {
            Op::Guard { deletes } => Some(*deletes),
            _ => None,
        });
        assert_eq!(guard, (held > 0).then_some(held), "seed {seed}: {ops:?}");
        let mut w = w;
        w.apply_all(&ops, seed);
        w.keeps_all(&ids)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}: {ops:?}"));
    }
}

#[test]
fn an_incomplete_side_causes_no_delete_on_the_other() {
    for seed in 0..cases() {
        let (w, pins, ids) = random_case(seed);
        let mut rng = Rng(seed ^ 0x5eed);
        let cut = |t: &Files, rng: &mut Rng| Observation {
            entries: t
                .iter()
                .filter(|_| rng.below(3) != 0)
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect(),
            complete: false,
        };
        let cut_remote = rng.below(2) == 0;
        let (r, l) = if cut_remote {
            (cut(&w.remote, &mut rng), World::observe(&w.local))
        } else {
            (World::observe(&w.remote), cut(&w.local, &mut rng))
        };
        let ops = plan(&r, &l, &w.base, &pins, &settings()).ops;
        let unseen = |p: &str| !(if cut_remote { &r } else { &l }).entries.contains_key(p);
        for op in &ops {
            let bad = match op {
                Op::DeleteLocal { .. } => cut_remote,
                Op::DeleteRemote { .. } => !cut_remote,
                // A copy onto the cut side over something it did not show.
                Op::Upload { path } | Op::MakeRemoteDir { path } => cut_remote && unseen(path),
                Op::Download { path } | Op::MakeLocalDir { path } => !cut_remote && unseen(path),
                _ => false,
            };
            assert!(!bad, "seed {seed}: {op:?} in {ops:?}");
        }
        // The host's ops that fail on what the cut observation missed change nothing.
        let mut w = w;
        for op in &ops {
            let _ = w.apply(op);
        }
        w.keeps_all(&ids)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}: {ops:?}"));
    }
}

#[test]
fn restricted_drives_change_only_what_they_may_and_settle() {
    for seed in 0..cases() {
        let (mut w, pins, ids) = random_case(seed);
        let mut rng = Rng(seed ^ 0xd1ec);
        let s = Settings {
            mode: *rng
                .pick(&[Mode::TwoWay, Mode::UploadOnly, Mode::DownloadOnly])
                .unwrap(),
            read_only: rng.below(2) == 0,
            allow_delete: rng.below(2) == 0,
            ..settings()
        };
        let no_bucket_change = s.read_only || s.mode == Mode::DownloadOnly;
        let ops = w.plan(&pins, &s);
        for op in &ops {
            let changes_bucket = matches!(
                op,
                Op::Upload { .. } | Op::MakeRemoteDir { .. } | Op::DeleteRemote { .. }
            );
            let changes_folder = matches!(
                op,
                Op::Download { .. } | Op::MakeLocalDir { .. } | Op::DeleteLocal { .. }
            );
            let changes_bucket = changes_bucket || matches!(op, Op::UploadAside { .. });
            let both = matches!(op, Op::Conflict { .. });
            let bad = ((changes_bucket || both) && no_bucket_change)
                || ((changes_folder || both) && s.mode == Mode::UploadOnly)
                || (matches!(op, Op::DeleteRemote { .. }) && !s.allow_delete);
            assert!(!bad, "seed {seed}: {op:?} under {s:?}");
        }
        w.apply_all(&ops, seed);
        w.keeps_all(&ids)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}: {ops:?}"));
        let again = w.plan(&pins, &s);
        assert!(
            !again.iter().any(moves_data),
            "seed {seed}: {s:?}: a second pass moves data: {again:?} after {ops:?}"
        );
    }
}
