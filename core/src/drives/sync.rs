//! A synced folder's pass (a LocalPath drive, `driveType` 2): observe both sides, plan with
//! the planner (`super::planner`), apply the plan through the host's [`SyncIo`] and journal
//! every step. The host only moves bytes and looks at its disk and the bucket; what to do,
//! in which order, and what counts as settled is decided here, so a simulation can run the
//! very same pass against a fake folder and bucket and crash it at any journal write.
//!
//! Crash safety: a path's merge base is written only after its operation took effect on both
//! sides, in the same commit as its state bits. A pass cut short (a crash, a failed write)
//! leaves every path either at its old base (the next pass finds the work still to do, or
//! both sides already equal and adopts them) or at its new one.
//!
//! The host's operations refuse to act on what changed since it was observed (a local file
//! edited while it was uploaded, a file written locally while its download ran, a bucket
//! object replaced since the listing): they fail, and the next pass plans again from fresh
//! observations. So nothing is uploaded torn, and no edit made during a pass is overwritten.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::drive::{CloudDrive, READ};
use super::journal::{self, FileRecord};
use super::planner::{self, Base, BaseEntry, Entry, Mode, Observation, Op, Settings};
use super::state::Flags;
use crate::Agent;
use crate::error::ApiResult;
use crate::ports::{Clock, Ports};
use crate::store::Batch;
use crate::store::keys::DRIVE_LISTED;
use crate::store::table::save;

/// At most this many deletes on one side per pass whatever the folder's size; above it (and
/// above half of the tracked paths) the max-delete guard holds them all back.
const MIN_DELETE_GUARD: usize = 16;

/// How much a pass copies at once: this many small files, or a quarter as many larger ones
/// (whose parts go several at a time, each a buffer in memory).
const CONCURRENT_TRANSFERS: usize = 32;

/// Files up to this size count as small (one request, one buffer).
const SMALL_FILE: u64 = 1 << 20;

/// How long an upload-only pass (a backup) may take what the bucket holds from its journal
/// rather than list it: a listing finds what others changed or removed in the bucket, which
/// nothing else can, but costs a request per thousand objects on every pass.
pub const RELIST_MS: u64 = 24 * 3600 * 1000;

/// What the host does to the folder and the bucket of a synced folder. Paths are relative,
/// `/`-separated. Each operation fails (with a reason for the journal) rather than act on
/// something that changed since it was observed.
// The engine is generic over the host's implementation, so its futures stay concrete and a
// multi-threaded host sees whether they are Send.
#[allow(async_fn_in_trait)]
pub trait SyncIo {
    /// Everything under the drive's prefix; `complete` false when the listing failed or was
    /// cut (then nothing missing from it is deleted).
    async fn list_remote(&self) -> Observation;
    /// Everything in the folder; `complete` false when part of it could not be read.
    async fn scan_local(&self) -> Observation;
    /// A hash of local file `path` in the form of the bucket's ETag `like` (a multipart
    /// upload's has its own), while the file still is as `seen`; `None` when the host cannot
    /// make that form.
    async fn local_etag(&self, path: &str, seen: &Entry, like: &str) -> Option<String>;
    /// The ETag of object `path` when its listing gave none (some servers leave it out).
    async fn remote_etag(&self, path: &str) -> Option<String>;
    /// Sends local file `path` (still as `local`) to the bucket, replacing `remote` (what
    /// the listing showed there, `None` if nothing). The bucket's entry afterwards.
    async fn upload(
        &self,
        path: &str,
        local: &Entry,
        remote: Option<&Entry>,
    ) -> Result<Entry, String>;
    /// Sends local file `path` (still as `local`) to the bucket as `to`, where nothing may
    /// be. The bucket's entry afterwards.
    async fn upload_as(&self, path: &str, to: &str, local: &Entry) -> Result<Entry, String>;
    /// Brings object `path` (still as `remote`) down, replacing `local` (what the scan
    /// showed, `None` if nothing) all at once. The folder's entry afterwards.
    async fn download(
        &self,
        path: &str,
        remote: &Entry,
        local: Option<&Entry>,
    ) -> Result<Entry, String>;
    /// Deletes `path` in the bucket while it is still as `seen` (a folder only once empty).
    async fn delete_remote(&self, path: &str, seen: &Entry) -> Result<(), String>;
    /// Deletes local `path` while it is still as `seen` (a folder only once empty).
    async fn delete_local(&self, path: &str, seen: &Entry) -> Result<(), String>;
    /// Makes folder `path` in the bucket (replacing a file still as `replacing`).
    async fn make_remote_dir(&self, path: &str, replacing: Option<&Entry>)
    -> Result<Entry, String>;
    /// Makes local folder `path` (replacing a file still as `replacing`).
    async fn make_local_dir(&self, path: &str, replacing: Option<&Entry>) -> Result<Entry, String>;
    /// Moves local `from` (still as `seen`) to `to`, which must not exist.
    async fn move_local(&self, from: &str, to: &str, seen: &Entry) -> Result<(), String>;
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Operations planned (the guard counts as none).
    pub planned: usize,
    /// Operations that took effect.
    pub applied: usize,
    /// Operations that failed (journaled with `ERROR`; the next pass tries again).
    pub failed: usize,
    /// Deletes the max-delete guard held back.
    pub held_deletes: usize,
    /// Whether both observations were complete.
    pub complete: bool,
    /// The first failure: its path and why (the journal keeps every one).
    pub first_error: Option<(String, String)>,
}

