//! One transfer from start to end: plan the files (or reload the plan), move them with
//! bounded parallelism, report progress, record the outcome.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use click_core::cloud::account::CloudAccount;
use click_core::events::Channel;
use click_core::ports::{Clock, StorageError};
use click_core::store::Batch;
use click_core::store::keys::CLOUD_ACCOUNTS;
use click_core::store::table::save;
use click_core::transfers::{self, Direction, ObjectCounts, Status, Transfer, settings};
use futures_util::stream::{self, StreamExt};
use prometheus_client::metrics::counter::Counter;
use tokio::task::JoinHandle;

use super::Shared;
use super::copy::Source;
use super::files::{self, FileState};
use super::limits::{Kind, Limiter};
use crate::cloud::Provider;
use crate::local_files::inside_roots;
use crate::metrics::{TransferLabels, metrics};
use crate::ports::SystemClock;

/// Files up to this size go in one request each, this many at once: their cost is the round
/// trip, not the bytes. Larger files go `concurrent_files` at a time, each in parts.
const SMALL_FILE: u64 = 1 << 20;
const SMALL_FILES_AT_ONCE: usize = 32;

fn now_ms() -> u64 {
    SystemClock.now_ms()
}

/// Bytes moved so far by one transfer, shared by its file tasks and its progress reporter.
pub(crate) struct Progress {
    pub done: AtomicU64,
    /// The process's count of bytes moved in this transfer's direction, to its provider.
    moved: Counter,
}

impl Progress {
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.moved.inc_by(n);
    }

    /// Bytes an earlier run of the transfer moved (counted then).
    fn resumed(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
}

/// The process's counts of a transfer's files, by direction and provider (`metrics.rs`).
pub(crate) struct FileCounts {
    pub finished: Counter,
    pub failed: Counter,
}

/// The metric labels of a transfer: its direction, and the provider it writes to (a
/// cloud-to-cloud copy) or reads from.
fn transfer_labels(direction: Direction, remote: &Provider) -> TransferLabels {
    let direction = match direction {
        Direction::Upload => "upload",
        Direction::Download => "download",
        Direction::Copy => "copy",
    };
    TransferLabels {
        direction: direction.to_string(),
        provider: remote.name().to_string(),
    }
}

pub(crate) struct Job<'a> {
    pub shared: &'a Shared,
    pub id: String,
    pub remote: Provider,
    pub bucket: String,
    pub options: click_core::config::TransferOptions,
    pub progress: Progress,
    /// Checkpoints not yet written, by file index.
    pub dirty: std::sync::Mutex<std::collections::HashMap<usize, FileState>>,
    /// Partial downloads written since the last checkpoint: synced before it, so that a
    /// recorded range is on disk even if the machine (not just the agent) goes down.
    pub unsynced: std::sync::Mutex<Vec<Arc<std::fs::File>>>,
    /// A cloud-to-cloud transfer's source (`remote` and `bucket` are its destination).
    pub source: Option<Source>,
    /// Files (objects) finished, and failed after their retries.
    pub objects_done: AtomicU64,
    pub objects_failed: AtomicU64,
    pub counts: FileCounts,
    /// The bandwidth caps its bytes count against.
    pub caps: Vec<Cap>,
    /// Whose transfer it is: `(account, user)`.
    pub owner: (String, String),
    /// Whether each file's bytes are checked against the ETags (FastrSettings'
    /// `VerifyChecksum` for the account written to, or read from for a download).
    pub verify: bool,
}

/// A cap of the FastrSettings of the job's user for one cloud account.
pub(crate) struct Cap {
    cloud_account_id: String,
    kind: Kind,
    limiter: Arc<Limiter>,
}

