//! The desktop's transfer engine: one tokio task per running transfer, started, paused and
//! cancelled through the core's [`TransferRunner`] port. A transfer's record and per-file
//! checkpoints live in the store, so a restarted agent resumes where it stopped.

mod copy;
mod exists;
mod files;
mod job;
mod leases;
pub(crate) mod limits;
mod peer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use click_core::ports::{Clock, Ports, RngExt, TransferRunner};
use click_core::transfers::Status;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::config::TransferSettings;
use crate::server::App;

enum Command {
    Start(String),
    Stop(String),
    /// A job ended by itself; `u64` tells it from a newer job of the same transfer.
    Finished(String, u64),
    /// Once a second: follow what other agents sharing the store did (see [`reconcile`]).
    Tick,
}

/// The port: queues commands for the engine loop.
pub struct TransferEngine {
    tx: mpsc::UnboundedSender<Command>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
}

impl TransferEngine {
    pub fn new() -> TransferEngine {
        let (tx, rx) = mpsc::unbounded_channel();
        TransferEngine {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl Default for TransferEngine {
    fn default() -> Self {
        TransferEngine::new()
    }
}

impl TransferRunner for TransferEngine {
    fn start(&self, transfer_id: &str) {
        let _ = self.tx.send(Command::Start(transfer_id.to_string()));
    }
    fn stop(&self, transfer_id: &str) {
        let _ = self.tx.send(Command::Stop(transfer_id.to_string()));
    }
}

/// Removes staged form uploads that no unfinished transfer will read: what a crash left
/// behind while a form was being received, or after its transfer ended.
fn clean_staging(app: &App) {
    let Ok(dirs) = std::fs::read_dir(app.staging_dir()) else {
        return;
    };
    let mut wanted = std::collections::HashSet::new();
    let store = &app.agent.ports.store;
    let _ = click_core::store::scan_all(
        store,
        click_core::store::keys::TRANSFERS.prefix(),
        false,
        |_, row| {
            if let Ok(t) = serde_json::from_slice::<click_core::transfers::Transfer>(row)
                && t.staged
                && !t.status.is_final()
                && let Some(dir) = std::path::Path::new(&t.local).parent()
            {
                wanted.insert(dir.to_path_buf());
            }
            Ok(true)
        },
    );
    for dir in dirs.flatten().map(|d| d.path()) {
        if !wanted.contains(&dir) {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// What every job shares.
pub(crate) struct Shared {
    pub app: Arc<App>,
    /// One permit per MiB of part buffers in flight, across all transfers.
    pub memory: Semaphore,
    pub memory_mb: u32,
    pub roots: Vec<PathBuf>,
    pub settings: TransferSettings,
    /// Bandwidth caps, shared by the jobs of one user through one cloud account.
    pub limits: limits::Limits,
    tx: mpsc::UnboundedSender<Command>,
}

/// Forgets history records past their days, at start and then daily.
async fn prune_history(app: Arc<App>) {
    loop {
        let now = app.agent.ports.clock().now_ms();
        let days = app.agent.config.history_days;
        let app2 = app.clone();
        let pruned = tokio::task::spawn_blocking(move || {
            click_core::transfers::history::prune(&app2.agent.ports.store, now, days)
        })
        .await;
        match pruned {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(records = n, "pruned the transfer history"),
            Ok(Err(e)) => tracing::warn!("cannot prune the transfer history: {e:?}"),
            Err(e) => tracing::warn!("cannot prune the transfer history: {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(86_400)).await;
    }
}

/// Queues the next cycle of each sync that is due, looking every second.
async fn run_syncs(shared: Arc<Shared>) {
    use click_core::transfers::sync;
    let ports = &shared.app.agent.ports;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = ports.clock().now_ms();
        let due = match sync::due(&ports.store, now) {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!("cannot read the syncs: {e:?}");
                continue;
            }
        };
        for s in due {
            match sync::next_cycle(&ports.store, &s, ports.rng().uuid(), now) {
                Ok(Some(t)) => {
                    tracing::info!(sync = %s.id, transfer = %t.id, "sync cycle queued");
                    let _ = shared.tx.send(Command::Start(t.id));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(sync = %s.id, "cannot queue the sync's cycle: {e:?}"),
            }
        }
    }
}

/// Runs the engine until the process ends; resumes the transfers that were running.
pub fn spawn(app: Arc<App>, settings: TransferSettings) {
    let engine = &app.agent.ports.transfers;
    let Some(mut rx) = engine.rx.lock().expect("engine lock").take() else {
        return;
    };
    // Form uploads are read from the staging folder, which no client names directly.
    let roots = settings
        .roots()
        .iter()
        .map(PathBuf::as_path)
        .chain(std::iter::once(app.staging_dir()))
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .collect();
    let memory_mb = settings.memory_mb.max(8);
    let shared = Arc::new(Shared {
        tx: engine.tx.clone(),
        app: app.clone(),
        memory: Semaphore::new(memory_mb as usize),
        memory_mb,
        roots,
        settings,
        limits: Default::default(),
    });
    clean_staging(&app);
    tokio::spawn(prune_history(app.clone()));
    tokio::spawn(run_syncs(shared.clone()));
    let mut leases = leases::Leases::new(
        app.agent.config.agent_id.clone(),
        shared.settings.lease_secs,
    );
    // The first tick starts the transfers that were running (this agent's, and any whose
    // agent is gone).
    let ticks = shared.tx.clone();
    tokio::spawn(async move {
        while ticks.send(Command::Tick).is_ok() {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
    tokio::spawn(async move {
        let mut jobs = Jobs::default();
        while let Some(command) = rx.recv().await {
            match command {
                Command::Start(id) => {
                    if !jobs.running.contains_key(&id) && leases.claim(&app, &id, false) {
                        jobs.start(&shared, id);
                    }
                }
                Command::Stop(id) => {
                    let running = jobs.running.remove(&id).map(|(_, h)| h);
                    // Running on another agent: that one stops it and cleans up.
                    if running.is_none() && leases.held_elsewhere(&app, &id) {
                        continue;
                    }
                    let (s, app, leases) = (shared.clone(), app.clone(), leases.clone());
                    tokio::spawn(async move {
                        job::after_stop(s, id.clone(), running).await;
                        leases.release(&app, &id);
                    });
                }
                Command::Finished(id, g) => {
                    if jobs
                        .running
                        .get(&id)
                        .is_some_and(|(current, _)| *current == g)
                    {
                        jobs.running.remove(&id);
                        leases.release(&app, &id);
                    }
                }
                Command::Tick => reconcile(&shared, &mut jobs, &mut leases),
            }
            crate::metrics::metrics()
                .transfer_jobs
                .set(jobs.running.len() as i64);
        }
    });
}

/// The jobs running on this agent.
#[derive(Default)]
struct Jobs {
    running: HashMap<String, (u64, JoinHandle<()>)>,
    generation: u64,
}

impl Jobs {
    fn start(&mut self, shared: &Arc<Shared>, id: String) {
        self.generation += 1;
        let (s, job_id, g) = (shared.clone(), id.clone(), self.generation);
        let handle = tokio::spawn(async move {
            job::run(&s, &job_id).await;
            let _ = s.tx.send(Command::Finished(job_id, g));
        });
        self.running.insert(id, (self.generation, handle));
    }
}

/// Follows the store, which other agents may share: stops the jobs whose transfer was paused
/// or cancelled (through another agent, or before this one started), renews the leases of
/// the others and lets go of those another agent has taken over, and starts the active
/// transfers this agent may run that no agent is running (at start: those that were running;
/// later: those of an agent that died).
fn reconcile(shared: &Arc<Shared>, jobs: &mut Jobs, leases: &mut leases::Leases) {
    let app = &shared.app;
    let active = match click_core::transfers::active_ids(&app.agent.ports.store) {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!("cannot read the active transfers: {e:?}");
            return;
        }
    };
    for id in jobs.running.keys().filter(|id| !active.contains(id)) {
        // A job that completed or failed ends by itself; one paused or cancelled is stopped.
        let store = &app.agent.ports.store;
        if let Ok(Some(t)) = click_core::transfers::get(store, id)
            && matches!(t.status, Status::Paused | Status::Cancelled)
        {
            let _ = shared.tx.send(Command::Stop(id.clone()));
        }
    }
    if leases.due() {
        for lost in leases.renew(app, jobs.running.keys()) {
            tracing::warn!(transfer = %lost, "another agent took the transfer over; stopping here");
            if let Some((_, handle)) = jobs.running.remove(&lost) {
                handle.abort();
            }
        }
    }
    for id in active {
        if !jobs.running.contains_key(&id) && leases.claim(app, &id, true) {
            tracing::info!(transfer = %id, "resuming transfer");
            jobs.start(shared, id);
        }
    }
}
