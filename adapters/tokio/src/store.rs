//! The desktop `Store`: one redb table in `<data-dir>/click.redb`, ACID and crash-safe, with a
//! bounded read cache for point lookups (every authenticated request reads its session).

use std::path::Path;
use std::sync::Arc;

use crate::thread_cache::ThreadCache;
use click_core::store::{
    Batch, CommitError, Entry, Op, Store, StoreError, counter_added, first_failed_check,
    scan_bounds, take_prefixed,
};
use redb::{AccessGuard, Database, ReadableDatabase, ReadableTable, StorageError, TableDefinition};

const KV: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// A key and value as redb hands them out of a range.
type RawEntry<'a> = (
    AccessGuard<'a, &'static [u8]>,
    AccessGuard<'a, &'static [u8]>,
);

pub struct RedbStore {
    db: Database,
    /// Point lookups; every commit invalidates it, so it never serves a value older than the
    /// last commit that returned.
    cache: ThreadCache<Option<Arc<[u8]>>>,
}

fn fail<E: std::fmt::Display>(e: E) -> StoreError {
    tracing::error!("store: {e}");
    StoreError
}

impl RedbStore {
    /// Opens or creates the database; `cache_entries` bounds the read cache (0 turns it off).
    pub fn open(path: &Path, cache_entries: usize) -> Result<RedbStore, String> {
        let db = Database::create(path)
            .map_err(|e| format!("cannot open database {}: {e}", path.display()))?;
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        txn.open_table(KV).map_err(|e| e.to_string())?;
        txn.commit().map_err(|e| e.to_string())?;
        Ok(RedbStore {
            db,
            cache: ThreadCache::new(cache_entries),
        })
    }

    fn scan_in(
        &self,
        prefix: &[u8],
        cursor: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Entry>, StoreError> {
        let txn = self.db.begin_read().map_err(fail)?;
        let table = txn.open_table(KV).map_err(fail)?;
        let (lo, hi) = scan_bounds(prefix, cursor, reverse);
        let range = table
            .range::<&[u8]>((
                lo.as_ref().map(Vec::as_slice),
                hi.as_ref().map(Vec::as_slice),
            ))
            .map_err(fail)?;
        let entries = |item: Result<RawEntry<'_>, StorageError>| {
            item.map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
                .map_err(fail)
        };
        if reverse {
            take_prefixed(range.rev().map(entries), prefix, limit)
        } else {
            take_prefixed(range.map(entries), prefix, limit)
        }
    }

    fn read(&self, key: &[u8]) -> Result<Option<Arc<[u8]>>, StoreError> {
        let txn = self.db.begin_read().map_err(fail)?;
        let table = txn.open_table(KV).map_err(fail)?;
        Ok(table.get(key).map_err(fail)?.map(|v| Arc::from(v.value())))
    }
}

impl Store for RedbStore {
    type Value = Arc<[u8]>;

    fn get(&self, key: &[u8]) -> Result<Option<Arc<[u8]>>, StoreError> {
        if let Some(hit) = self.cache.get(key) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let value = self.read(key)?;
        self.cache.insert(key, value.clone(), generation);
        Ok(value)
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
        // redb serializes write transactions and fsyncs on commit: keep the worker thread
        // available to other tasks meanwhile.
        crate::ports::blocking(|| self.commit_now(batch))
    }
}

impl RedbStore {
    fn commit_now(&self, batch: &Batch) -> Result<(), CommitError> {
        let txn = self.db.begin_write().map_err(fail)?;
        {
            let mut table = txn.open_table(KV).map_err(fail)?;
            let failed = first_failed_check(batch, |k| {
                Ok(table.get(k).map_err(fail)?.map(|v| v.value().to_vec()))
            })?;
            if let Some(i) = failed {
                // The caller read its expectation, perhaps from a cache that another commit
                // (done, but not yet invalidated) made stale: drop the caches so its retry
                // reads what the database holds instead of failing the same way again.
                self.cache.invalidate_all();
                return Err(CommitError::Conflict(i));
            }
            for op in &batch.ops {
                match op {
                    Op::Put(k, v) => {
                        table.insert(k.as_slice(), v.as_slice()).map_err(fail)?;
                    }
                    Op::Delete(k) => {
                        table.remove(k.as_slice()).map_err(fail)?;
                    }
                    Op::Add(k, delta) => {
                        let current = table
                            .get(k.as_slice())
                            .map_err(fail)?
                            .map(|v| v.value().to_vec());
                        let next = counter_added(current.as_deref(), *delta);
                        table.insert(k.as_slice(), next.as_slice()).map_err(fail)?;
                    }
                }
            }
        }
        txn.commit().map_err(fail)?;
        self.cache.invalidate_all();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit that landed but has not yet invalidated the caches (its thread preempted in
    /// between) must not make compare-and-set retries fail over and over.
    #[test]
    fn a_conflict_drops_a_stale_cached_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("db.redb"), 64).unwrap();
        let mut first = Batch::new();
        first.put(b"k".to_vec(), b"v1".to_vec());
        store.commit(&first).unwrap();
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v1"[..]));

        let txn = store.db.begin_write().unwrap();
        txn.open_table(KV)
            .unwrap()
            .insert(&b"k"[..], &b"v2"[..])
            .unwrap();
        txn.commit().unwrap();
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v1"[..]));

        let mut cas = Batch::new();
        cas.require_value(b"k".to_vec(), Some(b"v1".to_vec()));
        cas.put(b"k".to_vec(), b"v3".to_vec());
        assert!(matches!(store.commit(&cas), Err(CommitError::Conflict(0))));
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v2"[..]));
    }
}
