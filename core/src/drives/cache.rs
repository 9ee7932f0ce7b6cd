//! The cache policy of a drive: which blocks of which files the local cache holds, what it
//! may drop to make room, and how far ahead a sequential reader is served. Pure bookkeeping:
//! the host asks before it fetches or writes a block and deletes what it is told to evict;
//! time is whatever millisecond clock the host passes.
//!
//! A block is reserved before it is fetched (so concurrent fetches never overshoot the limit)
//! and counted from then on. A rotating cache makes room by dropping the least recently used
//! present blocks; the blocks of a file that is dirty (holds changes not uploaded) or pinned
//! (kept offline) are held back, and so is every block still in flight. An open file's clean
//! blocks may go (its reader fetches them again): a reader streaming a file larger than the
//! cache keeps rotating through it instead of filling it and reading past it; an open file
//! is only never dropped whole ([`CachePolicy::evictable`]).
//!
//! `used` never exceeds the limit: dirty and pinned blocks count and cannot be dropped, so
//! when they (with fetches in flight) fill the cache, a reservation finds
//! nothing evictable and is refused with [`CacheFull`], as any reservation is when a cache
//! that does not rotate is full. The host then reads past the cache.
//!
//! Held-back blocks are kept out of the eviction order altogether (and put back, at their
//! old place, when their file is released), so an eviction never walks over them: each
//! evicted block costs O(log n).

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// No room: the cache does not rotate, or nothing in it may be dropped.
#[derive(Debug, PartialEq, Eq)]
pub struct CacheFull;

/// A point in use order: the host's clock (never stepping back), then a sequence for ties.
type Recency = (u64, u64);

/// A block: a file's relative path and the block's index in it.
type BlockId = (String, u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    /// Being fetched or written: counted, never evicted.
    Reserved,
    /// On disk, last used at this point.
    Present(Recency),
}

/// What the policy knows of one file besides its blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Marks {
    dirty: bool,
    pinned: bool,
    open: u32,
    reserved: u64,
    present: u64,
}

impl Marks {
    /// Whether the file's present blocks are kept out of the eviction order.
    fn holds_blocks(&self) -> bool {
        self.dirty || self.pinned
    }

    /// Nothing worth remembering: no flag, no block.
    fn is_blank(&self) -> bool {
        *self == Marks::default()
    }
}

