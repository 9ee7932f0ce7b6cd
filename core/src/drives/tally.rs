//! Counters of a drive's (or backup's) journal: files, folders, bytes, and files and bytes by
//! state, by size bucket, by extension and by top-level folder. Each record's change moves
//! them in the same commit ([`count`], atomic `Add`s that concurrent writers of other paths
//! never conflict on), so the summary, sync-health and distribution reports read a few rows
//! whatever the drive holds. The drive's own status row (`""`) is not counted.

use alloc::format;
use alloc::string::String;

use super::journal::FileRecord;
use super::state::Flags;
use crate::error::ApiResult;
use crate::ports::Store;
use crate::store::keys::DRIVE_TALLIES;
use crate::store::table::{CounterDeltas, counter, delete_prefix, save};
use crate::store::{Batch, scan_all};

/// The states files are counted under, in the order the reports list them, with the names
/// and chart colours the reports show.
pub const STATES: [(Flags, &str, &str); 10] = [
    (Flags::NORMAL, "Normal", "#2e7d32"),
    (Flags::TEMPORARY, "Temporary", "#90a4ae"),
    (Flags::DOWNLOADING, "Downloading", "#1565c0"),
    (Flags::UPLOADING, "Uploading", "#6a1b9a"),
    (Flags::DELETING, "Deleting", "#ef6c00"),
    (Flags::IGNORE, "Ignore", "#9e9e9e"),
    (Flags::RENAME_DELETING, "RenameDeleting", "#ff8f00"),
    (Flags::DELETED, "Deleted", "#616161"),
    (Flags::READING, "Reading", "#00838f"),
    (Flags::ERROR, "Error", "#c62828"),
];

/// Which bit a file with `flags` counts under: the most pressing one (an error first, then
/// what is moving, then what it is); 0 (Normal) without any.
pub fn state_index(flags: Flags) -> usize {
    const PRESSING: [usize; 9] = [9, 3, 2, 4, 6, 8, 5, 7, 1];
    PRESSING
        .into_iter()
        .find(|&i| flags.has(STATES[i].0))
        .unwrap_or(0)
}

/// A drive's counters as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Files tracked.
    pub files: u64,
    /// Folders tracked.
    pub dirs: u64,
    /// Bytes of the files.
    pub bytes: u64,
    /// Files by [`STATES`] index.
    pub files_by_state: [u64; 10],
    /// Their bytes.
    pub bytes_by_state: [u64; 10],
}

fn key(drive_id: &str, counter: &str) -> alloc::vec::Vec<u8> {
    DRIVE_TALLIES.key(&format!("{drive_id}/{counter}"))
}

/// Marks that the counters (and [`super::ranks`]) of `drive_id` stand for its whole journal,
/// as this version counts it: its value is [`VERSION`].
const BUILT: &str = "built";
/// What [`BUILT`] holds once counted as this version counts (2: sizes, extensions, folders,
/// the ranks and the history's entries too).
const VERSION: &str = "2";

/// The size buckets of the distribution report: label, and the bound below which a size
/// falls in it.
pub const SIZE_BUCKETS: [(&str, u64); 6] = [
    ("< 1 KB", 1 << 10),
    ("1 KB - 1 MB", 1 << 20),
    ("1 MB - 10 MB", 10 << 20),
    ("10 MB - 100 MB", 100 << 20),
    ("100 MB - 1 GB", 1 << 30),
    (">= 1 GB", u64::MAX),
];

fn size_bucket(size: u64) -> usize {
    (SIZE_BUCKETS.iter())
        .position(|(_, below)| size < *below)
        .unwrap_or(SIZE_BUCKETS.len() - 1)
}

/// `.jpg` of `a/b.JPG`; `(none)` without one.
pub fn extension(rel: &str) -> String {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => {
            format!(".{}", ext.to_lowercase())
        }
        _ => String::from("(none)"),
    }
}

/// The top-level folder of `rel` (`/` for a file at the root).
pub fn top_folder(rel: &str) -> &str {
    rel.split_once('/').map_or("/", |(d, _)| d)
}

