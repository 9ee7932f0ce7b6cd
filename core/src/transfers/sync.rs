//! One-way cloud-to-cloud syncs (`TransferType` Sync 2 and SyncInitTransfer 4, `transfer.md`):
//! a sync is a cloud-to-cloud transfer run again every interval. Its first cycle (a
//! SyncInitTransfer) copies everything the destination does not hold in the same version;
//! each later cycle (a Sync) copies only what is new or changed at the source since. Each
//! cycle is a [`Transfer`] of its own, moved by the same engine, listed, recorded in the
//! history and cancelled like any other; cancelling one stops the sync.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::{Transfer, put_new, transfer_type};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ports::Store;
use crate::store::keys::SYNCS;
use crate::store::table::{commit, decode_row};
use crate::store::{Batch, CommitError, scan_all};

/// The shortest interval between two cycles' starts.
pub const MIN_INTERVAL_S: u32 = 5;
/// The longest.
pub const MAX_INTERVAL_S: u32 = 86_400;
/// A sync's interval when its request names none.
pub const DEFAULT_INTERVAL_S: u32 = 3_600;

/// A one-way sync (the `transfersync/` table).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CloudSync {
    /// Its id: the `syncCycleId` of each of its cycles.
    pub id: String,
    /// Seconds from one cycle's start to the next's (a cycle that takes longer is followed
    /// by the next as soon as it ends).
    pub interval_s: u32,
    /// False once stopped: no further cycle starts.
    pub active: bool,
    /// Cycles started.
    pub cycles: u64,
    /// The transfer of the latest cycle.
    pub last_transfer_id: String,
    /// When the next cycle is due (Unix ms).
    pub next_ms: u64,
    /// What each cycle copies: the first cycle as it was queued.
    pub template: Transfer,
}

impl CloudSync {
    /// A new sync whose first cycle is `first` (queued now, its `sync_id` set to `id`).
    pub fn new(id: String, interval_s: u32, first: &mut Transfer) -> CloudSync {
        first.sync_id = Some(id.clone());
        first.transfer_type = transfer_type::SYNC_INIT_TRANSFER;
        CloudSync {
            id,
            interval_s,
            active: true,
            cycles: 1,
            last_transfer_id: first.id.clone(),
            next_ms: first.create_ms + u64::from(interval_s) * 1000,
            template: first.clone(),
        }
    }

    /// The transfer of its next cycle, with id `id`, queued at `now_ms`.
    fn cycle(&self, id: String, now_ms: u64) -> Transfer {
        let t = &self.template;
        Transfer {
            id,
            transfer_type: transfer_type::SYNC,
            create_ms: now_ms,
            start_ms: now_ms,
            sync_id: Some(self.id.clone()),
            ..Transfer {
                account_id: t.account_id.clone(),
                user_id: t.user_id.clone(),
                direction: t.direction,
                cloud_account_id: t.cloud_account_id.clone(),
                cloud_type: t.cloud_type,
                bucket: t.bucket.clone(),
                remote: t.remote.clone(),
                local: t.local.clone(),
                is_folder: t.is_folder,
                name: t.name.clone(),
                options: t.options,
                source: t.source.clone(),
                allow_skip: t.allow_skip,
                keep_source_tree: t.keep_source_tree,
                ..Transfer::default()
            }
        }
    }
}

/// Stores `sync` with its first cycle, in one commit.
pub(crate) fn create(store: &impl Store, sync: &CloudSync, first: &Transfer) -> ApiResult<()> {
    let mut batch = Batch::new();
    batch.require_absent(SYNCS.key(&sync.id));
    SYNCS.put(&mut batch, &sync.id, sync);
    put_new(&mut batch, first);
    let taken = (
        ErrorCode::Duplicate,
        "A transfer with this id exists already.",
    );
    commit(store, &batch, taken)
}

/// The sync with this id, if any.
pub fn get(store: &impl Store, id: &str) -> ApiResult<Option<CloudSync>> {
    SYNCS.get(store, id)
}

