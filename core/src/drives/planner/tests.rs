//! The planner's rules one by one, then seeded random cases: three trees (a base, and the
//! folder and the bucket each edited from it) planned, applied to models of both sides and
//! planned again until nothing is left, checked to converge without losing any change.

use super::*;
use alloc::string::ToString;

fn file(content: u64) -> Entry {
    Entry {
        size: content,
        mtime_ms: content,
        etag: content.to_string(),
        is_dir: false,
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
    Base {
        entries: entries
            .iter()
            .map(|(p, e)| {
                let b = BaseEntry {
                    remote: e.clone(),
                    local: e.clone(),
                };
                (p.to_string(), b)
            })
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

fn run(r: &[(&str, Entry)], l: &[(&str, Entry)], b: &[(&str, Entry)], s: &Settings) -> Vec<Op> {
    plan(&obs(r), &obs(l), &base(b), &BTreeSet::new(), s).ops
}

fn path(p: &str) -> String {
    p.to_string()
}

#[test]
fn one_side_changed_goes_to_the_other() {
    let s = settings();
    let b = [("a", file(1))];
    assert_eq!(
        run(&[("a", file(2))], &[("a", file(1))], &b, &s),
        [Op::Download { path: path("a") }]
    );
    assert_eq!(
        run(&[("a", file(1))], &[("a", file(3))], &b, &s),
        [Op::Upload { path: path("a") }]
    );
    assert_eq!(run(&[("a", file(1))], &[("a", file(1))], &b, &s), []);
}

#[test]
fn both_changed_keeps_both_unless_the_content_is_equal() {
    let s = settings();
    let b = [("d/a.txt", file(1))];
    assert_eq!(
        run(&[("d/a.txt", file(2))], &[("d/a.txt", file(3))], &b, &s),
        [Op::Conflict {
            path: path("d/a.txt"),
            conflict: path("d/a (conflict nas 2026-12-04).txt")
        }]
    );
    let same = run(&[("d/a.txt", file(4))], &[("d/a.txt", file(4))], &b, &s);
    assert!(matches!(same.as_slice(), [Op::Adopt { .. }]), "{same:?}");
}

#[test]
fn modify_beats_delete_and_deletes_spread_only_over_unchanged_files() {
    let s = settings();
    let b = [("a", file(1)), ("b", file(1))];
    // The folder deleted both; the bucket changed `a` meanwhile.
    let ops = run(&[("a", file(2)), ("b", file(1))], &[], &b, &s);
    assert_eq!(
        ops,
        [
            Op::Download { path: path("a") },
            Op::DeleteRemote { path: path("b") }
        ]
    );
    // The bucket deleted both; the folder changed `b`.
    let ops = run(&[], &[("a", file(1)), ("b", file(5))], &b, &s);
    assert_eq!(
        ops,
        [
            Op::Upload { path: path("b") },
            Op::DeleteLocal { path: path("a") }
        ]
    );
}

#[test]
fn an_incomplete_listing_deletes_nothing() {
    let s = settings();
    let mut remote = obs(&[]);
    remote.complete = false;
    let local = obs(&[("a", file(1)), ("new", file(7))]);
    let b = base(&[("a", file(1))]);
    assert_eq!(plan(&remote, &local, &b, &BTreeSet::new(), &s).ops, []);
}

#[test]
fn read_only_and_no_delete_drives_leave_the_bucket_alone() {
    let b = [("a", file(1))];
    let ro = Settings {
        read_only: true,
        ..settings()
    };
    assert_eq!(
        run(
            &[("a", file(1))],
            &[("a", file(9)), ("n", file(3))],
            &b,
            &ro
        ),
        []
    );
    assert_eq!(
        run(&[("a", file(1))], &[], &b, &ro),
        [Op::Download { path: path("a") }],
        "deleted locally, it comes back"
    );
    let keep = Settings {
        allow_delete: false,
        ..settings()
    };
    assert_eq!(
        run(&[("a", file(1))], &[], &b, &keep),
        [Op::Download { path: path("a") }]
    );
}

#[test]
fn folders_are_made_parents_first_and_deleted_once() {
    let s = settings();
    let ops = run(&[("d", dir()), ("d/x", file(1))], &[], &[], &s);
    assert_eq!(
        ops,
        [
            Op::MakeLocalDir { path: path("d") },
            Op::Download { path: path("d/x") }
        ]
    );
    let b = [("d", dir()), ("d/x", file(1)), ("d/y", file(2))];
    let ops = run(&b, &[], &b, &s);
    assert_eq!(ops, [Op::DeleteRemote { path: path("d") }]);
}

#[test]
fn a_folder_deleted_on_one_side_stays_for_what_changed_inside_on_the_other() {
    let s = settings();
    let b = [("d", dir()), ("d/x", file(1)), ("d/y", file(2))];
    let ops = run(
        &[("d", dir()), ("d/x", file(8)), ("d/y", file(2))],
        &[],
        &b,
        &s,
    );
    assert_eq!(
        ops,
        [
            Op::MakeLocalDir { path: path("d") },
            Op::Download { path: path("d/x") },
            Op::DeleteRemote { path: path("d/y") }
        ]
    );
}

#[test]
fn the_max_delete_guard_holds_back_a_mass_delete() {
    let s = Settings {
        max_deletes: 2,
        ..settings()
    };
    let b = [("a", file(1)), ("b", file(1)), ("c", file(1))];
    assert_eq!(run(&b, &[], &b, &s), [Op::Guard { deletes: 3 }]);
    let s = Settings {
        max_deletes: 3,
        ..settings()
    };
    assert_eq!(run(&b, &[], &b, &s).len(), 3);
}

#[test]
fn conflict_names_keep_the_extension_and_the_folder() {
    assert_eq!(
        conflict_name("a/b/report.final.pdf", "h", "d"),
        "a/b/report.final (conflict h d).pdf"
    );
    assert_eq!(conflict_name("README", "h", "d"), "README (conflict h d)");
    assert_eq!(conflict_name(".bashrc", "h", "d"), ".bashrc (conflict h d)");
}

#[test]
fn a_pinned_file_deleted_in_the_bucket_is_kept_and_sent_back() {
    let s = settings();
    let pins: BTreeSet<String> = [path("a")].into_iter().collect();
    let ops = plan(
        &obs(&[]),
        &obs(&[("a", file(1))]),
        &base(&[("a", file(1))]),
        &pins,
        &s,
    )
    .ops;
    assert_eq!(ops, [Op::Upload { path: path("a") }]);
}

// ---- seeded random cases

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// One side: path -> entry.
type Tree = BTreeMap<String, Entry>;

fn parent(p: &str) -> Option<&str> {
    p.rsplit_once('/').map(|(d, _)| d)
}

fn remove_under(t: &mut Tree, p: &str) {
    t.retain(|k, _| k != p && !inside(k, p));
}

fn random_base(rng: &mut Rng) -> Tree {
    let mut t = Tree::new();
    let dirs = ["d0", "d1", "d1/e"];
    for d in dirs.iter().take(rng.next(4) as usize) {
        t.insert(path(d), dir());
    }
    let folders: Vec<String> = t.keys().cloned().collect();
    for i in 0..rng.next(8) {
        let name = alloc::format!("f{i}.txt");
        let p = match rng.next(folders.len() as u64 + 1) as usize {
            0 => name,
            k => alloc::format!("{}/{name}", folders[k - 1]),
        };
        t.insert(p, file(1 + rng.next(3)));
    }
    t
}

/// Random edits; `fresh` hands out new content ids (every edit writes new content).
fn edit(rng: &mut Rng, t: &mut Tree, fresh: &mut u64, tag: &str) {
    for _ in 0..rng.next(5) {
        let paths: Vec<String> = t.keys().cloned().collect();
        match rng.next(4) {
            0 if !paths.is_empty() => {
                let p = &paths[rng.next(paths.len() as u64) as usize];
                if !t[p].is_dir {
                    *fresh += 1;
                    t.insert(p.clone(), file(*fresh));
                }
            }
            1 if !paths.is_empty() => {
                let p = paths[rng.next(paths.len() as u64) as usize].clone();
                remove_under(t, &p);
            }
            2 => {
                *fresh += 1;
                let dirs: Vec<&String> = paths.iter().filter(|p| t[*p].is_dir).collect();
                let name = alloc::format!("{tag}{fresh}.bin");
                let p = match rng.next(dirs.len() as u64 + 1) as usize {
                    0 => name,
                    k => alloc::format!("{}/{name}", dirs[k - 1]),
                };
                t.insert(p, file(*fresh));
            }
            _ => {
                *fresh += 1;
                let d = alloc::format!("{tag}dir{fresh}");
                t.insert(d.clone(), dir());
                t.insert(alloc::format!("{d}/in.txt"), file(*fresh));
            }
        }
    }
}

struct World {
    remote: Tree,
    local: Tree,
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
                self.base.entries.insert(path(p), b);
            }
            _ => {
                self.base.entries.remove(p);
            }
        }
    }

    fn forget_under(&mut self, p: &str) {
        self.base.entries.retain(|k, _| k != p && !inside(k, p));
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Upload { path } | Op::MakeRemoteDir { path } => {
                let e = self.local[path].clone();
                self.remote.insert(path.clone(), e);
                self.record(path);
            }
            Op::Download { path } | Op::MakeLocalDir { path } => {
                let e = self.remote[path].clone();
                remove_under(&mut self.local, path);
                self.local.insert(path.clone(), e);
                self.record(path);
            }
            Op::DeleteRemote { path } => {
                remove_under(&mut self.remote, path);
                self.forget_under(path);
            }
            Op::DeleteLocal { path } => {
                remove_under(&mut self.local, path);
                self.forget_under(path);
            }
            Op::Conflict { path, conflict } => {
                // The local version (a whole folder, for a folder) moves to the conflict name
                // on both sides; the bucket's comes down.
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
                let e = self.remote[path].clone();
                self.local.insert(path.clone(), e);
                self.record(path);
            }
            Op::Adopt { path, .. } => self.record(path),
            Op::ForgetBase { path } => {
                self.base.entries.remove(path);
            }
            Op::Guard { .. } => panic!("no guard in these cases"),
        }
    }

    fn plan(&self, s: &Settings) -> Vec<Op> {
        let observe = |t: &Tree| Observation {
            entries: t.clone(),
            complete: true,
        };
        plan(
            &observe(&self.remote),
            &observe(&self.local),
            &self.base,
            &BTreeSet::new(),
            s,
        )
        .ops
    }
}

