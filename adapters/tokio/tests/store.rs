//! The stores on real parts: the redb file, and PostgreSQL (a throwaway cluster of Debian's
//! server, tests/src/postgres.rs). Each contract test runs on both: atomic checked batches,
//! paging both ways, counters, compare-and-set under contention, a read cache that never
//! serves a stale row. (Being an integration test of this package, this also makes `cargo
//! test` build the `click-agent` binary that the black-box tests in `tests/` start.)

use std::sync::Arc;

use click_blackbox::postgres::Postgres;
use click_core::store::{Batch, CommitError, Store};
use click_tokio::store::{AgentStore, PgStore, RedbStore};

/// Runs `check` on a new redb store, then on a new PostgreSQL store.
fn on_each_store(check: impl Fn(Arc<AgentStore>)) {
    let dir = tempfile::tempdir().unwrap();
    let redb = RedbStore::open(&dir.path().join("click.redb"), 4).unwrap();
    check(Arc::new(AgentStore::Redb(redb)));
    let pg = Postgres::start();
    let runtime = runtime();
    let store = {
        let _inside = runtime.enter();
        PgStore::connect(&pg.database(), 4, 4).unwrap()
    };
    check(Arc::new(AgentStore::Postgres(store)));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn put(store: &impl Store, k: &str, v: &str) {
    let mut b = Batch::new();
    b.put(k.as_bytes().to_vec(), v.as_bytes().to_vec());
    store.commit(&b).unwrap();
}

fn text(store: &impl Store, k: &str) -> Option<String> {
    (store.get(k.as_bytes()).unwrap()).map(|v| String::from_utf8(v.as_ref().to_vec()).unwrap())
}

#[test]
fn batches_are_atomic_checked_and_paged() {
    on_each_store(|store| {
        let mut batch = Batch::new();
        for i in 0..2500u32 {
            batch.put(
                format!("user/{i:05}").into_bytes(),
                i.to_le_bytes().to_vec(),
            );
        }
        batch.put(b"zzz".to_vec(), b"other table".to_vec());
        store.commit(&batch).unwrap();
        let mut conflict = Batch::new();
        conflict
            .put(b"user/new".to_vec(), vec![1])
            .require_absent(b"user/00007".to_vec());
        assert_eq!(store.commit(&conflict), Err(CommitError::Conflict(0)));
        assert_eq!(
            store.get(b"user/new").unwrap(),
            None,
            "nothing of a failed batch"
        );
        // Paging through a prefix reads pages, in order, and stops at the prefix's end.
        let mut after: Option<Vec<u8>> = None;
        let mut seen = 0;
        loop {
            let page = store.scan(b"user/", after.as_deref(), 1000).unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 1000);
            assert!(page.windows(2).all(|w| w[0].0 < w[1].0));
            seen += page.len();
            after = Some(page.last().unwrap().0.clone());
        }
        assert_eq!(seen, 2500);
        let mut delete = Batch::new();
        delete
            .delete(b"user/00000".to_vec())
            .require_present(b"zzz".to_vec());
        store.commit(&delete).unwrap();
        assert_eq!(store.get(b"user/00000").unwrap(), None);
        // Ops apply in order: a put then a delete of one key leaves nothing.
        let mut both = Batch::new();
        both.put(b"k".to_vec(), b"v".to_vec()).delete(b"k".to_vec());
        store.commit(&both).unwrap();
        assert_eq!(store.get(b"k").unwrap(), None);
    });
}

#[test]
fn counters_add_inside_the_batch_and_bound_it() {
    on_each_store(|store| {
        let mut add = Batch::new();
        add.add(b"n".to_vec(), 3).add(b"n".to_vec(), 2);
        store.commit(&add).unwrap();
        assert_eq!(text(&*store, "n").as_deref(), Some("5"));
        let mut capped = Batch::new();
        capped.require_below(b"n".to_vec(), 5).add(b"n".to_vec(), 1);
        assert_eq!(store.commit(&capped), Err(CommitError::Conflict(0)));
        let mut down = Batch::new();
        down.add(b"n".to_vec(), -9);
        store.commit(&down).unwrap();
        assert_eq!(text(&*store, "n").as_deref(), Some("0"), "never below 0");
    });
}