impl Job<'_> {
    pub fn attempts(&self) -> u32 {
        self.options.retry_count + 1
    }

    pub fn store(&self) -> &crate::store::AgentStore {
        &self.shared.app.agent.ports.store
    }

    /// Waits until the caps allow `bytes` more.
    pub async fn throttle(&self, bytes: u64) {
        for cap in &self.caps {
            cap.limiter.take(bytes).await;
        }
    }

    /// Reads the caps again from the user's FastrSettings (a record changed or removed
    /// meanwhile holds from now on).
    fn refresh_caps(&self) {
        let (account, user) = (&self.owner.0, &self.owner.1);
        for cap in &self.caps {
            let settings = settings::effective(self.store(), account, user, &cap.cloud_account_id);
            let rate = settings.ok().flatten().map_or(0, |s| cap.kind.cap(&s));
            cap.limiter.set_rate(rate);
        }
    }
}

/// The caps a transfer's bytes count against: its cloud account's for its direction; both
/// accounts' server-to-server caps for a cloud-to-cloud transfer.
fn caps_of(shared: &Shared, t: &Transfer) -> Vec<Cap> {
    let cap = |cloud_account_id: &str, kind| Cap {
        cloud_account_id: cloud_account_id.to_string(),
        kind,
        limiter: shared.limits.of(&t.user_id, cloud_account_id, kind),
    };
    match (t.direction, &t.source) {
        (Direction::Upload, _) => vec![cap(&t.cloud_account_id, Kind::Upload)],
        (Direction::Download, _) => vec![cap(&t.cloud_account_id, Kind::Download)],
        (Direction::Copy, source) => {
            let mut caps = vec![cap(&t.cloud_account_id, Kind::ServerToServer)];
            if let Some(s) = source
                .as_ref()
                .filter(|s| s.cloud_account_id != t.cloud_account_id)
            {
                caps.push(cap(&s.cloud_account_id, Kind::ServerToServer));
            }
            caps
        }
    }
}

pub(crate) fn storage(e: StorageError) -> String {
    match e {
        StorageError::Unsupported => {
            "the cloud account's provider is not supported for transfers".into()
        }
        StorageError::Denied(r) => format!("the provider refused: {r}"),
        StorageError::NotFound(r) => format!("not found: {r}"),
        StorageError::Invalid(r) | StorageError::Failed(r) => r,
    }
}

pub(crate) type JobResult<T> = Result<T, String>;

pub(crate) fn from_storage<T>(r: Result<T, StorageError>) -> JobResult<T> {
    r.map_err(storage)
}

fn raise(shared: &Shared, t: &Transfer, bytes: u64, speed: u64) {
    let frame = transfers::progress_frame(t, bytes, speed, now_ms());
    shared.app.agent.raise(Channel::Notification, frame);
}

/// Runs the transfer `id` until it completes, fails, or its task is aborted (pause, cancel,
/// shutdown: the record then still says where it was).
pub(crate) async fn run(shared: &Shared, id: &str) {
    let store = &shared.app.agent.ports.store;
    let started = transfers::update(store, id, |t| {
        let go = t.status.is_active();
        if go {
            t.set_status(Status::Running, now_ms());
        }
        Ok(go)
    });
    let Ok(Some(t)) = started else {
        return;
    };
    tracing::debug!(transfer = %id, "transfer started");
    let outcome = match t.peer {
        Some(_) => super::peer::run(shared, &t).await,
        None => drive(shared, &t).await,
    };
    let now = now_ms();
    let finished = transfers::update(store, id, |row| {
        if row.status != Status::Running {
            return Ok(false);
        }
        match &outcome {
            Ok(total) => {
                row.transferred_bytes = *total;
                row.total_bytes = *total;
                row.set_status(Status::Completed, now);
            }
            Err(e) => {
                row.error = Some(e.clone());
                row.set_status(Status::Failed, now);
            }
        }
        Ok(true)
    });
    match finished {
        Ok(Some(row)) => {
            if let Err(e) = &outcome {
                tracing::warn!(transfer = %id, "transfer failed: {e}");
            }
            raise(shared, &row, row.transferred_bytes, 0);
            files::forget(store, id);
            unstage(&row);
        }
        // Cancelled while the last bytes moved: what arrived is undone in `after_stop`.
        _ => tracing::debug!(transfer = %id, "transfer ended after a pause or cancel"),
    }
}

