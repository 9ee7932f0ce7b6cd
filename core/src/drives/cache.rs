//! The cache policy of a drive: which blocks of which files the local cache holds, what it
//! may drop to make room, and how far ahead a sequential reader is served. Pure bookkeeping:
//! the host asks before it fetches or writes a block and deletes what it is told to evict;
//! time is whatever millisecond clock the host passes.
//!
//! A block is reserved before it is fetched (so concurrent fetches never overshoot the limit)
//! and counted from then on. Room is made, when the cache rotates, by dropping the least
//! recently used present blocks of files that hold no local changes (dirty) and are not kept
//! offline (pinned); an open file's clean blocks may go (its reader fetches them again), so
//! the cache stays within its limit whatever is open. Dirty and pinned data cannot be dropped
//! and may hold the cache above its limit; then, as when the cache does not rotate, a
//! reservation that finds no room is refused and the host reads past the cache.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// No room: the cache does not rotate, or nothing in it may be dropped.
#[derive(Debug, PartialEq, Eq)]
pub struct CacheFull;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    /// Being fetched or written: counted, never evicted.
    Reserved,
    /// On disk, last used at this LRU position.
    Present(Recency),
}

/// A point in use order: the host's clock, then a sequence for ties.
type Recency = (u64, u64);

#[derive(Clone, Debug, Default)]
struct FileMarks {
    dirty: bool,
    pinned: bool,
    open: u32,
    reserved: u32,
}

impl FileMarks {
    fn unused(&self) -> bool {
        !self.dirty && !self.pinned && self.open == 0 && self.reserved == 0
    }
}

/// The blocks a drive's cache holds and the marks that decide what may be dropped.
pub struct CachePolicy {
    limit: u64,
    rotational: bool,
    block_size: u64,
    used: u64,
    blocks: BTreeMap<(String, u64), Block>,
    lru: BTreeMap<Recency, (String, u64)>,
    files: BTreeMap<String, FileMarks>,
    seq: u64,
    /// The latest time the host passed.
    now: u64,
}

impl CachePolicy {
    /// A cache of `limit_bytes` in blocks of `block_size`; `rotational`: it makes room by
    /// dropping the least recently used blocks (otherwise a full cache refuses).
    pub fn new(limit_bytes: u64, rotational: bool, block_size: u64) -> CachePolicy {
        CachePolicy {
            limit: limit_bytes,
            rotational,
            block_size: block_size.max(1),
            used: 0,
            blocks: BTreeMap::new(),
            lru: BTreeMap::new(),
            files: BTreeMap::new(),
            seq: 0,
            now: 0,
        }
    }

    /// Bytes per block.
    pub fn block_size(&self) -> u64 {
        self.block_size
    }

    /// The most bytes clean data may hold.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes of reserved and present blocks.
    pub fn used(&self) -> u64 {
        self.used
    }

    fn marks(&mut self, file: &str) -> &mut FileMarks {
        if !self.files.contains_key(file) {
            self.files.insert(file.to_string(), FileMarks::default());
        }
        self.files.get_mut(file).expect("just inserted")
    }

    fn recency(&mut self, now_ms: u64) -> Recency {
        self.seq += 1;
        self.now = self.now.max(now_ms);
        (self.now, self.seq)
    }

    /// Reserves block `block` of `file` before it is fetched or written. `Ok(evicted)`: the
    /// blocks the host must delete first (already uncounted). A block already reserved or
    /// present is touched and needs nothing.
    pub fn reserve(
        &mut self,
        file: &str,
        block: u64,
        now_ms: u64,
    ) -> Result<Vec<(String, u64)>, CacheFull> {
        let id = (file.to_string(), block);
        if self.blocks.contains_key(&id) {
            self.touch(file, block, now_ms);
            return Ok(Vec::new());
        }
        self.now = self.now.max(now_ms);
        let evicted = self.make_room()?;
        self.blocks.insert(id, Block::Reserved);
        self.marks(file).reserved += 1;
        self.used += self.block_size;
        Ok(evicted)
    }

