//! Transfer history (`transferhistory.md`): a record of every transfer that ended, written in
//! the same commit as the state change that ends it, so that it survives restarts and never
//! disagrees with the transfer; kept [`CoreConfig::history_days`](crate::CoreConfig) days.
//! The files drives and backups move are their own history (`drives::history`); both become
//! the same [`Record`] and `TransferHistoryDetail`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::{Direction, Status, Transfer, transfer_type};
use crate::error::ApiResult;
use crate::ports::Store;
use crate::store::keys::{TRANSFER_HISTORY, TRANSFER_HISTORY_BY_ACCOUNT};
use crate::store::table::save;
use crate::store::{Batch, scan_all};

/// `TransferHistoryOrigin`: a transfer asked for through the API.
pub const DIRECT: u8 = 1;
/// `TransferHistoryOrigin`: a file a cloud drive moved.
pub const DRIVE: u8 = 2;
/// `TransferHistoryOrigin`: a sync's cycle, or a file a backup moved.
pub const SYNC: u8 = 4;
/// `TransferHistoryDirection`: towards the cloud (and a cloud-to-cloud copy, which writes to
/// its destination as an upload does).
pub const UPLOAD: u8 = 1;
/// `TransferHistoryDirection`: from the cloud.
pub const DOWNLOAD: u8 = 2;

/// One end of a recorded transfer: a bucket of a cloud account, or (no cloud account) a local
/// path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// The stored cloud account; empty for a local file or folder.
    pub cloud_account_id: String,
    /// Its `CloudProvider` flag; 0 for a local one.
    pub provider: u32,
    /// The bucket (Azure: container).
    pub bucket: String,
    /// The key, prefix or local path.
    pub path: String,
}

impl Side {
    fn local(path: &str) -> Side {
        Side {
            path: String::from(path),
            ..Side::default()
        }
    }

    fn cloud(cloud_account_id: &str, provider: u32, bucket: &str, path: &str) -> Side {
        Side {
            cloud_account_id: String::from(cloud_account_id),
            provider,
            bucket: String::from(bucket),
            path: String::from(path),
        }
    }
}

/// What a history record says of its objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objects {
    /// Planned.
    pub total: u64,
    /// Moved.
    pub transferred: u64,
    /// Failed after their retries.
    pub failed: u64,
    /// Left alone (`allowSkip`, `FileExistsAction`).
    pub skipped: u64,
}

/// A transfer as its history keeps it (`TransferHistory`): who, what, where, how it ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Unique: a transfer's id, or a drive's entry's.
    pub id: String,
    /// The account of the user it belongs to.
    pub account_id: String,
    /// The user who asked for it (a drive's or backup's owner).
    pub user_id: String,
    /// [`DIRECT`], [`DRIVE`] or [`SYNC`].
    pub origin: u8,
    /// [`UPLOAD`] or [`DOWNLOAD`].
    pub direction: u8,
    /// `TransferStatus` flag ([`Status::flag`]).
    pub status: u32,
    /// Unix ms.
    pub start_ms: u64,
    /// Unix ms.
    pub end_ms: u64,
    /// Time spent moving bytes (not paused): what the average speed is over.
    pub active_ms: u64,
    /// Where the bytes came from.
    pub source: Side,
    /// Where they went.
    pub destination: Side,
    /// What happened to its objects.
    pub objects: Objects,
    /// Bytes planned (skipped objects included).
    pub total_size: u64,
    /// Bytes moved.
    pub transferred_size: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The transfer's (drive's, backup's) name.
    pub name: String,
}

impl Record {
    /// Bytes per second over the time it moved.
    pub fn average_speed(&self) -> f64 {
        self.transferred_size as f64 * 1000.0 / self.active_ms.max(1) as f64
    }

    /// Whether it passes the `origin`, `status` and `direction` filters of `get_all` (flags;
    /// 0: any).
    pub fn matches(&self, origin: u32, status: u32, direction: u32) -> bool {
        (origin == 0 || u32::from(self.origin) & origin != 0)
            && (status == 0 || self.status & status != 0)
            && (direction == 0 || u32::from(self.direction) == direction)
    }

