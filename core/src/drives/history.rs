//! What a drive (or backup) moved, kept by the agent itself for the transfer-activity and
//! historical-trends reports: one entry per file that finished moving (its journal record
//! left `Uploading` or `Downloading`), written in the same commit as that record, and per-day
//! counters (transfers, bytes, time, outcome) moved with atomic `Add`s in that commit too, so
//! a trend reads a few rows per day. Entries older than the configured history days
//! (`CoreConfig::history_days`) are pruned when the drive starts.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::ports::Store;
use crate::store::keys::{DRIVE_DAYS, DRIVE_HISTORY};
use crate::store::table::{CounterDeltas, counter, delete_prefix, save};
use crate::store::{Batch, scan_all};

const DAY_MS: u64 = 86_400_000;

pub use crate::transfers::history::{DOWNLOAD, UPLOAD};
/// `TransferStatus`: the file moved.
pub const COMPLETED: u32 = 4;
/// `TransferStatus`: it was deleted while it moved.
pub const CANCELED: u32 = 8;
/// `TransferStatus`: the move failed (the journal keeps why).
pub const ERROR: u32 = 16;

/// One file that finished moving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// [`UPLOAD`] or [`DOWNLOAD`].
    pub direction: u8,
    /// [`COMPLETED`], [`CANCELED`] or [`ERROR`].
    pub status: u32,
    /// When it started (Unix ms).
    pub start_ms: u64,
    /// When it ended (Unix ms).
    pub end_ms: u64,
    /// Its relative path.
    pub path: String,
    /// Bytes moved (0 unless completed).
    pub bytes: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

fn day_of(ms: u64) -> String {
    let iso = crate::time::iso8601(ms);
    String::from(iso.get(..10).unwrap_or(&iso))
}

fn day_key(drive_id: &str, day: &str, name: &str) -> Vec<u8> {
    DRIVE_DAYS.key(&format!("{drive_id}/{day}/{name}"))
}

/// Writes `entry` of drive `drive_id` in `batch`, with its day's counters; `nonce` keeps
/// entries that end in the same millisecond apart.
pub fn record(batch: &mut Batch, drive_id: &str, entry: &Entry, nonce: u64) {
    let id = format!("{drive_id}/{:016}/{nonce:016x}", entry.end_ms);
    DRIVE_HISTORY.put(batch, &id, entry);
    let day = day_of(entry.end_ms);
    let mut deltas = CounterDeltas::default();
    let outcome = match entry.status {
        COMPLETED => "completed",
        CANCELED => "canceled",
        _ => "failed",
    };
    deltas.add(day_key(drive_id, &day, outcome), 1);
    deltas.add(kept_key(drive_id, entry), 1);
    if entry.status == COMPLETED {
        let bytes = i64::try_from(entry.bytes).unwrap_or(i64::MAX);
        let ms = i64::try_from(entry.end_ms.saturating_sub(entry.start_ms)).unwrap_or(i64::MAX);
        deltas.add(day_key(drive_id, &day, "bytes"), bytes);
        deltas.add(day_key(drive_id, &day, "ms"), ms);
        deltas.add(DRIVE_DAYS.key(&format!("{drive_id}/total")), bytes);
    }
    deltas.apply(batch);
}

/// The counter of entries kept of `entry`'s direction and status: the transfer-activity
/// report's total without a scan.
fn kept_key(drive_id: &str, entry: &Entry) -> Vec<u8> {
    DRIVE_DAYS.key(&format!(
        "{drive_id}/kept/{}/{}",
        entry.direction, entry.status
    ))
}

/// Entries kept of `direction` and `status` (0: any).
fn kept(store: &impl Store, drive_id: &str, direction: u8, status: u32) -> ApiResult<u64> {
    let prefix = DRIVE_DAYS.key(&format!("{drive_id}/kept/"));
    let mut total = 0;
    scan_all(store, &prefix, false, |k, v| {
        let rest = core::str::from_utf8(&k[prefix.len()..]).unwrap_or("");
        let (d, st) = rest.split_once('/').unwrap_or_default();
        let (d, st) = (d.parse::<u8>().unwrap_or(0), st.parse::<u32>().unwrap_or(0));
        if (direction == 0 || d == direction) && (status == 0 || st & status != 0) {
            total += crate::store::counter_value(Some(v));
        }
        Ok(true)
    })?;
    Ok(total)
}