/// Plans (or reloads) the files and moves them; the total size on success.
async fn drive(shared: &Shared, t: &Transfer) -> JobResult<u64> {
    let store = &shared.app.agent.ports.store;
    let servers = t.servers.as_ref();
    let remote = provider_of(shared, &t.cloud_account_id, servers.map(|s| &*s.target_url))?;
    let source = match &t.source {
        Some(end) => {
            let at = servers.map(|s| &*s.source_url);
            let provider = provider_of(shared, &end.cloud_account_id, at)?;
            Some(Source {
                on_server: provider.copies_within(&remote),
                provider,
                bucket: end.bucket.clone(),
            })
        }
        None => None,
    };
    let (m, labels) = (metrics(), transfer_labels(t.direction, &remote));
    let job = Job {
        shared,
        id: t.id.clone(),
        remote,
        bucket: t.bucket.clone(),
        options: t.options,
        progress: Progress {
            done: AtomicU64::new(0),
            moved: m.transfer_bytes.get_or_create(&labels).clone(),
        },
        dirty: Default::default(),
        unsynced: Default::default(),
        source,
        objects_done: AtomicU64::new(0),
        objects_failed: AtomicU64::new(0),
        counts: FileCounts {
            finished: m.transfer_objects.get_or_create(&labels).clone(),
            failed: m.transfer_errors.get_or_create(&labels).clone(),
        },
        caps: caps_of(shared, t),
        owner: (t.account_id.clone(), t.user_id.clone()),
        verify: settings_of(shared, t).is_some_and(|s| s.verify_checksum),
    };
    job.refresh_caps();
    let (plan, counts) = match files::load(store, &t.id) {
        Some(plan) => (plan, t.objects),
        None => {
            let (mut plan, mut counts) = make_plan(&job, t).await?;
            let action = settings_of(shared, t)
                .map(|s| s.file_exists_action)
                .unwrap_or_default();
            super::exists::apply(&job, t.direction, action, &mut plan, &mut counts).await?;
            files::save_all(store, &t.id, &plan)
                .map_err(|_| "cannot record the transfer's plan")?;
            (plan, counts)
        }
    };
    let total: u64 = plan.iter().map(|f| f.size).sum();
    job.progress
        .resumed(plan.iter().map(FileState::bytes_done).sum());
    let done = plan.iter().filter(|f| f.done).count() as u64;
    job.objects_done.store(done, Ordering::Relaxed);
    let _ = transfers::update(store, &t.id, |row| {
        row.total_bytes = total;
        row.is_folder = row.is_folder || plan.len() != 1 || t.is_folder;
        row.objects = ObjectCounts {
            total: counts.total.max(plan.len() as u64),
            ..counts
        };
        Ok(row.status == Status::Running)
    });
    let files = plan.len();
    let first_failure = std::sync::Mutex::new(None);
    let (small, large): (Vec<FileState>, Vec<FileState>) = plan
        .into_iter()
        .filter(|f| !f.done)
        .partition(|f| f.size <= SMALL_FILE);
    let move_all = |files: Vec<FileState>, at_once: usize| {
        stream::iter(files)
            .map(|f| files::move_file(&job, t.direction, f))
            .buffer_unordered(at_once.max(1))
            .for_each(|moved| {
                // One file failing (after its retries) does not stop the others.
                if let Err(why) = moved {
                    job.objects_failed.fetch_add(1, Ordering::Relaxed);
                    job.counts.failed.inc();
                    let mut first = first_failure.lock().expect("failures");
                    first.get_or_insert(why);
                }
                async {}
            })
    };
    let work = futures_util::future::join(
        move_all(small, SMALL_FILES_AT_ONCE),
        move_all(large, t.options.concurrent_files as usize),
    );
    tokio::select! {
        _ = work => {},
        never = report(&job, total) => match never {},
    };
    files::flush(&job)?;
    let failed = job.objects_failed.load(Ordering::Relaxed);
    let _ = transfers::update(store, &t.id, |row| {
        row.objects.transferred = job.objects_done.load(Ordering::Relaxed);
        row.objects.failed = failed;
        Ok(row.status == Status::Running)
    });
    match first_failure.into_inner().expect("failures") {
        None => Ok(total),
        Some(why) if files == 1 => Err(why),
        Some(why) => Err(format!(
            "{failed} of {files} files failed; the first: {why}"
        )),
    }
}

