//! The summary and sync-health reports of a drive (`drivereport.md`) and of a backup
//! (`backupreport.md`), from its configuration and its journal's counters ([`tally`]): a few
//! rows read whatever the drive holds. Field names as the pages show them (PascalCase).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use super::drive::{CloudDrive, LOCAL_PATH, MIRROR, READ};
use super::state::Flags;
use super::tally::{self, STATES, Tally};
use crate::cloud::cloud_type;
use crate::config::TransferOptions;

/// Index of each state in [`STATES`].
const NORMAL: usize = 0;
const TEMPORARY: usize = 1;
const DOWNLOADING: usize = 2;
const UPLOADING: usize = 3;
const DELETING: usize = 4;
const ERROR: usize = 9;

/// `1536` -> `"1.5 KB"` (binary units, as file managers show sizes).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// One slice of a chart.
#[derive(Serialize, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct ChartPoint {
    label: alloc::borrow::Cow<'static, str>,
    value: u64,
    color: &'static str,
}

impl ChartPoint {
    /// A slice named `label`.
    pub fn new(
        label: impl Into<alloc::borrow::Cow<'static, str>>,
        value: u64,
        color: &'static str,
    ) -> ChartPoint {
        ChartPoint {
            label: label.into(),
            value,
            color,
        }
    }
}

/// Files by state, the states that have any (every state when there are no files, so a
/// chart has its legend).
fn by_state(t: &Tally) -> Vec<ChartPoint> {
    let any = t.files > 0;
    STATES
        .iter()
        .zip(t.files_by_state)
        .filter(|(_, n)| !any || *n > 0)
        .map(|((_, label, color), value)| ChartPoint::new(*label, value, color))
        .collect()
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
struct OptionsView {
    chunk_size: u64,
    retry_count: u32,
    concurrent_chunks: u32,
    concurrent_files: u32,
}

impl From<&TransferOptions> for OptionsView {
    fn from(o: &TransferOptions) -> OptionsView {
        OptionsView {
            chunk_size: o.chunk_size,
            retry_count: o.retry_count,
            concurrent_chunks: o.concurrent_chunks,
            concurrent_files: o.concurrent_files,
        }
    }
}

/// What the drive is doing, from its status row (`root`: the flags of its `""` record) and
/// counters: `Inactive`, `Error` (it could not start), `Syncing`, or `Idle`.
fn status(d: &CloudDrive, root: Flags, t: &Tally) -> &'static str {
    if !d.active {
        "Inactive"
    } else if root.has(Flags::ERROR) {
        "Error"
    } else if t.files_by_state[UPLOADING]
        + t.files_by_state[DOWNLOADING]
        + t.files_by_state[DELETING]
        > 0
    {
        "Syncing"
    } else {
        "Idle"
    }
}

fn mover(active: bool, moving: u64, verb: &'static str) -> &'static str {
    match (active, moving) {
        (false, _) => "Stopped",
        (true, 0) => "Idle",
        (true, _) => verb,
    }
}

fn percent(done: u64, of: u64) -> u64 {
    (done * 100).checked_div(of).unwrap_or(100)
}

/// What the summaries of a drive and of a backup both show.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
struct Contents<'a> {
    status: &'static str,
    uploader_status: &'static str,
    cloud_provider: &'static str,
    storage_bucket: &'a str,
    local_path: &'a str,
    prefix: &'a str,
    active: bool,
    cloud_objects_encrypted: bool,
    local_cache_encrypted: bool,
    keep_file_after_upload: bool,
    sync_interval_seconds: u32,
    total_files: u64,
    total_directories: u64,
    total_size_bytes: u64,
    total_size_formatted: String,
    files_by_state: Vec<ChartPoint>,
    transfer_options: OptionsView,
}

impl<'a> Contents<'a> {
    fn of(d: &'a CloudDrive, root: Flags, t: &Tally) -> Contents<'a> {
        Contents {
            status: status(d, root, t),
            uploader_status: mover(d.active, t.files_by_state[UPLOADING], "Uploading"),
            cloud_provider: cloud_type::name(d.account.cloud_type),
            storage_bucket: &d.storage_name,
            local_path: &d.local_path,
            prefix: &d.prefix,
            active: d.active,
            cloud_objects_encrypted: d.cloud_objects_encrypted,
            local_cache_encrypted: d.local_cache_encrypted,
            keep_file_after_upload: d.keep_file_after_upload,
            sync_interval_seconds: d.sync_interval_seconds,
            total_files: t.files,
            total_directories: t.dirs,
            total_size_bytes: t.bytes,
            total_size_formatted: format_size(t.bytes),
            files_by_state: by_state(t),
            transfer_options: OptionsView::from(&d.transfer_options),
        }
    }
}

/// `BackupSummaryReport`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct BackupSummary<'a> {
    backup_id: &'a str,
    backup_name: &'a str,
    #[serde(flatten)]
    contents: Contents<'a>,
}

/// The summary of backup `b` whose status row has `root` and whose counters are `t`.
pub fn backup_summary<'a>(b: &'a CloudDrive, root: Flags, t: &Tally) -> BackupSummary<'a> {
    BackupSummary {
        backup_id: &b.id,
        backup_name: &b.name,
        contents: Contents::of(b, root, t),
    }
}

/// `BackupSyncHealthReport`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct BackupHealth<'a> {
    backup_id: &'a str,
    backup_status: &'static str,
    files_pending_upload: u64,
    files_uploading: u64,
    files_normal: u64,
    files_with_errors: u64,
    files_deleting: u64,
    total_tracked_files: u64,
    sync_completion_percent: u64,
    active_upload_count: u64,
    sync_state_breakdown: Vec<ChartPoint>,
}

