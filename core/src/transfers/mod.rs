//! Client transfers (`cloud.md`, Upload/Download Object and Client File Transfers): a job per
//! upload or download, its state machine, and the record that lets it resume after a restart.
//! The bytes move in the host's engine (the [`TransferRunner`](crate::ports::TransferRunner)
//! port); the core keeps the record and decides what a request may do to it.

pub mod history;
pub mod lease;
pub mod paths;
pub mod peer;
pub mod settings;
pub mod sync;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

pub use peer::{PeerPush, Servers};

use crate::config::TransferOptions;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ports::Store;
use crate::store::keys::{ACTIVE_TRANSFERS, TRANSFERS, TRANSFERS_BY_ACCOUNT};
use crate::store::{Batch, CommitError, scan_all};

/// Which way the bytes go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// From a local file or folder to the cloud.
    #[default]
    Upload,
    /// From the cloud to a local file or folder.
    Download,
    /// From one bucket ([`Transfer::source`]) to another, through the agent
    /// (`transfer.md`): the bytes stream from one provider to the other.
    Copy,
}

/// A bucket and a path in it, of a stored cloud account: the source of a cloud-to-cloud
/// transfer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudEnd {
    /// The stored cloud account.
    pub cloud_account_id: String,
    /// Its [`cloud_type`](crate::cloud::cloud_type) flag.
    pub cloud_type: u32,
    /// The bucket (Azure: container).
    pub bucket: String,
    /// An object key, or a folder's prefix.
    pub path: String,
}

/// What a cloud-to-cloud transfer did to its objects (the `Transfer` DTO's counters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectCounts {
    /// Objects planned.
    pub total: u64,
    /// Objects copied.
    pub transferred: u64,
    /// Objects that failed after their retries.
    pub failed: u64,
    /// Objects left alone (`allowSkip`).
    pub skipped: u64,
    /// Bytes of the skipped objects.
    pub skipped_bytes: u64,
}

/// `TransferType` (`transfer.md`), a flag.
pub mod transfer_type {
    /// A one-shot transfer queued by `/transfer/transfer`.
    pub const TRANSFER: u32 = 1;
    /// A one-way sync's changes.
    pub const SYNC: u32 = 2;
    /// A one-way sync's first, full transfer.
    pub const SYNC_INIT_TRANSFER: u32 = 4;
    /// A one-shot transfer started by hand.
    pub const MANUAL_TRANSFER: u32 = 8;
}

/// The documented states, in their wire spelling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Accepted; the engine has not started moving bytes yet.
    #[default]
    Initiating,
    /// The engine is moving its bytes.
    Running,
    /// Stopped by a client; what was done is kept for `resume`.
    Paused,
    /// Every byte arrived.
    Completed,
    /// Stopped by a client for good; what was done is undone.
    Cancelled,
    /// Stopped by an error ([`Transfer::error`] says which).
    Failed,
}

impl Status {
    /// Whether the engine should be moving its bytes (and resume it after a restart).
    pub fn is_active(self) -> bool {
        matches!(self, Status::Initiating | Status::Running)
    }

    /// Whether it is over: nothing can change it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Cancelled | Status::Failed)
    }

    /// `TransferStatus` (`transferhistory.md`), a flag.
    pub fn flag(self) -> u32 {
        match self {
            Status::Initiating => 1,
            Status::Running => 2,
            Status::Completed => 4,
            Status::Cancelled => 8,
            Status::Failed => 16,
            Status::Paused => 128,
        }
    }

    /// The wire spelling (`running`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Initiating => "initiating",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
            Status::Failed => "failed",
        }
    }
}

