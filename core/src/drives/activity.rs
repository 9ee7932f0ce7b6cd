//! The transfer-activity and historical-trends reports of a drive or backup (`drivereport.md`,
//! `backupreport.md`), from the history the agent keeps ([`history`]): each file moved is a
//! `TransferHistoryDetail` (`web-api/transferhistory.md`) whose local side is the drive's
//! folder and whose cloud side is its bucket.

use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use super::drive::CloudDrive;
use super::history::{self, Day, Stored, UPLOAD};
use super::paths;
use super::report::{ChartPoint, format_size};

/// `TransferHistoryOrigin` of a drive's transfers.
pub const ORIGIN_DRIVE: u8 = 2;
/// `TransferHistoryOrigin` of a backup's (a sync cycle).
pub const ORIGIN_SYNC: u8 = 4;

/// Who and what a history entry is about, beyond the entry itself.
pub struct Context<'a> {
    /// The drive or backup.
    pub config: &'a CloudDrive,
    /// [`ORIGIN_DRIVE`] or [`ORIGIN_SYNC`].
    pub origin: u8,
    /// The drive owner's email and username.
    pub user: (&'a str, &'a str),
    /// The name of the drive's cloud account.
    pub cloud_account_name: &'a str,
}

/// `TransferHistoryDetail`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail<'a> {
    id: String,
    user_id: &'a str,
    account_id: &'a str,
    user_email: &'a str,
    user_name: &'a str,
    origin: u8,
    direction: u8,
    transfer_status: u32,
    start_date: String,
    end_date: String,
    source_cloud_account_id: &'a str,
    source_cloud_provider: u32,
    source_bucket: &'a str,
    source_path: String,
    source_cloud_account_name: &'a str,
    destination_cloud_account_id: &'a str,
    destination_cloud_provider: u32,
    destination_bucket: &'a str,
    destination_path: String,
    destination_cloud_account_name: &'a str,
    total_objects: u64,
    transferred_objects: u64,
    failed_objects: u64,
    skipped_objects: u64,
    total_size: u64,
    transferred_size: u64,
    total_size_string: String,
    transferred_size_string: String,
    average_speed: f64,
    error_message: Option<String>,
    name: &'a str,
}

/// The detail of `stored`: an upload goes from the folder to the bucket, a download back.
pub fn detail<'a>(cx: &Context<'a>, stored: Stored) -> Detail<'a> {
    let d = cx.config;
    let e = stored.entry;
    let local = paths::join(&d.local_path, &e.path);
    let remote = alloc::format!("{}{}", paths::normalize_prefix(&d.prefix), e.path);
    let cloud = (
        d.account.id.as_str(),
        d.account.cloud_type,
        d.storage_name.as_str(),
        remote,
        cx.cloud_account_name,
    );
    let here = ("", 0, "", local, "");
    let (source, destination) = if e.direction == UPLOAD {
        (here, cloud)
    } else {
        (cloud, here)
    };
    let done = e.status == history::COMPLETED;
    let seconds = e.end_ms.saturating_sub(e.start_ms) as f64 / 1000.0;
    Detail {
        id: stored.id,
        user_id: &d.owner_user_id,
        account_id: &d.owner_account_id,
        user_email: cx.user.0,
        user_name: cx.user.1,
        origin: cx.origin,
        direction: e.direction,
        transfer_status: e.status,
        start_date: crate::time::iso8601(e.start_ms),
        end_date: crate::time::iso8601(e.end_ms),
        source_cloud_account_id: source.0,
        source_cloud_provider: source.1,
        source_bucket: source.2,
        source_path: source.3,
        source_cloud_account_name: source.4,
        destination_cloud_account_id: destination.0,
        destination_cloud_provider: destination.1,
        destination_bucket: destination.2,
        destination_path: destination.3,
        destination_cloud_account_name: destination.4,
        total_objects: 1,
        transferred_objects: u64::from(done),
        failed_objects: u64::from(e.status == history::ERROR),
        skipped_objects: 0,
        total_size: e.bytes,
        transferred_size: e.bytes,
        total_size_string: format_size(e.bytes),
        transferred_size_string: format_size(e.bytes),
        average_speed: if seconds > 0.0 {
            e.bytes as f64 / seconds
        } else {
            e.bytes as f64
        },
        error_message: (!e.error.is_empty()).then_some(e.error),
        name: &d.name,
    }
}

/// The body of a transfer-activity report (its id field is the caller's).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActivityPage<'a> {
    /// `All`, `Upload` or `Download` (drives only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    /// The entries of the page.
    pub data: Vec<Detail<'a>>,
    /// Entries that match.
    pub total: u64,
    /// 1-based.
    pub page: u32,
    /// Entries per page.
    pub page_size: u32,
}

/// One day's value of a trend.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DayValue {
    date: String,
    value: u64,
}

/// The body of a historical-trends report.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Trends {
    transfers_per_day: Vec<DayValue>,
    data_volume_per_day: Vec<DayValue>,
    average_speed_per_day: Vec<DayValue>,
    success_vs_failure_rate: Vec<ChartPoint>,
    cumulative_data_transferred: u64,
    cumulative_data_transferred_formatted: String,
}

/// The trends of `days` (oldest first) and the bytes ever moved.
pub fn trends(days: Vec<Day>, cumulative: u64) -> Trends {
    let per_day = |value: &dyn Fn(&Day) -> u64| -> Vec<DayValue> {
        days.iter()
            .map(|d| DayValue {
                date: d.date.clone(),
                value: value(d),
            })
            .collect()
    };
    let sum = |value: &dyn Fn(&Day) -> u64| -> u64 { days.iter().map(value).sum() };
    Trends {
        transfers_per_day: per_day(&|d| d.completed),
        data_volume_per_day: per_day(&|d| d.bytes),
        // Bytes per second over the time the day's completed transfers took.
        average_speed_per_day: per_day(&|d| (d.bytes * 1000).checked_div(d.ms).unwrap_or(0)),
        // The colours the pages give.
        success_vs_failure_rate: alloc::vec![
            ChartPoint::new("Completed", sum(&|d| d.completed), "#22c55e"),
            ChartPoint::new("Failed", sum(&|d| d.failed), "#ef4444"),
            ChartPoint::new("Canceled", sum(&|d| d.canceled), "#f59e0b"),
        ],
        cumulative_data_transferred: cumulative,
        cumulative_data_transferred_formatted: format_size(cumulative),
    }
}