/// The blocks a drive's cache holds and the marks that decide what may be dropped.
pub struct CachePolicy {
    limit: u64,
    rotational: bool,
    block_size: u64,
    used: u64,
    blocks: BTreeMap<BlockId, Block>,
    /// The present blocks eviction may take, oldest first.
    evictable: BTreeMap<Recency, BlockId>,
    files: BTreeMap<String, Marks>,
    clock: u64,
    seq: u64,
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
            evictable: BTreeMap::new(),
            files: BTreeMap::new(),
            clock: 0,
            seq: 0,
        }
    }

    /// Bytes per block.
    pub fn block_size(&self) -> u64 {
        self.block_size
    }

    /// The most bytes the cache holds.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes of reserved and present blocks.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Reserves block `block` of `file` before it is fetched or written. `Ok(evicted)`: the
    /// blocks the host must delete from disk first (already uncounted). A block already
    /// reserved or present is touched and needs nothing. `Err(CacheFull)` changes nothing.
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
        self.clock = self.clock.max(now_ms);
        let evicted = self.make_room()?;
        self.blocks.insert(id, Block::Reserved);
        self.used += self.block_size;
        self.marks_mut(file).reserved += 1;
        Ok(evicted)
    }

    /// Drops the oldest evictable blocks until one more block fits; refuses up front when
    /// they would not be enough, so that a refusal drops nothing.
    fn make_room(&mut self) -> Result<Vec<BlockId>, CacheFull> {
        let over = (self.used + self.block_size).saturating_sub(self.limit);
        let needed = over.div_ceil(self.block_size);
        if needed == 0 {
            return Ok(Vec::new());
        }
        if !self.rotational || (self.evictable.len() as u64) < needed {
            return Err(CacheFull);
        }
        let mut evicted = Vec::new();
        for _ in 0..needed {
            let (_, (file, block)) = self.evictable.pop_first().expect("counted above");
            self.forget_block(&file, block);
            evicted.push((file, block));
        }
        Ok(evicted)
    }

    /// The reserved block is on disk now.
    pub fn commit(&mut self, file: &str, block: u64) {
        let id = (file.to_string(), block);
        let Some(state @ Block::Reserved) = self.blocks.get_mut(&id) else {
            return;
        };
        self.seq += 1;
        let at = (self.clock, self.seq);
        *state = Block::Present(at);
        let marks = self.marks_mut(file);
        marks.reserved -= 1;
        marks.present += 1;
        if !marks.holds_blocks() {
            self.evictable.insert(at, id);
        }
    }

    /// The fetch failed: the reservation is released.
    pub fn abort(&mut self, file: &str, block: u64) {
        if self.blocks.get(&(file.to_string(), block)) == Some(&Block::Reserved) {
            self.forget_block(file, block);
        }
    }

    /// Whether the block is on disk.
    pub fn has(&self, file: &str, block: u64) -> bool {
        matches!(
            self.blocks.get(&(file.to_string(), block)),
            Some(Block::Present(_))
        )
    }

    /// The block was used now: it becomes the last to be evicted.
    pub fn touch(&mut self, file: &str, block: u64, now_ms: u64) {
        self.clock = self.clock.max(now_ms);
        let id = (file.to_string(), block);
        let Some(Block::Present(old)) = self.blocks.get(&id).copied() else {
            return;
        };
        self.seq += 1;
        let at = (self.clock, self.seq);
        self.blocks.insert(id.clone(), Block::Present(at));
        if self.evictable.remove(&old).is_some() {
            self.evictable.insert(at, id);
        }
    }

    /// A dirty file holds changes not uploaded yet: its blocks are never dropped.
    pub fn set_dirty(&mut self, file: &str, dirty: bool) {
        self.update_marks(file, |m| m.dirty = dirty);
    }

    /// A handle opened `file` (counted: each open needs its close). An open file's blocks
    /// are not dropped.
    pub fn open(&mut self, file: &str) {
        self.update_marks(file, |m| m.open += 1);
    }

    /// A handle of `file` closed.
    pub fn close(&mut self, file: &str) {
        self.update_marks(file, |m| m.open = m.open.saturating_sub(1));
    }

    /// A pinned file is kept offline: its blocks are never dropped.
    pub fn set_pinned(&mut self, file: &str, pinned: bool) {
        self.update_marks(file, |m| m.pinned = pinned);
    }

    /// Whether the whole file may be dropped now: not dirty, open, pinned or being fetched.
    pub fn evictable(&self, file: &str) -> bool {
        self.files
            .get(file)
            .is_none_or(|m| !m.holds_blocks() && m.reserved == 0 && m.open == 0)
    }

    /// Forgets every block of `file` and its marks (deleted, or dropped whole); the bytes
    /// freed.
    pub fn remove_file(&mut self, file: &str) -> u64 {
        let before = self.used;
        for block in self.blocks_of(file) {
            self.forget_block(file, block);
        }
        self.files.remove(file);
        before - self.used
    }

    /// A renamed file keeps its blocks (present and in flight) and its marks; whatever `to`
    /// held before is forgotten, as the rename replaced it.
    pub fn rename_file(&mut self, from: &str, to: &str) {
        if from == to {
            return;
        }
        self.remove_file(to);
        for block in self.blocks_of(from) {
            let state = self
                .blocks
                .remove(&(from.to_string(), block))
                .expect("listed");
            let id = (to.to_string(), block);
            if let Block::Present(at) = state
                && self.evictable.contains_key(&at)
            {
                self.evictable.insert(at, id.clone());
            }
            self.blocks.insert(id, state);
        }
        if let Some(marks) = self.files.remove(from) {
            self.files.insert(to.to_string(), marks);
        }
    }

    /// Drops blocks `blocks..` of `file` (it was cut to that many blocks), in flight or not.
    pub fn truncate(&mut self, file: &str, blocks: u64) {
        let from = (file.to_string(), blocks);
        let to = (file.to_string(), u64::MAX);
        let cut: Vec<u64> = self.blocks.range(from..=to).map(|((_, b), _)| *b).collect();
        for block in cut {
            self.forget_block(file, block);
        }
    }

    /// Blocks of `file` on disk.
    pub fn present_blocks(&self, file: &str) -> u64 {
        self.files.get(file).map_or(0, |m| m.present)
    }

    fn marks_mut(&mut self, file: &str) -> &mut Marks {
        if !self.files.contains_key(file) {
            self.files.insert(file.to_string(), Marks::default());
        }
        self.files.get_mut(file).expect("just inserted")
    }

    /// Changes the marks of `file`; when that holds its blocks back or releases them, they
    /// leave or rejoin the eviction order.
    fn update_marks(&mut self, file: &str, change: impl FnOnce(&mut Marks)) {
        let marks = self.marks_mut(file);
        let held_before = marks.holds_blocks();
        change(marks);
        let held_now = marks.holds_blocks();
        if held_before != held_now {
            self.set_held(file, held_now);
        }
        self.forget_if_blank(file);
    }

    fn set_held(&mut self, file: &str, held: bool) {
        let from = (file.to_string(), 0);
        let to = (file.to_string(), u64::MAX);
        for (id, state) in self.blocks.range(from..=to) {
            if let Block::Present(at) = state {
                if held {
                    self.evictable.remove(at);
                } else {
                    self.evictable.insert(*at, id.clone());
                }
            }
        }
    }

    fn blocks_of(&self, file: &str) -> Vec<u64> {
        let from = (file.to_string(), 0);
        let to = (file.to_string(), u64::MAX);
        self.blocks.range(from..=to).map(|((_, b), _)| *b).collect()
    }

    /// Uncounts one block, present or reserved.
    fn forget_block(&mut self, file: &str, block: u64) {
        let Some(state) = self.blocks.remove(&(file.to_string(), block)) else {
            return;
        };
        if let Block::Present(at) = state {
            self.evictable.remove(&at);
        }
        let marks = self.marks_mut(file);
        match state {
            Block::Reserved => marks.reserved -= 1,
            Block::Present(_) => marks.present -= 1,
        }
        self.used -= self.block_size;
        self.forget_if_blank(file);
    }

    /// Files evicted whole would otherwise leave their marks behind forever.
    fn forget_if_blank(&mut self, file: &str) {
        if self.files.get(file).is_some_and(Marks::is_blank) {
            self.files.remove(file);
        }
    }
}

