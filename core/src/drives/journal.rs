//! The per-drive journal: for each tracked path, its state bits, what is known of its object,
//! whether it is pinned and the last error. Every change of a path's state bits is one commit
//! and one `/statechange` frame, in the order the changes were made ([`Journal::set_flags`]);
//! a file's move (an upload or a download) also starts and ends with a `Progress` frame on
//! `/notification`.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::drive::CloudDrive;
use super::paths;
use super::planner::BaseEntry;
use super::state::Flags;
use super::{history, ranks, tally};
use crate::Agent;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::events::{Channel, StateChange};
use crate::ports::{Clock, Ports, RngExt, Store};
use crate::store::CommitError;
use crate::store::keys::{DRIVE_FILES, DRIVE_LISTED};
use crate::store::table::{delete_prefix, save};
use crate::store::{Batch, scan_all};
use crate::transfers::{Moving, moving_frame};

/// What the journal knows of one path of a drive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileRecord {
    /// `/statechange` bits.
    pub flags: Flags,
    /// Size in bytes, as last seen.
    pub size: u64,
    /// Last modification (Unix ms), as last seen.
    pub mtime_ms: u64,
    /// The object's ETag when it was last seen or written.
    pub etag: String,
    /// Kept offline (`object_make_offline`): hydrated and never evicted.
    pub pinned: bool,
    /// A folder rather than a file.
    pub is_dir: bool,
    /// Why the last operation failed, when `flags` has `ERROR`.
    pub error: String,
    /// When `flags` last changed (Unix ms): how long a move took, for the history.
    pub since_ms: u64,
    /// A synced folder's path: what the folder and the bucket held when it was last in sync
    /// (the planner's merge base).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseEntry>,
}

/// Commits of one record tried before giving up on writers racing for it.
const ATTEMPTS: usize = 16;

/// The stored bytes of `row`.
fn raw(store: &impl Store, row: &[u8]) -> ApiResult<Option<Vec<u8>>> {
    Ok(store.get(row)?.map(|v| v.as_ref().to_vec()))
}

fn parse(row: Option<&[u8]>) -> Option<FileRecord> {
    row.and_then(|b| serde_json::from_slice(b).ok())
}

fn key(drive_id: &str, rel: &str) -> String {
    alloc::format!("{drive_id}/{rel}")
}

/// The record of `rel` in drive `drive_id`, if the path is tracked.
pub fn get(store: &impl Store, drive_id: &str, rel: &str) -> ApiResult<Option<FileRecord>> {
    DRIVE_FILES.get(store, &key(drive_id, rel))
}

