//! Cloud drives on the desktop: FUSE mounts of a bucket (`fs`), their block cache, and the
//! manager that runs the drives the core stores, through the core's [`DriveHost`] port.

mod cachefile;
pub mod fs;
mod intents;
mod remote;
pub use remote::Bucket;
mod running;
mod synced;
mod tree;
mod vfs;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use click_core::drives::backup;
use click_core::drives::drive::{BACKUPS, CloudDrive, DRIVES, MIRROR, drives_and_backups};
use click_core::drives::sealed::{DriveKey, PURPOSE_CACHE, PURPOSE_OBJECTS};
use click_core::drives::state::Flags;
use click_core::ports::{Clock, DriveActivity, DriveCommand, DriveError, DriveHost, Ports};
use tokio::sync::mpsc;

use crate::server::App;
use running::Running;

enum Command {
    Apply(String),
    Remove(String, String),
    Sync(String, String),
}

type Drives = Arc<Mutex<HashMap<String, Arc<Running>>>>;

/// The port: queues configuration changes for the manager's loop; object commands go
/// straight to the running drive.
pub struct DriveManager {
    tx: mpsc::UnboundedSender<Command>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
    running: Drives,
    /// What encrypted drives derive their keys from (`drives.key` in the data directory).
    master_key: [u8; 32],
}

impl DriveManager {
    pub fn new(master_key: [u8; 32]) -> DriveManager {
        let (tx, rx) = mpsc::unbounded_channel();
        DriveManager {
            tx,
            rx: Mutex::new(Some(rx)),
            running: Arc::default(),
            master_key,
        }
    }

    /// The key `drive`'s objects are sealed under, if it has `cloudObjectsEncrypted`.
    pub fn objects_key(&self, drive: &CloudDrive) -> Option<DriveKey> {
        (drive.cloud_objects_encrypted).then(|| self.objects_key_at(&drive.objects_place()))
    }

    /// The objects key of a drive's `CloudDrive::objects_place`.
    pub fn objects_key_at(&self, place: &str) -> DriveKey {
        DriveKey::derive(&self.master_key, PURPOSE_OBJECTS, place)
    }

    /// The key `drive`'s cache files are sealed under when it has `localCacheEncrypted`
    /// (derived either way: files an earlier run sealed are read whatever the flag says now).
    pub fn cache_key(&self, drive: &CloudDrive) -> DriveKey {
        DriveKey::derive(&self.master_key, PURPOSE_CACHE, &drive.id)
    }

    fn get(&self, drive_id: &str) -> Option<Arc<Running>> {
        lock(&self.running).get(drive_id).cloned()
    }