/// A transfer's record (the `transfer/` table): what to move, and how far it got. Requests and
/// the host's engine change it only through [`update`]. The default is a transfer just
/// queued, nothing of it known yet.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Transfer {
    /// Its id, as `client_transfer/{transferId}` names it.
    pub id: String,
    /// The account of the user who asked for it.
    pub account_id: String,
    /// The user who asked for it.
    pub user_id: String,
    /// Upload or download.
    pub direction: Direction,
    /// The stored cloud account whose credentials it uses.
    pub cloud_account_id: String,
    /// That cloud account's [`cloud_type`](crate::cloud::cloud_type) flag.
    pub cloud_type: u32,
    /// The bucket (Azure: container).
    pub bucket: String,
    /// The object key, or the key prefix (ending with `/`) of a folder.
    pub remote: String,
    /// The local file or folder.
    pub local: String,
    /// Whether `remote` and `local` are folders, moved file by file.
    pub is_folder: bool,
    /// The file or folder name shown in progress frames.
    pub name: String,
    /// Chunk size, retries and concurrency.
    pub options: TransferOptions,
    /// Where it is in its life.
    pub status: Status,
    /// Bytes moved so far, as the engine last recorded.
    pub transferred_bytes: u64,
    /// Bytes to move in all (0 until the engine knows).
    pub total_bytes: u64,
    /// When it was asked for (Unix ms).
    pub create_ms: u64,
    /// When it started (Unix ms); speed and duration count from here.
    pub start_ms: u64,
    /// When it ended (completed, cancelled or failed).
    pub end_ms: Option<u64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Time spent paused before the current pause.
    pub paused_ms: u64,
    /// When the current pause began, while paused.
    pub paused_since_ms: Option<u64>,
    /// The local file is the host's copy of a form upload, deleted once the transfer ends.
    #[serde(default)]
    pub staged: bool,
    /// A cloud-to-cloud transfer's source ([`Direction::Copy`]); `cloud_account_id`,
    /// `bucket` and `remote` are then its destination, and `local` names the source
    /// (`bucket/path`) as progress frames show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<CloudEnd>,
    /// Its [`transfer_type`] (0 for client uploads and downloads).
    #[serde(default)]
    pub transfer_type: u32,
    /// Skip an object the destination holds in a version as new or newer.
    #[serde(default)]
    pub allow_skip: bool,
    /// Keep each object's whole source key under the destination path.
    #[serde(default)]
    pub keep_source_tree: bool,
    /// A cloud-to-cloud transfer's object counters, as the engine last recorded.
    #[serde(default)]
    pub objects: ObjectCounts,
    /// The one-way sync ([`sync::CloudSync`]) this transfer is a cycle of: it copies only what
    /// changed at the source since the destination's copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_id: Option<String>,
    /// A server transfer's two servers (`cloud.md`, Fastr Server-to-Server Transfers): it
    /// reads from and writes to these endpoints, with its cloud accounts' keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<Servers>,
    /// A P2P transfer's push, which the source agent runs (`servers` are then the source
    /// agent's storage and the target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerPush>,
    /// The agent that made an upload or download of its own files, the only one that can
    /// run it when agents share a store ([`lease`]); empty for transfers any agent can run.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent: String,
}

impl Transfer {
    pub(crate) fn index_key(&self) -> String {
        format!("{}/{:016x}/{}", self.account_id, self.create_ms, self.id)
    }

    /// Time spent paused, up to `now_ms`.
    pub fn paused_total_ms(&self, now_ms: u64) -> u64 {
        self.paused_ms + self.paused_since_ms.map_or(0, |s| now_ms.saturating_sub(s))
    }

    /// Moves to `status`, keeping the pause clock and end time right.
    pub fn set_status(&mut self, status: Status, now_ms: u64) {
        if let Some(since) = self.paused_since_ms.take() {
            self.paused_ms += now_ms.saturating_sub(since);
        }
        if status == Status::Paused {
            self.paused_since_ms = Some(now_ms);
        }
        if status.is_final() {
            self.end_ms = Some(now_ms);
        }
        self.status = status;
    }
}

/// `hh:mm:ss`, as .NET prints a `TimeSpan`.
pub(crate) fn hms(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// One file's move as a `Progress` frame of `/notification` tells it (`websockets.md`,
/// Type 1): a client transfer's, or a file a drive or backup moves.
pub struct Moving<'a> {
    /// Upload, else download.
    pub upload: bool,
    /// `InProgress`, `Paused`, `Completed`, `Cancelled` or `Failed`.
    pub status: &'static str,
    /// The account's `CloudType` flag.
    pub cloud_type: u32,
    /// The local path.
    pub path: &'a str,
    /// Bytes moved so far.
    pub bytes: u64,
    /// Bytes to move.
    pub size: u64,
    /// Why it failed.
    pub error: Option<&'a str>,
    /// The file's (or transfer's) name.
    pub name: &'a str,
    /// The bucket.
    pub storage_name: &'a str,
    /// Bytes per second.
    pub speed: u64,
    /// Time spent moving (not paused).
    pub active_ms: u64,
    /// The same for every frame of one move.
    pub transfer_id: &'a str,
    /// When it started (Unix ms).
    pub start_ms: u64,
}

