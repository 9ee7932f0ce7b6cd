//! Typed tables over the key-value [`Store`]: a table is a key prefix, rows are JSON.

use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Batch, CommitError, Store, StoreError};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// A table: the rows under one key prefix, `<prefix><id>` -> JSON. The core's tables are the
/// constants of [`keys`](super::keys); hosts may declare their own with a prefix none of those
/// start with.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    prefix: &'static str,
}

impl Table {
    /// `prefix` must end with `/` so that one table's keys never prefix another's.
    pub const fn new(prefix: &'static str) -> Table {
        Table { prefix }
    }

    /// The prefix every key of the table starts with, for scans.
    pub fn prefix(&self) -> &'static [u8] {
        self.prefix.as_bytes()
    }

    /// The key of row `id`.
    pub fn key(&self, id: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + id.len());
        k.extend_from_slice(self.prefix.as_bytes());
        k.extend_from_slice(id.as_bytes());
        k
    }

    /// Row `id`, decoded; a row that does not decode as `T` is a store failure (500).
    pub fn get<T: DeserializeOwned>(&self, store: &impl Store, id: &str) -> ApiResult<Option<T>> {
        match store.get(&self.key(id))? {
            Some(bytes) => Ok(Some(decode(bytes.as_ref())?)),
            None => Ok(None),
        }
    }

    /// The raw value of a row, for index tables whose values are ids.
    pub fn get_str(&self, store: &impl Store, id: &str) -> ApiResult<Option<String>> {
        Ok(store
            .get(&self.key(id))?
            .and_then(|v| core::str::from_utf8(v.as_ref()).ok().map(String::from)))
    }

    /// Writes row `id` as JSON in `batch`.
    pub fn put<T: Serialize>(&self, batch: &mut Batch, id: &str, row: &T) {
        // Serializing our own row types cannot fail: they hold no maps with non-string keys.
        let bytes = serde_json::to_vec(row).unwrap_or_default();
        batch.put(self.key(id), bytes);
    }

    /// Applies `change` to row `id` atomically: if another writer changed it in between,
    /// the change is made again on the new row. `change` returns false to leave the row as
    /// it is. The row as changed, if it changed; NOT_FOUND when there is none.
    pub fn update<T: Serialize + DeserializeOwned>(
        &self,
        store: &impl Store,
        id: &str,
        mut change: impl FnMut(&mut T) -> ApiResult<bool>,
    ) -> ApiResult<Option<T>> {
        let key = self.key(id);
        for _ in 0..COMMIT_ATTEMPTS {
            let Some(old) = store.get(&key)?.map(|v| v.as_ref().to_vec()) else {
                return Err(ApiError::not_found("The record"));
            };
            let mut row: T = decode(&old)?;
            if !change(&mut row)? {
                return Ok(None);
            }
            let mut batch = Batch::new();
            batch.require_value(key.clone(), Some(old));
            self.put(&mut batch, id, &row);
            match store.commit(&batch) {
                Ok(()) => return Ok(Some(row)),
                Err(CommitError::Conflict(_)) => continue,
                Err(e) => return Err(failure(e)),
            }
        }
        Err(ApiError::Internal)
    }

    /// Writes `value` as it is (an index row's id) in `batch`.
    pub fn put_str(&self, batch: &mut Batch, id: &str, value: &str) {
        batch.put(self.key(id), value.as_bytes().to_vec());
    }

    /// Deletes row `id` in `batch`.
    pub fn delete(&self, batch: &mut Batch, id: &str) {
        batch.delete(self.key(id));
    }
}

/// The rows of `table` named by the keys below `index_prefix` (an index whose keys end with
/// row ids), in index order; ids without a row are skipped.
pub(crate) fn indexed_rows<T: DeserializeOwned>(
    store: &impl Store,
    index_prefix: &[u8],
    table: Table,
) -> ApiResult<Vec<T>> {
    let mut out = Vec::new();
    super::scan_all(store, index_prefix, false, |key, _| {
        let id = core::str::from_utf8(&key[index_prefix.len()..]).unwrap_or("");
        if let Some(row) = table.get(store, id)? {
            out.push(row);
        }
        Ok(true)
    })?;
    Ok(out)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|_| StoreError)
}