    /// The record of transfer `t` as it ended.
    pub fn of_transfer(t: &Transfer) -> Record {
        let end_ms = t.end_ms.unwrap_or(t.start_ms);
        let cloud = Side::cloud(&t.cloud_account_id, t.cloud_type, &t.bucket, &t.remote);
        let (source, destination) = match (t.direction, &t.source) {
            (Direction::Download, _) => (cloud, Side::local(&t.local)),
            (_, Some(s)) => (
                Side::cloud(&s.cloud_account_id, s.cloud_type, &s.bucket, &s.path),
                cloud,
            ),
            _ => (Side::local(&t.local), cloud),
        };
        let objects = if t.objects.total > 0 || t.is_folder {
            Objects {
                total: t.objects.total,
                transferred: t.objects.transferred,
                failed: t.objects.failed,
                skipped: t.objects.skipped,
            }
        } else {
            Objects {
                total: 1,
                transferred: u64::from(t.status == Status::Completed),
                failed: u64::from(t.status == Status::Failed),
                skipped: 0,
            }
        };
        let sync = transfer_type::SYNC | transfer_type::SYNC_INIT_TRANSFER;
        Record {
            id: t.id.clone(),
            account_id: t.account_id.clone(),
            user_id: t.user_id.clone(),
            origin: if t.transfer_type & sync != 0 {
                SYNC
            } else {
                DIRECT
            },
            direction: if t.direction == Direction::Download {
                DOWNLOAD
            } else {
                UPLOAD
            },
            status: t.status.flag(),
            start_ms: t.start_ms,
            end_ms,
            active_ms: end_ms
                .saturating_sub(t.start_ms)
                .saturating_sub(t.paused_total_ms(end_ms)),
            source,
            destination,
            objects,
            total_size: t.total_bytes + t.objects.skipped_bytes,
            transferred_size: t.transferred_bytes,
            error: t.error.clone(),
            name: t.name.clone(),
        }
    }
}

/// Writes (or rewrites: a transfer resumed after it failed ends again) `r` in `batch`.
pub(crate) fn put(batch: &mut Batch, r: &Record) {
    TRANSFER_HISTORY.put(batch, &r.id, r);
    TRANSFER_HISTORY_BY_ACCOUNT.put_str(batch, &format!("{}/{}", r.account_id, r.id), "");
}

/// The record with this id, if kept.
pub fn get(store: &impl Store, id: &str) -> ApiResult<Option<Record>> {
    TRANSFER_HISTORY.get(store, id)
}

