//! An in-memory [`Store`]: the firmware's RAM store and the core's test store.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::{
    Batch, CommitError, Entry, Op, Store, StoreError, first_failed_check, scan_bounds,
    take_prefixed,
};
use crate::sync::SpinLock;

/// A [`Store`] in a `BTreeMap` behind a spin lock: everything is lost when it is dropped.
#[derive(Default)]
pub struct MemStore {
    map: SpinLock<BTreeMap<Vec<u8>, Vec<u8>>>,
    /// Commits that may still succeed before the store "crashes" (`None`: no limit).
    #[cfg(any(test, feature = "testing"))]
    commits_left: SpinLock<Option<usize>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// Lets `commits` more commits succeed, then fails every one as a crashed host would
    /// (`None`: no limit again). Simulations crash the code under test at a chosen write.
    #[cfg(any(test, feature = "testing"))]
    pub fn crash_after(&self, commits: Option<usize>) {
        *self.commits_left.lock() = commits;
    }

    #[cfg(any(test, feature = "testing"))]
    fn crashed(&self) -> bool {
        let mut left = self.commits_left.lock();
        match left.as_mut() {
            Some(0) => true,
            Some(n) => {
                *n -= 1;
                false
            }
            None => false,
        }
    }

    #[cfg(not(any(test, feature = "testing")))]
    fn crashed(&self) -> bool {
        false
    }
}

impl MemStore {
    fn scan_in(
        &self,
        prefix: &[u8],
        cursor: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Entry>, StoreError> {
        let map = self.map.lock();
        let range = map.range(scan_bounds(prefix, cursor, reverse));
        let entries = |(k, v): (&Vec<u8>, &Vec<u8>)| Ok((k.clone(), v.clone()));
        if reverse {
            take_prefixed(range.rev().map(entries), prefix, limit)
        } else {
            take_prefixed(range.map(entries), prefix, limit)
        }
    }
}

impl Store for MemStore {
    type Value = Vec<u8>;

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map.lock().get(key).cloned())
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.scan_in(prefix, after, limit, false)
    }

    fn scan_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.scan_in(prefix, before, limit, true)
    }

    fn commit(&self, batch: &Batch) -> Result<(), CommitError> {
        if self.crashed() {
            return Err(CommitError::Store(StoreError));
        }
        let mut map = self.map.lock();
        if let Some(i) = first_failed_check(batch, |k| Ok(map.get(k)))? {
            return Err(CommitError::Conflict(i));
        }
        for op in &batch.ops {
            match op {
                Op::Put(k, v) => {
                    map.insert(k.clone(), v.clone());
                }
                Op::Delete(k) => {
                    map.remove(k);
                }
                Op::Add(k, delta) => {
                    let next = super::counter_added(map.get(k).map(Vec::as_slice), *delta);
                    map.insert(k.clone(), next);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_by_prefix_in_pages_and_checks_batches() {
        let s = MemStore::new();
        let mut b = Batch::new();
        for k in ["a/1", "a/2", "a/3", "b/1"] {
            b.put(k.into(), k.into());
        }
        s.commit(&b).unwrap();
        let page = s.scan(b"a/", None, 2).unwrap();
        assert_eq!(page.len(), 2);
        let rest = s.scan(b"a/", Some(&page[1].0), 10).unwrap();
        assert_eq!(rest, [(b"a/3".to_vec(), b"a/3".to_vec())]);

        let mut dup = Batch::new();
        dup.require_absent(b"a/1".to_vec())
            .put(b"c".to_vec(), b"x".to_vec());
        assert_eq!(s.commit(&dup), Err(CommitError::Conflict(0)));
        assert_eq!(s.get(b"c").unwrap(), None, "a failed batch writes nothing");

        let back = s.scan_rev(b"a/", None, 2).unwrap();
        let keys: Vec<&[u8]> = back.iter().map(|e| e.0.as_slice()).collect();
        assert_eq!(keys, [&b"a/3"[..], b"a/2"]);
        assert_eq!(s.scan_rev(b"a/", Some(b"a/2"), 10).unwrap().len(), 1);

        let mut cas = Batch::new();
        cas.require_value(b"n".to_vec(), None)
            .put(b"n".to_vec(), b"1".to_vec());
        s.commit(&cas).unwrap();
        assert_eq!(
            s.commit(&cas),
            Err(CommitError::Conflict(0)),
            "the value moved on"
        );
        let mut counter = Batch::new();
        counter.add(b"c".to_vec(), 2).add(b"c".to_vec(), -5);
        s.commit(&counter).unwrap();
        assert_eq!(
            s.get(b"c").unwrap().as_deref(),
            Some(&b"0"[..]),
            "never below zero"
        );
        let mut capped = Batch::new();
        capped.require_below(b"c".to_vec(), 1).add(b"c".to_vec(), 1);
        s.commit(&capped).unwrap();
        assert_eq!(
            s.commit(&capped),
            Err(CommitError::Conflict(0)),
            "the limit holds"
        );

        let mut cas = Batch::new();
        cas.require_value(b"n".to_vec(), Some(b"1".to_vec()))
            .put(b"n".to_vec(), b"2".to_vec());
        s.commit(&cas).unwrap();
    }
}