/// Decodes a row into a view that borrows from the stored bytes.
pub(crate) fn decode_row<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|_| ApiError::Internal)
}

/// A commit that failed for the store's own reasons: a full store is the client's to know
/// (499), anything else is the agent's fault (500).
pub(crate) fn failure(e: CommitError) -> ApiError {
    match e {
        CommitError::Full => ApiError::new(
            ErrorCode::DbInsert,
            "The agent's storage has no room for this change (on a device: its flash is full, \
             or the record is larger than it holds). Nothing was changed.",
        ),
        _ => ApiError::Internal,
    }
}

/// Commits a batch; a failed uniqueness check becomes a 499 with `conflict`'s code and message.
pub(crate) fn commit(
    store: &impl Store,
    batch: &Batch,
    conflict: (ErrorCode, &'static str),
) -> ApiResult<()> {
    match store.commit(batch) {
        Ok(()) => Ok(()),
        Err(CommitError::Conflict(i)) => Err(conflict_error(batch, i, conflict)),
        Err(e) => Err(failure(e)),
    }
}

/// What a failed check means to the client.
fn conflict_error(batch: &Batch, check: usize, conflict: (ErrorCode, &'static str)) -> ApiError {
    match batch.checks.get(check) {
        Some(super::Check::Below(..)) => {
            ApiError::invalid("The plan's limit was reached; nothing was changed.")
        }
        _ => ApiError::new(conflict.0, conflict.1),
    }
}

/// Commits a batch that has no checks.
pub fn save(store: &impl Store, batch: &Batch) -> ApiResult<()> {
    store.commit(batch).map_err(|_| ApiError::Internal)
}

/// Deletes every row whose key starts with `prefix`, a page of keys per commit (so a large
/// table never makes one huge batch).
pub fn delete_prefix(store: &impl Store, prefix: &[u8]) -> ApiResult<()> {
    loop {
        let page = store.scan(prefix, None, 256)?;
        if page.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::new();
        for (k, _) in page {
            batch.delete(k);
        }
        save(store, &batch)?;
    }
}

pub(crate) const COMMIT_ATTEMPTS: usize = 16;

/// Builds and commits a batch; when a compare-and-set check (a counter) lost a race, builds it
/// again from fresh reads. A failed uniqueness check becomes `conflict`.
pub(crate) fn commit_with_retry(
    store: &impl Store,
    conflict: (ErrorCode, &'static str),
    mut build: impl FnMut(&mut Batch) -> ApiResult<()>,
) -> ApiResult<()> {
    for _ in 0..COMMIT_ATTEMPTS {
        let mut batch = Batch::new();
        build(&mut batch)?;
        match store.commit(&batch) {
            Ok(()) => return Ok(()),
            Err(CommitError::Conflict(i)) if batch.checks[i].is_retryable() => continue,
            Err(CommitError::Conflict(i)) => return Err(conflict_error(&batch, i, conflict)),
            Err(e) => return Err(failure(e)),
        }
    }
    Err(ApiError::new(
        ErrorCode::DbUpdate,
        "Too many concurrent changes to the same records; try again.",
    ))
}

/// Changes to counter rows (decimal numbers), applied inside the transaction of their batch.
#[derive(Default)]
pub struct CounterDeltas {
    deltas: Vec<(Vec<u8>, i64)>,
}

impl CounterDeltas {
    /// Adds `delta` to what the counter at `key` will change by.
    pub fn add(&mut self, key: Vec<u8>, delta: i64) {
        match self.deltas.iter_mut().find(|(k, _)| *k == key) {
            Some((_, d)) => *d += delta,
            None => self.deltas.push((key, delta)),
        }
    }

    /// Puts the changes into `batch`, one [`Op::Add`](super::Op::Add) per counter that moves.
    pub fn apply(self, batch: &mut Batch) {
        for (key, delta) in self.deltas.into_iter().filter(|(_, d)| *d != 0) {
            batch.add(key, delta);
        }
    }
}

/// The value of a counter row (0 when absent).
pub(crate) fn counter(store: &impl Store, key: &[u8]) -> ApiResult<u64> {
    Ok(super::counter_value(
        store.get(key)?.as_ref().map(AsRef::as_ref),
    ))
}
