//! A [`Store`] on NOR flash through `sequential-storage`'s map: every row is a flash item,
//! and all rows are also kept in RAM (the core reads synchronously, and a device's data is
//! small). A commit is atomic across power loss: its resolved writes go to flash first as a
//! journal (chunks, then a mark with the commit's number), then to their own items, then an
//! "applied" mark; opening the store replays a marked journal that was not applied and
//! ignores one that was not marked. Journal items are overwritten by the next commit, so
//! they cost a few items of flash, never a scan.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::Range;

use click_core::store::mem::MemStore;
use click_core::store::{Batch, CommitError, Entry, Store, StoreError, first_failed_check};
use click_core::sync::SpinLock;
use embassy_futures::block_on;
use embedded_storage_async::nor_flash::MultiwriteNorFlash;
use sequential_storage::cache::Cache;
use sequential_storage::cache::key_pointers::HeapKeyPointers;
use sequential_storage::cache::page_pointers::HeapPagePointers;
use sequential_storage::cache::page_states::HeapPageStates;
use sequential_storage::map::{MapConfig, MapStorage};

/// Journal chunk `n` is stored under `JOURNAL` followed by `n` (4 bytes, big-endian); row keys
/// never start with a zero byte.
const JOURNAL: &[u8] = b"\0journal/";
/// Written once every chunk of a journal is: the commit's number (u64) and its chunk count
/// (u32), big-endian.
const MARKED: &[u8] = b"\0journal-marked";
/// The number of the last commit whose rows are all written.
const APPLIED: &[u8] = b"\0journal-applied";

/// A resolved write: the row's new value, or `None` to delete it.
type Write = (Vec<u8>, Option<Vec<u8>>);

type Cached = Cache<HeapPageStates, HeapPagePointers, HeapKeyPointers<Vec<u8>>, Vec<u8>>;

struct Flash<F: MultiwriteNorFlash> {
    map: MapStorage<Vec<u8>, F, Cached>,
    /// One item (key and value) at most; flash pages must hold it.
    buf: Vec<u8>,
    /// The number of the last commit.
    seq: u64,
    /// A flash write failed in the middle of a commit: until the store is opened again (which
    /// finishes or drops that commit), no other commit may go on top of it.
    broken: bool,
}

/// The core's [`Store`] on NOR flash: reads from RAM, commits journaled to flash (see the
/// module's documentation).
pub struct FlashStore<F: MultiwriteNorFlash> {
    rows: MemStore,
    flash: SpinLock<Flash<F>>,
}

fn storage<E>(_: sequential_storage::Error<E>) -> StoreError {
    StoreError
}

/// Why a commit's flash writes stopped.
enum Failed {
    /// Before the journal was marked: the commit did not happen and the store is sound.
    Unmarked { full: bool },
    /// After: the commit is half on flash until the store is opened again and replays it.
    Marked,
}

fn unmarked<E>(e: sequential_storage::Error<E>) -> Failed {
    Failed::Unmarked {
        full: matches!(e, sequential_storage::Error::FullStorage),
    }
}

impl<F: MultiwriteNorFlash> Flash<F> {
    async fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.store(key, value).await.map_err(storage)
    }

    async fn store(
        &mut self,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), sequential_storage::Error<F::Error>> {
        self.map
            .store_item(&mut self.buf, &key.to_vec(), &value)
            .await
    }

    async fn remove(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.map
            .remove_item(&mut self.buf, &key.to_vec())
            .await
            .map_err(storage)
    }

    /// Every item on flash, the last write of each key winning.
    async fn load(&mut self) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, StoreError> {
        let mut out = BTreeMap::new();
        let mut scratch = alloc::vec![0u8; self.buf.len()];
        let mut items = self
            .map
            .fetch_all_items(&mut scratch)
            .await
            .map_err(storage)?;
        let mut item = alloc::vec![0u8; self.buf.len()];
        while let Some((key, value)) = items.next::<&[u8]>(&mut item).await.map_err(storage)? {
            out.insert(key, value.to_vec());
        }
        Ok(out)
    }

    /// Writes `writes` atomically: journal, mark, rows, applied mark.
    async fn apply(&mut self, writes: &[Write]) -> Result<(), Failed> {
        self.seq += 1;
        let seq = self.seq.to_be_bytes();
        let journal = encode(writes);
        // Room for the chunk's key, its commit number and the item's length fields.
        let chunk_len = self.buf.len().saturating_sub(JOURNAL.len() + 32).max(16);
        let chunks: Vec<&[u8]> = journal.chunks(chunk_len).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let mut value = seq.to_vec();
            value.extend_from_slice(chunk);
            self.store(&chunk_key(i as u32), &value)
                .await
                .map_err(unmarked)?;
        }
        let mut mark = seq.to_vec();
        mark.extend_from_slice(&(chunks.len() as u32).to_be_bytes());
        // A torn item fails its checksum and reads as absent: a failed mark is no mark.
        self.store(MARKED, &mark).await.map_err(unmarked)?;
        self.replay(writes).await.map_err(|_| Failed::Marked)?;
        self.put(APPLIED, &seq).await.map_err(|_| Failed::Marked)
    }

    async fn replay(&mut self, writes: &[Write]) -> Result<(), StoreError> {
        for (key, value) in writes {
            match value {
                Some(v) => self.put(key, v).await?,
                None => self.remove(key).await?,
            }
        }
        Ok(())
    }
}