/// Parents of every entry exist as folders (as on a disk).
fn well_formed(t: &Tree) -> bool {
    t.keys()
        .all(|k| parent(k).is_none_or(|d| t.get(d).is_some_and(|e| e.is_dir)))
}

#[test]
fn random_trees_converge_without_losing_a_change() {
    let cases: u64 = option_env!("CLICK_PLANNER_CASES")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let s = settings();
    for seed in 0..cases {
        let mut rng = Rng(seed);
        let b = random_base(&mut rng);
        let mut fresh = 100;
        let (mut local, mut remote) = (b.clone(), b.clone());
        edit(&mut rng, &mut local, &mut fresh, "l");
        edit(&mut rng, &mut remote, &mut fresh, "r");
        // Changes made since the base, on either side, by content id.
        let changed: BTreeSet<String> = local
            .values()
            .chain(remote.values())
            .filter(|e| !e.is_dir && e.size > 100)
            .map(|e| e.etag.clone())
            .collect();
        let mut w = World {
            remote,
            local,
            base: Base {
                entries: b
                    .iter()
                    .map(|(k, e)| {
                        let be = BaseEntry {
                            remote: e.clone(),
                            local: e.clone(),
                        };
                        (k.clone(), be)
                    })
                    .collect(),
            },
        };
        let mut passes = 0;
        loop {
            let ops = w.plan(&s);
            if ops.is_empty() {
                break;
            }
            passes += 1;
            assert!(passes <= 3, "seed {seed}: no convergence, still {ops:?}");
            if passes > 1 {
                assert!(
                    ops.iter()
                        .all(|o| matches!(o, Op::Adopt { .. } | Op::ForgetBase { .. })),
                    "seed {seed}: a second pass moved data: {ops:?}"
                );
            }
            for op in &ops {
                w.apply(op);
            }
        }
        assert_eq!(w.local, w.remote, "seed {seed}: the trees differ");
        assert!(well_formed(&w.local), "seed {seed}: {:?}", w.local);
        let kept: BTreeSet<String> = w.local.values().map(|e| e.etag.clone()).collect();
        for c in &changed {
            assert!(kept.contains(c), "seed {seed}: change {c} lost");
        }
    }
}
