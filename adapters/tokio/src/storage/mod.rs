//! The built-in S3 server (`[storage]`): the agent's own disks served over S3 to the keys it
//! issued, on a listener of its own. `s3s` speaks the protocol (routing, SigV4, XML);
//! [`backend`] keeps the bytes and [`access`] decides who reaches what.

mod access;
mod backend;
mod cors;
mod push;

use std::net::SocketAddr;
use std::path::Path;

use crate::config::Storage;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::server::App;

/// Makes a storage folder's `objects/`, `tmp/` and `uploads/`, and empties `tmp/`: what a
/// killed run was receiving is no object.
fn prepare(root: &Path) -> Result<(), String> {
    for dir in ["objects", "tmp", "uploads"] {
        std::fs::create_dir_all(root.join(dir))
            .map_err(|e| format!("cannot make {}: {e}", root.join(dir).display()))?;
    }
    if let Ok(entries) = std::fs::read_dir(root.join("tmp")) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    expire_uploads(&root.join("uploads"));
    Ok(())
}

/// How long a multipart upload may wait for its completion (S3's lifecycle rules usually
/// say a week).
const UPLOAD_LIFETIME: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// Drops multipart uploads begun more than [`UPLOAD_LIFETIME`] ago: their parts would
/// otherwise fill the disk for good.
fn expire_uploads(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let begun = std::fs::metadata(e.path().join("upload.json")).and_then(|m| m.modified());
        let old = begun.is_ok_and(|t| t.elapsed().is_ok_and(|age| age > UPLOAD_LIFETIME));
        if old {
            tracing::info!(upload = %e.file_name().to_string_lossy(), "dropping an abandoned multipart upload");
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Serves the built-in storage on `storage.listen` with its files in its folder and its
/// regions' folders, until the process ends; the address it listens on.
pub async fn spawn(app: Arc<App>, storage: &Storage) -> Result<SocketAddr, String> {
    let (listen, root) = (storage.listen, storage.root.clone());
    prepare(&root)?;
    for (_, folder) in &storage.regions {
        prepare(folder)?;
    }
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen} for the storage: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let disk = Arc::new(backend::Disk {
        roots: storage.regions.iter().cloned().collect(),
        default_root: root,
    });
    let backend = backend::Backend {
        app: app.clone(),
        keys: access::Keys { app: app.clone() },
        disk: disk.clone(),
    };
    let pushes = push::Pushes::start(app.clone(), disk);
    let mut builder = s3s::service::S3ServiceBuilder::new(backend);
    builder.set_route(pushes);
    builder.set_auth(access::Keys { app: app.clone() });
    builder.set_access(access::Keys { app: app.clone() });
    let service = builder.build();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (service, app) = (service.clone(), app.clone());
            let service = hyper::service::service_fn(move |req| {
                cors::serve(app.clone(), service.clone(), req)
            });
            tokio::spawn(async move {
                let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if let Err(e) = conn.serve_connection(TokioIo::new(stream), service).await {
                    tracing::debug!("storage connection ended: {e}");
                }
            });
        }
    });
    tracing::info!(%addr, "built-in storage listening");
    Ok(addr)
}
