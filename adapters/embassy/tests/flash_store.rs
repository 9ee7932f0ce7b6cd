//! The flash store: rows survive a reopen, and a power cut at any write of a commit leaves
//! either all of the commit or none of it.

use click_core::store::{Batch, CommitError, Store};
use click_embassy::flash_store::FlashStore;
use click_embassy::ram_flash::{PAGE, RamFlash};

const PAGES: usize = 16;
const ITEM: usize = 1024;

fn open(image: Vec<u8>) -> FlashStore<RamFlash> {
    FlashStore::open(RamFlash::from_image(image), 0..(PAGES * PAGE) as u32, ITEM).expect("open")
}

fn image_of(store: FlashStore<RamFlash>) -> Vec<u8> {
    store.into_flash().image().to_vec()
}

fn rows(store: &FlashStore<RamFlash>) -> Vec<(String, String)> {
    store
        .scan(b"", None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap()))
        .collect()
}

#[test]
fn rows_survive_a_reopen() {
    let s = open(RamFlash::erased(PAGES).image().to_vec());
    let mut b = Batch::new();
    b.put(b"user/1".to_vec(), b"jane".to_vec())
        .put(b"user/2".to_vec(), b"joe".to_vec())
        .add(b"count/users".to_vec(), 2);
    s.commit(&b).unwrap();
    let mut b = Batch::new();
    b.delete(b"user/2".to_vec())
        .add(b"count/users".to_vec(), -1);
    s.commit(&b).unwrap();
    let mut dup = Batch::new();
    dup.require_absent(b"user/1".to_vec())
        .put(b"x".to_vec(), b"y".to_vec());
    assert_eq!(s.commit(&dup), Err(CommitError::Conflict(0)));

    let s = open(image_of(s));
    assert_eq!(
        rows(&s),
        [
            ("count/users".into(), "1".into()),
            ("user/1".into(), "jane".into())
        ]
    );
    // Rewriting one row many times: the map's garbage collection keeps the flash from
    // filling up.
    for i in 0..2000 {
        let mut b = Batch::new();
        b.put(b"session/x".to_vec(), format!("{i:0>200}").into_bytes());
        s.commit(&b).unwrap();
    }
    let s = open(image_of(s));
    assert_eq!(
        s.get(b"session/x").unwrap().unwrap(),
        format!("{:0>200}", 1999).into_bytes()
    );
}

#[test]
fn a_batch_larger_than_an_item_is_journaled_in_chunks() {
    let s = open(RamFlash::erased(PAGES).image().to_vec());
    let mut b = Batch::new();
    for i in 0..40 {
        b.put(format!("rel/{i:03}").into_bytes(), vec![b'r'; 100]);
    }
    s.commit(&b).unwrap();
    let s = open(image_of(s));
    assert_eq!(rows(&s).len(), 40);
}

#[test]
fn a_power_cut_at_any_write_keeps_commits_whole() {
    let base = {
        let s = open(RamFlash::erased(PAGES).image().to_vec());
        let mut b = Batch::new();
        b.put(b"a".to_vec(), b"old a".to_vec())
            .put(b"b".to_vec(), b"old b".to_vec());
        s.commit(&b).unwrap();
        image_of(s)
    };
    let before = vec![
        ("a".to_string(), "old a".to_string()),
        ("b".into(), "old b".into()),
    ];
    let after = vec![
        ("a".to_string(), "new a".to_string()),
        ("c".into(), "new c".into()),
    ];
    let mut saw = (false, false);
    for cut in 0..40 {
        let mut flash = RamFlash::from_image(base.clone());
        flash.power_left = Some(cut);
        let s = FlashStore::open(flash, 0..(PAGES * PAGE) as u32, ITEM).expect("open");
        let mut b = Batch::new();
        b.put(b"a".to_vec(), b"new a".to_vec())
            .delete(b"b".to_vec())
            .put(b"c".to_vec(), vec![b'x'; 600])
            .put(b"c".to_vec(), b"new c".to_vec());
        let committed = s.commit(&b).is_ok();
        if !committed {
            let mut next = Batch::new();
            next.put(b"d".to_vec(), b"d".to_vec());
            assert!(
                s.commit(&next).is_err(),
                "nothing goes on top of a torn commit"
            );
        }
        let reopened = open(image_of(s));
        let now = rows(&reopened);
        assert!(
            now == before || now == after,
            "cut after {cut} writes: {now:?}"
        );
        if committed {
            assert_eq!(now, after, "an acknowledged commit is on flash");
        }
        saw.0 |= now == before;
        saw.1 |= now == after;
    }
    assert!(
        saw.0 && saw.1,
        "cuts land before and after the commit point"
    );
}

#[test]
fn a_full_flash_or_an_oversize_row_refuses_the_commit_and_keeps_the_rest() {
    let s = FlashStore::open(RamFlash::erased(4), 0..(4 * PAGE) as u32, ITEM).expect("open");
    let mut big = Batch::new();
    big.put(b"row/big".to_vec(), vec![b'x'; ITEM]);
    assert_eq!(s.commit(&big), Err(CommitError::Full));
    let mut written = Vec::new();
    let full = (0..1000).find_map(|i| {
        let mut b = Batch::new();
        let key = format!("row/{i:04}").into_bytes();
        b.put(key.clone(), vec![b'r'; 500]);
        match s.commit(&b) {
            Ok(()) => {
                written.push(key);
                None
            }
            Err(e) => Some(e),
        }
    });
    assert_eq!(full, Some(CommitError::Full), "{} rows fit", written.len());
    assert!(!written.is_empty());
    let reopened = FlashStore::open(s.into_flash(), 0..(4 * PAGE) as u32, ITEM).expect("open");
    for key in &written {
        assert!(reopened.get(key).unwrap().is_some(), "{key:?} kept");
    }
    assert_eq!(reopened.get(b"row/big").unwrap(), None);
}