/// Counts the entries kept of `drive_id` again (a history an earlier version wrote).
pub fn recount(store: &impl Store, drive_id: &str) -> ApiResult<()> {
    delete_prefix(store, &DRIVE_DAYS.key(&format!("{drive_id}/kept/")))?;
    let mut deltas = CounterDeltas::default();
    scan_all(
        store,
        &DRIVE_HISTORY.key(&format!("{drive_id}/")),
        false,
        |_, row| {
            if let Ok(entry) = serde_json::from_slice::<Entry>(row) {
                deltas.add(kept_key(drive_id, &entry), 1);
            }
            Ok(true)
        },
    )?;
    let mut counted = Batch::new();
    deltas.apply(&mut counted);
    save(store, &counted)
}

/// One entry as read, with the key it is stored under.
pub struct Stored {
    /// Unique: `<drive id>-<end ms>-<nonce>`.
    pub id: String,
    /// What it says.
    pub entry: Entry,
}

/// The id of the entry stored under `key`.
fn stored_id(key: &[u8]) -> String {
    let rest = key.get(DRIVE_HISTORY.prefix().len()..).unwrap_or_default();
    core::str::from_utf8(rest).unwrap_or("").replace('/', "-")
}

/// Every entry of `drive_id`, oldest first.
pub fn all(store: &impl Store, drive_id: &str) -> ApiResult<Vec<Stored>> {
    let mut out = Vec::new();
    let prefix = DRIVE_HISTORY.key(&format!("{drive_id}/"));
    scan_all(store, &prefix, false, |k, row| {
        if let Ok(entry) = serde_json::from_slice::<Entry>(row) {
            out.push(Stored {
                id: stored_id(k),
                entry,
            });
        }
        Ok(true)
    })?;
    Ok(out)
}

/// The drive id and the entry of a [`Stored::id`], if it names one kept.
pub fn find(store: &impl Store, id: &str) -> ApiResult<Option<(String, Stored)>> {
    let mut parts = id.rsplitn(3, '-');
    let (Some(nonce), Some(end), Some(drive_id)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    let key = format!("{drive_id}/{end}/{nonce}");
    let entry: Option<Entry> = DRIVE_HISTORY.get(store, &key)?;
    Ok(entry.map(|entry| {
        let id = String::from(id);
        (String::from(drive_id), Stored { id, entry })
    }))
}

/// Forgets entry `stored` of `drive_id` (its day's counters, what the trends say, stay).
pub fn remove(store: &impl Store, drive_id: &str, stored: &Stored) -> ApiResult<()> {
    let end = stored.entry.end_ms;
    let Some(nonce) = stored.id.rsplit('-').next() else {
        return Ok(());
    };
    let mut batch = Batch::new();
    DRIVE_HISTORY.delete(&mut batch, &format!("{drive_id}/{end:016}/{nonce}"));
    let mut gone = CounterDeltas::default();
    gone.add(kept_key(drive_id, &stored.entry), -1);
    gone.apply(&mut batch);
    save(store, &batch)
}

/// Page `page` (1-based) of `page_size` entries of `drive_id`, newest first, of `direction`
/// and `status` (0: any), and how many match.
pub fn page(
    store: &impl Store,
    drive_id: &str,
    direction: u8,
    status: u32,
    page: u32,
    page_size: u32,
) -> ApiResult<(Vec<Stored>, u64)> {
    let prefix = DRIVE_HISTORY.key(&format!("{drive_id}/"));
    let skip = u64::from(page.saturating_sub(1)) * u64::from(page_size);
    let (mut matched, mut out) = (0u64, Vec::new());
    scan_all(store, &prefix, true, |k, row| {
        let Ok(entry) = serde_json::from_slice::<Entry>(row) else {
            return Ok(true);
        };
        if (direction == 0 || entry.direction == direction)
            && (status == 0 || entry.status & status != 0)
        {
            if matched >= skip {
                out.push(Stored {
                    id: stored_id(k),
                    entry,
                });
            }
            matched += 1;
        }
        Ok(out.len() < page_size as usize)
    })?;
    Ok((out, kept(store, drive_id, direction, status)?))
}

/// One day of a trend.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Files moved.
    pub completed: u64,
    /// Moves that failed.
    pub failed: u64,
    /// Moves cut by a delete.
    pub canceled: u64,
    /// Bytes moved.
    pub bytes: u64,
    /// Time the completed transfers took.
    pub ms: u64,
}

/// The `days` days up to the one of `now_ms` (oldest first), and the bytes ever moved.
pub fn trend(
    store: &impl Store,
    drive_id: &str,
    days: u32,
    now_ms: u64,
) -> ApiResult<(Vec<Day>, u64)> {
    let today = now_ms / DAY_MS;
    let mut out = Vec::with_capacity(days as usize);
    for back in (0..u64::from(days)).rev() {
        let Some(day) = today.checked_sub(back) else {
            continue;
        };
        let date = day_of(day * DAY_MS);
        let get = |name: &str| counter(store, &day_key(drive_id, &date, name));
        out.push(Day {
            completed: get("completed")?,
            failed: get("failed")?,
            canceled: get("canceled")?,
            bytes: get("bytes")?,
            ms: get("ms")?,
            date,
        });
    }
    let total = counter(store, &DRIVE_DAYS.key(&format!("{drive_id}/total")))?;
    Ok((out, total))
}