impl PassReport {
    /// Whether the folder and the bucket agreed: nothing was left to do.
    pub fn settled(&self) -> bool {
        self.planned == 0 && self.held_deletes == 0 && self.complete
    }
}

/// How `drive` may change each side, with `host` naming this machine in conflict copies.
pub fn settings(
    drive: &CloudDrive,
    mode: Mode,
    tracked: usize,
    host: &str,
    now_ms: u64,
) -> Settings {
    let date = crate::time::iso8601(now_ms);
    Settings {
        mode,
        read_only: drive.permission_type == READ,
        allow_delete: drive.allow_delete,
        max_deletes: MIN_DELETE_GUARD.max(tracked / 2),
        host: host.into(),
        date: date.get(..10).unwrap_or(&date).into(),
    }
}

/// The bucket's entries from its objects under the drive's prefix, by relative path (a
/// folder marker's path ends with `/`). Folders without a marker are implied by what they
/// hold.
pub fn remote_observation(
    objects: impl IntoIterator<Item = (String, Entry)>,
    complete: bool,
) -> Observation {
    let mut entries = BTreeMap::new();
    for (rel, entry) in objects {
        let (path, is_dir) = match rel.strip_suffix('/') {
            Some(dir) => (String::from(dir), true),
            None => (rel, false),
        };
        let mut dir = path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            entries.insert(String::from(parent), folder());
            dir = parent;
        }
        if path.is_empty() {
            continue;
        }
        let entry = if is_dir { folder() } else { entry };
        // A file and a folder of the same name: the folder is what a local folder can show.
        if is_dir || !entries.contains_key(&path) {
            entries.insert(path, entry);
        }
    }
    Observation { entries, complete }
}

/// A folder's entry (size, time and ETag say nothing of a folder).
pub fn folder() -> Entry {
    Entry {
        is_dir: true,
        ..Entry::default()
    }
}

/// One pass over `drive`: observe, plan, apply, journal. An `Err` is a journal write that
/// failed: the pass stopped there, as after a crash, and the next one carries on.
pub async fn pass<P: Ports>(
    agent: &Agent<P>,
    drive: &CloudDrive,
    mode: Mode,
    io: &impl SyncIo,
    host: &str,
) -> ApiResult<PassReport> {
    let records = journal::records(agent.ports.store(), &drive.id)?;
    let base = base_of(&records);
    let mut remote = observe_remote(agent, drive, mode, io, &records, &base).await?;
    let mut local = io.scan_local().await;
    hash_candidates(io, &mut remote, &mut local, &base).await;
    let now = agent.ports.clock().now_ms();
    let settings = settings(drive, mode, base.entries.len(), host, now);
    let plan = planner::plan(&remote, &local, &base, &BTreeSet::new(), &settings);
    let mut report = PassReport {
        complete: remote.complete && local.complete,
        ..PassReport::default()
    };
    let pass = Pass {
        agent,
        drive,
        io,
        remote: &remote,
        local: &local,
    };
    let mut ops = plan.ops.as_slice();
    while let Some(op) = ops.first() {
        if let Op::Guard { deletes } = op {
            report.held_deletes += deletes;
            ops = &ops[1..];
            continue;
        }
        // Files copied one way or the other between two changes of the tree (a delete, a
        // folder made, a conflict) go together: their folders exist already.
        let run = ops
            .iter()
            .take_while(|op| op.keeps_the_tree())
            .count()
            .max(1);
        let (now, rest) = ops.split_at(run);
        let outcomes = pass.apply_all(now).await;
        for outcome in outcomes {
            report.planned += 1;
            match outcome? {
                Ok(()) => report.applied += 1,
                Err(failure) => {
                    report.failed += 1;
                    report.first_error.get_or_insert(failure);
                }
            }
        }
        ops = rest;
    }
    Ok(report)
}

