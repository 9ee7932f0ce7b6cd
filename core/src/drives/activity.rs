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
use crate::transfers::history::{Detail, Names, Objects, Record, Side};

/// `TransferHistoryOrigin` of a drive's transfers.
pub const ORIGIN_DRIVE: u8 = crate::transfers::history::DRIVE;
/// `TransferHistoryOrigin` of a backup's (a sync cycle).
pub const ORIGIN_SYNC: u8 = crate::transfers::history::SYNC;

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

/// The history record of `stored`: an upload goes from the folder to the bucket, a download
/// back.
pub fn record(cx: &Context<'_>, stored: Stored) -> Record {
    let d = cx.config;
    let e = stored.entry;
    let here = Side {
        path: paths::join(&d.local_path, &e.path),
        ..Side::default()
    };
    let cloud = Side {
        cloud_account_id: d.account.id.clone(),
        provider: d.account.cloud_type,
        bucket: d.storage_name.clone(),
        path: alloc::format!("{}{}", paths::normalize_prefix(&d.prefix), e.path),
    };
    let (source, destination) = if e.direction == UPLOAD {
        (here, cloud)
    } else {
        (cloud, here)
    };
    Record {
        id: stored.id,
        account_id: d.owner_account_id.clone(),
        user_id: d.owner_user_id.clone(),
        origin: cx.origin,
        direction: e.direction,
        status: e.status,
        start_ms: e.start_ms,
        end_ms: e.end_ms,
        active_ms: e.end_ms.saturating_sub(e.start_ms),
        source,
        destination,
        objects: Objects {
            total: 1,
            transferred: u64::from(e.status == history::COMPLETED),
            failed: u64::from(e.status == history::ERROR),
            skipped: 0,
        },
        total_size: e.bytes,
        transferred_size: e.bytes,
        error: (!e.error.is_empty()).then_some(e.error),
        name: d.name.clone(),
    }
}

/// The `TransferHistoryDetail` of `stored`.
pub fn detail<'a>(cx: &Context<'a>, stored: Stored) -> Detail<'a> {
    let names = if stored.entry.direction == UPLOAD {
        ("", cx.cloud_account_name)
    } else {
        (cx.cloud_account_name, "")
    };
    Detail::new(
        record(cx, stored),
        Names {
            user: cx.user,
            clouds: names,
        },
    )
}

/// The body of a transfer-activity report (its id field is the caller's).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "PascalCase")]
pub struct DayValue {
    date: String,
    value: u64,
}

/// The body of a historical-trends report.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
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
