//! SMB and NFS shares mounted at local folders (`/management/smbclient`, `/nfsclient`),
//! through the core's [`ShareMounts`] port. This host mounts them through its own FUSE layer
//! over userspace clients (`smb`, `nfs`), so no kernel `cifs` or `nfs` support is needed;
//! the API shows `mountedBy: "fuse"` and the log says so.

mod fuse;
mod nfs;
mod remote;
mod smb;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use click_core::fleet::{self, Local};
use click_core::ports::{ShareError, ShareMount, ShareMounts, ShareProtocol, ShareState};
use click_core::share_mounts::ShareConfig;
use tokio::runtime::Handle;

use crate::server::App;
use remote::RemoteFs;

/// How a mount is made (the API's `mountedBy`).
const THROUGH_FUSE: &str = "fuse";

/// A signed-in session with a share's server.
enum Session {
    Smb(Arc<smb::SmbShare>),
    Nfs(Arc<nfs::NfsExport>),
}

impl Session {
    async fn connect(m: &ShareMount, timeout: Duration) -> Result<Session, ShareError> {
        Ok(match m.protocol {
            ShareProtocol::Smb => Session::Smb(Arc::new(smb::SmbShare::connect(m, timeout).await?)),
            ShareProtocol::Nfs => {
                Session::Nfs(Arc::new(nfs::NfsExport::connect(m, timeout).await?))
            }
        })
    }

    fn mount(
        &self,
        path: &std::path::Path,
        name: &str,
        rt: Handle,
    ) -> std::io::Result<fuse::Mounted> {
        match self {
            Session::Smb(s) => fuse::mount(s.clone(), path, name, rt),
            Session::Nfs(s) => fuse::mount(s.clone(), path, name, rt),
        }
    }

    fn last_error(&self) -> Option<String> {
        match self {
            Session::Smb(s) => s.last_error(),
            Session::Nfs(s) => s.last_error(),
        }
    }

    async fn disconnect(&self) {
        match self {
            Session::Smb(s) => s.disconnect().await,
            Session::Nfs(s) => s.disconnect().await,
        }
    }
}

struct Running {
    session: Arc<Session>,
    mounted: fuse::Mounted,
    path: PathBuf,
    name: String,
}

/// The port: the shares mounted on this machine, and why the others are not.
pub struct ShareManager {
    running: Mutex<HashMap<String, Running>>,
    /// One change to shares at a time: the API's (held from mounting to storing, through
    /// `hold`/`release`) or the retry loop's.
    changes: tokio::sync::Semaphore,
    failures: Mutex<HashMap<String, String>>,
    timeout: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the mount shows as in `mount(8)`: `click:smb://host/share`.
fn fs_name(m: &ShareMount) -> String {
    match m.protocol {
        ShareProtocol::Smb => format!("click:smb://{}/{}", m.host, m.share),
        ShareProtocol::Nfs => format!("click:nfs://{}{}", m.host, m.share),
    }
}

impl ShareManager {
    /// `timeout` bounds every call to a server.
    pub fn new(timeout: Duration) -> ShareManager {
        ShareManager {
            running: Mutex::default(),
            changes: tokio::sync::Semaphore::new(1),
            failures: Mutex::default(),
            timeout,
        }
    }

    /// Unmounts `id`'s share on a thread that may block; the unmount waits for the kernel.
    fn stop(running: Running) {
        tokio::task::block_in_place(|| running.mounted.unmount());
        let session = running.session;
        tokio::spawn(async move { session.disconnect().await });
    }

    /// Mounts the signed-in `session` where `m` says, in place of the running mount of the
    /// same id; if that fails, the old mount is put back.
    fn replace(&self, m: &ShareMount, session: Arc<Session>) -> Result<(), ShareError> {
        let old = lock(&self.running).remove(&m.id);
        if let Some(old) = &old {
            tokio::task::block_in_place(|| old.mounted.unmount());
        }
        let path = PathBuf::from(&m.local_path);
        let name = fs_name(m);
        let rt = Handle::current();
        match tokio::task::block_in_place(|| session.mount(&path, &name, rt.clone())) {
            Ok(mounted) => {
                if let Some(old) = old {
                    let s = old.session;
                    tokio::spawn(async move { s.disconnect().await });
                }
                lock(&self.running).insert(
                    m.id.clone(),
                    Running {
                        session,
                        mounted,
                        path,
                        name,
                    },
                );
                Ok(())
            }
            Err(e) => {
                if let Some(old) = old {
                    self.restore(&m.id, old, rt);
                }
                Err(ShareError::Failed(format!(
                    "cannot mount at {}: {e}",
                    path.display()
                )))
            }
        }
    }

