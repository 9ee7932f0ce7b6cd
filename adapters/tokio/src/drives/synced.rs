//! A LocalPath drive (`driveType` 2): a plain folder kept in two-way sync with the bucket.
//! What to do is the core's pass (`click_core::drives::sync`); this file is its eyes and
//! hands on the desktop: it lists the bucket, scans the folder, moves bytes, and runs a pass
//! at start, after local changes (a `notify` watcher, debounced), every
//! `syncIntervalSeconds` (the bucket's changes and a full scan), and on `clouddrive/sync`.
//!
//! Every operation refuses to act on what changed since it was observed: an upload is
//! published only if the file did not change while it was read; a download is written to a
//! temporary file beside its target and renamed over it only if the local file is still as
//! scanned; bucket objects are checked against their listing before they are replaced or
//! deleted (a HEAD where nothing was listed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use click_core::drives::drive::CloudDrive;
use click_core::drives::paths;
use click_core::drives::planner::{self, Entry, Mode, Observation};
use click_core::drives::sealed::DriveKey;
use click_core::drives::sync::{self, SyncIo, folder, remote_observation};
use click_core::ports::{RngExt, StorageError, hex};
use md5::{Digest, Md5};
use notify::Watcher;
use tokio::io::AsyncWriteExt;

use super::cachefile::Local;
use super::intents::{ProgressFile, left_uploads};
use super::remote::{ATTEMPTS, Bucket, Checks, Parts, message};
use crate::cloud::{Precondition, Provider, etag};
use crate::ports::OsRng;
use crate::server::App;

/// Names of downloads in progress; never synced, removed by the next scan if a crash left
/// one behind.
const PART_PREFIX: &str = ".click-part-";

/// Passes in a row while each still finds work (a conflict, or edits during a pass).
const MAX_PASSES: usize = 4;

/// Downloads are fetched this much at a time.
const WINDOW: u64 = 8 << 20;

/// Local changes are gathered this long before a pass looks at them.
const DEBOUNCE: Duration = Duration::from_millis(500);

/// The folder and the bucket of one LocalPath drive.
pub struct FolderIo {
    /// The bucket's objects, plaintext through it (sealed ones are opened).
    objects: Bucket,
    prefix: String,
    root: PathBuf,
    parts: Parts,
    /// Progress of the multipart uploads under way (in the drive's cache folder), so that the
    /// next start aborts what a killed pass left (the files may have changed since: a pass
    /// sends them again rather than resume).
    uploads: PathBuf,
}

fn entry_of(meta: &std::fs::Metadata) -> Entry {
    if meta.is_dir() {
        return folder();
    }
    let mtime_ms = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64);
    Entry {
        size: meta.len(),
        mtime_ms,
        etag: String::new(),
        is_dir: false,
        inode: std::os::unix::fs::MetadataExt::ino(meta),
    }
}

/// Whether `now` is what was seen (`None`: nothing there).
fn same(now: Option<&Entry>, seen: Option<&Entry>) -> bool {
    match (now, seen) {
        (None, None) => true,
        (Some(a), Some(b)) => a.is_dir == b.is_dir && (a.is_dir || !planner::changed(a, b)),
        _ => false,
    }
}

fn io_message(e: std::io::Error) -> String {
    e.to_string()
}

impl FolderIo {
    /// An object's entry, listed or from a HEAD (its time is the bucket's, only compared with
    /// the bucket's). The time is kept to the second: a HEAD's `Last-Modified` has no more,
    /// and a listing's must compare equal to it.
    fn remote_entry(&self, o: crate::cloud::Stored) -> Entry {
        Entry {
            size: self.objects.plain_size(o.size),
            mtime_ms: o.modified_ms.unwrap_or(0) / 1000 * 1000,
            etag: o.etag.unwrap_or_default(),
            is_dir: false,
            inode: 0,
        }
    }

