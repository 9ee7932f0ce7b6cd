//! What a drive (or backup) holds, as the file-states and file-distribution reports show it
//! (`drivereport.md`, `backupreport.md`): one scan of its journal per report, with bounded
//! memory whatever the drive holds (a page of rows, top-N lists, fixed buckets, capped maps).

use alloc::borrow::Cow;
use alloc::collections::{BTreeMap, BinaryHeap};
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Reverse;
use serde::Serialize;

use super::journal::FileRecord;
use super::report::{ChartPoint, format_size};
use super::state::Flags;
use super::tally::{self, STATES, Tally};
use crate::error::ApiResult;
use crate::ports::Store;
use crate::store::keys::DRIVE_FILES;
use crate::store::scan_all;

/// Colours given to extensions and directories in turn.
const PALETTE: [&str; 8] = [
    "#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#c62828", "#5d4037", "#546e7a",
];
/// Distinct extensions (and top-level folders) kept apart; the rest count as one.
const DISTINCT: usize = 256;
/// Entries of `RecentlyModified`.
const RECENT: usize = 20;
/// The size buckets of `SizeDistribution`: (label, upper bound exclusive).
const BUCKETS: [(&str, u64); 6] = [
    ("< 1 KB", 1 << 10),
    ("1 KB - 1 MB", 1 << 20),
    ("1 MB - 10 MB", 10 << 20),
    ("10 MB - 100 MB", 100 << 20),
    ("100 MB - 1 GB", 1 << 30),
    (">= 1 GB", u64::MAX),
];

/// One file as the reports list it (ordered by path first, so equal ranks list in path order).
#[derive(Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "PascalCase")]
pub struct FileRow {
    path: String,
    file_name: String,
    size_bytes: u64,
    size_formatted: String,
    state: &'static str,
    last_modified_date_utc: String,
}

impl FileRow {
    fn new(rel: &str, r: &FileRecord) -> FileRow {
        FileRow {
            path: String::from(rel),
            file_name: String::from(rel.rsplit('/').next().unwrap_or(rel)),
            size_bytes: r.size,
            size_formatted: format_size(r.size),
            state: STATES[tally::state_index(r.flags)].1,
            last_modified_date_utc: crate::time::iso8601(r.mtime_ms),
        }
    }
}

/// Calls `visit` with every file (not folder) record of drive `drive_id`, in path order.
fn each_file(
    store: &impl Store,
    drive_id: &str,
    mut visit: impl FnMut(&str, FileRecord),
) -> ApiResult<()> {
    let prefix = DRIVE_FILES.key(&alloc::format!("{drive_id}/"));
    scan_all(store, &prefix, false, |k, row| {
        let rel = core::str::from_utf8(&k[prefix.len()..]).unwrap_or("");
        if let (false, Ok(r)) = (rel.is_empty(), serde_json::from_slice::<FileRecord>(row))
            && !r.is_dir
        {
            visit(rel, r);
        }
        Ok(true)
    })
}

/// Files and bytes of one state.
#[derive(Serialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct StateCount {
    state: &'static str,
    count: u64,
    total_size: u64,
    total_size_formatted: String,
}

/// The body of `FileStateReport` (its id field is the caller's).
#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct FileStates {
    files: Vec<FileRow>,
    total: u64,
    page: u32,
    page_size: u32,
    state_counts: Vec<StateCount>,
}

/// Page `page` (1-based, `page_size` rows) of the files of `drive_id` in state `state` (a
/// `FileState` bit; 0: every state), with the counts of every state.
pub fn file_states(
    store: &impl Store,
    drive_id: &str,
    t: &Tally,
    state: u32,
    page: u32,
    page_size: u32,
) -> ApiResult<FileStates> {
    let skip = (page as u64 - 1) * u64::from(page_size);
    let mut total = 0u64;
    let mut files = Vec::new();
    each_file(store, drive_id, |rel, r| {
        let wanted = state == 0 || STATES[tally::state_index(r.flags)].0 == Flags(state);
        if !wanted {
            return;
        }
        if total >= skip && files.len() < page_size as usize {
            files.push(FileRow::new(rel, &r));
        }
        total += 1;
    })?;
    let state_counts = STATES
        .iter()
        .enumerate()
        .map(|(i, (_, name, _))| StateCount {
            state: name,
            count: t.files_by_state[i],
            total_size: t.bytes_by_state[i],
            total_size_formatted: format_size(t.bytes_by_state[i]),
        })
        .collect();
    Ok(FileStates {
        files,
        total,
        page,
        page_size,
        state_counts,
    })
}