/// How far ahead of a reader to fetch: nothing for random reads; for a reader continuing
/// where it stopped, a window that doubles with each such read up to its maximum.
pub struct ReadAhead {
    min: u64,
    max: u64,
    window: u64,
    /// Where the next read starts if the reader goes on; `None` before the first read.
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

    /// A read of `len` bytes at `offset`: how many bytes after it to fetch ahead. A first
    /// read at offset 0 counts as sequential: readers of whole files start there.
    pub fn on_read(&mut self, offset: u64, len: u64) -> u64 {
        let sequential = self.next.unwrap_or(0) == offset;
        self.next = Some(offset.saturating_add(len));
        self.window = match (sequential, self.window) {
            (false, _) => 0,
            (true, 0) => self.min,
            (true, w) => w.saturating_mul(2).min(self.max),
        };
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
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

    fn id(file: &str, block: u64) -> BlockId {
        (file.to_string(), block)
    }

    #[test]
    fn the_least_recently_used_block_goes_first() {
        let mut c = filled(3);
        c.touch("a", 0, 10);
        assert_eq!(c.reserve("b", 0, 11), Ok(vec![id("a", 1)]));
        c.commit("b", 0);
        assert_eq!(c.reserve("b", 1, 12), Ok(vec![id("a", 2)]));
        c.commit("b", 1);
        assert_eq!(
            c.reserve("a", 0, 13),
            Ok(Vec::new()),
            "present: only touched"
        );
        assert_eq!(c.reserve("c", 0, 14), Ok(vec![id("b", 0)]));
        assert_eq!(c.used(), 3 * B);
        assert!(c.has("a", 0) && !c.has("a", 1) && !c.has("c", 0));
    }

    #[test]
    fn an_open_files_clean_blocks_may_go_but_not_the_file_whole() {
        let mut c = filled(3);
        c.open("a");
        c.open("a");
        assert!(!c.evictable("a"));
        assert_eq!(
            c.reserve("a", 3, 5),
            Ok(vec![id("a", 0)]),
            "its reader streams on"
        );
        c.close("a");
        assert!(!c.evictable("a"), "still open once");
        c.close("a");
        c.commit("a", 3);
        assert!(c.evictable("a"));
    }

    #[test]
    fn dirty_pinned_and_reserved_blocks_are_skipped_and_kept() {
        let mut c = filled(3);
        c.set_dirty("a", true);
        assert_eq!(c.reserve("b", 0, 5), Err(CacheFull));
        c.set_dirty("a", false);
        c.set_pinned("a", true);
        assert_eq!(c.reserve("b", 0, 5), Err(CacheFull));
        assert_eq!(c.present_blocks("a"), 3, "nothing lost by a refusal");
        c.remove_file("a");

        // Held back files are skipped, the others' blocks go, oldest first, and the
        // skipped blocks keep their place.
        for (i, f) in ["p", "q", "r"].into_iter().enumerate() {
            c.reserve(f, 0, 20 + i as u64).unwrap();
            c.commit(f, 0);
        }
        c.set_dirty("p", true);
        assert_eq!(c.reserve("s", 0, 30), Ok(vec![id("q", 0)]));
        // s/0 is in flight: not a candidate.
        assert_eq!(c.reserve("t", 0, 31), Ok(vec![id("r", 0)]));
        assert_eq!(c.reserve("u", 0, 32), Err(CacheFull));
        c.set_dirty("p", false);
        assert_eq!(
            c.reserve("u", 0, 33),
            Ok(vec![id("p", 0)]),
            "p kept its age"
        );
        assert!(!c.evictable("s") && c.evictable("p"));
    }

    #[test]
    fn a_cache_that_does_not_rotate_refuses_when_full() {
        let mut c = CachePolicy::new(2 * B, false, B);
        assert!(c.reserve("a", 0, 0).is_ok());
        c.commit("a", 0);
        assert!(c.reserve("a", 1, 0).is_ok());
        assert_eq!(c.reserve("a", 2, 0), Err(CacheFull));
        assert_eq!(c.reserve("a", 1, 0), Ok(Vec::new()), "already held");
        assert_eq!(c.used(), 2 * B);
    }

    #[test]
    fn an_aborted_fetch_frees_its_room() {
        let mut c = CachePolicy::new(B, false, B);
        c.reserve("a", 0, 0).unwrap();
        assert!(!c.evictable("a"), "a block in flight");
        c.abort("a", 0);
        assert_eq!(c.used(), 0);
        assert!(!c.has("a", 0) && c.evictable("a"));
        c.commit("a", 0);
        assert!(!c.has("a", 0), "a commit after the abort is ignored");
        assert_eq!(c.reserve("b", 0, 1), Ok(Vec::new()));
    }

    #[test]
    fn renames_keep_blocks_and_marks_and_truncation_drops_the_tail() {
        let mut c = filled(4);
        c.set_pinned("a", true);
        c.rename_file("a", "z");
        assert_eq!(c.present_blocks("z"), 4);
        assert_eq!(c.present_blocks("a"), 0);
        assert!(!c.evictable("z"), "marks follow the file");
        c.set_pinned("z", false);
        c.truncate("z", 1);
        assert_eq!(c.present_blocks("z"), 1);
        assert_eq!(c.used(), B);
        assert_eq!(c.remove_file("z"), B);
        assert_eq!(c.used(), 0);
    }

    use crate::testing::Seeded as Rng;

    /// The policy written the slow, obvious way.
    #[derive(Default)]
    struct Model {
        /// Block -> `None` while reserved, `Some(last use)` once present.
        blocks: BTreeMap<BlockId, Option<u64>>,
        files: BTreeMap<String, (bool, bool, u32)>,
        uses: u64,
    }

    impl Model {
        fn held(&self, file: &str) -> bool {
            self.files
                .get(file)
                .is_some_and(|(dirty, pinned, _open)| *dirty || *pinned)
        }

        fn oldest_evictable(&self) -> Option<BlockId> {
            self.blocks
                .iter()
                .filter(|((f, _), at)| at.is_some() && !self.held(f))
                .min_by_key(|(_, at)| **at)
                .map(|(id, _)| id.clone())
        }

        fn used(&self) -> u64 {
            self.blocks.len() as u64 * B
        }

        fn use_now(&mut self) -> Option<u64> {
            self.uses += 1;
            Some(self.uses)
        }
    }

    /// Random operations on the policy and on a model: the same answers throughout, and
    /// clean data never above the limit.
    #[test]
    fn a_random_workload_matches_a_simple_model() {
        for seed in 0..8 {
            random_workload(seed, seed % 4 != 3);
        }
    }

    fn random_workload(seed: u64, rotational: bool) {
        let mut rng = Rng(seed);
        let limit = 12 * B;
        let mut c = CachePolicy::new(limit, rotational, B);
        let mut m = Model::default();
        let (mut evictions, mut refusals) = (0, 0);
        for step in 0..2_000u64 {
            let file = format!("f{}", rng.below(5));
            let block = rng.below(6);
            match rng.below(16) {
                0..=4 => {
                    let expected = if m.blocks.contains_key(&id(&file, block)) {
                        if m.blocks[&id(&file, block)].is_some() {
                            *m.blocks.get_mut(&id(&file, block)).unwrap() = m.use_now();
                        }
                        Ok(Vec::new())
                    } else if m.used() + B <= limit {
                        Ok(Vec::new())
                    } else if let Some(old) = m.oldest_evictable().filter(|_| rotational) {
                        Ok(vec![old])
                    } else {
                        Err(CacheFull)
                    };
                    assert_eq!(
                        c.reserve(&file, block, step),
                        expected,
                        "seed {seed} step {step}"
                    );
                    match &expected {
                        Ok(evicted) => evictions += evicted.len(),
                        Err(CacheFull) => refusals += 1,
                    }
                    if let Ok(evicted) = expected {
                        for e in evicted {
                            m.blocks.remove(&e);
                        }
                        m.blocks.entry(id(&file, block)).or_insert(None);
                    }
                }
                5..=7 => {
                    c.commit(&file, block);
                    if m.blocks.get(&id(&file, block)) == Some(&None) {
                        let at = m.use_now();
                        m.blocks.insert(id(&file, block), at);
                    }
                }
                8 => {
                    c.abort(&file, block);
                    if m.blocks.get(&id(&file, block)) == Some(&None) {
                        m.blocks.remove(&id(&file, block));
                    }
                }
                9 => {
                    c.touch(&file, block, step);
                    if m.blocks.get(&id(&file, block)).is_some_and(Option::is_some) {
                        let at = m.use_now();
                        m.blocks.insert(id(&file, block), at);
                    }
                }
                10 => {
                    let dirty = rng.below(2) == 0;
                    m.files.entry(file.clone()).or_default().0 = dirty;
                    c.set_dirty(&file, dirty);
                }
                11 => {
                    let pinned = rng.below(3) == 0;
                    m.files.entry(file.clone()).or_default().1 = pinned;
                    c.set_pinned(&file, pinned);
                }
                12 => {
                    let open = &mut m.files.entry(file.clone()).or_default().2;
                    if *open == 0 || rng.below(2) == 0 {
                        *open += 1;
                        c.open(&file);
                    } else {
                        *open -= 1;
                        c.close(&file);
                    }
                }
                13 => {
                    let freed = m.blocks.keys().filter(|(f, _)| *f == file).count() as u64 * B;
                    m.blocks.retain(|(f, _), _| *f != file);
                    m.files.remove(&file);
                    assert_eq!(c.remove_file(&file), freed);
                }
                14 => {
                    c.truncate(&file, block);
                    m.blocks.retain(|(f, b), _| *f != file || *b < block);
                }
                _ => {
                    let to = format!("f{}", rng.below(5));
                    c.rename_file(&file, &to);
                    if to != file {
                        m.blocks.retain(|(f, _), _| *f != to);
                        let moved: Vec<(BlockId, Option<u64>)> = m
                            .blocks
                            .iter()
                            .filter(|((f, _), _)| *f == file)
                            .map(|((_, b), at)| ((to.clone(), *b), *at))
                            .collect();
                        m.blocks.retain(|(f, _), _| *f != file);
                        m.blocks.extend(moved);
                        let marks = m.files.remove(&file).unwrap_or_default();
                        m.files.insert(to, marks);
                    }
                }
            }
            assert_eq!(c.used(), m.used(), "seed {seed} step {step}");
            assert!(
                c.used() <= c.limit(),
                "seed {seed} step {step}: over the limit"
            );
            for f in 0..5 {
                let f = format!("f{f}");
                let present = m
                    .blocks
                    .iter()
                    .filter(|((g, _), at)| *g == f && at.is_some());
                assert_eq!(c.present_blocks(&f), present.count() as u64, "{f}");
                let in_flight = m.blocks.iter().any(|((g, _), at)| *g == f && at.is_none());
                let open = m.files.get(&f).is_some_and(|(_, _, open)| *open > 0);
                assert_eq!(c.evictable(&f), !m.held(&f) && !in_flight && !open, "{f}");
            }
        }
        assert!(refusals > 0, "seed {seed}: never full");
        assert_eq!(evictions > 0, rotational, "seed {seed}");
    }

    #[test]
    fn read_ahead_grows_on_sequential_reads_and_resets_on_a_jump() {
        let mut r = ReadAhead::new(4, 32);
        assert_eq!(r.on_read(0, 2), 4);
        assert_eq!(r.on_read(2, 2), 8);
        assert_eq!(r.on_read(4, 2), 16);
        assert_eq!(r.on_read(6, 2), 32);
        assert_eq!(r.on_read(8, 2), 32, "capped");
        assert_eq!(r.on_read(100, 2), 0, "a jump");
        assert_eq!(r.on_read(102, 2), 4, "starts over");
        assert_eq!(r.on_read(50, 2), 0, "a jump back");
        let mut first = ReadAhead::new(4, 32);
        assert_eq!(
            first.on_read(7, 1),
            0,
            "a first read elsewhere than 0 is random"
        );
    }
}