/// `Progress` payload of `/notification` frames (`websockets.md`, Type 1).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProgressData<'a> {
    transfer_mode: &'static str,
    status: &'static str,
    storage_type: &'static str,
    path: &'a str,
    bytes: u64,
    size: u64,
    error: Option<&'a str>,
    name: &'a str,
    storage_name: &'a str,
    speed: u64,
    duration: String,
    transfer_id: &'a str,
    start_time_utc: String,
    progress_time_utc: String,
}

/// The `Progress` frame of `m` at `now_ms`.
pub fn moving_frame(m: &Moving<'_>, now_ms: u64) -> String {
    crate::events::notification_frame(
        crate::events::NotificationType::Progress,
        &ProgressData {
            transfer_mode: if m.upload { "Upload" } else { "Download" },
            status: m.status,
            storage_type: crate::cloud::cloud_type::name(m.cloud_type),
            path: m.path,
            bytes: m.bytes,
            size: m.size,
            error: m.error,
            name: m.name,
            storage_name: m.storage_name,
            speed: m.speed,
            duration: hms(m.active_ms),
            transfer_id: m.transfer_id,
            start_time_utc: crate::time::iso8601(m.start_ms),
            progress_time_utc: crate::time::iso8601(now_ms),
        },
    )
}

/// A `Progress` frame for `t` having moved `bytes` at `speed` bytes per second.
pub fn progress_frame(t: &Transfer, bytes: u64, speed: u64, now_ms: u64) -> String {
    let status = match t.status {
        Status::Initiating | Status::Running => "InProgress",
        Status::Paused => "Paused",
        Status::Completed => "Completed",
        Status::Cancelled => "Cancelled",
        Status::Failed => "Failed",
    };
    let active_ms = now_ms
        .saturating_sub(t.start_ms)
        .saturating_sub(t.paused_total_ms(now_ms));
    let moving = Moving {
        // A cloud-to-cloud transfer writes to its destination as an upload does.
        upload: t.direction != Direction::Download,
        status,
        cloud_type: t.cloud_type,
        path: &t.local,
        bytes,
        size: t.total_bytes,
        error: t.error.as_deref(),
        name: &t.name,
        storage_name: &t.bucket,
        speed,
        active_ms,
        transfer_id: &t.id,
        start_ms: t.start_ms,
    };
    moving_frame(&moving, now_ms)
}

/// Writes new transfer `t` in `batch`, which fails if its id is taken.
pub(crate) fn put_new(batch: &mut Batch, t: &Transfer) {
    batch.require_absent(TRANSFERS.key(&t.id));
    TRANSFERS.put(batch, &t.id, t);
    TRANSFERS_BY_ACCOUNT.put_str(batch, &t.index_key(), "");
    if t.status.is_active() {
        ACTIVE_TRANSFERS.put_str(batch, &t.id, "");
    }
}

/// Stores a new transfer; DUPLICATE if its id is taken.
pub(crate) fn insert(store: &impl Store, t: &Transfer) -> ApiResult<()> {
    let mut batch = Batch::new();
    put_new(&mut batch, t);
    let taken = (
        ErrorCode::Duplicate,
        "A transfer with this id exists already.",
    );
    crate::store::table::commit(store, &batch, taken)
}

/// The transfer with this id, if any.
pub fn get(store: &impl Store, id: &str) -> ApiResult<Option<Transfer>> {
    TRANSFERS.get(store, id.trim())
}

/// Applies `change` to the stored transfer atomically: if another writer (a request, the
/// engine) changed it in between, the change is made again on the new state. `change`
/// returns false to leave the record as it is. The updated record, if it changed.
pub fn update(
    store: &impl Store,
    id: &str,
    mut change: impl FnMut(&mut Transfer) -> ApiResult<bool>,
) -> ApiResult<Option<Transfer>> {
    let key = TRANSFERS.key(id);
    for _ in 0..64 {
        let Some(old) = store.get(&key)?.map(|v| v.as_ref().to_vec()) else {
            return Err(ApiError::not_found("The transfer"));
        };
        let mut t: Transfer = crate::store::table::decode_row(&old)?;
        let was_final = t.status.is_final();
        if !change(&mut t)? {
            return Ok(None);
        }
        let mut batch = Batch::new();
        batch.require_value(key.clone(), Some(old));
        TRANSFERS.put(&mut batch, id, &t);
        if t.status.is_final() && !was_final {
            history::put(&mut batch, &history::Record::of_transfer(&t));
        }
        if t.status.is_active() {
            ACTIVE_TRANSFERS.put_str(&mut batch, id, "");
        } else {
            ACTIVE_TRANSFERS.delete(&mut batch, id);
        }
        match store.commit(&batch) {
            Ok(()) => return Ok(Some(t)),
            Err(CommitError::Conflict(_)) => continue,
            Err(e) => return Err(crate::store::table::failure(e)),
        }
    }
    Err(ApiError::Internal)
}