    fn abs(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn key(&self, rel: &str) -> Result<String, String> {
        paths::key_of(&self.prefix, rel).ok_or_else(|| format!("{rel}: no object key for it"))
    }

    fn folder_key(&self, rel: &str) -> Result<String, String> {
        paths::folder_key_of(&self.prefix, rel)
            .ok_or_else(|| format!("{rel}: no object key for it"))
    }

    /// The local entry at `rel` now (`None`: nothing; a symlink counts as nothing synced).
    fn local_now(&self, rel: &str) -> Result<Option<Entry>, String> {
        match std::fs::symlink_metadata(self.abs(rel)) {
            Ok(m) if m.file_type().is_symlink() => Err(format!("{rel} is a link")),
            Ok(m) => Ok(Some(entry_of(&m))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn local_still(&self, rel: &str, seen: Option<&Entry>) -> Result<(), String> {
        if same(self.local_now(rel)?.as_ref(), seen) {
            Ok(())
        } else {
            Err(format!("{rel} changed locally since it was scanned"))
        }
    }

    /// The bucket's entry for file `key` now (`None`: no such object). A HEAD, not a listing:
    /// some servers (s3s-fs) list a prefix by walking the whole bucket.
    async fn remote_now(&self, key: &str) -> Result<Option<Entry>, String> {
        match (self.objects.provider)
            .stat(&self.objects.name, key, ATTEMPTS)
            .await
        {
            Ok(o) => Ok(Some(self.remote_entry(o))),
            Err(StorageError::NotFound(_)) => Ok(None),
            Err(e) => Err(message(e)),
        }
    }

    /// Fails unless the file object at `rel` is still as `seen` (folders are not checked:
    /// a folder has no version to compare).
    async fn remote_still(&self, rel: &str, seen: Option<&Entry>) -> Result<(), String> {
        if seen.is_some_and(|s| s.is_dir) {
            return Ok(());
        }
        let now = self.remote_now(&self.key(rel)?).await?;
        let unchanged = match (&now, seen) {
            (None, None) => true,
            (Some(a), Some(b)) => !planner::changed(a, b),
            _ => false,
        };
        if unchanged {
            Ok(())
        } else {
            Err(format!("{rel} changed in the bucket since it was listed"))
        }
    }

    /// Removes what the bucket holds at `rel` as `seen` (a file, or a folder's marker).
    async fn remove_remote(&self, rel: &str, seen: &Entry) -> Result<(), String> {
        let key = if seen.is_dir {
            self.folder_key(rel)?
        } else {
            self.key(rel)?
        };
        match self
            .objects
            .provider
            .delete_one(&self.objects.name, &key)
            .await
        {
            Ok(()) | Err(StorageError::NotFound(_)) => Ok(()),
            Err(e) => Err(message(e)),
        }
    }

    /// Removes what the folder holds at `rel` (a folder only once empty).
    fn remove_local(&self, rel: &str, seen: &Entry) -> Result<(), String> {
        let path = self.abs(rel);
        let done = if seen.is_dir {
            std::fs::remove_dir(path)
        } else {
            std::fs::remove_file(path)
        };
        done.map_err(|e| format!("{rel}: {e}"))
    }

    /// Writes object `key` (as `remote`: that version, in plaintext) to `to`.
    async fn fetch_to(&self, key: &str, remote: &Entry, to: &Path) -> Result<(), String> {
        let mut file = tokio::fs::File::create(to).await.map_err(io_message)?;
        let etag = Some(remote.etag.as_str()).filter(|e| !e.is_empty());
        let mut done = 0;
        while done < remote.size {
            let end = (done + WINDOW).min(remote.size);
            let bytes = self
                .objects
                .fetch(key, done, end, remote.size, etag)
                .await?;
            file.write_all(&bytes).await.map_err(io_message)?;
            done = end;
        }
        file.sync_all().await.map_err(io_message)
    }

    /// Replaces local `rel` (still as `replacing`) with the finished download `part`.
    fn put_in_place(
        &self,
        rel: &str,
        part: &Path,
        replacing: Option<&Entry>,
    ) -> Result<(), String> {
        self.local_still(rel, replacing)?;
        if let Some(old) = replacing.filter(|e| e.is_dir) {
            self.remove_local(rel, old)?;
        }
        std::fs::rename(part, self.abs(rel)).map_err(|e| format!("{rel}: {e}"))
    }

    fn scan(&self) -> Observation {
        let mut entries = BTreeMap::new();
        let complete = scan_dir(&self.root, "", &self.prefix, &mut entries);
        Observation { entries, complete }
    }

    /// Sends local file `path` (still as `local`) to the bucket as `to`, replacing `remote`
    /// (what was observed there). The bucket's entry afterwards.
    async fn put(
        &self,
        path: &str,
        to: &str,
        local: &Entry,
        remote: Option<&Entry>,
    ) -> Result<Entry, String> {
        let key = self.key(to)?;
        self.local_still(path, Some(local))?;
        if let Some(dir) = remote.filter(|r| r.is_dir) {
            self.remove_remote(to, dir).await?;
        }
        // The write itself checks that the bucket holds what was observed, where it can say
        // which version that was; a HEAD checks it first where it cannot.
        let replacing = match remote.filter(|r| !r.is_dir) {
            None => Precondition::Absent,
            Some(r) if !r.etag.is_empty() => Precondition::Matches(&r.etag),
            Some(r) => {
                self.remote_still(to, Some(r)).await?;
                Precondition::Any
            }
        };
        let unchanged = || self.local_still(path, Some(local));
        let checks = Checks {
            unchanged: &unchanged,
            replacing,
        };
        let file = Local::plain(&self.abs(path));
        let named = hex(&Md5::digest(key.as_bytes()));
        let log = ProgressFile::new(self.uploads.join(format!("{named}.json")), false);
        let etag = (self.objects)
            .upload(&key, &file, local.size, self.parts, checks, Some(&log))
            .await?;
        match etag {
            // The answer gives no time: the next listing's is taken as the same version when
            // size and ETag agree (`planner::changed`).
            Some(etag) => Ok(Entry {
                size: local.size,
                mtime_ms: 0,
                etag,
                is_dir: false,
                inode: 0,
            }),
            None => (self.remote_now(&key).await?)
                .ok_or_else(|| format!("{to} is not in the bucket after its upload")),
        }
    }

    /// The ETag local file `rel` (of `size` bytes) would have in the form of `like`, the
    /// first candidate when none is `like`; `None` when no content hash makes that form.
    fn etag_like(&self, rel: &str, size: u64, like: &str) -> std::io::Result<Option<String>> {
        let file = std::fs::File::open(self.abs(rel))?;
        let etags = etag::content_etags(file, size, like, self.parts.size)?;
        let matching = etags.iter().position(|e| e == like).unwrap_or(0);
        Ok(etags.into_iter().nth(matching))
    }
}

/// Adds what folder `dir` (relative `rel`) holds to `out`; whether everything was read.
/// Links and names no key can hold are not synced; leftover downloads are removed.
fn scan_dir(dir: &Path, rel: &str, prefix: &str, out: &mut BTreeMap<String, Entry>) -> bool {
    let Ok(read) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut complete = true;
    for item in read {
        let Ok(item) = item else {
            complete = false;
            continue;
        };
        let name = item.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name.starts_with(PART_PREFIX) {
            let _ = std::fs::remove_file(item.path());
            continue;
        }
        let child = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(meta) = item.path().symlink_metadata() else {
            complete = false;
            continue;
        };
        if meta.file_type().is_symlink() || paths::key_of(prefix, &child).is_none() {
            continue;
        }
        if meta.is_dir() {
            complete &= scan_dir(&item.path(), &child, prefix, out);
        }
        out.insert(child, entry_of(&meta));
    }
    complete
}

/// Runs blocking file work off the runtime's threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
}

/// The folder's operations, shared with blocking tasks.
#[derive(Clone)]
pub struct Io(Arc<FolderIo>);

impl std::ops::Deref for Io {
    type Target = FolderIo;
    fn deref(&self) -> &FolderIo {
        &self.0
    }
}

impl SyncIo for Io {
    async fn list_remote(&self) -> Observation {
        match self
            .objects
            .provider
            .list_all(&self.objects.name, &self.prefix)
            .await
        {
            Ok(objects) => {
                let mapped = objects.into_iter().filter_map(|o| {
                    let rel = paths::local_of(&self.prefix, &o.key)?;
                    let rel = if o.key.ends_with('/') {
                        format!("{rel}/")
                    } else {
                        rel
                    };
                    Some((rel, self.remote_entry(o)))
                });
                remote_observation(mapped, true)
            }
            Err(e) => {
                tracing::warn!(bucket = %self.objects.name, "listing failed, nothing is deleted this pass: {}", message(e));
                Observation::default()
            }
        }
    }

    async fn scan_local(&self) -> Observation {
        let io = self.clone();
        blocking(move || Ok(io.scan())).await.unwrap_or_default()
    }

    async fn local_etag(&self, path: &str, seen: &Entry, like: &str) -> Option<String> {
        if self.objects.sealed() {
            return None;
        }
        let (io, rel, seen, like) = (
            self.clone(),
            path.to_string(),
            seen.clone(),
            like.to_string(),
        );
        blocking(move || {
            let etag = io.etag_like(&rel, seen.size, &like).map_err(io_message)?;
            io.local_still(&rel, Some(&seen))?;
            Ok(etag)
        })
        .await
        .ok()
        .flatten()
    }

    async fn remote_etag(&self, path: &str) -> Option<String> {
        if self.objects.sealed() {
            return None;
        }
        let key = self.key(path).ok()?;
        self.objects
            .provider
            .stat(&self.objects.name, &key, ATTEMPTS)
            .await
            .ok()?
            .etag
    }

    async fn upload(
        &self,
        path: &str,
        local: &Entry,
        remote: Option<&Entry>,
    ) -> Result<Entry, String> {
        self.put(path, path, local, remote).await
    }

    async fn upload_as(&self, path: &str, to: &str, local: &Entry) -> Result<Entry, String> {
        self.put(path, to, local, None).await
    }

    async fn download(
        &self,
        path: &str,
        remote: &Entry,
        local: Option<&Entry>,
    ) -> Result<Entry, String> {
        let key = self.key(path)?;
        let target = self.abs(path);
        let name = format!("{PART_PREFIX}{}", hex(&OsRng.bytes::<8>()));
        let part = target.with_file_name(name);
        if let Err(e) = self.fetch_to(&key, remote, &part).await {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(format!("{path}: {e}"));
        }
        let (io, rel, replacing) = (self.clone(), path.to_string(), local.cloned());
        let placed = blocking(move || {
            io.put_in_place(&rel, &part, replacing.as_ref())
                .inspect_err(|_| drop(std::fs::remove_file(&part)))?;
            io.local_now(&rel)?.ok_or_else(|| format!("{rel} vanished"))
        });
        placed.await
    }

    async fn delete_remote(&self, path: &str, seen: &Entry) -> Result<(), String> {
        self.remote_still(path, Some(seen)).await?;
        self.remove_remote(path, seen).await
    }

    async fn delete_local(&self, path: &str, seen: &Entry) -> Result<(), String> {
        self.local_still(path, Some(seen))?;
        self.remove_local(path, seen)
    }

    async fn make_remote_dir(
        &self,
        path: &str,
        replacing: Option<&Entry>,
    ) -> Result<Entry, String> {
        if let Some(file) = replacing.filter(|r| !r.is_dir) {
            self.remote_still(path, Some(file)).await?;
            self.remove_remote(path, file).await?;
        }
        let key = self.folder_key(path)?;
        self.objects
            .provider
            .put_empty(&self.objects.name, &key)
            .await
            .map_err(message)?;
        Ok(folder())
    }

    async fn make_local_dir(&self, path: &str, replacing: Option<&Entry>) -> Result<Entry, String> {
        self.local_still(path, replacing)?;
        if let Some(file) = replacing.filter(|r| !r.is_dir) {
            self.remove_local(path, file)?;
        }
        match std::fs::create_dir(self.abs(path)) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(format!("{path}: {e}")),
            _ => Ok(folder()),
        }
    }

    async fn move_local(&self, from: &str, to: &str, seen: &Entry) -> Result<(), String> {
        self.local_still(from, Some(seen))?;
        self.local_still(to, None)?;
        std::fs::rename(self.abs(from), self.abs(to)).map_err(|e| format!("{from}: {e}"))
    }
}

/// This machine's name, for conflict copies.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "agent".into())
}

/// A running LocalPath drive: its sync loop and the watcher that wakes it.
pub struct Folder {
    task: tokio::task::JoinHandle<()>,
    wake: Arc<tokio::sync::Notify>,
    _watcher: Option<notify::RecommendedWatcher>,
}

impl Folder {
    /// Runs a pass now.
    pub fn sync(&self) {
        self.wake.notify_one();
    }

