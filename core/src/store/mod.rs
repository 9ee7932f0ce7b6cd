//! The `Store` port: an ordered key-value store with atomic, checked batches. Typed tables sit
//! on top of it in [`table`].

pub mod expiring;
pub mod keys;
pub mod mem;
pub mod table;

use alloc::vec::Vec;
use core::ops::Bound;

use crate::error::ApiResult;

/// The store failed (an I/O error, a corrupt file); the request that needed it answers 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreError;

/// A precondition of a [`Batch`], checked inside the same transaction as its writes.
#[derive(Debug, Clone)]
pub enum Check {
    /// The key must not exist (uniqueness under concurrent inserts).
    Absent(Vec<u8>),
    /// The key must exist.
    Present(Vec<u8>),
    /// The key must hold exactly this value, or be absent for `None` (compare-and-set).
    Equals(Vec<u8>, Option<Vec<u8>>),
    /// The counter at the key (a decimal, absent = 0) must be below the limit (plan limits).
    Below(Vec<u8>, u64),
}

impl Check {
    /// Whether a failure of this check means "someone else wrote first; build the batch again".
    pub fn is_retryable(&self) -> bool {
        matches!(self, Check::Equals(..))
    }
}

/// One write of a [`Batch`].
#[derive(Debug, Clone)]
pub enum Op {
    /// Sets the key to the value.
    Put(Vec<u8>, Vec<u8>),
    /// Removes the key (absent already is fine).
    Delete(Vec<u8>),
    /// Adds to the counter at the key (a decimal, absent = 0, never below 0), inside the
    /// transaction, so concurrent writers never lose an update and never retry.
    Add(Vec<u8>, i64),
}

/// Writes applied all together or not at all.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Preconditions, checked in order before anything is written; the first that fails is
    /// [`CommitError::Conflict`].
    pub checks: Vec<Check>,
    /// The writes, applied in order.
    pub ops: Vec<Op>,
    /// Whether the batch may be lost in a crash until a later batch is committed (a store
    /// may then skip flushing it to disk): for state that only says work has started, whose
    /// loss leaves the store as it was before that work.
    pub lazy: bool,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds [`Op::Put`].
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> &mut Batch {
        self.ops.push(Op::Put(key, value));
        self
    }

    /// Adds [`Op::Delete`].
    pub fn delete(&mut self, key: Vec<u8>) -> &mut Batch {
        self.ops.push(Op::Delete(key));
        self
    }

    /// Adds [`Check::Absent`].
    pub fn require_absent(&mut self, key: Vec<u8>) -> &mut Batch {
        self.checks.push(Check::Absent(key));
        self
    }

    /// Adds [`Check::Present`].
    pub fn require_present(&mut self, key: Vec<u8>) -> &mut Batch {
        self.checks.push(Check::Present(key));
        self
    }

    /// Adds [`Check::Below`].
    pub fn require_below(&mut self, key: Vec<u8>, limit: u64) -> &mut Batch {
        self.checks.push(Check::Below(key, limit));
        self
    }

    /// Adds [`Op::Add`].
    pub fn add(&mut self, key: Vec<u8>, delta: i64) -> &mut Batch {
        self.ops.push(Op::Add(key, delta));
        self
    }

    /// Adds [`Check::Equals`].
    pub fn require_value(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) -> &mut Batch {
        self.checks.push(Check::Equals(key, value));
        self
    }
}

/// Why [`Store::commit`] wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitError {
    /// Check number `n` of the batch failed; nothing was written.
    Conflict(usize),
    /// The store has no room for the batch (a device's flash is full, or a row is larger than
    /// it holds); nothing was written.
    Full,
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for CommitError {
    fn from(e: StoreError) -> CommitError {
        CommitError::Store(e)
    }
}

/// A key and its value, as scans return them.
pub type Entry = (Vec<u8>, Vec<u8>);

/// The `Store` port: an ordered key-value store whose writes are atomic, checked batches. The
/// core keeps all its state here (as JSON rows under the prefixes of [`keys`]); hosts back it
/// with a database (redb on the desktop), flash, or memory ([`mem::MemStore`]).
pub trait Store {
    /// A stored value; hosts with a cache hand out shared bytes instead of copies.
    type Value: AsRef<[u8]>;

    /// The value at `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Self::Value>, StoreError>;

    /// Up to `limit` entries whose keys start with `prefix`, in key order, starting after
    /// `after` when given. Reads one page, never the whole table.
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError>;

    /// Like [`Store::scan`], in reverse key order, starting before `before` when given.
    fn scan_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError>;

    /// Applies `batch` atomically and durably once its checks hold.
    fn commit(&self, batch: &Batch) -> Result<(), CommitError>;

    /// [`Store::commit`] from async code that runs other work meanwhile (a pass moving many
    /// files in one task): a host may let that work go on while the batch waits to be
    /// written, and write batches that wait together in one go. By default, at once.
    fn commit_soon(
        &self,
        batch: Batch,
    ) -> impl core::future::Future<Output = Result<(), CommitError>> + Send {
        core::future::ready(self.commit(&batch))
    }
}