/// Moves transfer `id` from one of `from` to `to`; `None` (nothing changed) when it was in
/// another state.
pub fn transition(
    store: &impl Store,
    id: &str,
    from: &[Status],
    to: Status,
    now_ms: u64,
) -> ApiResult<Option<Transfer>> {
    update(store, id, |t| {
        let allowed = from.contains(&t.status);
        if allowed {
            t.set_status(to, now_ms);
        }
        Ok(allowed)
    })
}

/// Transfer `id` as `user_id` (an admin when `admin`) of `account_id` sees it: their own,
/// or any of the account's for admins; anything else does not exist from there.
pub fn visible(
    store: &impl Store,
    id: &str,
    account_id: &str,
    user_id: &str,
    admin: bool,
) -> ApiResult<Transfer> {
    get(store, id)?
        .filter(|t| t.account_id == account_id && (admin || t.user_id == user_id))
        .ok_or_else(|| ApiError::not_found("The transfer"))
}

/// What a transfer is, by the routes that own it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An upload or a download (`client_transfer`).
    Client,
    /// A cloud-to-cloud transfer (`/transfer`).
    Copy,
    /// A server transfer (`server_transfer`).
    Server,
    /// A P2P transfer (`p2p_transfer`).
    Peer,
}

impl Transfer {
    /// Which routes own it.
    pub fn kind(&self) -> Kind {
        match (self.direction, &self.servers, &self.peer) {
            (_, _, Some(_)) => Kind::Peer,
            (_, Some(_), None) => Kind::Server,
            (Direction::Copy, None, None) => Kind::Copy,
            _ => Kind::Client,
        }
    }
}

/// Transfer `id` if it is of `kind` and `user_id` (an admin when `admin`) of `account_id`
/// sees it (see [`visible`]).
pub fn visible_of(
    store: &impl Store,
    id: &str,
    (account_id, user_id, admin): (&str, &str, bool),
    kind: Kind,
) -> ApiResult<Option<Transfer>> {
    Ok(get(store, id)?.filter(|t| {
        t.account_id == account_id && (admin || t.user_id == user_id) && t.kind() == kind
    }))
}

/// The transfers of `kind` that `user_id` (an admin when `admin`) of `account_id` sees,
/// newest first.
pub fn all_of(
    store: &impl Store,
    (account_id, user_id, admin): (&str, &str, bool),
    kind: Kind,
) -> ApiResult<Vec<Transfer>> {
    let mut list = of_account(store, account_id)?;
    list.retain(|t| t.kind() == kind && (admin || t.user_id == user_id));
    list.reverse();
    Ok(list)
}

/// The transfers of an account, oldest first.
pub(crate) fn of_account(store: &impl Store, account_id: &str) -> ApiResult<Vec<Transfer>> {
    let prefix = TRANSFERS_BY_ACCOUNT.key(&format!("{account_id}/"));
    let mut out = Vec::new();
    scan_all(store, &prefix, false, |key, _| {
        let rest = core::str::from_utf8(&key[prefix.len()..]).unwrap_or("");
        if let Some((_, id)) = rest.split_once('/')
            && let Some(t) = get(store, id)?
        {
            out.push(t);
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Ids of the transfers that should be moving bytes (for an engine that just started).
pub fn active_ids(store: &impl Store) -> ApiResult<Vec<String>> {
    let prefix = ACTIVE_TRANSFERS.prefix();
    let mut out = Vec::new();
    scan_all(store, prefix, false, |key, _| {
        out.push(String::from(
            core::str::from_utf8(&key[prefix.len()..]).unwrap_or(""),
        ));
        Ok(true)
    })?;
    Ok(out)
}