    /// Stops syncing (a pass cut short is finished by the next start).
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Starts syncing `drive`'s folder with its bucket through `provider`.
pub fn start(
    app: &Arc<App>,
    drive: &CloudDrive,
    mode: Mode,
    provider: Provider,
    objects_key: Option<DriveKey>,
) -> Result<Folder, String> {
    let root = PathBuf::from(&drive.local_path);
    let uploads = Path::new(&drive.permanent_local_path).join("uploads");
    for dir in [&root, &uploads] {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    }
    let io = Io(Arc::new(FolderIo {
        objects: Bucket::new(Arc::new(provider), &drive.storage_name, objects_key),
        prefix: paths::normalize_prefix(&drive.prefix),
        root: root.clone(),
        parts: Parts {
            size: drive.transfer_options.chunk_size,
            concurrency: drive.transfer_options.concurrent_chunks as usize,
        },
        uploads,
    }));
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let watcher = watch(&root, tx);
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = tokio::spawn(run(app.clone(), drive.clone(), mode, io, wake.clone(), rx));
    Ok(Folder {
        task,
        wake,
        _watcher: watcher,
    })
}

/// Wakes the loop on changes under `root` (not on our own downloads in progress). Without
/// a watcher (no inotify left) the periodic full scan still finds every change.
fn watch(root: &Path, tx: tokio::sync::mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    let handler = move |event: notify::Result<notify::Event>| {
        let ours = |p: &PathBuf| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PART_PREFIX))
        };
        // Reads (ours too: hashing, uploading) are no change.
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(_))
            && !event.paths.iter().all(ours)
        {
            let _ = tx.try_send(());
        }
    };
    let mut watcher = notify::recommended_watcher(handler)
        .inspect_err(|e| tracing::warn!("no file watcher, changes are found by scans: {e}"))
        .ok()?;
    watcher
        .watch(root, notify::RecursiveMode::Recursive)
        .inspect_err(|e| tracing::warn!(path = %root.display(), "cannot watch, changes are found by scans: {e}"))
        .ok()?;
    Some(watcher)
}