/// The records of an account's transfers.
pub fn of_account(store: &impl Store, account_id: &str) -> ApiResult<Vec<Record>> {
    let prefix = TRANSFER_HISTORY_BY_ACCOUNT.key(&format!("{account_id}/"));
    let mut out = Vec::new();
    scan_all(store, &prefix, false, |key, _| {
        let id = core::str::from_utf8(&key[prefix.len()..]).unwrap_or("");
        if let Some(r) = get(store, id)? {
            out.push(r);
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Forgets record `r` (never what it moved).
pub fn delete(store: &impl Store, r: &Record) -> ApiResult<()> {
    let mut batch = Batch::new();
    TRANSFER_HISTORY.delete(&mut batch, &r.id);
    TRANSFER_HISTORY_BY_ACCOUNT.delete(&mut batch, &format!("{}/{}", r.account_id, r.id));
    save(store, &batch)
}

/// Forgets the records of transfers that ended more than `keep_days` days before `now_ms`.
pub fn prune(store: &impl Store, now_ms: u64, keep_days: u32) -> ApiResult<usize> {
    let cutoff = now_ms.saturating_sub(u64::from(keep_days) * 86_400_000);
    let mut old = Vec::new();
    scan_all(store, TRANSFER_HISTORY.prefix(), false, |_, row| {
        if let Ok(r) = serde_json::from_slice::<Record>(row)
            && r.end_ms < cutoff
        {
            old.push(r);
        }
        Ok(true)
    })?;
    for chunk in old.chunks(512) {
        let mut batch = Batch::new();
        for r in chunk {
            TRANSFER_HISTORY.delete(&mut batch, &r.id);
            TRANSFER_HISTORY_BY_ACCOUNT.delete(&mut batch, &format!("{}/{}", r.account_id, r.id));
        }
        save(store, &batch)?;
    }
    Ok(old.len())
}

/// The names `TransferHistoryDetail` joins to a record.
#[cfg(feature = "cloud")]
#[derive(Clone, Copy, Default)]
pub struct Names<'a> {
    /// The user's email and username.
    pub user: (&'a str, &'a str),
    /// The source's and the destination's cloud account names.
    pub clouds: (&'a str, &'a str),
}

/// `TransferHistoryDetail` (`transferhistory.md`).
#[cfg(feature = "cloud")]
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Detail<'a> {
    id: String,
    user_id: String,
    account_id: String,
    user_email: &'a str,
    user_name: &'a str,
    origin: u8,
    direction: u8,
    transfer_status: u32,
    start_date: String,
    end_date: String,
    source_cloud_account_id: String,
    source_cloud_provider: u32,
    source_bucket: String,
    source_path: String,
    source_cloud_account_name: &'a str,
    destination_cloud_account_id: String,
    destination_cloud_provider: u32,
    destination_bucket: String,
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
    name: String,
}

#[cfg(feature = "cloud")]
impl<'a> Detail<'a> {
    /// `r` with the names it is joined with.
    pub fn new(r: Record, names: Names<'a>) -> Detail<'a> {
        let format_size = crate::drives::report::format_size;
        Detail {
            average_speed: r.average_speed(),
            user_email: names.user.0,
            user_name: names.user.1,
            origin: r.origin,
            direction: r.direction,
            transfer_status: r.status,
            start_date: crate::time::iso8601(r.start_ms),
            end_date: crate::time::iso8601(r.end_ms),
            source_cloud_account_id: r.source.cloud_account_id,
            source_cloud_provider: r.source.provider,
            source_bucket: r.source.bucket,
            source_path: r.source.path,
            source_cloud_account_name: names.clouds.0,
            destination_cloud_account_id: r.destination.cloud_account_id,
            destination_cloud_provider: r.destination.provider,
            destination_bucket: r.destination.bucket,
            destination_path: r.destination.path,
            destination_cloud_account_name: names.clouds.1,
            total_objects: r.objects.total,
            transferred_objects: r.objects.transferred,
            failed_objects: r.objects.failed,
            skipped_objects: r.objects.skipped,
            total_size_string: format_size(r.total_size),
            transferred_size_string: format_size(r.transferred_size),
            total_size: r.total_size,
            transferred_size: r.transferred_size,
            error_message: r.error.filter(|e| !e.is_empty()),
            id: r.id,
            user_id: r.user_id,
            account_id: r.account_id,
            name: r.name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Ports;
    use crate::testing::TestAgent;
    use crate::transfers::CloudEnd;

    const DAY: u64 = 86_400_000;

    fn ended(id: &str, account: &str, end_ms: u64) -> Transfer {
        Transfer {
            id: id.into(),
            account_id: account.into(),
            status: Status::Completed,
            start_ms: end_ms - 10,
            end_ms: Some(end_ms),
            ..Transfer::default()
        }
    }

    /// A transfer that ends is recorded once, in the commit that ends it; the record names its
    /// ends the way it moved; old records are pruned, recent ones kept.
    #[test]
    fn ended_transfers_are_recorded_and_pruned_after_their_days() {
        let t = TestAgent::new();
        let store = t.agent.ports.store();
        let now = 100 * DAY;
        let mut running = ended("t1", "a1", now);
        running.status = Status::Running;
        running.end_ms = None;
        running.source = Some(CloudEnd {
            cloud_account_id: "src".into(),
            cloud_type: 4,
            bucket: "b".into(),
            path: "p/".into(),
        });
        running.direction = Direction::Copy;
        crate::transfers::insert(store, &running).unwrap();
        assert!(get(store, "t1").unwrap().is_none(), "not while it runs");
        crate::transfers::transition(store, "t1", &[Status::Running], Status::Failed, now)
            .unwrap()
            .unwrap();
        let r = get(store, "t1").unwrap().unwrap();
        assert_eq!((r.status, r.direction, r.origin), (16, UPLOAD, DIRECT));
        assert_eq!((r.source.provider, r.source.path.as_str()), (4, "p/"));

        let mut batch = Batch::new();
        put(
            &mut batch,
            &Record::of_transfer(&ended("old", "a1", now - 31 * DAY)),
        );
        put(
            &mut batch,
            &Record::of_transfer(&ended("new", "a1", now - 29 * DAY)),
        );
        put(&mut batch, &Record::of_transfer(&ended("other", "a2", now)));
        save(store, &batch).unwrap();
        assert_eq!(of_account(store, "a1").unwrap().len(), 3);
        assert_eq!(prune(store, now, 30).unwrap(), 1);
        let mut kept: Vec<String> = of_account(store, "a1")
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        kept.sort();
        assert_eq!(kept, ["new", "t1"]);
        assert_eq!(of_account(store, "a2").unwrap().len(), 1);
    }
}
