//! What a drive (or backup) holds, as the file-states and file-distribution reports show it
//! (`drivereport.md`, `backupreport.md`), read from the journal's counters ([`super::tally`])
//! and ranks ([`super::ranks`]): a few rows per report whatever the drive holds, never a scan
//! of its journal (but for the rows a page of every file skips).

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use super::journal::FileRecord;
use super::ranks::{self, Rank};
use super::report::{ChartPoint, format_size};
use super::tally::{self, Group, SIZE_BUCKETS, STATES, Tally};
use crate::error::ApiResult;
use crate::ports::Store;
use crate::store::keys::DRIVE_FILES;
use crate::store::scan_all;

/// Colours given to extensions and directories in turn.
const PALETTE: [&str; 8] = [
    "#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#c62828", "#5d4037", "#546e7a",
];
/// Distinct extensions shown apart (the most frequent); the rest count as one.
const DISTINCT: usize = 256;
/// Entries of `RecentlyModified`.
const RECENT: usize = 20;

/// One file as the reports list it (ordered by path first, so equal ranks list in path order).
#[derive(Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
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

/// Calls `visit` with the file (not folder) records of drive `drive_id`, in path order, until
/// it returns false.
fn each_file(
    store: &impl Store,
    drive_id: &str,
    mut visit: impl FnMut(&str, FileRecord) -> bool,
) -> ApiResult<()> {
    let prefix = DRIVE_FILES.key(&alloc::format!("{drive_id}/"));
    scan_all(store, &prefix, false, |k, row| {
        let rel = core::str::from_utf8(&k[prefix.len()..]).unwrap_or("");
        match (rel.is_empty(), serde_json::from_slice::<FileRecord>(row)) {
            (false, Ok(r)) if !r.is_dir => Ok(visit(rel, r)),
            _ => Ok(true),
        }
    })
}

/// Page rows of every file, after the first `skip`.
fn every_file_page(
    store: &impl Store,
    drive_id: &str,
    skip: u64,
    page_size: u32,
) -> ApiResult<Vec<FileRow>> {
    let mut seen = 0u64;
    let mut files = Vec::new();
    each_file(store, drive_id, |rel, r| {
        seen += 1;
        if seen > skip {
            files.push(FileRow::new(rel, &r));
        }
        files.len() < page_size as usize
    })?;
    Ok(files)
}

/// The rows of `paths`, in their order.
fn rows(store: &impl Store, drive_id: &str, paths: Vec<String>) -> ApiResult<Vec<FileRow>> {
    let records = ranks::records(store, drive_id, paths)?;
    Ok(records
        .iter()
        .map(|(rel, r)| FileRow::new(rel, r))
        .collect())
}

/// Files and bytes of one state.
#[derive(Serialize, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct StateCount {
    state: &'static str,
    count: u64,
    total_size: u64,
    total_size_formatted: String,
}

/// The body of `FileStateReport` (its id field is the caller's).
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
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
    let (total, files) = match STATES.iter().position(|(f, _, _)| f.0 == state) {
        Some(i) if state != 0 => {
            let paths = ranks::paths(
                store,
                drive_id,
                Rank::State,
                Some(i as u64),
                false,
                skip,
                page_size as usize,
            )?;
            (t.files_by_state[i], rows(store, drive_id, paths)?)
        }
        _ if state == 0 => (t.files, every_file_page(store, drive_id, skip, page_size)?),
        _ => (0, Vec::new()),
    };
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
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct DirectoryRow {
    directory: String,
    file_count: u64,
    size_bytes: u64,
    size_formatted: String,
}

/// The body of `FileDistributionReport`.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct Distribution {
    file_count_by_extension: Vec<ChartPoint>,
    size_by_extension: Vec<ChartPoint>,
    size_distribution: Vec<ChartPoint>,
    largest_files: Vec<FileRow>,
    recently_modified: Vec<FileRow>,
    directory_breakdown: Vec<DirectoryRow>,
}

/// `map` with at most [`DISTINCT`] keys: the most frequent, and the rest as `(other)`.
fn capped(map: BTreeMap<String, (u64, u64)>) -> BTreeMap<String, (u64, u64)> {
    if map.len() <= DISTINCT {
        return map;
    }
    let mut by_count: Vec<(String, (u64, u64))> = map.into_iter().collect();
    by_count.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let rest = by_count.split_off(DISTINCT - 1);
    let mut out: BTreeMap<String, (u64, u64)> = by_count.into_iter().collect();
    let other = out.entry(String::from("(other)")).or_default();
    for (_, (n, bytes)) in rest {
        other.0 += n;
        other.1 += bytes;
    }
    out
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
    let by_ext = capped(tally::groups(store, drive_id, Group::Extension)?);
    let by_size = tally::groups(store, drive_id, Group::Size)?;
    let mut dirs: Vec<(String, (u64, u64))> = tally::groups(store, drive_id, Group::Folder)?
        .into_iter()
        .collect();
    dirs.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(&b.0)));
    dirs.truncate(top_directories);
    let top = |rank, n| {
        let paths = ranks::paths(store, drive_id, rank, None, true, 0, n)?;
        rows(store, drive_id, paths)
    };
    Ok(Distribution {
        file_count_by_extension: points(&by_ext, |e| e.0),
        size_by_extension: points(&by_ext, |e| e.1),
        size_distribution: SIZE_BUCKETS
            .iter()
            .enumerate()
            .map(|(i, (label, _))| {
                let n = by_size.get(&alloc::format!("{i}")).map_or(0, |e| e.0);
                ChartPoint::new(*label, n, PALETTE[i % PALETTE.len()])
            })
            .collect(),
        largest_files: top(Rank::Size, top_files)?,
        recently_modified: top(Rank::Modified, RECENT)?,
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
    use crate::drives::state::Flags;
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

        // Counted again from the journal alone (as for one an earlier version wrote).
        tally::forget(store, "d1").unwrap();
        ranks::forget(store, "d1").unwrap();
        tally::ensure(store, "d1").unwrap();
        let again = distribution(store, "d1", 2, 1).unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), json);
        let uploading = file_states(store, "d1", &tally, 4, 1, 50).unwrap();
        assert_eq!(uploading.files[0].path, "b/z.txt");
    }
}
