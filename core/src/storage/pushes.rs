//! Pushes the built-in storage runs for other agents' P2P transfers: one of its objects sent
//! straight to a target through the presigned URLs an orchestrating agent gave
//! ([`PushOrder`]). The record says which parts the target has, so a push resumes after a
//! restart where it stopped; only the key that ordered it may see or steer it.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::{ApiResult, ErrorCode};
use crate::ports::{PushState, Store};
use crate::store::Batch;
use crate::store::keys::STORAGE_PUSHES;
use crate::transfers::Status;
use crate::transfers::peer::PushOrder;

/// A push (the `storagepush/` table, under `<access key>/<order id>`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Push {
    /// What to send where.
    pub order: PushOrder,
    /// The key that ordered it.
    pub access_key: String,
    /// Where it is in its life.
    pub status: Status,
    /// The target's ETag of each part it has, by part number.
    pub parts_done: BTreeMap<u32, String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Whether the target's ETag of the whole object matched the bytes read.
    pub checksum_verified: bool,
    /// When it was ordered (Unix ms).
    pub start_ms: u64,
    /// When it ended (Unix ms).
    pub end_ms: Option<u64>,
}

impl Push {
    /// Its row id.
    pub fn row_id(&self) -> String {
        row_id(&self.access_key, &self.order.id)
    }

    /// Bytes of part `n` (from 1).
    pub fn part_range(&self, n: u32) -> (u64, u64) {
        let size = self.order.size;
        let part = self.order.part_bytes.max(1);
        let start = (u64::from(n) - 1) * part;
        (start.min(size), (start + part).min(size))
    }

    /// Bytes the target has acknowledged.
    pub fn bytes_done(&self) -> u64 {
        self.parts_done
            .keys()
            .map(|n| {
                let (a, b) = self.part_range(*n);
                b - a
            })
            .sum()
    }

    /// What the orchestrator is told.
    pub fn state(&self) -> PushState {
        PushState {
            id: self.order.id.clone(),
            status: String::from(match self.status {
                Status::Initiating => "running",
                other => other.as_str(),
            }),
            transferred_bytes: self.bytes_done(),
            total_bytes: self.order.size,
            error: self.error.clone(),
            checksum_verified: self.checksum_verified,
        }
    }
}

fn row_id(access_key: &str, id: &str) -> String {
    alloc::format!("{access_key}/{id}")
}

/// Push `id` ordered by `access_key`, if any.
pub fn get(store: &impl Store, access_key: &str, id: &str) -> ApiResult<Option<Push>> {
    STORAGE_PUSHES.get(store, &row_id(access_key, id))
}

/// Stores a new push; DUPLICATE when that key ordered one under this id already.
pub fn insert(store: &impl Store, push: &Push) -> ApiResult<()> {
    let mut batch = Batch::new();
    batch.require_absent(STORAGE_PUSHES.key(&push.row_id()));
    STORAGE_PUSHES.put(&mut batch, &push.row_id(), push);
    let taken = (ErrorCode::Duplicate, "A push with this id exists already.");
    crate::store::table::commit(store, &batch, taken)
}

/// Applies `change` to the stored push atomically (made again on a newer state if another
/// writer came in between); `change` returns false to leave it. The push as changed.
pub fn update(
    store: &impl Store,
    row: &str,
    change: impl FnMut(&mut Push) -> ApiResult<bool>,
) -> ApiResult<Option<Push>> {
    STORAGE_PUSHES.update(store, row, change)
}

/// The pushes that should be moving bytes (for a storage that just started).
pub fn running(store: &impl Store) -> ApiResult<Vec<Push>> {
    let mut out = Vec::new();
    crate::store::scan_all(store, STORAGE_PUSHES.prefix(), false, |_, row| {
        let push: Push = crate::store::table::decode_row(row)?;
        if push.status.is_active() {
            out.push(push);
        }
        Ok(true)
    })?;
    Ok(out)
}
