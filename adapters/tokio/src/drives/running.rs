//! A drive the desktop runs: a VirtualDrive's mount or a LocalPath drive's synced folder,
//! with file states going to the core's journal (and from there to `/statechange`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use click_core::drives::drive::{CloudDrive, LOCAL_PATH, READ};
use click_core::drives::planner::Mode;
use click_core::drives::sealed::DriveKey;
use click_core::drives::state::Flags;

use super::fs::{self, DriveEvents, MountSpec, Mounted};
use super::synced;
use crate::cloud::Provider;
use crate::server::App;

/// How long a listing or an attribute is trusted before the bucket is asked again; the
/// drive's own poll interval bounds it.
const MAX_LISTING_TTL: Duration = Duration::from_secs(10);

/// File states of one drive, journaled by the core.
struct Journal {
    app: Arc<App>,
    drive: CloudDrive,
}

impl DriveEvents for Journal {
    fn state(&self, rel_path: &str, flags: Flags) {
        let journal = self.app.agent.drive_journal();
        if let Err(e) = journal.set_flags(&self.drive, rel_path, flags) {
            tracing::warn!(drive = %self.drive.id, path = rel_path, "cannot journal a file state: {e:?}");
        }
    }

    fn state_sized(&self, rel_path: &str, flags: Flags, size: u64) {
        let journal = self.app.agent.drive_journal();
        let changed = journal.update(&self.drive, rel_path, |r| {
            r.flags = flags;
            r.size = size;
        });
        if let Err(e) = changed {
            tracing::warn!(drive = %self.drive.id, path = rel_path, "cannot journal a file state: {e:?}");
        }
    }

    fn removed(&self, rel_path: &str) {
        let journal = self.app.agent.drive_journal();
        if let Err(e) = journal.remove(&self.drive, rel_path) {
            tracing::warn!(drive = %self.drive.id, path = rel_path, "cannot journal a removal: {e:?}");
        }
    }
}

/// A running drive.
pub struct Running {
    /// The configuration it was started with: a changed one restarts it.
    pub drive: CloudDrive,
    body: Body,
}

enum Body {
    Mount(Mount),
    Folder(synced::Folder),
}

/// A VirtualDrive's mount.
struct Mount {
    mounted: Mounted,
    /// The Mirror drive's task that keeps everything hydrated, and its wake-up call.
    keeper: Mutex<Option<tokio::task::JoinHandle<()>>>,
    wake: Arc<tokio::sync::Notify>,
}

impl Running {
    /// The mount of a VirtualDrive (`None` for a synced folder).
    pub fn mounted(&self) -> Option<&Mounted> {
        match &self.body {
            Body::Mount(m) => Some(&m.mounted),
            Body::Folder(_) => None,
        }
    }

    /// A Mirror drive holds every file: pinned, fetched now and after every poll.
    pub fn keep_mirrored(&self) {
        let Body::Mount(m) = &self.body else {
            return;
        };
        m.keep_mirrored(&self.drive);
    }

    /// Looks at the bucket again from folder `rel` (a Mirror drive also fetches what is new;
    /// a synced folder runs a pass).
    pub fn sync(&self, rel: &str) {
        match &self.body {
            Body::Mount(m) => {
                m.mounted.refresh(rel);
                m.wake.notify_one();
            }
            Body::Folder(f) => f.sync(),
        }
    }

    /// Pins again what the journal says is kept offline, and fetches it (after a restart,
    /// or a remount for a changed configuration). A synced folder holds everything anyway.
    pub fn restore_pins(&self, app: &App) {
        if let Body::Mount(m) = &self.body {
            m.restore_pins(app, &self.drive);
        }
    }

    /// Stops mirroring or syncing, and unmounts.
    pub fn stop(&self) {
        match &self.body {
            Body::Mount(m) => m.stop(),
            Body::Folder(f) => f.stop(),
        }
    }
}