/// The active syncs whose next cycle is due at `now_ms`: their latest cycle ended and their
/// interval has passed.
pub fn due(store: &impl Store, now_ms: u64) -> ApiResult<Vec<CloudSync>> {
    let mut active = Vec::new();
    scan_all(store, SYNCS.prefix(), false, |_, row| {
        if let Ok(s) = serde_json::from_slice::<CloudSync>(row)
            && s.active
            && s.next_ms <= now_ms
        {
            active.push(s);
        }
        Ok(true)
    })?;
    let mut out = Vec::new();
    for s in active {
        let last = super::get(store, &s.last_transfer_id)?;
        if last.is_none_or(|t| t.status.is_final()) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Queues the next cycle of `sync` (as [`due`] read it) as transfer `id`: the transfer and
/// the sync moved on, in one commit. `None` when the sync changed meanwhile (stopped, or its
/// cycle queued by another caller).
pub fn next_cycle(
    store: &impl Store,
    sync: &CloudSync,
    id: String,
    now_ms: u64,
) -> ApiResult<Option<Transfer>> {
    let key = SYNCS.key(&sync.id);
    let Some(old) = store.get(&key)?.map(|v| v.as_ref().to_vec()) else {
        return Ok(None);
    };
    let mut s: CloudSync = decode_row(&old)?;
    if !s.active || s.last_transfer_id != sync.last_transfer_id {
        return Ok(None);
    }
    let t = s.cycle(id, now_ms);
    s.cycles += 1;
    s.last_transfer_id = t.id.clone();
    s.next_ms = now_ms + u64::from(s.interval_s) * 1000;
    let mut batch = Batch::new();
    batch.require_value(key, Some(old));
    SYNCS.put(&mut batch, &s.id, &s);
    put_new(&mut batch, &t);
    match store.commit(&batch) {
        Ok(()) => Ok(Some(t)),
        Err(CommitError::Conflict(_)) => Ok(None),
        Err(e) => Err(crate::store::table::failure(e)),
    }
}

/// Stops sync `id`: no further cycle starts. Whether it was running.
pub fn stop(store: &impl Store, id: &str) -> ApiResult<bool> {
    let key = SYNCS.key(id);
    for _ in 0..64 {
        let Some(old) = store.get(&key)?.map(|v| v.as_ref().to_vec()) else {
            return Ok(false);
        };
        let mut s: CloudSync = decode_row(&old)?;
        if !s.active {
            return Ok(false);
        }
        s.active = false;
        let mut batch = Batch::new();
        batch.require_value(key.clone(), Some(old));
        SYNCS.put(&mut batch, id, &s);
        match store.commit(&batch) {
            Ok(()) => return Ok(true),
            Err(CommitError::Conflict(_)) => continue,
            Err(e) => return Err(crate::store::table::failure(e)),
        }
    }
    Err(ApiError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Ports;
    use crate::testing::TestAgent;
    use crate::transfers::{Status, transition};

    /// Cycles follow each other at the interval, only once the latest ended, each a Sync of
    /// the same ends; a stopped sync starts none.
    #[test]
    fn cycles_are_due_at_the_interval_after_the_last_one_ended() {
        let t = TestAgent::new();
        let store = t.agent.ports.store();
        let mut first = Transfer {
            id: "c1".into(),
            bucket: "dst".into(),
            allow_skip: true,
            create_ms: 1_000,
            start_ms: 1_000,
            ..Transfer::default()
        };
        let sync = CloudSync::new("s1".into(), 10, &mut first);
        create(store, &sync, &first).unwrap();
        assert_eq!(first.transfer_type, transfer_type::SYNC_INIT_TRANSFER);
        assert!(
            due(store, 20_000).unwrap().is_empty(),
            "the first still runs"
        );
        transition(store, "c1", &[Status::Initiating], Status::Completed, 5_000)
            .unwrap()
            .unwrap();
        assert!(
            due(store, 10_999).unwrap().is_empty(),
            "not before the interval"
        );
        let ready = due(store, 11_000).unwrap();
        assert_eq!(ready.len(), 1);
        let second = next_cycle(store, &ready[0], "c2".into(), 11_000)
            .unwrap()
            .unwrap();
        assert_eq!(second.transfer_type, transfer_type::SYNC);
        assert_eq!(second.sync_id.as_deref(), Some("s1"));
        assert_eq!((second.bucket.as_str(), second.allow_skip), ("dst", true));
        assert_eq!(second.status, Status::Initiating);
        assert!(
            next_cycle(store, &ready[0], "c3".into(), 11_000)
                .unwrap()
                .is_none(),
            "a cycle is queued once"
        );
        transition(store, "c2", &[Status::Initiating], Status::Failed, 30_000)
            .unwrap()
            .unwrap();
        assert_eq!(due(store, 30_000).unwrap().len(), 1, "late: at once");
        assert!(stop(store, "s1").unwrap());
        assert!(!stop(store, "s1").unwrap());
        assert!(due(store, 99_000).unwrap().is_empty(), "stopped");
    }
}
