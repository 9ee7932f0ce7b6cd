//! The desktop `Store`: one redb table in `<data-dir>/click.redb`, ACID and crash-safe.

use std::path::Path;

use click_core::store::{Batch, CommitError, Entry, Op, Store, StoreError, first_failed_check};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

const KV: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

pub struct RedbStore {
    db: Database,
}

fn fail<E: std::fmt::Display>(e: E) -> StoreError {
    tracing::error!("store: {e}");
    StoreError
}

impl RedbStore {
    pub fn open(path: &Path) -> Result<RedbStore, String> {
        let db = Database::create(path)
            .map_err(|e| format!("cannot open database {}: {e}", path.display()))?;
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        txn.open_table(KV).map_err(|e| e.to_string())?;
        txn.commit().map_err(|e| e.to_string())?;
        Ok(RedbStore { db })
    }
}

impl Store for RedbStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(fail)?;
        let table = txn.open_table(KV).map_err(fail)?;
        Ok(table.get(key).map_err(fail)?.map(|v| v.value().to_vec()))
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let txn = self.db.begin_read().map_err(fail)?;
        let table = txn.open_table(KV).map_err(fail)?;
        let range = match after {
            Some(a) => {
                table.range::<&[u8]>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))
            }
            None => table.range::<&[u8]>(prefix..),
        }
        .map_err(fail)?;
        let mut out = Vec::new();
        for item in range {
            let (k, v) = item.map_err(fail)?;
            if !k.value().starts_with(prefix) || out.len() == limit {
                break;
            }
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
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
            let failed = first_failed_check(batch, |k| Ok(table.get(k).map_err(fail)?.is_some()))?;
            if let Some(i) = failed {
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
                }
            }
        }
        txn.commit().map_err(fail)?;
        Ok(())
    }
}