#[test]
fn eight_threads_of_compare_and_set_lose_no_update() {
    on_each_store(|store| {
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..25u32 {
                        loop {
                            let seen = store.get(b"n").unwrap().map(|v| v.as_ref().to_vec());
                            let n: u32 = (seen.as_deref())
                                .map_or(0, |v| std::str::from_utf8(v).unwrap().parse().unwrap());
                            let mut cas = Batch::new();
                            cas.require_value(b"n".to_vec(), seen);
                            cas.put(b"n".to_vec(), (n + 1).to_string().into_bytes());
                            cas.put(format!("own/{t}/{i}").into_bytes(), b"x".to_vec());
                            match store.commit(&cas) {
                                Ok(()) => break,
                                Err(CommitError::Conflict(0)) => continue,
                                Err(e) => panic!("{e:?}"),
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(text(&*store, "n").as_deref(), Some("200"));
        assert_eq!(store.scan(b"own/", None, 1000).unwrap().len(), 200);
    });
}

#[test]
fn a_commit_by_another_agent_reaches_this_agents_cache() {
    let pg = Postgres::start();
    let url = pg.database();
    let runtime = runtime();
    let _inside = runtime.enter();
    let (mine, theirs) = (
        PgStore::connect(&url, 2, 64).unwrap(),
        PgStore::connect(&url, 2, 64).unwrap(),
    );
    let started = std::time::Instant::now();
    while !mine.hears_others() {
        assert!(started.elapsed().as_secs() < 5, "not listening");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    put(&theirs, "k", "old");
    // Now cached by this agent.
    assert_eq!(text(&mine, "k").as_deref(), Some("old"));
    assert_eq!(text(&mine, "k").as_deref(), Some("old"));
    put(&theirs, "k", "new");
    let started = std::time::Instant::now();
    while text(&mine, "k").as_deref() != Some("new") {
        assert!(
            started.elapsed().as_millis() < 1000,
            "still stale after 1 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn the_redb_file_keeps_batches_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("click.redb");
    {
        let store = RedbStore::open(&path, 64).unwrap();
        let mut batch = Batch::new();
        for i in 0..2500u32 {
            batch.put(
                format!("user/{i:05}").into_bytes(),
                i.to_le_bytes().to_vec(),
            );
        }
        store.commit(&batch).unwrap();
        let mut failed = Batch::new();
        failed
            .put(b"user/new".to_vec(), vec![1])
            .require_absent(b"user/00007".to_vec());
        assert_eq!(store.commit(&failed), Err(CommitError::Conflict(0)));
    }
    let store = RedbStore::open(&path, 64).unwrap();
    assert_eq!(
        store.get(b"user/00042").unwrap().as_deref(),
        Some(&42u32.to_le_bytes()[..])
    );
    assert_eq!(store.get(b"user/new").unwrap(), None);
    assert_eq!(store.scan(b"user/", None, 5000).unwrap().len(), 2500);
}

#[test]
fn a_second_agent_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("click.redb");
    let _first = RedbStore::open(&path, 64).unwrap();
    let err = RedbStore::open(&path, 64)
        .err()
        .expect("the database is locked");
    assert!(err.contains("cannot open database"), "{err}");
}

#[test]
fn the_read_cache_never_serves_a_stale_row() {
    on_each_store(|store| read_cache_never_stale(&store));
}

fn read_cache_never_stale(store: &AgentStore) {
    let put = |k: &str, v: &str| put(store, k, v);
    assert_eq!(store.get(b"k").unwrap(), None, "a cached miss");
    put("k", "1");
    assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"1"[..]));
    put("k", "2");
    assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"2"[..]));
    let mut del = Batch::new();
    del.delete(b"k".to_vec());
    store.commit(&del).unwrap();
    assert_eq!(store.get(b"k").unwrap(), None);
    // More keys than the cache holds: still correct.
    for i in 0..20 {
        put(&format!("n{i}"), &i.to_string());
    }
    for i in 0..20 {
        assert_eq!(
            store.get(format!("n{i}").as_bytes()).unwrap().as_deref(),
            Some(i.to_string().as_bytes())
        );
    }
}

#[test]
fn a_commit_on_one_thread_invalidates_every_threads_cache() {
    on_each_store(one_commit_invalidates_every_thread);
}

fn one_commit_invalidates_every_thread(store: Arc<AgentStore>) {
    let mut b = Batch::new();
    b.put(b"k".to_vec(), b"old".to_vec());
    store.commit(&b).unwrap();
    let reader = {
        let store = store.clone();
        std::thread::spawn(move || {
            assert_eq!(
                store.get(b"k").unwrap().as_deref(),
                Some(&b"old"[..]),
                "cached in this thread"
            );
            std::thread::park();
            store.get(b"k").unwrap().map(|v| v.to_vec())
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut b = Batch::new();
    b.put(b"k".to_vec(), b"new".to_vec());
    store.commit(&b).unwrap();
    reader.thread().unpark();
    assert_eq!(reader.join().unwrap().as_deref(), Some(&b"new"[..]));
}

#[test]
fn reverse_scans_and_compare_and_set() {
    on_each_store(|store| reverse_scans(&store));
}

fn reverse_scans(store: &AgentStore) {
    let mut b = Batch::new();
    for k in ["a/1", "a/2", "a/3", "b/1", "a\u{ff}"] {
        b.put(k.as_bytes().to_vec(), k.as_bytes().to_vec());
    }
    store.commit(&b).unwrap();
    let keys = |entries: Vec<(Vec<u8>, Vec<u8>)>| {
        entries
            .into_iter()
            .map(|(k, _)| String::from_utf8(k).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(store.scan_rev(b"a/", None, 10).unwrap()),
        ["a/3", "a/2", "a/1"]
    );
    assert_eq!(
        keys(store.scan_rev(b"a/", Some(b"a/3"), 1).unwrap()),
        ["a/2"]
    );
    assert_eq!(
        keys(store.scan(b"a/", Some(b"a/1"), 10).unwrap()),
        ["a/2", "a/3"]
    );
    assert_eq!(
        keys(store.scan_rev(b"", None, 2).unwrap()),
        ["b/1", "a\u{ff}"],
        "the empty prefix has no end"
    );

    let mut cas = Batch::new();
    cas.require_value(b"count".to_vec(), None)
        .put(b"count".to_vec(), b"1".to_vec());
    store.commit(&cas).unwrap();
    assert_eq!(store.commit(&cas), Err(CommitError::Conflict(0)));
    let mut cas = Batch::new();
    cas.require_value(b"count".to_vec(), Some(b"1".to_vec()))
        .put(b"count".to_vec(), b"2".to_vec());
    store.commit(&cas).unwrap();
    assert_eq!(store.get(b"count").unwrap().as_deref(), Some(&b"2"[..]));
}
