//! A drive's (or backup's) files ranked three ways beside its journal: by state, by size and
//! by modification time. Each record's change moves its rows in the same commit
//! ([`update`]), so the file-states report pages through one state and the distribution
//! report reads its largest and most recent files from the first rows of an index, whatever
//! the drive holds.
//!
//! Rows are keys only: `<drive>/<state index>/<path>`, `<drive>/<size>/<path>` and
//! `<drive>/<mtime ms>/<path>`, numbers as 16 hex digits so that key order is number order.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::journal::FileRecord;
use super::tally::state_index;
use crate::error::ApiResult;
use crate::ports::Store;
use crate::store::keys::{
    DRIVE_FILES, DRIVE_FILES_BY_MTIME, DRIVE_FILES_BY_SIZE, DRIVE_FILES_BY_STATE,
};
use crate::store::table::{Table, delete_prefix};
use crate::store::{Batch, scan_all};

/// One way of ranking files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rank {
    /// By the state a file counts under (`tally::state_index`).
    State,
    /// By size in bytes.
    Size,
    /// By modification time.
    Modified,
}

const ALL: [Rank; 3] = [Rank::State, Rank::Size, Rank::Modified];

impl Rank {
    fn table(self) -> Table {
        match self {
            Rank::State => DRIVE_FILES_BY_STATE,
            Rank::Size => DRIVE_FILES_BY_SIZE,
            Rank::Modified => DRIVE_FILES_BY_MTIME,
        }
    }

    /// The part of the key `r` sorts by.
    fn value(self, r: &FileRecord) -> u64 {
        match self {
            Rank::State => state_index(r.flags) as u64,
            Rank::Size => r.size,
            Rank::Modified => r.mtime_ms,
        }
    }

    fn key(self, drive_id: &str, rel: &str, r: &FileRecord) -> Vec<u8> {
        let value = self.value(r);
        self.table().key(&format!("{drive_id}/{value:016x}/{rel}"))
    }

    /// The rows of `drive_id` (of one `value`, when given).
    fn prefix(self, drive_id: &str, value: Option<u64>) -> Vec<u8> {
        match value {
            Some(v) => self.table().key(&format!("{drive_id}/{v:016x}/")),
            None => self.table().key(&format!("{drive_id}/")),
        }
    }
}

/// Moves the rows of `rel` in `batch` as its record goes from `old` to `new` (`None`: not
/// tracked). Folders are not ranked; a row that stays the same is not written.
pub fn update(
    batch: &mut Batch,
    drive_id: &str,
    rel: &str,
    old: Option<&FileRecord>,
    new: Option<&FileRecord>,
) {
    if rel.is_empty() {
        return;
    }
    let file = |r: &&FileRecord| !r.is_dir;
    for rank in ALL {
        let before = old.filter(file).map(|r| rank.key(drive_id, rel, r));
        let after = new.filter(file).map(|r| rank.key(drive_id, rel, r));
        if before == after {
            continue;
        }
        if let Some(k) = before {
            batch.delete(k);
        }
        if let Some(k) = after {
            batch.put(k, Vec::new());
        }
    }
}

/// Up to `limit` paths of `drive_id` ranked by `rank`, after the first `skip`: greatest first
/// when `descending`, and only those of `value` when given.
pub fn paths(
    store: &impl Store,
    drive_id: &str,
    rank: Rank,
    value: Option<u64>,
    descending: bool,
    skip: u64,
    limit: usize,
) -> ApiResult<Vec<String>> {
    let prefix = rank.prefix(drive_id, value);
    let mut out = Vec::new();
    let mut seen = 0u64;
    scan_all(store, &prefix, descending, |k, _| {
        if out.len() >= limit {
            return Ok(false);
        }
        seen += 1;
        if seen > skip {
            // After the drive's prefix: 16 hex digits, `/`, the path.
            let rest = k.get(prefix.len()..).unwrap_or_default();
            let rest = if value.is_some() {
                rest
            } else {
                rest.get(17..).unwrap_or_default()
            };
            out.push(String::from(core::str::from_utf8(rest).unwrap_or_default()));
        }
        Ok(out.len() < limit)
    })?;
    Ok(out)
}

/// Deletes every row of `drive_id` (it was removed, or is counted again), a page per commit.
pub fn forget(store: &impl Store, drive_id: &str) -> ApiResult<()> {
    for rank in ALL {
        delete_prefix(store, &rank.prefix(drive_id, None))?;
    }
    Ok(())
}

/// The records of `paths` of `drive_id` (a path no longer tracked is left out).
pub fn records(
    store: &impl Store,
    drive_id: &str,
    paths: Vec<String>,
) -> ApiResult<Vec<(String, FileRecord)>> {
    let mut out = Vec::with_capacity(paths.len());
    for rel in paths {
        let found: Option<FileRecord> = DRIVE_FILES.get(store, &format!("{drive_id}/{rel}"))?;
        if let Some(r) = found {
            out.push((rel, r));
        }
    }
    Ok(out)
}