/// The kinds of files the distribution report groups by: counters `<kind>-files/<group>` and
/// `<kind>-bytes/<group>`.
#[derive(Clone, Copy)]
pub enum Group {
    /// By [`SIZE_BUCKETS`] index.
    Size,
    /// By [`extension`].
    Extension,
    /// By [`top_folder`].
    Folder,
}

impl Group {
    fn name(self) -> &'static str {
        match self {
            Group::Size => "size",
            Group::Extension => "ext",
            Group::Folder => "dir",
        }
    }
}

fn add(deltas: &mut CounterDeltas, drive_id: &str, rel: &str, r: &FileRecord, sign: i64) {
    if r.is_dir {
        deltas.add(key(drive_id, "dirs"), sign);
        return;
    }
    let size = i64::try_from(r.size).unwrap_or(i64::MAX);
    let i = state_index(r.flags);
    deltas.add(key(drive_id, "files"), sign);
    deltas.add(key(drive_id, "bytes"), sign * size);
    deltas.add(key(drive_id, &format!("files/{i}")), sign);
    deltas.add(key(drive_id, &format!("bytes/{i}")), sign * size);
    let bucket = format!("{}", size_bucket(r.size));
    let groups = [
        (Group::Size, bucket.as_str()),
        (Group::Extension, &extension(rel)),
        (Group::Folder, top_folder(rel)),
    ];
    for (group, value) in groups {
        let name = group.name();
        deltas.add(key(drive_id, &format!("{name}-files/{value}")), sign);
        deltas.add(key(drive_id, &format!("{name}-bytes/{value}")), sign * size);
    }
}

/// The files and bytes of each group of one kind that holds any file, by group.
pub fn groups(
    store: &impl Store,
    drive_id: &str,
    group: Group,
) -> ApiResult<alloc::collections::BTreeMap<String, (u64, u64)>> {
    let mut out = alloc::collections::BTreeMap::new();
    for (counter, bytes) in [("files", false), ("bytes", true)] {
        let prefix = key(drive_id, &format!("{}-{counter}/", group.name()));
        scan_all(store, &prefix, false, |k, v| {
            let n = crate::store::counter_value(Some(v));
            let value = core::str::from_utf8(&k[prefix.len()..]).unwrap_or_default();
            if n > 0 {
                let e: &mut (u64, u64) = out.entry(String::from(value)).or_default();
                *(if bytes { &mut e.1 } else { &mut e.0 }) = n;
            }
            Ok(true)
        })?;
    }
    Ok(out)
}

/// Moves the counters of `drive_id` in `batch` for `rel` going from `old` to `new` (`None`:
/// not tracked).
pub fn count(
    batch: &mut Batch,
    drive_id: &str,
    rel: &str,
    old: Option<&FileRecord>,
    new: Option<&FileRecord>,
) {
    if rel.is_empty() {
        return;
    }
    let mut deltas = CounterDeltas::default();
    if let Some(old) = old {
        add(&mut deltas, drive_id, rel, old, -1);
    }
    if let Some(new) = new {
        add(&mut deltas, drive_id, rel, new, 1);
    }
    deltas.apply(batch);
}

/// The counters of `drive_id`.
pub fn read(store: &impl Store, drive_id: &str) -> ApiResult<Tally> {
    let get = |name: &str| counter(store, &key(drive_id, name));
    let mut t = Tally {
        files: get("files")?,
        dirs: get("dirs")?,
        bytes: get("bytes")?,
        ..Tally::default()
    };
    for i in 0..STATES.len() {
        t.files_by_state[i] = get(&format!("files/{i}"))?;
        t.bytes_by_state[i] = get(&format!("bytes/{i}"))?;
    }
    Ok(t)
}

