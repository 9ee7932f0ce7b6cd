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
        let store = RedbStore::open(&path).unwrap();
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
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(
        store.get(b"user/00042").unwrap(),
        Some(42u32.to_le_bytes().to_vec())
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
    let _first = RedbStore::open(&path).unwrap();
    let err = RedbStore::open(&path)
        .err()
        .expect("the database is locked");
    assert!(err.contains("cannot open database"), "{err}");
}