    /// Drops least recently used blocks of files neither dirty nor pinned until one more
    /// fits.
    fn make_room(&mut self) -> Result<Vec<(String, u64)>, CacheFull> {
        let mut evicted = Vec::new();
        let mut skipped = Vec::new();
        while self.used + self.block_size > self.limit {
            if !self.rotational {
                return self.refuse(evicted, skipped);
            }
            let Some((at, (file, block))) = self.lru.pop_first() else {
                return self.refuse(evicted, skipped);
            };
            let keep = self.files.get(&file).is_some_and(|m| m.dirty || m.pinned);
            if keep {
                skipped.push((at, (file, block)));
                continue;
            }
            self.blocks.remove(&(file.clone(), block));
            self.used -= self.block_size;
            evicted.push((file, block));
        }
        self.lru.extend(skipped);
        Ok(evicted)
    }

    /// No room after all: the blocks dropped on the way are still on disk, so they are
    /// counted again, as the oldest; what was skipped goes back.
    fn refuse(
        &mut self,
        evicted: Vec<(String, u64)>,
        skipped: Vec<(Recency, (String, u64))>,
    ) -> Result<Vec<(String, u64)>, CacheFull> {
        self.lru.extend(skipped);
        for (file, block) in evicted {
            let at = self.recency(0);
            self.blocks
                .insert((file.clone(), block), Block::Present(at));
            self.lru.insert(at, (file, block));
            self.used += self.block_size;
        }
        Err(CacheFull)
    }

    /// The reserved block is on disk now.
    pub fn commit(&mut self, file: &str, block: u64) {
        let id = (file.to_string(), block);
        if self.blocks.get(&id) != Some(&Block::Reserved) {
            return;
        }
        let at = self.recency(self.now);
        self.blocks.insert(id.clone(), Block::Present(at));
        self.lru.insert(at, id);
        let m = self.marks(file);
        m.reserved = m.reserved.saturating_sub(1);
    }

    /// The fetch failed: the reservation is released.
    pub fn abort(&mut self, file: &str, block: u64) {
        let id = (file.to_string(), block);
        if self.blocks.get(&id) == Some(&Block::Reserved) {
            self.blocks.remove(&id);
            self.used -= self.block_size;
            let m = self.marks(file);
            m.reserved = m.reserved.saturating_sub(1);
        }
    }

    /// Whether the block is on disk.
    pub fn has(&self, file: &str, block: u64) -> bool {
        matches!(
            self.blocks.get(&(file.to_string(), block)),
            Some(Block::Present(_))
        )
    }

    /// The block was used now (it moves to the back of the eviction order).
    pub fn touch(&mut self, file: &str, block: u64, now_ms: u64) {
        let id = (file.to_string(), block);
        if let Some(Block::Present(old)) = self.blocks.get(&id).copied() {
            self.lru.remove(&old);
            let at = self.recency(now_ms);
            self.blocks.insert(id.clone(), Block::Present(at));
            self.lru.insert(at, id);
        }
    }

    /// A dirty file holds changes not uploaded yet: its blocks are never dropped.
    pub fn set_dirty(&mut self, file: &str, dirty: bool) {
        self.marks(file).dirty = dirty;
    }

    /// A handle opened `file` (counted: each open needs its close).
    pub fn open(&mut self, file: &str) {
        self.marks(file).open += 1;
    }

    /// A handle of `file` closed.
    pub fn close(&mut self, file: &str) {
        let m = self.marks(file);
        m.open = m.open.saturating_sub(1);
    }

    /// A pinned file is kept offline: its blocks are never dropped.
    pub fn set_pinned(&mut self, file: &str, pinned: bool) {
        self.marks(file).pinned = pinned;
    }

    /// Whether the whole file may be dropped now: not dirty, open, pinned or being fetched.
    pub fn evictable(&self, file: &str) -> bool {
        self.files.get(file).is_none_or(FileMarks::unused)
    }

    fn blocks_of(&self, file: &str) -> Vec<u64> {
        let from = (file.to_string(), 0);
        let to = (file.to_string(), u64::MAX);
        self.blocks.range(from..=to).map(|((_, b), _)| *b).collect()
    }

