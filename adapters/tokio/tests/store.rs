//! The redb store on a real file: atomic checked batches, paging, durability across reopen.
//! (Being an integration test of this package, this also makes `cargo test` build the
//! `click-agent` binary that the black-box tests in `tests/` start.)

use click_core::store::{Batch, CommitError, Store};
use click_tokio::store::RedbStore;

#[test]
fn batches_are_atomic_checked_and_durable() {
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
            "nothing of a failed batch is written"
        );
    }
    let store = RedbStore::open(&path, 64).unwrap();
    assert_eq!(
        store.get(b"user/00042").unwrap().as_deref(),
        Some(&42u32.to_le_bytes()[..])
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
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("click.redb"), 4).unwrap();
    let put = |k: &str, v: &str| {
        let mut b = Batch::new();
        b.put(k.as_bytes().to_vec(), v.as_bytes().to_vec());
        store.commit(&b).unwrap();
    };
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
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(RedbStore::open(&dir.path().join("click.redb"), 64).unwrap());
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
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("click.redb"), 64).unwrap();
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