    /// Bytes the caches of the mounted drives hold.
    pub fn cache_bytes(&self) -> u64 {
        let running: Vec<Arc<Running>> = lock(&self.running).values().cloned().collect();
        running
            .iter()
            .filter_map(|r| r.mounted().map(|m| m.vfs.activity().0))
            .sum()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn io_error(e: std::io::Error) -> DriveError {
    match e.kind() {
        std::io::ErrorKind::NotFound => DriveError::NotFound,
        _ => DriveError::Failed(e.to_string()),
    }
}

fn errno(e: fuser::Errno) -> DriveError {
    io_error(std::io::Error::from_raw_os_error(i32::from(e)))
}

impl DriveHost for DriveManager {
    fn apply(&self, drive_id: &str) {
        let _ = self.tx.send(Command::Apply(drive_id.to_string()));
    }
    fn remove(&self, drive_id: &str, cache_path: &str) {
        let _ = self.tx.send(Command::Remove(
            drive_id.to_string(),
            cache_path.to_string(),
        ));
    }
    fn sync(&self, drive_id: &str, rel: &str) {
        let _ = self
            .tx
            .send(Command::Sync(drive_id.to_string(), rel.to_string()));
    }
    fn open(&self, local_path: &str) -> Result<(), String> {
        open_in_file_manager(local_path)
    }
    async fn object(
        &self,
        drive_id: &str,
        rel: &str,
        command: DriveCommand,
    ) -> Result<(), DriveError> {
        let r = self.get(drive_id).ok_or(DriveError::NotRunning)?;
        let rel = rel.to_string();
        let Some(m) = r.mounted() else {
            return folder_object(&r, &rel, command).await;
        };
        match command {
            DriveCommand::Hydrate | DriveCommand::Pin => {
                if command == DriveCommand::Pin {
                    m.pin(&rel);
                }
                // Queued: the call answers once the download has started.
                let r = r.clone();
                tokio::spawn(async move {
                    if let Some(m) = r.mounted()
                        && let Err(e) = m.hydrate(&rel).await
                    {
                        tracing::warn!(drive = %r.drive.id, path = %rel, "hydration failed: {e:?}");
                    }
                });
                Ok(())
            }
            DriveCommand::Unpin => {
                m.unpin(&rel);
                m.evict(&rel).await.map(drop).map_err(errno)
            }
            DriveCommand::Evict => match m.evict(&rel).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(DriveError::Failed(
                    "the file is open or has changes not uploaded yet; it stays cached".into(),
                )),
                Err(e) => Err(errno(e)),
            },
            // Through the mount, so that its caches and the bucket change together.
            DriveCommand::Delete => delete_local(&r, &rel).await,
        }
    }
    fn rename_pending(&self, drive_id: &str, rel: &str) -> bool {
        self.get(drive_id)
            .and_then(|r| r.mounted().map(|m| m.rename_pending(rel)))
            .unwrap_or(false)
    }
    fn activity(&self, drive_id: &str) -> DriveActivity {
        // A synced folder's passes report through the journal only.
        let Some((cache_bytes, uploads, downloads)) = self
            .get(drive_id)
            .and_then(|r| r.mounted().map(|m| m.vfs.activity()))
        else {
            return DriveActivity::default();
        };
        DriveActivity {
            cache_bytes,
            uploads,
            downloads,
        }
    }
}

/// Deletes `rel` in the drive's local folder (a mount passes it on to the bucket; a synced
/// folder's next pass does).
async fn delete_local(r: &Running, rel: &str) -> Result<(), DriveError> {
    let path = Path::new(&r.drive.local_path).join(rel);
    let meta = tokio::fs::metadata(&path).await.map_err(io_error)?;
    if meta.is_dir() {
        tokio::fs::remove_dir_all(&path).await.map_err(io_error)
    } else {
        tokio::fs::remove_file(&path).await.map_err(io_error)
    }
}

/// An object command on a synced folder: every file is on disk already, so pins hold
/// without fetching and nothing can be evicted; a delete is passed on by a pass at once.
async fn folder_object(r: &Running, rel: &str, command: DriveCommand) -> Result<(), DriveError> {
    match command {
        DriveCommand::Hydrate | DriveCommand::Pin | DriveCommand::Unpin => Ok(()),
        DriveCommand::Evict => Err(DriveError::Failed(
            "a synced folder keeps every file on disk; there is no cache to remove it from".into(),
        )),
        DriveCommand::Delete => {
            delete_local(r, rel).await?;
            r.sync("");
            Ok(())
        }
    }
}

/// `xdg-open` where a desktop session exists; without one there is nothing to show it in.
fn open_in_file_manager(path: &str) -> Result<(), String> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err("no desktop session (DISPLAY or WAYLAND_DISPLAY) to open it in".into());
    }
    std::process::Command::new("xdg-open")
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("xdg-open failed: {e}"))
}

/// Stops drive `id` if it runs: unmounted off the runtime's threads (the kernel may wait on
/// the mount's own callbacks).
async fn stop(running: &Drives, id: &str) {
    let old = lock(running).remove(id);
    if let Some(old) = old {
        // Even while a command still holds the drive: its calls then fail cleanly.
        let _ = tokio::task::spawn_blocking(move || old.stop()).await;
    }
}

/// Brings drive `id` in line with its stored configuration.
async fn apply(app: &Arc<App>, running: &Drives, id: &str) {
    let store = &app.agent.ports.store;
    // A drive, or a backup: a folder that only uploads.
    let found = DRIVES.get(store, id).and_then(|d| match d {
        Some(d) => Ok((Some(d), false)),
        None => BACKUPS.get(store, id).map(|b| (b, true)),
    });
    let (drive, is_backup) = match found {
        Ok(found) => found,
        Err(e) => return tracing::error!(drive = %id, "cannot read the drive: {e:?}"),
    };
    if drive.is_some() && !owned_here(app, id) {
        return;
    }
    if let (Some(d), Some(r)) = (&drive, lock(running).get(id))
        && *d == r.drive
        && d.active
    {
        return;
    }
    stop(running, id).await;
    // Nothing writes its journal now: the counters can be built if an earlier version left
    // them out, and history past its days dropped.
    if drive.is_some() {
        let now = app.agent.ports.clock().now_ms();
        let days = app.agent.config.history_days;
        let kept = click_core::drives::tally::ensure(store, id)
            .and_then(|()| click_core::drives::history::prune(store, id, now, days));
        if let Err(e) = kept {
            tracing::warn!(drive = %id, "cannot count the journal or prune its history: {e:?}");
        }
    }
    let Some(drive) = drive.filter(|d| d.active) else {
        return;
    };
    let (app2, d2) = (app.clone(), drive.clone());
    let mode = backup::mode(is_backup);
    let started = tokio::task::spawn_blocking(move || running::start(&app2, &d2, mode))
        .await
        .unwrap_or_else(|e| Err(format!("the mount task failed: {e}")));
    let journal = app.agent.drive_journal();
    match started {
        Ok(r) => {
            tracing::info!(drive = %id, path = %drive.local_path, "drive running (mounted, or its folder syncing)");
            let _ = journal.update(&drive, "", |f| {
                f.is_dir = true;
                f.flags = Flags::NORMAL;
                f.error.clear();
            });
            let r = Arc::new(r);
            r.restore_pins(app);
            if drive.sync_type == MIRROR {
                r.keep_mirrored();
            }
            lock(running).insert(id.to_string(), r);
        }
        Err(why) => {
            tracing::error!(drive = %id, "drive not started: {why}");
            let _ = journal.update(&drive, "", |f| {
                f.is_dir = true;
                f.flags = Flags::ERROR;
                f.error = why;
            });
        }
    }
}

