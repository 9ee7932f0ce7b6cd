//! The embedded `Store`: one redb table in `<data-dir>/click.redb`, ACID and crash-safe, with a
//! bounded read cache for point lookups (every authenticated request reads its session).
//! Commits made at the same time share one write transaction and so one fsync (group commit):
//! a pass uploading many files at once journals them in one disk flush, not one each. A group
//! of lazy batches (`Batch::lazy`) is not flushed at all until the next group that is not.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

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
    group: Group,
}

/// Commits waiting for a write transaction. The caller that finds none being written writes
/// everything queued in one transaction; the others wait for their outcome.
#[derive(Default)]
struct Group {
    state: Mutex<GroupState>,
    /// Woken when a group is written: callers waiting in a thread ...
    written: Condvar,
    /// ... and tasks waiting without holding one (`commit_soon`).
    written_async: tokio::sync::Notify,
}

#[derive(Default)]
struct GroupState {
    queue: Vec<(u64, Batch)>,
    outcomes: HashMap<u64, Result<(), CommitError>>,
    /// Tickets being written whose callers stopped waiting: their outcomes are not kept.
    abandoned: Vec<u64>,
    writing: bool,
    next_ticket: u64,
}

impl Group {
    fn lock(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
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
            group: Group::default(),
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

    async fn commit_soon(&self, batch: Batch) -> Result<(), CommitError> {
        let waiting = Waiting {
            store: self,
            ticket: self.enqueue(batch),
        };
        // The rest of this task (the other files of a pass) reaches its commits meanwhile,
        // and they are written with this one.
        tokio::task::yield_now().await;
        let outcome = self.outcome_soon(waiting.ticket).await;
        waiting.answered();
        outcome
    }
}

/// A batch queued by [`RedbStore::commit_soon`]. Should its caller stop waiting (a drive
/// stopped mid-pass), the batch is taken out of the queue, or its outcome dropped once
/// written, so nothing is left behind for a ticket no one will ask about.
struct Waiting<'a> {
    store: &'a RedbStore,
    ticket: u64,
}

impl Waiting<'_> {
    /// The caller has its outcome: nothing to take back.
    fn answered(self) {
        std::mem::forget(self);
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = self.store.group.lock();
        state.queue.retain(|(t, _)| *t != self.ticket);
        if state.outcomes.remove(&self.ticket).is_none() && state.writing {
            state.abandoned.push(self.ticket);
        }
    }
}

impl RedbStore {
    /// Commits `batch`, in the next group of commits (see [`Group`]).
    fn commit_now(&self, batch: &Batch) -> Result<(), CommitError> {
        let ticket = self.enqueue(batch.clone());
        self.outcome(ticket)
    }

    /// Queues `batch` for the next group; its ticket.
    fn enqueue(&self, batch: Batch) -> u64 {
        let mut state = self.group.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push((ticket, batch));
        ticket
    }

    /// [`RedbStore::outcome`] for a task: it waits for another's group without taking a
    /// thread (a pass's commits would otherwise each hand their worker thread over to a new
    /// one), and steps aside only to write a group itself.
    async fn outcome_soon(&self, ticket: u64) -> Result<(), CommitError> {
        loop {
            // Registered before the state is read, so a group written in between still wakes it.
            let written = self.group.written_async.notified();
            let mut written = std::pin::pin!(written);
            written.as_mut().enable();
            {
                let mut state = self.group.lock();
                if let Some(outcome) = state.outcomes.remove(&ticket) {
                    return outcome;
                }
                if !state.writing {
                    drop(state);
                    return crate::ports::blocking(|| self.outcome(ticket));
                }
            }
            written.await;
        }
    }