/// The FastrSettings the transfer follows: its user's for the cloud account it writes to
/// (reads from, for a download), when active.
fn settings_of(shared: &Shared, t: &Transfer) -> Option<settings::FastrSettings> {
    let store = &shared.app.agent.ports.store;
    settings::effective(store, &t.account_id, &t.user_id, &t.cloud_account_id)
        .ok()
        .flatten()
}

/// The provider of stored cloud account `id`; at `endpoint` when a server transfer names
/// one, where no account means unsigned requests.
pub(crate) fn provider_of(
    shared: &Shared,
    id: &str,
    endpoint: Option<&str>,
) -> JobResult<Provider> {
    let store = &shared.app.agent.ports.store;
    let mut target = if id.is_empty() && endpoint.is_some() {
        click_core::ports::CloudTarget {
            cloud_type: click_core::cloud::cloud_type::FASTR_SERVER,
            ..Default::default()
        }
    } else {
        let account: CloudAccount = CLOUD_ACCOUNTS
            .get(store, id)
            .ok()
            .flatten()
            .ok_or("the cloud account was deleted")?;
        account
            .target(&shared.app.agent.ports.secrets)
            .map_err(|_| "the cloud account's secret cannot be decrypted")?
    };
    if let Some(url) = endpoint {
        target.endpoint = url.to_string();
        target.cache_key = format!("{}@{url}", target.cache_key);
    }
    from_storage(shared.app.agent.ports.cloud.provider(&target))
}

/// Records progress and sends `Progress` frames at the configured interval, forever.
async fn report(job: &Job<'_>, total: u64) -> std::convert::Infallible {
    let interval = Duration::from_millis(job.shared.settings.progress_interval_ms.max(50));
    let mut last = (Instant::now(), job.progress.done.load(Ordering::Relaxed));
    loop {
        tokio::time::sleep(interval).await;
        let done = job.progress.done.load(Ordering::Relaxed).min(total);
        let elapsed = last.0.elapsed().as_secs_f64().max(0.001);
        let speed = (done.saturating_sub(last.1) as f64 / elapsed) as u64;
        last = (Instant::now(), done);
        if let Err(e) = files::flush(job) {
            tracing::warn!(transfer = %job.id, "{e}");
        }
        job.refresh_caps();
        let updated = transfers::update(job.store(), &job.id, |row| {
            row.transferred_bytes = done;
            row.objects.transferred = job.objects_done.load(Ordering::Relaxed);
            row.objects.failed = job.objects_failed.load(Ordering::Relaxed);
            Ok(row.status == Status::Running)
        });
        if let Ok(Some(row)) = updated {
            raise(job.shared, &row, done, speed);
        }
    }
}

/// The files of a transfer with their sizes (local ones checked against the allowed roots),
/// and its object counts.
async fn make_plan(job: &Job<'_>, t: &Transfer) -> JobResult<(Vec<FileState>, ObjectCounts)> {
    let files = match (t.direction, &job.source) {
        (Direction::Copy, Some(source)) => {
            let plan = super::copy::plan(job, t, source).await?;
            return Ok((plan.files, plan.counts));
        }
        (Direction::Copy, None) => return Err("the transfer has no source".into()),
        _ => local_plan(job, t).await?,
    };
    let counts = ObjectCounts {
        total: files.len() as u64,
        ..ObjectCounts::default()
    };
    Ok((files, counts))
}