/// Whether this agent runs drive `id`: it does, or nobody did and it does from now on. Among
/// agents sharing a store, the first to run a drive keeps it (its cache and mount are on
/// that machine), so no two write its journal.
fn owned_here(app: &App, id: &str) -> bool {
    use click_core::fleet::{self, Local};
    let me = &app.agent.config.agent_id;
    match fleet::claim(&app.agent.ports.store, Local::Drive, id, me) {
        Ok(owner) if owner == *me => true,
        Ok(owner) => {
            tracing::debug!(drive = %id, agent = %owner, "drive run by another agent");
            false
        }
        Err(e) => {
            tracing::error!(drive = %id, "cannot tell which agent runs the drive: {e:?}");
            false
        }
    }
}

/// Applies the drives whose stored configuration changed since `known` (made, changed,
/// turned on or off, or deleted, through any agent sharing the store); `apply` starts or
/// stops them here if this agent runs them.
fn follow_changes(app: &App, known: &mut HashMap<String, CloudDrive>) {
    let Ok(stored) = drives_and_backups(&app.agent.ports.store) else {
        return;
    };
    let manager = &app.agent.ports.drives;
    let gone: Vec<String> = (known.keys())
        .filter(|id| !stored.iter().any(|d| &d.id == *id))
        .cloned()
        .collect();
    for id in gone {
        known.remove(&id);
        manager.apply(&id);
    }
    for d in stored {
        if known.get(&d.id) != Some(&d) {
            manager.apply(&d.id);
            known.insert(d.id.clone(), d);
        }
    }
}

/// Runs the manager until the process ends, starting the stored active drives.
pub fn spawn(app: Arc<App>) {
    let manager = &app.agent.ports.drives;
    let Some(mut rx) = lock(&manager.rx).take() else {
        return;
    };
    let running = manager.running.clone();
    let watcher = app.clone();
    tokio::spawn(async move {
        // The first pass starts the stored drives.
        let mut known = HashMap::new();
        loop {
            follow_changes(&watcher, &mut known);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    tokio::spawn(async move {
        while let Some(command) = rx.recv().await {
            match command {
                Command::Apply(id) => apply(&app, &running, &id).await,
                Command::Remove(id, cache) => {
                    stop(&running, &id).await;
                    let _ = tokio::fs::remove_dir_all(cache).await;
                    tracing::info!(drive = %id, "drive removed");
                }
                Command::Sync(id, rel) => {
                    if let Some(r) = lock(&running).get(&id).cloned() {
                        r.sync(&rel);
                    }
                }
            }
        }
    });
}

/// On exit: waits (up to `grace`) for every drive's pending uploads, then unmounts them all.
pub async fn shutdown(app: &App, grace: Duration) {
    let drives: Vec<(String, Arc<Running>)> = lock(&app.agent.ports.drives.running)
        .iter()
        .map(|(id, r)| (id.clone(), r.clone()))
        .collect();
    for (id, r) in &drives {
        if let Some(m) = r.mounted()
            && !m.flush(grace).await
        {
            tracing::warn!(drive = %id, "uploads still pending at exit; they resume at the next start");
        }
    }
    drop(drives);
    let ids: Vec<String> = lock(&app.agent.ports.drives.running)
        .keys()
        .cloned()
        .collect();
    for id in ids {
        stop(&app.agent.ports.drives.running, &id).await;
    }
}