/// What the bucket holds: listed, or, for an upload-only pass whose journal is settled (every
/// path's last operation took effect) and whose last listing is recent, what the journal
/// says the bucket held when each path was last in sync: only this agent writes there, and a
/// listing within [`RELIST_MS`] finds what someone else did.
async fn observe_remote<P: Ports>(
    agent: &Agent<P>,
    drive: &CloudDrive,
    mode: Mode,
    io: &impl SyncIo,
    records: &[(String, FileRecord)],
    base: &Base,
) -> ApiResult<Observation> {
    let store = agent.ports.store();
    let now = agent.ports.clock().now_ms();
    let listed: Option<u64> = DRIVE_LISTED.get(store, &drive.id)?;
    let settled = records.iter().all(|(_, r)| r.flags == Flags::NORMAL);
    if mode == Mode::UploadOnly
        && settled
        && listed.is_some_and(|t| now.saturating_sub(t) < RELIST_MS)
    {
        let entries = base
            .entries
            .iter()
            .map(|(p, b)| (p.clone(), b.remote.clone()));
        return Ok(Observation {
            entries: entries.collect(),
            complete: true,
        });
    }
    let remote = io.list_remote().await;
    if remote.complete {
        let mut batch = Batch::new();
        DRIVE_LISTED.put(&mut batch, &drive.id, &now);
        save(store, &batch)?;
    }
    Ok(remote)
}

fn base_of(records: &[(String, FileRecord)]) -> Base {
    let entries = records
        .iter()
        .filter_map(|(rel, r)| Some((rel.clone(), r.base.clone()?)))
        .collect();
    Base { entries }
}

/// Gives local files the hash the planner compares with ETags where it matters: unchanged
/// since the base, the base's hash; beside a bucket file of the same size (equal content is
/// no conflict), a fresh one, and the bucket's ETag if its listing left it out.
async fn hash_candidates(
    io: &impl SyncIo,
    remote: &mut Observation,
    local: &mut Observation,
    base: &Base,
) {
    // A base written from an upload's answer has the object's ETag but not its time: where
    // the listing gives no ETag, only a HEAD says whether the object is still that version.
    for (path, r) in remote.entries.iter_mut() {
        let time_unknown = |b: &BaseEntry| !b.remote.is_dir && b.remote.mtime_ms == 0;
        if !r.is_dir
            && r.etag.is_empty()
            && base.entries.get(path).is_some_and(time_unknown)
            && let Some(etag) = io.remote_etag(path).await
        {
            r.etag = etag;
        }
    }
    for (path, l) in local.entries.iter_mut() {
        if l.is_dir || !l.etag.is_empty() {
            continue;
        }
        // Unchanged since the base (same size, time and inode): the base's hash.
        if let Some(b) = base.entries.get(path)
            && !b.local.is_dir
            && !planner::changed(l, &b.local)
        {
            l.etag = b.local.etag.clone();
            continue;
        }
        let Some(r) = remote.entries.get_mut(path) else {
            continue;
        };
        if r.is_dir || r.size != l.size {
            continue;
        }
        if r.etag.is_empty()
            && let Some(etag) = io.remote_etag(path).await
        {
            r.etag = etag;
        }
        if let Some(etag) = io.local_etag(path, l, &r.etag).await {
            l.etag = etag;
        }
    }
}