/// One folder's share.
#[derive(Serialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct DirectoryRow {
    directory: String,
    file_count: u64,
    size_bytes: u64,
    size_formatted: String,
}

/// The body of `FileDistributionReport`.
#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Distribution {
    file_count_by_extension: Vec<ChartPoint>,
    size_by_extension: Vec<ChartPoint>,
    size_distribution: Vec<ChartPoint>,
    largest_files: Vec<FileRow>,
    recently_modified: Vec<FileRow>,
    directory_breakdown: Vec<DirectoryRow>,
}

/// `.jpg` of `a/b.JPG`; `(none)` without one.
fn extension(rel: &str) -> String {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => {
            alloc::format!(".{}", ext.to_lowercase())
        }
        _ => String::from("(none)"),
    }
}

/// Adds `(1, size)` to `key` of `map`, or to `(other)` once `map` holds [`DISTINCT`] keys.
fn count_into(map: &mut BTreeMap<String, (u64, u64)>, key: String, size: u64) {
    let key = if map.len() >= DISTINCT && !map.contains_key(&key) {
        String::from("(other)")
    } else {
        key
    };
    let e = map.entry(key).or_default();
    e.0 += 1;
    e.1 += size;
}

/// The `n` greatest files by a rank, as a min-heap of them.
type Top<K> = BinaryHeap<Reverse<(K, FileRow)>>;

/// Keeps the `n` greatest by `rank` in `heap`; the row is made only for a file that gets in.
fn keep_top<K: Ord>(heap: &mut Top<K>, n: usize, rank: K, row: impl FnOnce() -> FileRow) {
    if heap.len() < n {
        heap.push(Reverse((rank, row())));
    } else if heap.peek().is_some_and(|Reverse((least, _))| rank > *least) {
        heap.pop();
        heap.push(Reverse((rank, row())));
    }
}

/// The greatest first.
fn ranked<K: Ord>(heap: Top<K>) -> Vec<FileRow> {
    heap.into_sorted_vec()
        .into_iter()
        .map(|Reverse((_, row))| row)
        .collect()
}

/// Chart points of `map`, largest first by what `value` picks.
fn points(
    map: &BTreeMap<String, (u64, u64)>,
    value: impl Fn(&(u64, u64)) -> u64,
) -> Vec<ChartPoint> {
    let mut v: Vec<(&String, u64)> = map.iter().map(|(k, e)| (k, value(e))).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.into_iter()
        .enumerate()
        .map(|(i, (k, n))| ChartPoint::new(Cow::Owned(k.clone()), n, PALETTE[i % PALETTE.len()]))
        .collect()
}