async fn run(
    app: Arc<App>,
    drive: CloudDrive,
    mode: Mode,
    io: Io,
    wake: Arc<tokio::sync::Notify>,
    mut changes: tokio::sync::mpsc::Receiver<()>,
) {
    let host = host_name();
    let every = Duration::from_secs(drive.sync_interval_seconds.max(1).into());
    let left = left_uploads(&io.0.uploads);
    io.0.objects.abort_all(left).await;
    loop {
        passes(&app, &drive, mode, &io, &host).await;
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = wake.notified() => {}
            Some(()) = changes.recv() => {
                tokio::time::sleep(DEBOUNCE).await;
                while changes.try_recv().is_ok() {}
            }
        }
    }
}

/// Passes until the two sides agree, a pass makes no progress, or [`MAX_PASSES`].
async fn passes(app: &App, drive: &CloudDrive, mode: Mode, io: &Io, host: &str) {
    // Failures are looked at again once at once: most say a side changed since it was
    // observed, which a new pass (observing again) settles.
    let mut retried = false;
    for _ in 0..MAX_PASSES {
        let started = std::time::Instant::now();
        match sync::pass(&app.agent, drive, mode, io, host).await {
            Ok(r) => {
                let took_ms = started.elapsed().as_millis() as u64;
                tracing::debug!(drive = %drive.id, planned = r.planned, applied = r.applied, took_ms, "pass done");
                if r.held_deletes > 0 {
                    tracing::warn!(drive = %drive.id, deletes = r.held_deletes, "the max-delete guard held back deletes; remove fewer files at once, or in the bucket and the folder alike");
                }
                if let Some((path, why)) = &r.first_error {
                    tracing::warn!(drive = %drive.id, failed = r.failed, first = %path, "files could not be synced ({why}); the journal says why for each, the next pass retries");
                }
                let retry = r.failed > 0 && !retried;
                if r.settled() || (r.applied == 0 && !retry) {
                    return;
                }
                retried |= retry;
            }
            Err(e) => {
                return tracing::error!(drive = %drive.id, "the journal cannot be written: {e:?}");
            }
        }
    }
}