/// Deletes entries and day counters of `drive_id` older than `keep_days` before `now_ms`
/// (everything, with `now_ms` = `u64::MAX`).
pub fn prune(store: &impl Store, drive_id: &str, now_ms: u64, keep_days: u32) -> ApiResult<()> {
    let cutoff = now_ms.saturating_sub(u64::from(keep_days) * DAY_MS);
    let everything = now_ms == u64::MAX;
    let mut batch = Batch::new();
    let prefix = DRIVE_HISTORY.key(&format!("{drive_id}/"));
    let before = DRIVE_HISTORY.key(&format!("{drive_id}/{cutoff:016}"));
    let mut gone = CounterDeltas::default();
    scan_all(store, &prefix, false, |k, row| {
        if !everything && k >= before.as_slice() {
            return Ok(false);
        }
        if let Ok(entry) = serde_json::from_slice::<Entry>(row) {
            gone.add(kept_key(drive_id, &entry), -1);
        }
        batch.delete(k.to_vec());
        Ok(true)
    })?;
    gone.apply(&mut batch);
    let days = DRIVE_DAYS.key(&format!("{drive_id}/"));
    let oldest = day_of(cutoff);
    scan_all(store, &days, false, |k, _| {
        let rest = core::str::from_utf8(&k[days.len()..]).unwrap_or("");
        let dated = rest != "total" && !rest.starts_with("kept/");
        let old = dated && rest.get(..10).is_some_and(|d| d < oldest.as_str());
        if everything || old {
            batch.delete(k.to_vec());
        }
        Ok(true)
    })?;
    save(store, &batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Ports;
    use crate::testing::TestAgent;

    const KEEP_DAYS: u64 = 90;

    fn entry(direction: u8, status: u32, end_ms: u64, path: &str) -> Entry {
        Entry {
            direction,
            status,
            start_ms: end_ms - 10,
            end_ms,
            path: path.into(),
            bytes: if status == COMPLETED { 100 } else { 0 },
            error: String::new(),
        }
    }

    /// Pages come newest first, filtered; their totals are counted, not scanned, and follow
    /// pruning and a recount alike.
    #[test]
    fn pages_and_their_totals_follow_records_and_pruning() {
        let t = TestAgent::new();
        let store = t.agent.ports.store();
        let now = 200 * DAY_MS;
        let mut batch = Batch::new();
        let old = now - (KEEP_DAYS + 1) * DAY_MS;
        record(&mut batch, "d1", &entry(UPLOAD, COMPLETED, old, "old"), 1);
        for i in 0..5u64 {
            record(
                &mut batch,
                "d1",
                &entry(UPLOAD, COMPLETED, now - i, "up"),
                i,
            );
        }
        record(
            &mut batch,
            "d1",
            &entry(DOWNLOAD, ERROR, now - 100, "down"),
            9,
        );
        record(&mut batch, "d2", &entry(UPLOAD, COMPLETED, now, "other"), 1);
        save(store, &batch).unwrap();

        let (first, total) = page(store, "d1", 0, 0, 1, 2).unwrap();
        assert_eq!(total, 7);
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].entry.end_ms, now, "newest first");
        let (_, uploads) = page(store, "d1", UPLOAD, 0, 1, 50).unwrap();
        assert_eq!(uploads, 6);
        let (failed, n) = page(store, "d1", 0, ERROR, 1, 50).unwrap();
        assert_eq!((n, failed[0].entry.path.as_str()), (1, "down"));
        let (last, _) = page(store, "d1", 0, 0, 4, 2).unwrap();
        assert_eq!(last[0].entry.path, "old");

        prune(store, "d1", now, KEEP_DAYS as u32).unwrap();
        assert_eq!(page(store, "d1", 0, 0, 1, 50).unwrap().1, 6);
        recount(store, "d1").unwrap();
        assert_eq!(page(store, "d1", UPLOAD, COMPLETED, 1, 50).unwrap().1, 5);
        assert_eq!(page(store, "d2", 0, 0, 1, 50).unwrap().1, 1);
        prune(store, "d1", u64::MAX, 0).unwrap();
        let (none, zero) = page(store, "d1", 0, 0, 1, 50).unwrap();
        assert!(none.is_empty() && zero == 0);
    }
}