fn chunk_key(i: u32) -> Vec<u8> {
    let mut k = JOURNAL.to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

/// `[key len u16][key][1 + value len u32][value]` or `[key len][key][0]` per write.
fn encode(writes: &[Write]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in writes {
        out.extend_from_slice(&(key.len() as u16).to_be_bytes());
        out.extend_from_slice(key);
        match value {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
            None => out.push(0),
        }
    }
    out
}

/// The writes of marked journal `seq`, from its chunks (each starts with the commit number).
fn replayable(items: &BTreeMap<Vec<u8>, Vec<u8>>, seq: u64) -> Option<Vec<Write>> {
    let mark = items.get(MARKED)?;
    let count = u32::from_be_bytes(mark.get(8..12)?.try_into().ok()?);
    let mut journal = Vec::new();
    for i in 0..count {
        let chunk = items.get(&chunk_key(i))?;
        if chunk.get(..8)? != seq.to_be_bytes() {
            return None;
        }
        journal.extend_from_slice(&chunk[8..]);
    }
    decode(&journal)
}

fn decode(mut bytes: &[u8]) -> Option<Vec<Write>> {
    let mut out = Vec::new();
    let take = |n: usize, bytes: &mut &[u8]| -> Option<Vec<u8>> {
        let (head, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        Some(head.to_vec())
    };
    while !bytes.is_empty() {
        let key_len = u16::from_be_bytes(take(2, &mut bytes)?.try_into().ok()?) as usize;
        let key = take(key_len, &mut bytes)?;
        let value = match take(1, &mut bytes)?[0] {
            1 => {
                let len = u32::from_be_bytes(take(4, &mut bytes)?.try_into().ok()?) as usize;
                Some(take(len, &mut bytes)?)
            }
            _ => None,
        };
        out.push((key, value));
    }
    Some(out)
}

impl<F: MultiwriteNorFlash> FlashStore<F> {
    /// Opens the store on `range` of `flash` (whole erase pages, at least two); `max_item` is
    /// the largest row (key and value) it will hold. Loads every row into RAM, after finishing
    /// a commit that a crash interrupted after its journal was marked, or dropping one that was
    /// not marked yet.
    pub fn open(flash: F, range: Range<u32>, max_item: usize) -> Result<FlashStore<F>, StoreError> {
        let config = MapConfig::try_new(range.clone()).map_err(|_| StoreError)?;
        let pages = (range.end - range.start) as usize / F::ERASE_SIZE;
        let cache = Cache::new(
            HeapPageStates::new(pages),
            HeapPagePointers::new(pages),
            HeapKeyPointers::new(256),
        );
        let mut f = Flash {
            map: MapStorage::new(flash, config, cache),
            buf: alloc::vec![0u8; max_item],
            seq: 0,
            broken: false,
        };
        let mut items = block_on(f.load())?;
        let number = |key: &[u8]| {
            items
                .get(key)
                .and_then(|v| v.get(..8)?.try_into().ok())
                .map(u64::from_be_bytes)
        };
        let (marked, applied) = (number(MARKED), number(APPLIED).unwrap_or(0));
        f.seq = marked.unwrap_or(0).max(applied);
        if let Some(seq) = marked.filter(|m| *m > applied) {
            let writes = replayable(&items, seq).ok_or(StoreError)?;
            block_on(f.replay(&writes))?;
            block_on(f.put(APPLIED, &seq.to_be_bytes()))?;
            for (key, value) in writes {
                match value {
                    Some(v) => items.insert(key, v),
                    None => items.remove(&key),
                };
            }
        }
        let rows = MemStore::new();
        let mut batch = Batch::new();
        for (key, value) in items.into_iter().filter(|(k, _)| k.first() != Some(&0)) {
            batch.put(key, value);
        }
        rows.commit(&batch).map_err(|_| StoreError)?;
        Ok(FlashStore {
            rows,
            flash: SpinLock::new(f),
        })
    }

    /// Closes the store, handing back its flash.
    pub fn into_flash(self) -> F {
        self.flash.into_inner().map.destroy().0
    }

    /// The batch's effect as plain writes, counters resolved against the current rows.
    fn resolve(&self, batch: &Batch) -> Result<Vec<Write>, StoreError> {
        let writes = click_core::store::net_writes(batch, |k| self.rows.get(k))?;
        Ok(writes.into_iter().collect())
    }
}

impl<F: MultiwriteNorFlash> Store for FlashStore<F> {
    type Value = Vec<u8>;

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.rows.get(key)
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.rows.scan(prefix, after, limit)
    }

    fn scan_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.rows.scan_rev(prefix, before, limit)
    }

    fn commit(&self, batch: &Batch) -> Result<(), CommitError> {
        // One commit at a time: the checks, the flash writes and the rows stay in step.
        let mut flash = self.flash.lock();
        if let Some(i) = first_failed_check(batch, |k| self.rows.get(k))? {
            return Err(CommitError::Conflict(i));
        }
        if flash.broken {
            return Err(CommitError::Store(StoreError));
        }
        let writes = self.resolve(batch)?;
        // A row is one flash item: its key (with a 2-byte length) and value fit the buffer.
        if writes
            .iter()
            .any(|(k, v)| 2 + k.len() + v.as_ref().map_or(0, Vec::len) > flash.buf.len())
        {
            return Err(CommitError::Full);
        }
        // Flash writes on a device block the CPU anyway; `block_on` only drives the future.
        match block_on(flash.apply(&writes)) {
            Ok(()) => {}
            Err(Failed::Unmarked { full: true }) => return Err(CommitError::Full),
            Err(Failed::Unmarked { full: false }) => return Err(CommitError::Store(StoreError)),
            Err(Failed::Marked) => {
                flash.broken = true;
                return Err(CommitError::Store(StoreError));
            }
        }
        let mut applied = Batch::new();
        for (key, value) in writes {
            match value {
                Some(v) => applied.put(key, v),
                None => applied.delete(key),
            };
        }
        self.rows.commit(&applied)?;
        Ok(())
    }
}