    /// The outcome of the batch of `ticket`: written by whoever writes the next group, this
    /// caller if no one is writing.
    fn outcome(&self, ticket: u64) -> Result<(), CommitError> {
        let mut state = self.group.lock();
        loop {
            if let Some(outcome) = state.outcomes.remove(&ticket) {
                return outcome;
            }
            if state.writing {
                state = (self.group.written.wait(state)).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            state.writing = true;
            let group = std::mem::take(&mut state.queue);
            drop(state);
            let outcomes = self.write_group(&group);
            state = self.group.lock();
            state.writing = false;
            let abandoned = std::mem::take(&mut state.abandoned);
            for ((t, _), outcome) in group.iter().zip(outcomes) {
                if !abandoned.contains(t) {
                    state.outcomes.insert(*t, outcome);
                }
            }
            self.group.written.notify_all();
            self.group.written_async.notify_waiters();
        }
    }

    /// Writes `group` in one transaction, each batch after the ones before it (so its checks
    /// see their writes); the outcome of each, in order.
    fn write_group(&self, group: &[(u64, Batch)]) -> Vec<Result<(), CommitError>> {
        let started = std::time::Instant::now();
        let outcomes = self.write_all(group);
        crate::metrics::metrics().store_commit(started.elapsed());
        let us = started.elapsed().as_micros() as u64;
        tracing::trace!(batches = group.len(), us, "a group of commits written");
        // A check may have failed on a value read from a cache that another commit (done,
        // but not yet invalidated) made stale: drop the caches after every group so a retry
        // reads what the database holds instead of failing the same way again.
        self.cache.invalidate_all();
        match outcomes {
            Ok(outcomes) => outcomes,
            Err(e) => group.iter().map(|_| Err(e.into())).collect(),
        }
    }

    fn write_all(
        &self,
        group: &[(u64, Batch)],
    ) -> Result<Vec<Result<(), CommitError>>, StoreError> {
        let mut txn = self.db.begin_write().map_err(fail)?;
        if group.iter().all(|(_, b)| b.lazy) {
            // Flushed by the next group that is not lazy.
            (txn.set_durability(redb::Durability::None)).map_err(fail)?;
        }
        let mut outcomes = Vec::with_capacity(group.len());
        {
            let mut table = txn.open_table(KV).map_err(fail)?;
            for (_, batch) in group {
                outcomes.push(apply(&mut table, batch)?);
            }
        }
        txn.commit().map_err(fail)?;
        Ok(outcomes)
    }
}

/// Applies `batch` to `table` unless one of its checks fails (then it writes nothing).
fn apply(
    table: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    batch: &Batch,
) -> Result<Result<(), CommitError>, StoreError> {
    let failed = first_failed_check(batch, |k| {
        Ok(table.get(k).map_err(fail)?.map(|v| v.value().to_vec()))
    })?;
    if let Some(i) = failed {
        return Ok(Err(CommitError::Conflict(i)));
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
    Ok(Ok(()))
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

    /// Commits awaited together by one task are written together, each still checked.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commits_awaited_together_are_written_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("db.redb"), 64).unwrap();
        let mut seed = Batch::new();
        seed.put(b"taken".to_vec(), b"1".to_vec());
        store.commit(&seed).unwrap();
        let batches = (0..8).map(|i| {
            let mut b = Batch::new();
            b.require_absent(format!("k{i}").into_bytes());
            b.put(format!("k{i}").into_bytes(), b"v".to_vec());
            b
        });
        let mut taken = Batch::new();
        taken.require_absent(b"taken".to_vec());
        let all =
            futures_util::future::join_all(batches.chain([taken]).map(|b| store.commit_soon(b)))
                .await;
        assert!(all[..8].iter().all(Result::is_ok));
        assert!(matches!(all[8], Err(CommitError::Conflict(0))));
        assert_eq!(store.scan(b"k", None, 100).unwrap().len(), 8);
    }

    /// A commit whose caller stops waiting before it is written is not written, and leaves
    /// nothing queued.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_commit_no_one_waits_for_is_dropped() {
        use futures_util::FutureExt;
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("db.redb"), 64).unwrap();
        let mut dropped = Batch::new();
        dropped.put(b"dropped".to_vec(), b"1".to_vec());
        assert!(store.commit_soon(dropped).now_or_never().is_none());
        let mut kept = Batch::new();
        kept.put(b"kept".to_vec(), b"1".to_vec());
        store.commit_soon(kept).await.unwrap();
        assert!(store.get(b"dropped").unwrap().is_none());
        assert!(store.get(b"kept").unwrap().is_some());
        let state = store.group.lock();
        assert!(state.queue.is_empty() && state.outcomes.is_empty() && state.abandoned.is_empty());
    }
}