    fn restore(&self, id: &str, old: Running, rt: Handle) {
        match tokio::task::block_in_place(|| old.session.mount(&old.path, &old.name, rt)) {
            Ok(mounted) => {
                lock(&self.running).insert(id.to_string(), Running { mounted, ..old });
            }
            Err(e) => tracing::warn!(share = %id, "the previous mount could not be put back: {e}"),
        }
    }
}

impl ShareManager {
    /// Mounts the share through `session` (or records why there is none).
    fn install(
        &self,
        m: &ShareMount,
        session: Result<Session, ShareError>,
    ) -> Result<ShareState, ShareError> {
        match session.and_then(|s| self.replace(m, Arc::new(s))) {
            Ok(()) => {
                lock(&self.failures).remove(&m.id);
                tracing::info!(share = %fs_name(m), path = %m.local_path, through = THROUGH_FUSE, "share mounted through the agent's FUSE layer (userspace client)");
                Ok(ShareState {
                    authenticated: true,
                    mounted_by: Some(THROUGH_FUSE),
                    error: None,
                })
            }
            Err(e) => {
                let why = reason(&e);
                let before = lock(&self.failures).insert(m.id.clone(), why.clone());
                // Said once per reason, not at every try of the retry loop.
                if before.as_ref() != Some(&why) {
                    tracing::warn!(share = %fs_name(m), path = %m.local_path, "share not mounted: {why}");
                }
                Err(e)
            }
        }
    }
}

impl ShareMounts for ShareManager {
    async fn mount(&self, m: &ShareMount) -> Result<ShareState, ShareError> {
        let session = Session::connect(m, self.timeout).await;
        self.install(m, session)
    }

    fn unmount(&self, id: &str) {
        lock(&self.failures).remove(id);
        let running = lock(&self.running).remove(id);
        if let Some(running) = running {
            tracing::info!(share = %running.name, path = %running.path.display(), "share unmounted");
            ShareManager::stop(running);
        }
    }

    async fn hold(&self) {
        if let Ok(permit) = self.changes.acquire().await {
            permit.forget();
        }
    }

    fn release(&self) {
        self.changes.add_permits(1);
    }

    fn state(&self, id: &str) -> Option<ShareState> {
        if let Some(r) = lock(&self.running).get(id) {
            let error = r.session.last_error();
            return Some(ShareState {
                authenticated: error.is_none(),
                mounted_by: Some(THROUGH_FUSE),
                error,
            });
        }
        lock(&self.failures).get(id).map(|why| ShareState {
            authenticated: false,
            mounted_by: None,
            error: Some(why.clone()),
        })
    }
}

fn reason(e: &ShareError) -> String {
    match e {
        ShareError::Unreachable(w) => format!("the server cannot be reached: {w}"),
        ShareError::Auth(w) => format!("the server refused the sign-in: {w}"),
        ShareError::NotFound(w) => format!("no such share: {w}"),
        ShareError::Failed(w) => w.clone(),
    }
}

/// Mounts the active shares the store holds, at start and then every `retry` for those not
/// mounted (a NAS that comes up after the agent); failures are logged and shown.
pub fn spawn(app: Arc<App>, retry: Duration) {
    tokio::spawn(async move {
        loop {
            mount_missing(&app).await;
            tokio::time::sleep(retry).await;
        }
    });
}

async fn mount_missing(app: &App) {
    let ports = &app.agent.ports;
    let stored = click_core::share_mounts::all(&ports.store).unwrap_or_default();
    let me = &app.agent.config.agent_id;
    let wanted = |s: &ShareConfig| {
        s.active
            && !lock(&ports.shares.running).contains_key(&s.id)
            && fleet::runs_here(&ports.store, Local::Share, &s.id, me).unwrap_or(false)
    };
    for s in stored.iter().filter(|s| wanted(s)) {
        let m = match s.mount(&ports.secrets) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(share = %s.name, "not mounted: {}", reason(&e));
                continue;
            }
        };
        // Signed in without holding changes up (a server that is down takes its timeout),
        // then mounted with none under way, and only if the share is still stored as it was
        // read: a change mounts and stores as one step (`hold`), so nothing it replaced or
        // turned off comes back.
        let session = Session::connect(&m, ports.shares.timeout).await;
        let Ok(_no_change) = ports.shares.changes.acquire().await else {
            return;
        };
        let now = click_core::share_mounts::get(&ports.store, &s.id)
            .ok()
            .flatten();
        if now.as_ref() == Some(s) && wanted(s) && ports.shares.install(&m, session).is_ok() {
            let _ = fleet::claim(&ports.store, Local::Share, &s.id, me);
        }
    }
}

/// Unmounts every share (at exit).
pub fn shutdown(app: &App) {
    let manager = &app.agent.ports.shares;
    let all: Vec<Running> = lock(&manager.running).drain().map(|(_, r)| r).collect();
    for running in all {
        tokio::task::block_in_place(|| running.mounted.unmount());
    }
}