    fn forget_block(&mut self, file: &str, block: u64) {
        match self.blocks.remove(&(file.to_string(), block)) {
            Some(Block::Present(at)) => {
                self.lru.remove(&at);
            }
            Some(Block::Reserved) => {
                let m = self.marks(file);
                m.reserved = m.reserved.saturating_sub(1);
            }
            None => return,
        }
        self.used -= self.block_size;
    }

    /// Forgets every block of `file` and its marks (deleted, or dropped whole); the bytes
    /// freed.
    pub fn remove_file(&mut self, file: &str) -> u64 {
        let before = self.used;
        for b in self.blocks_of(file) {
            self.forget_block(file, b);
        }
        self.files.remove(file);
        before - self.used
    }

    /// A renamed file keeps its blocks and marks.
    pub fn rename_file(&mut self, from: &str, to: &str) {
        if from == to {
            return;
        }
        self.remove_file(to);
        for b in self.blocks_of(from) {
            let state = self.blocks.remove(&(from.to_string(), b)).expect("listed");
            if let Block::Present(at) = state {
                self.lru.insert(at, (to.to_string(), b));
            }
            self.blocks.insert((to.to_string(), b), state);
        }
        if let Some(m) = self.files.remove(from) {
            self.files.insert(to.to_string(), m);
        }
    }

    /// Drops blocks `blocks..` of `file` (it was cut to that many blocks).
    pub fn truncate(&mut self, file: &str, blocks: u64) {
        for b in self.blocks_of(file).into_iter().filter(|b| *b >= blocks) {
            self.forget_block(file, b);
        }
    }

    /// Blocks of `file` on disk.
    pub fn present_blocks(&self, file: &str) -> u64 {
        let from = (file.to_string(), 0);
        let to = (file.to_string(), u64::MAX);
        self.blocks
            .range(from..=to)
            .filter(|(_, s)| matches!(s, Block::Present(_)))
            .count() as u64
    }
}

/// How far ahead of a reader to fetch: nothing for random reads; for a reader continuing
/// where it stopped, a window that doubles with each such read up to its maximum.
pub struct ReadAhead {
    min: u64,
    max: u64,
    window: u64,
    next: Option<u64>,
}

impl ReadAhead {
    /// A detector whose window starts at `min_window` and doubles up to `max_window`.
    pub fn new(min_window: u64, max_window: u64) -> ReadAhead {
        ReadAhead {
            min: min_window,
            max: max_window.max(min_window),
            window: 0,
            next: None,
        }
    }