/// Counts the journal of `drive_id` once, if its counters and ranks were never built as this
/// version counts (a journal an earlier version wrote). Call while nothing else writes the
/// drive's journal.
pub fn ensure(store: &impl Store, drive_id: &str) -> ApiResult<()> {
    let built = store.get(&key(drive_id, BUILT))?;
    if built.as_ref().map(|v| v.as_ref()) == Some(VERSION.as_bytes()) {
        return Ok(());
    }
    forget(store, drive_id)?;
    super::ranks::forget(store, drive_id)?;
    super::history::recount(store, drive_id)?;
    let prefix = crate::store::keys::DRIVE_FILES.key(&format!("{drive_id}/"));
    let mut deltas = CounterDeltas::default();
    let mut ranked = Batch::new();
    scan_all(store, &prefix, false, |k, row| {
        let rel = core::str::from_utf8(&k[prefix.len()..]).unwrap_or("");
        if let (false, Ok(r)) = (rel.is_empty(), serde_json::from_slice::<FileRecord>(row)) {
            add(&mut deltas, drive_id, rel, &r, 1);
            super::ranks::update(&mut ranked, drive_id, rel, None, Some(&r));
            if ranked.ops.len() >= 3 * 256 {
                save(store, &core::mem::take(&mut ranked))?;
            }
        }
        Ok(true)
    })?;
    save(store, &ranked)?;
    let mut batch = Batch::new();
    deltas.apply(&mut batch);
    batch.put(key(drive_id, BUILT), String::from(VERSION).into_bytes());
    save(store, &batch)
}

/// Deletes the counters of `drive_id` (it was removed).
pub fn forget(store: &impl Store, drive_id: &str) -> ApiResult<()> {
    delete_prefix(store, &key(drive_id, ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drives::drive::new_drive;
    use crate::drives::journal::Journal;
    use crate::ports::Ports;
    use crate::testing::TestAgent;

    #[test]
    fn the_counters_follow_every_change_and_match_a_recount() {
        let t = TestAgent::new();
        let d = new_drive("d1".into(), "acc", "u", 0);
        let j = Journal::new(&t.agent);
        let store = t.agent.ports.store();
        ensure(store, "d1").unwrap();
        j.set_flags(&d, "", Flags::NORMAL).unwrap();
        j.update(&d, "dir", |r| r.is_dir = true).unwrap();
        j.update(&d, "dir/a", |r| {
            r.size = 10;
            r.flags = Flags::UPLOADING;
        })
        .unwrap();
        j.update(&d, "b", |r| r.size = 5).unwrap();
        j.update(&d, "c", |r| {
            r.size = 7;
            r.flags = Flags::ERROR.with(Flags::UPLOADING);
        })
        .unwrap();
        j.set_flags(&d, "dir/a", Flags::NORMAL).unwrap();
        j.update(&d, "b", |r| r.size = 50).unwrap();
        j.remove(&d, "c").unwrap();
        let counted = read(store, "d1").unwrap();
        assert_eq!((counted.files, counted.dirs, counted.bytes), (2, 1, 60));
        assert_eq!(counted.files_by_state[0], 2);
        assert_eq!(counted.bytes_by_state[0], 60);
        assert_eq!(counted.files_by_state[9], 0, "the error went with its file");
        // A recount from the journal gives the same.
        forget(store, "d1").unwrap();
        ensure(store, "d1").unwrap();
        assert_eq!(read(store, "d1").unwrap(), counted);
        crate::drives::journal::forget_drive(store, "d1").unwrap();
        assert_eq!(read(store, "d1").unwrap(), Tally::default());
    }

    #[test]
    fn a_file_counts_under_its_most_pressing_state() {
        assert_eq!(state_index(Flags::NORMAL), 0);
        assert_eq!(state_index(Flags::TEMPORARY), 1);
        assert_eq!(state_index(Flags::TEMPORARY.with(Flags::DOWNLOADING)), 2);
        assert_eq!(state_index(Flags::UPLOADING.with(Flags::ERROR)), 9);
        assert_eq!(
            STATES[state_index(Flags::RENAME_DELETING)].1,
            "RenameDeleting"
        );
    }
}