/// The distribution of the files of `drive_id`: by extension, by size, the `top_files`
/// largest, the most recently modified, and the `top_directories` largest top-level folders
/// (`/` for files at the root).
pub fn distribution(
    store: &impl Store,
    drive_id: &str,
    top_files: usize,
    top_directories: usize,
) -> ApiResult<Distribution> {
    let mut by_ext: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut by_dir: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut buckets = [(0u64, 0u64); BUCKETS.len()];
    let mut largest = BinaryHeap::new();
    let mut recent = BinaryHeap::new();
    each_file(store, drive_id, |rel, r| {
        count_into(&mut by_ext, extension(rel), r.size);
        let dir = rel.split_once('/').map_or("/", |(d, _)| d);
        count_into(&mut by_dir, String::from(dir), r.size);
        let b = BUCKETS
            .iter()
            .position(|(_, below)| r.size < *below)
            .unwrap_or(BUCKETS.len() - 1);
        buckets[b].0 += 1;
        buckets[b].1 += r.size;
        keep_top(&mut largest, top_files, r.size, || FileRow::new(rel, &r));
        keep_top(&mut recent, RECENT, r.mtime_ms, || FileRow::new(rel, &r));
    })?;
    let mut dirs: Vec<(String, (u64, u64))> = by_dir.into_iter().collect();
    dirs.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(&b.0)));
    dirs.truncate(top_directories);
    Ok(Distribution {
        file_count_by_extension: points(&by_ext, |e| e.0),
        size_by_extension: points(&by_ext, |e| e.1),
        size_distribution: BUCKETS
            .iter()
            .zip(buckets)
            .enumerate()
            .map(|(i, ((label, _), (n, _)))| ChartPoint::new(*label, n, PALETTE[i % PALETTE.len()]))
            .collect(),
        largest_files: ranked(largest),
        recently_modified: ranked(recent),
        directory_breakdown: dirs
            .into_iter()
            .map(|(directory, (file_count, size_bytes))| DirectoryRow {
                directory,
                file_count,
                size_bytes,
                size_formatted: format_size(size_bytes),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drives::drive::new_drive;
    use crate::drives::journal::Journal;
    use crate::ports::Ports;
    use crate::testing::TestAgent;

    #[test]
    fn pages_filters_and_distributions_match_what_was_recorded() {
        let t = TestAgent::new();
        let d = new_drive("d1".into(), "acc", "u", 0);
        let j = Journal::new(&t.agent);
        let files = [
            ("a/x.jpg", 500, 1, Flags::NORMAL),
            ("a/y.JPG", 3 << 20, 5, Flags::NORMAL),
            ("b/z.txt", 10, 9, Flags::UPLOADING),
            ("top", 2000, 3, Flags::ERROR),
        ];
        j.update(&d, "a", |r| r.is_dir = true).unwrap();
        for (rel, size, mtime, flags) in files {
            j.update(&d, rel, |r| {
                r.size = size;
                r.mtime_ms = mtime;
                r.flags = flags;
            })
            .unwrap();
        }
        let store = t.agent.ports.store();
        let tally = tally::read(store, "d1").unwrap();
        let all = file_states(store, "d1", &tally, 0, 1, 3).unwrap();
        assert_eq!(all.total, 4);
        let paths: Vec<&str> = all.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["a/x.jpg", "a/y.JPG", "b/z.txt"]);
        let second = file_states(store, "d1", &tally, 0, 2, 3).unwrap();
        assert_eq!(second.files[0].path, "top");
        let uploading = file_states(store, "d1", &tally, 4, 1, 50).unwrap();
        assert_eq!(
            (uploading.total, uploading.files[0].state),
            (1, "Uploading")
        );
        assert_eq!(all.state_counts[9].count, 1, "one error");

        let dist = distribution(store, "d1", 2, 1).unwrap();
        let json = serde_json::to_value(&dist).unwrap();
        assert_eq!(json["FileCountByExtension"][0]["Label"], ".jpg");
        assert_eq!(json["FileCountByExtension"][0]["Value"], 2);
        assert_eq!(json["SizeByExtension"][0]["Value"], 500 + (3 << 20));
        assert_eq!(json["SizeDistribution"][0]["Value"], 2, "two under 1 KB");
        assert_eq!(json["SizeDistribution"][2]["Value"], 1, "one of 1-10 MB");
        assert_eq!(json["LargestFiles"][0]["Path"], "a/y.JPG");
        assert_eq!(json["LargestFiles"][1]["Path"], "top");
        assert_eq!(json["LargestFiles"].as_array().unwrap().len(), 2);
        assert_eq!(json["RecentlyModified"][0]["Path"], "b/z.txt");
        assert_eq!(json["DirectoryBreakdown"].as_array().unwrap().len(), 1);
        assert_eq!(json["DirectoryBreakdown"][0]["Directory"], "a");
        assert_eq!(json["DirectoryBreakdown"][0]["FileCount"], 2);
    }
}