/// Checks a batch against a read function; shared by the store implementations.
pub fn first_failed_check<V: AsRef<[u8]>>(
    batch: &Batch,
    mut read: impl FnMut(&[u8]) -> Result<Option<V>, StoreError>,
) -> Result<Option<usize>, StoreError> {
    for (i, check) in batch.checks.iter().enumerate() {
        let ok = match check {
            Check::Absent(k) => read(k)?.is_none(),
            Check::Present(k) => read(k)?.is_some(),
            Check::Equals(k, want) => read(k)?.as_ref().map(AsRef::as_ref) == want.as_deref(),
            Check::Below(k, limit) => counter_value(read(k)?.as_ref().map(AsRef::as_ref)) < *limit,
        };
        if !ok {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// What each key `batch` writes holds after it (`None`: deleted), in key order: its ops
/// applied in order, counters added to what `read` gives. Shared by the stores that write a
/// batch's net effect at once rather than op by op.
pub fn net_writes<V: AsRef<[u8]>>(
    batch: &Batch,
    mut read: impl FnMut(&[u8]) -> Result<Option<V>, StoreError>,
) -> Result<alloc::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>>, StoreError> {
    let mut writes = alloc::collections::BTreeMap::new();
    for op in &batch.ops {
        match op {
            Op::Put(k, v) => {
                writes.insert(k.clone(), Some(v.clone()));
            }
            Op::Delete(k) => {
                writes.insert(k.clone(), None);
            }
            Op::Add(k, delta) => {
                let next = match writes.get(k) {
                    Some(written) => counter_added(written.as_deref(), *delta),
                    None => counter_added(read(k)?.as_ref().map(AsRef::as_ref), *delta),
                };
                writes.insert(k.clone(), Some(next));
            }
        }
    }
    Ok(writes)
}

/// The value of a counter row (a decimal; absent or unreadable = 0).
pub(crate) fn counter_value(bytes: Option<&[u8]>) -> u64 {
    bytes
        .and_then(|b| core::str::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The new bytes of a counter after `Op::Add`.
pub fn counter_added(current: Option<&[u8]>, delta: i64) -> Vec<u8> {
    let next = (counter_value(current) as i64).saturating_add(delta).max(0);
    alloc::format!("{next}").into_bytes()
}

/// The key range a scan reads: forward from after `cursor` (or from `prefix`), or backward
/// from before `cursor` (or from the end of `prefix`). Shared by the store implementations.
pub fn scan_bounds(
    prefix: &[u8],
    cursor: Option<&[u8]>,
    reverse: bool,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    match (reverse, cursor) {
        (false, Some(after)) => (Bound::Excluded(after.to_vec()), Bound::Unbounded),
        (false, None) => (Bound::Included(prefix.to_vec()), Bound::Unbounded),
        (true, Some(before)) => (
            Bound::Included(prefix.to_vec()),
            Bound::Excluded(before.to_vec()),
        ),
        (true, None) => (
            Bound::Included(prefix.to_vec()),
            prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded),
        ),
    }
}

/// The entries of an ordered iteration while their keys start with `prefix`, at most `limit`.
pub fn take_prefixed<E>(
    items: impl Iterator<Item = Result<Entry, E>>,
    prefix: &[u8],
    limit: usize,
) -> Result<Vec<Entry>, E> {
    let mut out = Vec::new();
    for item in items {
        let entry = item?;
        if !entry.0.starts_with(prefix) || out.len() == limit {
            break;
        }
        out.push(entry);
    }
    Ok(out)
}

/// The first key after every key that starts with `prefix` (for reverse scans).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

const SCAN_PAGE: usize = 512;

/// Visits the entries below `prefix` in order (reversed when `descending`) until `f` returns
/// false, reading one page of keys at a time.
pub fn scan_all(
    store: &(impl Store + ?Sized),
    prefix: &[u8],
    descending: bool,
    mut f: impl FnMut(&[u8], &[u8]) -> ApiResult<bool>,
) -> ApiResult<()> {
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let page = if descending {
            store.scan_rev(prefix, cursor.as_deref(), SCAN_PAGE)?
        } else {
            store.scan(prefix, cursor.as_deref(), SCAN_PAGE)?
        };
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        cursor = Some(last.clone());
        for (key, value) in &page {
            if !f(key, value)? {
                return Ok(());
            }
        }
    }
}

/// Entries `skip .. skip + take` below `prefix`: an index page without loading what it skips.
pub(crate) fn index_page(
    store: &(impl Store + ?Sized),
    prefix: &[u8],
    descending: bool,
    skip: usize,
    take: usize,
) -> ApiResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::with_capacity(take);
    let mut seen = 0usize;
    scan_all(store, prefix, descending, |key, value| {
        if seen >= skip {
            out.push((key.to_vec(), value.to_vec()));
        }
        seen += 1;
        Ok(out.len() < take)
    })?;
    Ok(out)
}