/// An upload's or a download's files.
async fn local_plan(job: &Job<'_>, t: &Transfer) -> JobResult<Vec<FileState>> {
    match t.direction {
        Direction::Upload => {
            let (roots, local, remote) =
                (job.shared.roots.clone(), t.local.clone(), t.remote.clone());
            tokio::task::spawn_blocking(move || plan_upload(&roots, Path::new(&local), &remote))
                .await
                .map_err(|e| e.to_string())?
        }
        Direction::Download => {
            let base = inside_roots(&job.shared.roots, Path::new(&t.local), true)?;
            let objects = if t.is_folder {
                from_storage(job.remote.list_all(&t.bucket, &t.remote).await)?
            } else {
                vec![from_storage(
                    job.remote.stat(&t.bucket, &t.remote, job.attempts()).await,
                )?]
            };
            let mut plan = Vec::new();
            for object in objects {
                let local = if t.is_folder {
                    if object.key.ends_with('/') {
                        continue;
                    }
                    base.join(safe_relative(&object.key[t.remote.len()..])?)
                } else {
                    base.clone()
                };
                let mut file = FileState::new(plan.len(), local, object.key, object.size);
                file.etag = object.etag;
                plan.push(file);
            }
            Ok(plan)
        }
        Direction::Copy => Err("a cloud-to-cloud transfer has no local files".into()),
    }
}

fn plan_upload(roots: &[PathBuf], local: &Path, remote: &str) -> JobResult<Vec<FileState>> {
    let local = inside_roots(roots, local, false)?;
    let meta = std::fs::metadata(&local).map_err(|e| format!("{}: {e}", local.display()))?;
    if meta.is_file() {
        return Ok(vec![FileState::new(
            0,
            local,
            remote.to_string(),
            meta.len(),
        )]);
    }
    let mut plan = Vec::new();
    let mut stack = vec![local.clone()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let rel = path.strip_prefix(&local).map_err(|e| e.to_string())?;
                let rel: Vec<String> = rel
                    .iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect();
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                let key = format!("{remote}/{}", rel.join("/"));
                plan.push(FileState::new(plan.len(), path, key, size));
            }
        }
    }
    Ok(plan)
}

/// An object key below a downloaded folder as a relative local path; keys that would climb
/// out of the folder are refused.
fn safe_relative(key: &str) -> JobResult<PathBuf> {
    let mut out = PathBuf::new();
    for part in key.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." || part.contains('\\') || part.contains('\0') {
            return Err(format!(
                "the object key '{key}' cannot be a local file name"
            ));
        }
        out.push(part);
    }
    Ok(out)
}

/// After a pause or cancel: waits for the job to stop, then undoes a cancelled transfer's
/// partial work (pending multipart uploads, partial downloads) and tells the clients.
pub(crate) async fn after_stop(shared: Arc<Shared>, id: String, running: Option<JoinHandle<()>>) {
    if let Some(handle) = running {
        handle.abort();
        let _ = handle.await;
    }
    let store = &shared.app.agent.ports.store;
    let Ok(Some(t)) = transfers::get(store, &id) else {
        return;
    };
    if t.status == Status::Cancelled {
        super::peer::undo(&shared, &t).await;
        files::undo(&shared, &t).await;
        unstage(&t);
    }
    raise(&shared, &t, t.transferred_bytes, 0);
}

/// Deletes the staged copy of a form upload once its transfer has ended.
fn unstage(t: &Transfer) {
    if !t.staged {
        return;
    }
    let file = Path::new(&t.local);
    let _ = std::fs::remove_file(file);
    if let Some(dir) = file.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Removes a transfer's checkpoint rows in one batch (best effort).
pub(crate) fn save_batch(store: &crate::store::AgentStore, batch: &Batch) -> JobResult<()> {
    save(store, batch).map_err(|_| "cannot record the transfer's progress".to_string())
}