    /// A read of `len` bytes at `offset`: how many bytes after it to fetch ahead.
    pub fn on_read(&mut self, offset: u64, len: u64) -> u64 {
        let sequential = self.next == Some(offset) || (self.next.is_none() && offset == 0);
        self.next = Some(offset + len);
        self.window = if !sequential {
            0
        } else if self.window == 0 {
            self.min
        } else {
            (self.window * 2).min(self.max)
        };
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::vec;

    const B: u64 = 10;

    fn filled(limit_blocks: u64) -> CachePolicy {
        let mut c = CachePolicy::new(limit_blocks * B, true, B);
        for i in 0..limit_blocks {
            assert_eq!(c.reserve("a", i, i), Ok(Vec::new()));
            c.commit("a", i);
        }
        c
    }

    #[test]
    fn the_least_recently_used_block_goes_first() {
        let mut c = filled(3);
        c.touch("a", 0, 10);
        assert_eq!(c.reserve("b", 0, 11), Ok(vec![("a".into(), 1)]));
        c.commit("b", 0);
        assert_eq!(c.reserve("b", 1, 12), Ok(vec![("a".into(), 2)]));
        assert_eq!(c.used(), 3 * B);
        assert!(c.has("a", 0) && !c.has("a", 1));
    }

    #[test]
    fn dirty_pinned_and_reserved_blocks_stay() {
        let mut c = filled(2);
        c.set_dirty("a", true);
        assert_eq!(c.reserve("b", 0, 5), Err(CacheFull));
        c.set_dirty("a", false);
        c.set_pinned("a", true);
        assert_eq!(c.reserve("b", 0, 5), Err(CacheFull));
        assert!(c.has("a", 0) && c.has("a", 1), "nothing lost by a refusal");
        c.set_pinned("a", false);
        assert_eq!(c.reserve("b", 0, 5), Ok(vec![("a".into(), 0)]));
        // b/0 is reserved (in flight): it is not a candidate.
        assert_eq!(c.reserve("c", 0, 6), Ok(vec![("a".into(), 1)]));
        assert_eq!(c.reserve("d", 0, 7), Err(CacheFull));
        c.abort("b", 0);
        assert_eq!(c.used(), B);
    }

    #[test]
    fn an_open_files_clean_blocks_may_go_but_not_the_file_as_a_whole() {
        let mut c = filled(2);
        c.open("a");
        assert!(!c.evictable("a"));
        assert_eq!(c.reserve("a", 2, 9), Ok(vec![("a".into(), 0)]));
        c.close("a");
        c.commit("a", 2);
        assert!(c.evictable("a"));
        assert_eq!(c.remove_file("a"), 2 * B);
        assert_eq!(c.used(), 0);
    }

    #[test]
    fn a_cache_that_does_not_rotate_refuses_when_full() {
        let mut c = CachePolicy::new(2 * B, false, B);
        assert!(c.reserve("a", 0, 0).is_ok());
        assert!(c.reserve("a", 1, 0).is_ok());
        assert_eq!(c.reserve("a", 2, 0), Err(CacheFull));
        assert_eq!(c.reserve("a", 1, 0), Ok(Vec::new()), "already held");
    }

    #[test]
    fn renames_keep_blocks_and_truncation_drops_the_tail() {
        let mut c = filled(4);
        c.set_pinned("a", true);
        c.rename_file("a", "z");
        assert_eq!(c.present_blocks("z"), 4);
        assert_eq!(c.present_blocks("a"), 0);
        assert!(!c.evictable("z"), "marks follow the file");
        c.truncate("z", 1);
        assert_eq!(c.present_blocks("z"), 1);
        assert_eq!(c.used(), B);
    }

    /// Clean data never holds the cache above its limit, and the accounting always matches a
    /// plain model of what is held.
    #[test]
    fn a_random_workload_stays_within_the_limit() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut c = CachePolicy::new(16 * B, true, B);
        let mut held: BTreeSet<(String, u64)> = BTreeSet::new();
        let mut reserved: Vec<(String, u64)> = Vec::new();
        for now in 0..5_000u64 {
            let file = alloc::format!("f{}", next(6));
            let block = next(8);
            match next(5) {
                0..=2 => {
                    if let Ok(evicted) = c.reserve(&file, block, now) {
                        for e in evicted {
                            assert!(held.remove(&e), "evicted {e:?}, which was not held");
                        }
                        if held.insert((file.clone(), block)) {
                            reserved.push((file, block));
                        }
                    }
                }
                3 => {
                    if let Some(r) = reserved.pop() {
                        c.commit(&r.0, r.1);
                    }
                }
                _ => {
                    if !reserved.is_empty() {
                        let r = reserved.remove(0);
                        c.abort(&r.0, r.1);
                        held.remove(&r);
                    }
                }
            }
            assert!(c.used() <= c.limit(), "over the limit at step {now}");
            assert_eq!(c.used(), held.len() as u64 * B);
        }
    }

    #[test]
    fn read_ahead_grows_on_sequential_reads_and_resets_on_a_jump() {
        let mut r = ReadAhead::new(4, 32);
        assert_eq!(r.on_read(0, 2), 4);
        assert_eq!(r.on_read(2, 2), 8);
        assert_eq!(r.on_read(4, 2), 16);
        assert_eq!(r.on_read(6, 2), 32);
        assert_eq!(r.on_read(8, 2), 32);
        assert_eq!(r.on_read(100, 2), 0);
        assert_eq!(r.on_read(102, 2), 4);
    }
}