/// The tracked entries directly inside folder `rel_dir` (`""` for the drive's root), by name.
pub fn children(
    store: &impl Store,
    drive_id: &str,
    rel_dir: &str,
) -> ApiResult<Vec<(String, FileRecord)>> {
    let dir = if rel_dir.is_empty() {
        alloc::format!("{drive_id}/")
    } else {
        alloc::format!("{drive_id}/{rel_dir}/")
    };
    let prefix = DRIVE_FILES.key(&dir);
    let mut out = Vec::new();
    scan_all(store, &prefix, false, |k, row| {
        let name = core::str::from_utf8(&k[prefix.len()..]).unwrap_or("");
        if !name.is_empty()
            && !name.contains('/')
            && let Ok(record) = serde_json::from_slice::<FileRecord>(row)
        {
            out.push((String::from(name), record));
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Every record of drive `drive_id`, by relative path (a synced folder's pass reads its merge
/// base from them).
pub fn records(store: &impl Store, drive_id: &str) -> ApiResult<Vec<(String, FileRecord)>> {
    let prefix = DRIVE_FILES.key(&alloc::format!("{drive_id}/"));
    let mut out = Vec::new();
    scan_all(store, &prefix, false, |k, row| {
        if let Ok(record) = serde_json::from_slice::<FileRecord>(row) {
            let rel = core::str::from_utf8(&k[prefix.len()..]).unwrap_or("");
            out.push((String::from(rel), record));
        }
        Ok(true)
    })?;
    Ok(out)
}

/// The paths of drive `drive_id` kept offline, so that a restarted host pins them again.
pub fn pinned(store: &impl Store, drive_id: &str) -> ApiResult<Vec<String>> {
    let all = records(store, drive_id)?;
    Ok(all
        .into_iter()
        .filter(|(_, r)| r.pinned)
        .map(|(rel, _)| rel)
        .collect())
}

/// Deletes every record of a drive (it was removed), a page of keys per commit, and its
/// counters.
pub fn forget_drive(store: &impl Store, drive_id: &str) -> ApiResult<()> {
    tally::forget(store, drive_id)?;
    ranks::forget(store, drive_id)?;
    history::prune(store, drive_id, u64::MAX, 0)?;
    let mut listed = Batch::new();
    DRIVE_LISTED.delete(&mut listed, drive_id);
    save(store, &listed)?;
    delete_prefix(store, &DRIVE_FILES.key(&alloc::format!("{drive_id}/")))
}

/// The history entry of `rel` going from `old` to `new` (`None`: no longer tracked), when
/// that ends a move: the record left `Uploading` or `Downloading`.
fn finished(
    rel: &str,
    old: Option<&FileRecord>,
    new: Option<&FileRecord>,
    now: u64,
) -> Option<history::Entry> {
    // A folder made on the other side is no transfer.
    if old.is_some_and(|o| o.is_dir) || new.is_some_and(|n| n.is_dir) {
        return None;
    }
    let old = old?;
    let moving = [Flags::UPLOADING, Flags::DOWNLOADING]
        .into_iter()
        .find(|f| old.flags.has(*f))?;
    let (status, bytes, error) = match new {
        Some(n) if n.flags.has(moving) => return None,
        Some(n) if n.flags.has(Flags::ERROR) => (history::ERROR, 0, n.error.clone()),
        Some(n) => (history::COMPLETED, n.size, String::new()),
        None => (history::CANCELED, 0, String::new()),
    };
    Some(history::Entry {
        direction: if moving == Flags::UPLOADING {
            history::UPLOAD
        } else {
            history::DOWNLOAD
        },
        status,
        start_ms: if old.since_ms == 0 { now } else { old.since_ms },
        end_ms: now,
        path: String::from(rel),
        bytes,
        error,
    })
}

/// Whether `rel`, going from `old` to `new`, starts a move of a file: an upload (`true`) or a
/// download.
fn started(old: Option<&FileRecord>, new: Option<&FileRecord>) -> Option<bool> {
    let new = new.filter(|n| !n.is_dir)?;
    let moving = |f: Flags| new.flags.has(f) && !old.is_some_and(|o| o.flags.has(f));
    if moving(Flags::UPLOADING) {
        Some(true)
    } else if moving(Flags::DOWNLOADING) {
        Some(false)
    } else {
        None
    }
}

/// A record as stored (its bytes, `None` if untracked) and as a change makes it.
type Changed = (Option<Vec<u8>>, FileRecord);

fn too_many_writers() -> ApiError {
    ApiError::new(
        ErrorCode::DbUpdate,
        "Too many concurrent changes to one file's record.",
    )
}

/// The journal of the agent's drives, with the `/statechange` frames its changes raise.
pub struct Journal<'a, P: Ports> {
    agent: &'a Agent<P>,
}

impl<'a, P: Ports> Journal<'a, P> {
    /// The journal over `agent`'s store and events.
    pub fn new(agent: &'a Agent<P>) -> Journal<'a, P> {
        Journal { agent }
    }

    /// Changes the record of `rel` with `change` and commits it, with the drive's counters
    /// ([`tally`]); when its state bits changed, raises exactly one `/statechange` frame for
    /// the path. Returns the record as stored.
    pub fn update(
        &self,
        drive: &CloudDrive,
        rel: &str,
        change: impl FnOnce(&mut FileRecord),
    ) -> ApiResult<FileRecord> {
        let (first, record) = match self.changed(drive, rel, change)? {
            Ok(changed) => changed,
            Err(same) => return Ok(same),
        };
        let replaced = self.replace(drive, rel, first, Some(&record))?;
        self.announce(drive, rel, replaced.as_ref(), &record);
        Ok(record)
    }

    /// [`Journal::update`] for async code that moves other files meanwhile: the commit waits
    /// with theirs ([`Store::commit_soon`]), so a pass copying many files at once writes
    /// their records together.
    pub async fn update_soon(
        &self,
        drive: &CloudDrive,
        rel: &str,
        change: impl FnOnce(&mut FileRecord),
    ) -> ApiResult<FileRecord> {
        let (first, record) = match self.changed(drive, rel, change)? {
            Ok(changed) => changed,
            Err(same) => return Ok(same),
        };
        let store = self.agent.ports.store();
        let mut seen = first;
        for _ in 0..ATTEMPTS {
            let (batch, old) = self.batch(drive, rel, seen.as_deref(), Some(&record));
            match store.commit_soon(batch).await {
                Ok(()) => {
                    self.announce(drive, rel, old.as_ref(), &record);
                    return Ok(record);
                }
                Err(e) => seen = self.reread(drive, rel, e)?,
            }
        }
        Err(too_many_writers())
    }

    /// The record of `rel` as stored (its bytes) and as `change` makes it; `Err` with it
    /// when `change` changes nothing.
    fn changed(
        &self,
        drive: &CloudDrive,
        rel: &str,
        change: impl FnOnce(&mut FileRecord),
    ) -> ApiResult<Result<Changed, FileRecord>> {
        let store = self.agent.ports.store();
        let first = raw(store, &DRIVE_FILES.key(&key(&drive.id, rel)))?;
        let before = parse(first.as_deref());
        let mut record = before.clone().unwrap_or_default();
        change(&mut record);
        if before.as_ref() == Some(&record) {
            return Ok(Err(record));
        }
        if before.as_ref().map(|b| b.flags) != Some(record.flags) {
            record.since_ms = self.agent.ports.clock().now_ms();
        }
        Ok(Ok((first, record)))
    }

    /// The frames of `rel` having gone from `old` to `record`, when its state bits changed.
    fn announce(
        &self,
        drive: &CloudDrive,
        rel: &str,
        old: Option<&FileRecord>,
        record: &FileRecord,
    ) {
        if old.map(|b| b.flags) != Some(record.flags) {
            self.raise(drive, rel, record.flags);
            self.progress(drive, rel, old, Some(record));
        }
    }

    /// Sets the state bits of `rel` to `flags` (one frame if they changed).
    pub fn set_flags(&self, drive: &CloudDrive, rel: &str, flags: Flags) -> ApiResult<FileRecord> {
        self.update(drive, rel, |r| r.flags = flags)
    }

    /// Stops tracking `rel` (it is gone on both sides): the last frame says `Deleted`.
    pub fn remove(&self, drive: &CloudDrive, rel: &str) -> ApiResult<()> {
        let store = self.agent.ports.store();
        let first = raw(store, &DRIVE_FILES.key(&key(&drive.id, rel)))?;
        if first.is_none() {
            return Ok(());
        }
        if let Some(old) = self.replace(drive, rel, first, None)? {
            self.raise(drive, rel, Flags::DELETED);
            self.progress(drive, rel, Some(&old), None);
        }
        Ok(())
    }

    /// Writes `new` (`None`: deletes) over the record of `rel`, first read as `seen`, and
    /// moves the counters by what it replaced; read again and retried when another writer of
    /// the same path came first. Returns the record it replaced.
    fn replace(
        &self,
        drive: &CloudDrive,
        rel: &str,
        mut seen: Option<Vec<u8>>,
        new: Option<&FileRecord>,
    ) -> ApiResult<Option<FileRecord>> {
        let store = self.agent.ports.store();
        for _ in 0..ATTEMPTS {
            let (batch, old) = self.batch(drive, rel, seen.as_deref(), new);
            match store.commit(&batch) {
                Ok(()) => return Ok(old),
                Err(e) => seen = self.reread(drive, rel, e)?,
            }
        }
        Err(too_many_writers())
    }

    /// The batch that writes `new` (`None`: deletes) over `seen`, the record of `rel` as read,
    /// with the counters, ranks and history it moves; and the record it replaces.
    fn batch(
        &self,
        drive: &CloudDrive,
        rel: &str,
        seen: Option<&[u8]>,
        new: Option<&FileRecord>,
    ) -> (Batch, Option<FileRecord>) {
        let id = key(&drive.id, rel);
        let old = parse(seen);
        let mut batch = Batch::new();
        // That a move started needs no flush: lost in a crash, the path is as it was before
        // the move, which the next pass plans again.
        batch.lazy =
            new.is_some_and(|r| r.flags.has(Flags::UPLOADING) || r.flags.has(Flags::DOWNLOADING));
        batch.require_value(DRIVE_FILES.key(&id), seen.map(<[u8]>::to_vec));
        match new {
            Some(r) => DRIVE_FILES.put(&mut batch, &id, r),
            None => DRIVE_FILES.delete(&mut batch, &id),
        }
        tally::count(&mut batch, &drive.id, rel, old.as_ref(), new);
        ranks::update(&mut batch, &drive.id, rel, old.as_ref(), new);
        let now = self.agent.ports.clock().now_ms();
        if let Some(done) = finished(rel, old.as_ref(), new, now) {
            let nonce = u64::from_le_bytes(self.agent.ports.rng().bytes());
            history::record(&mut batch, &drive.id, &done, nonce);
        }
        (batch, old)
    }

    /// The record of `rel` as stored now, after a commit failed with `e` because another
    /// writer came first; any other failure is the store's.
    fn reread(&self, drive: &CloudDrive, rel: &str, e: CommitError) -> ApiResult<Option<Vec<u8>>> {
        match e {
            CommitError::Conflict(_) => raw(
                self.agent.ports.store(),
                &DRIVE_FILES.key(&key(&drive.id, rel)),
            ),
            _ => Err(ApiError::Internal),
        }
    }

    /// A `Progress` frame on `/notification` when `rel`, going from `old` to `new`, starts or
    /// ends a move (an upload or a download): the per-file progress a client transfer gives.
    fn progress(
        &self,
        drive: &CloudDrive,
        rel: &str,
        old: Option<&FileRecord>,
        new: Option<&FileRecord>,
    ) {
        let now = self.agent.ports.clock().now_ms();
        let path = paths::join(&drive.local_path, rel);
        let transfer_id = alloc::format!("{}/{rel}", drive.id);
        let mut moving = Moving {
            upload: true,
            status: "InProgress",
            cloud_type: drive.account.cloud_type,
            path: &path,
            bytes: 0,
            size: 0,
            error: None,
            name: rel.rsplit('/').next().unwrap_or(rel),
            storage_name: &drive.storage_name,
            speed: 0,
            active_ms: 0,
            transfer_id: &transfer_id,
            start_ms: now,
        };
        let ended = finished(rel, old, new, now);
        if let Some(e) = &ended {
            let active_ms = e.end_ms.saturating_sub(e.start_ms);
            moving.upload = e.direction == history::UPLOAD;
            moving.status = match e.status {
                history::COMPLETED => "Completed",
                history::CANCELED => "Cancelled",
                _ => "Failed",
            };
            moving.bytes = e.bytes;
            moving.size = new.or(old).map_or(0, |r| r.size);
            moving.error = Some(e.error.as_str()).filter(|m| !m.is_empty());
            moving.speed = e.bytes.saturating_mul(1000) / active_ms.max(1);
            moving.active_ms = active_ms;
            moving.start_ms = e.start_ms;
        } else if let Some(upload) = started(old, new) {
            moving.upload = upload;
            moving.size = new.map_or(0, |n| n.size);
        } else {
            return;
        }
        let frame = moving_frame(&moving, now);
        self.agent.raise(Channel::Notification, frame);
    }

    fn raise(&self, drive: &CloudDrive, rel: &str, flags: Flags) {
        let frame = StateChange {
            path: paths::join(&drive.local_path, rel),
            storage_name: drive.storage_name.clone(),
            state: flags.0,
        };
        if let Ok(text) = serde_json::to_string(&frame) {
            self.agent.raise(Channel::StateChange, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drives::drive::new_drive;
    use crate::testing::TestAgent;

    /// Drive `d1`, its folder at `local`, its bucket `bucket`.
    fn drive_at(local: &str) -> CloudDrive {
        let mut d = new_drive("d1".into(), "acc", "u", 0);
        d.local_path = local.into();
        d.storage_name = "bucket".into();
        d
    }

    /// The frames raised on `channel`, in order.
    fn frames_on(t: &TestAgent, channel: Channel) -> Vec<serde_json::Value> {
        (t.agent.ports.events.all().iter())
            .filter(|e| e.channel == channel)
            .map(|e| serde_json::from_str(&e.frame).unwrap())
            .collect()
    }

    #[test]
    fn each_change_of_state_is_one_frame_in_order() {
        let t = TestAgent::new();
        let d = drive_at("/mnt/Team");
        let j = Journal::new(&t.agent);
        j.set_flags(&d, "a.txt", Flags::DOWNLOADING).unwrap();
        j.set_flags(&d, "a.txt", Flags::DOWNLOADING).unwrap();
        j.update(&d, "a.txt", |r| r.size = 5).unwrap();
        j.set_flags(&d, "a.txt", Flags::NORMAL).unwrap();
        j.remove(&d, "a.txt").unwrap();
        let frames = frames_on(&t, Channel::StateChange);
        let states: Vec<u64> = frames
            .iter()
            .map(|f| f["State"].as_u64().unwrap())
            .collect();
        assert_eq!(states, [2, 0, 64]);
        assert_eq!(frames[0]["Path"], "/mnt/Team/a.txt");
        assert_eq!(frames[0]["StorageName"], "bucket");
        assert!(get(t.agent.ports.store(), "d1", "a.txt").unwrap().is_none());
    }

    /// A file's move starts and ends with a `Progress` frame on `/notification`, as a client
    /// transfer's does; a change that is no move raises none.
    #[test]
    fn a_move_starts_and_ends_with_a_progress_frame() {
        let t = TestAgent::new();
        let mut d = drive_at("/home/u/Pictures");
        d.account.cloud_type = 8;
        let j = Journal::new(&t.agent);
        j.update(&d, "2026/a.jpg", |r| {
            r.size = 2000;
            r.flags = Flags::UPLOADING;
        })
        .unwrap();
        t.agent.ports.clock.advance_secs(2);
        j.set_flags(&d, "2026/a.jpg", Flags::NORMAL).unwrap();
        j.set_flags(&d, "2026/b.jpg", Flags::NORMAL).unwrap();
        j.set_flags(&d, "2026/b.jpg", Flags::DOWNLOADING).unwrap();
        j.update(&d, "2026/b.jpg", |r| {
            r.flags = Flags::ERROR;
            r.error = "refused".into();
        })
        .unwrap();
        let frames = frames_on(&t, Channel::Notification);
        let seen: Vec<(&str, &str, &str)> = frames
            .iter()
            .map(|f| {
                let data = &f["Data"];
                let text = |k: &str| data[k].as_str().unwrap();
                (text("Name"), text("TransferMode"), text("Status"))
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a.jpg", "Upload", "InProgress"),
                ("a.jpg", "Upload", "Completed"),
                ("b.jpg", "Download", "InProgress"),
                ("b.jpg", "Download", "Failed"),
            ]
        );
        let done = &frames[1]["Data"];
        assert_eq!(frames[1]["Type"], 1);
        assert_eq!(done["Path"], "/home/u/Pictures/2026/a.jpg");
        assert_eq!(
            (done["Bytes"].as_u64(), done["Size"].as_u64()),
            (Some(2000), Some(2000))
        );
        assert_eq!(done["Speed"], 1000);
        assert_eq!(done["Duration"], "00:00:02");
        assert_eq!(done["StorageName"], "bucket");
        assert_eq!(done["StorageType"], "S3Generic");
        assert_eq!(done["TransferId"], frames[0]["Data"]["TransferId"]);
        assert_eq!(frames[3]["Data"]["Error"], "refused");
    }

    #[test]
    fn children_are_one_level_and_forgetting_a_drive_removes_all() {
        let t = TestAgent::new();
        let d = new_drive("d1".into(), "acc", "u", 0);
        let j = Journal::new(&t.agent);
        for p in ["a", "a/b", "a/c", "a/b/d", "e"] {
            j.set_flags(&d, p, Flags::TEMPORARY).unwrap();
        }
        let store = t.agent.ports.store();
        let names = |dir| -> Vec<String> {
            children(store, "d1", dir)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(names(""), ["a", "e"]);
        assert_eq!(names("a"), ["b", "c"]);
        forget_drive(store, "d1").unwrap();
        assert!(names("").is_empty());
    }
}