/// Applying one plan.
struct Pass<'a, P: Ports, S: SyncIo> {
    agent: &'a Agent<P>,
    drive: &'a CloudDrive,
    io: &'a S,
    remote: &'a Observation,
    local: &'a Observation,
}

/// An operation's outcome: the outer result is the journal's (an `Err` ends the pass), the
/// inner one the host's (the path that failed and why).
type Applied = ApiResult<Result<(), (String, String)>>;

impl<P: Ports, S: SyncIo> Pass<'_, P, S> {
    /// Applies `ops` concurrently, within [`CONCURRENT_TRANSFERS`] (see [`Pass::weight`]);
    /// their outcomes in any order.
    // A plain loop over `FuturesUnordered`: stream combinators with closures over borrowed
    // ops make the future fail a multi-threaded host's Send check (rust-lang/rust#102211).
    async fn apply_all(&self, ops: &[Op]) -> Vec<Applied> {
        let mut ops = ops.iter().peekable();
        let mut running = FuturesUnordered::new();
        let mut outcomes = Vec::new();
        let mut load = 0;
        loop {
            while let Some(op) = ops.peek() {
                let weight = self.weight(op);
                if !running.is_empty() && load + weight > CONCURRENT_TRANSFERS {
                    break;
                }
                load += weight;
                running.push(self.weighed(op, weight));
                ops.next();
            }
            match running.next().await {
                Some((weight, outcome)) => {
                    load -= weight;
                    outcomes.push(outcome);
                }
                None => return outcomes,
            }
        }
    }

    /// What `op` takes of [`CONCURRENT_TRANSFERS`]: 1 for a small file, 4 for a larger one.
    fn weight(&self, op: &Op) -> usize {
        let size = match op {
            Op::Upload { path } => self.local_entry(path).map_or(0, |e| e.size),
            Op::Download { path } => self.remote_entry(path).map_or(0, |e| e.size),
            _ => 0,
        };
        if size <= SMALL_FILE { 1 } else { 4 }
    }

    async fn weighed(&self, op: &Op, weight: usize) -> (usize, Applied) {
        (weight, self.apply(op).await)
    }

    fn remote_entry(&self, path: &str) -> Option<&Entry> {
        self.remote.entries.get(path)
    }

    fn local_entry(&self, path: &str) -> Option<&Entry> {
        self.local.entries.get(path)
    }

    async fn apply(&self, op: &Op) -> Applied {
        match op {
            Op::Upload { path } | Op::MakeRemoteDir { path } => self.up(path).await,
            Op::Download { path } | Op::MakeLocalDir { path } => self.down(path).await,
            Op::DeleteRemote { path } => self.delete(path, true).await,
            Op::DeleteLocal { path } => self.delete(path, false).await,
            Op::Conflict { path, conflict } => self.conflict(path, conflict).await,
            Op::UploadAside { path, conflict } => self.aside(path, conflict).await,
            Op::Adopt {
                path,
                remote,
                local,
            } => self.settle(path, remote.clone(), local.clone()).await,
            Op::ForgetBase { path } => {
                self.agent.drive_journal().remove(self.drive, path)?;
                Ok(Ok(()))
            }
            Op::Guard { .. } => Ok(Ok(())),
        }
    }

    async fn up(&self, path: &str) -> Applied {
        let Some(local) = self.local_entry(path) else {
            return Ok(Ok(()));
        };
        self.send_up(path, local, self.remote_entry(path)).await
    }

    /// Sends `local` up as `path`, replacing `replacing` in the bucket.
    async fn send_up(&self, path: &str, local: &Entry, replacing: Option<&Entry>) -> Applied {
        self.mark(path, Flags::UPLOADING, Some(local.size)).await?;
        let done = if local.is_dir {
            self.io.make_remote_dir(path, replacing).await
        } else {
            self.io.upload(path, local, replacing).await
        };
        match done {
            Ok(remote) => self.copied(path, remote, local.clone()).await,
            Err(why) => self.failed(path, why).await,
        }
    }

    async fn down(&self, path: &str) -> Applied {
        let Some(remote) = self.remote_entry(path) else {
            return Ok(Ok(()));
        };
        self.down_replacing(path, remote, self.local_entry(path))
            .await
    }

    async fn down_replacing(
        &self,
        path: &str,
        remote: &Entry,
        replacing: Option<&Entry>,
    ) -> Applied {
        self.mark(path, Flags::DOWNLOADING, Some(remote.size))
            .await?;
        let done = if remote.is_dir {
            self.io.make_local_dir(path, replacing).await
        } else {
            self.io.download(path, remote, replacing).await
        };
        match done {
            Ok(local) => self.copied(path, remote.clone(), local).await,
            Err(why) => self.failed(path, why).await,
        }
    }

    async fn delete(&self, path: &str, in_bucket: bool) -> Applied {
        let seen = if in_bucket {
            self.remote_entry(path)
        } else {
            self.local_entry(path)
        };
        let Some(seen) = seen else {
            return Ok(Ok(()));
        };
        self.mark(path, Flags::DELETING, None).await?;
        let done = if in_bucket {
            self.io.delete_remote(path, seen).await
        } else {
            self.io.delete_local(path, seen).await
        };
        match done {
            Ok(()) => {
                self.agent.drive_journal().remove(self.drive, path)?;
                Ok(Ok(()))
            }
            Err(why) => self.failed(path, why).await,
        }
    }

    /// Keeps both versions: the local one moves aside to `conflict` and goes up under that
    /// name (a folder's content follows in the next pass), the bucket's comes down.
    async fn conflict(&self, path: &str, conflict: &str) -> Applied {
        let (Some(local), Some(remote)) = (self.local_entry(path), self.remote_entry(path)) else {
            return Ok(Ok(()));
        };
        if let Err(why) = self.io.move_local(path, conflict, local).await {
            return self.failed(path, why).await;
        }
        let up = self.send_up(conflict, local, None).await?;
        let down = self.down_replacing(path, remote, None).await?;
        Ok(up.and(down))
    }

    /// Sends the local file `path` up as `conflict` and records both versions as `path`'s
    /// base (the copy in the bucket is not tracked: nothing ever deletes it).
    async fn aside(&self, path: &str, conflict: &str) -> Applied {
        let (Some(local), Some(remote)) = (self.local_entry(path), self.remote_entry(path)) else {
            return Ok(Ok(()));
        };
        self.mark(path, Flags::UPLOADING, Some(local.size)).await?;
        match self.io.upload_as(path, conflict, local).await {
            Ok(_) => self.settle(path, remote.clone(), local.clone()).await,
            Err(why) => self.failed(path, why).await,
        }
    }

    /// `path` is moving (as `flags` say), `size` bytes when it is a file being copied.
    async fn mark(&self, path: &str, flags: Flags, size: Option<u64>) -> ApiResult<FileRecord> {
        let journal = self.agent.drive_journal();
        let marked = journal.update_soon(self.drive, path, |r| {
            r.flags = flags;
            r.size = size.unwrap_or(r.size);
        });
        marked.await
    }

    /// `path` was copied from one side to the other: both now hold the content the bucket
    /// knows by `remote`'s ETag, which the local entry takes for its hash.
    async fn copied(&self, path: &str, remote: Entry, mut local: Entry) -> Applied {
        local.etag = remote.etag.clone();
        self.settle(path, remote, local).await
    }

    /// Both sides hold `remote` / `local` at `path`: that is its new base.
    async fn settle(&self, path: &str, remote: Entry, local: Entry) -> Applied {
        let journal = self.agent.drive_journal();
        let settled = journal.update_soon(self.drive, path, |r| {
            r.flags = Flags::NORMAL;
            r.size = remote.size;
            r.etag = remote.etag.clone();
            r.mtime_ms = local.mtime_ms;
            r.is_dir = remote.is_dir;
            r.error.clear();
            r.base = Some(BaseEntry { remote, local });
        });
        settled.await?;
        Ok(Ok(()))
    }

    async fn failed(&self, path: &str, why: String) -> Applied {
        let journal = self.agent.drive_journal();
        let failed = journal.update_soon(self.drive, path, |r| {
            r.flags = Flags::ERROR;
            r.error = why.clone();
        });
        failed.await?;
        Ok(Err((path.into(), why)))
    }
}

#[cfg(test)]
mod tests;