/// The sync health of backup `b`; `uploading` is how many uploads are in flight now.
pub fn backup_health<'a>(
    b: &'a CloudDrive,
    root: Flags,
    t: &Tally,
    uploading: u64,
) -> BackupHealth<'a> {
    let s = &t.files_by_state;
    BackupHealth {
        backup_id: &b.id,
        backup_status: status(b, root, t),
        // What still has to go up: queued or sending, and failed (retried by the next pass).
        files_pending_upload: s[UPLOADING] + s[ERROR],
        files_uploading: s[UPLOADING],
        files_normal: s[NORMAL],
        files_with_errors: s[ERROR],
        files_deleting: s[DELETING],
        total_tracked_files: t.files,
        sync_completion_percent: percent(s[NORMAL], t.files),
        active_upload_count: uploading,
        sync_state_breakdown: by_state(t),
    }
}

fn drive_type(d: &CloudDrive) -> &'static str {
    if d.drive_type == LOCAL_PATH {
        "LocalPath"
    } else {
        "VirtualDrive"
    }
}

/// `DriveSummaryReport`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct DriveSummary<'a> {
    drive_id: &'a str,
    drive_name: &'a str,
    name: &'a str,
    downloader_status: &'static str,
    drive_type: &'static str,
    sync_type: &'static str,
    shared_drive: bool,
    shared_drive_id: &'a str,
    permission_type: &'static str,
    allow_delete: bool,
    maximum_cache_size: u64,
    maximum_cache_size_formatted: String,
    rotational_cache: bool,
    cache_size_bytes: u64,
    cache_size_formatted: String,
    #[serde(flatten)]
    contents: Contents<'a>,
}

/// The summary of drive `d`; `cache_bytes` is what its cache holds on disk now.
pub fn drive_summary<'a>(
    d: &'a CloudDrive,
    root: Flags,
    t: &Tally,
    cache_bytes: u64,
) -> DriveSummary<'a> {
    DriveSummary {
        drive_id: &d.id,
        drive_name: &d.drive_name,
        name: &d.name,
        downloader_status: mover(d.active, t.files_by_state[DOWNLOADING], "Downloading"),
        drive_type: drive_type(d),
        sync_type: if d.sync_type == MIRROR {
            "Mirror"
        } else {
            "Stream"
        },
        shared_drive: d.shared_drive,
        shared_drive_id: &d.shared_drive_id,
        permission_type: if d.permission_type == READ {
            "Read"
        } else {
            "ReadWrite"
        },
        allow_delete: d.allow_delete,
        maximum_cache_size: d.maximum_cache_size,
        maximum_cache_size_formatted: if d.maximum_cache_size == 0 {
            String::from("Unlimited")
        } else {
            format_size(d.maximum_cache_size)
        },
        rotational_cache: d.rotational_cache,
        cache_size_bytes: cache_bytes,
        cache_size_formatted: format_size(cache_bytes),
        contents: Contents::of(d, root, t),
    }
}

/// `DriveSyncHealthReport`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct DriveHealth<'a> {
    drive_id: &'a str,
    drive_status: &'static str,
    files_pending_upload: u64,
    files_uploading: u64,
    files_pending_download: u64,
    files_downloading: u64,
    files_normal: u64,
    files_temporary: u64,
    files_with_errors: u64,
    files_deleting: u64,
    total_tracked_files: u64,
    upload_completion_percent: u64,
    download_completion_percent: u64,
    overall_sync_completion_percent: u64,
    active_upload_count: u64,
    active_download_count: u64,
    sync_state_breakdown: Vec<ChartPoint>,
}

/// The sync health of drive `d`; `moving` is (uploads, downloads) in flight now.
pub fn drive_health<'a>(
    d: &'a CloudDrive,
    root: Flags,
    t: &Tally,
    moving: (u64, u64),
) -> DriveHealth<'a> {
    let s = &t.files_by_state;
    // A Temporary file is in sync: its data stays in the cloud by design.
    let settled = s[NORMAL] + s[TEMPORARY];
    DriveHealth {
        drive_id: &d.id,
        drive_status: status(d, root, t),
        files_pending_upload: s[UPLOADING] + s[ERROR],
        files_uploading: s[UPLOADING],
        files_pending_download: s[DOWNLOADING],
        files_downloading: s[DOWNLOADING],
        files_normal: s[NORMAL],
        files_temporary: s[TEMPORARY],
        files_with_errors: s[ERROR],
        files_deleting: s[DELETING],
        total_tracked_files: t.files,
        upload_completion_percent: percent(t.files - s[UPLOADING].min(t.files), t.files),
        download_completion_percent: percent(t.files - s[DOWNLOADING].min(t.files), t.files),
        overall_sync_completion_percent: percent(settled, t.files),
        active_upload_count: moving.0,
        active_download_count: moving.1,
        sync_state_breakdown: by_state(t),
    }
}

/// The counters of drive `id` and the flags of its status row, as the reports read them.
pub fn inputs(
    store: &impl crate::ports::Store,
    id: &str,
) -> crate::error::ApiResult<(Flags, Tally)> {
    let root = super::journal::get(store, id, "")?.map_or(Flags::NORMAL, |r| r.flags);
    Ok((root, tally::read(store, id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_file_managers_show_them() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1536), "1.5 KB");
        assert_eq!(format_size(5 << 30), "5.0 GB");
    }
}