impl Mount {
    fn keep_mirrored(&self, drive: &CloudDrive) {
        let vfs = self.mounted.vfs.clone();
        let wake = self.wake.clone();
        let every = Duration::from_secs(drive.sync_interval_seconds.max(1).into());
        let task = tokio::spawn(async move {
            loop {
                vfs.pin("", true);
                vfs.refresh("");
                if let Err(e) = vfs.hydrate(super::tree::ROOT).await {
                    tracing::warn!(path = %vfs.spec.mount_point.display(), "mirroring: {e:?}");
                }
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = wake.notified() => {}
                }
            }
        });
        *self.keeper.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    }

    fn restore_pins(&self, app: &App, drive: &CloudDrive) {
        let pins = match click_core::drives::journal::pinned(&app.agent.ports.store, &drive.id) {
            Ok(p) => p,
            Err(e) => return tracing::warn!(drive = %drive.id, "cannot read the pins: {e:?}"),
        };
        for rel in pins {
            self.mounted.pin(&rel);
            let vfs = self.mounted.vfs.clone();
            tokio::spawn(async move {
                if let Err(e) = vfs.hydrate_path(&rel).await {
                    tracing::warn!(path = %rel, "a pinned file cannot be fetched: {e:?}");
                }
            });
        }
    }

    fn stop(&self) {
        if let Some(task) = self.keeper.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
        self.mounted.unmount();
    }
}

/// Mounts `drive`, or starts syncing its folder; the reason it could not, for the log and
/// the journal.
pub fn start(app: &Arc<App>, drive: &CloudDrive, mode: Mode) -> Result<Running, String> {
    let store = &app.agent.ports.store;
    let target = click_core::drives::drive::target(store, &app.agent.ports.secrets, drive)
        .map_err(|e| format!("its cloud account cannot be used: {e:?}"))?;
    let provider = app
        .agent
        .ports
        .cloud
        .provider(&target)
        .map_err(|e| format!("its provider cannot be reached: {e:?}"))?;
    let objects_key = app.agent.ports.drives.objects_key(drive);
    let body = if drive.drive_type == LOCAL_PATH {
        Body::Folder(synced::start(app, drive, mode, provider, objects_key)?)
    } else {
        Body::Mount(mount(app, drive, provider, objects_key)?)
    };
    Ok(Running {
        drive: drive.clone(),
        body,
    })
}

fn mount(
    app: &Arc<App>,
    drive: &CloudDrive,
    provider: Provider,
    objects_key: Option<DriveKey>,
) -> Result<Mount, String> {
    let spec = MountSpec {
        mount_point: PathBuf::from(&drive.local_path),
        cache_dir: PathBuf::from(&drive.permanent_local_path),
        bucket: drive.storage_name.clone(),
        prefix: drive.prefix.clone(),
        read_only: drive.permission_type == READ,
        allow_delete: drive.allow_delete,
        // 0: no limit (README).
        max_cache_bytes: if drive.maximum_cache_size == 0 {
            u64::MAX
        } else {
            drive.maximum_cache_size
        },
        rotational_cache: drive.rotational_cache,
        chunk_size: drive.transfer_options.chunk_size,
        concurrent_chunks: drive.transfer_options.concurrent_chunks as usize,
        objects_per_folder: drive.objects_per_folder as usize,
        listing_ttl: MAX_LISTING_TTL.min(Duration::from_secs(drive.sync_interval_seconds.into())),
        objects_key,
        cache_key: app.agent.ports.drives.cache_key(drive),
        cache_encrypted: drive.local_cache_encrypted,
    };
    let events = Arc::new(Journal {
        app: app.clone(),
        drive: drive.clone(),
    });
    let mounted = fs::mount(
        spec,
        Arc::new(provider),
        tokio::runtime::Handle::current(),
        events,
    )
    .map_err(|e| format!("cannot mount at {}: {e}", drive.local_path))?;
    Ok(Mount {
        mounted,
        keeper: Mutex::default(),
        wake: Arc::default(),
    })
}
