//! The orchestrator's side of a P2P transfer (`click_core::transfers::peer`): it makes the
//! upload at the target, presigns the requests the source agent will send there, places
//! the order with the source agent, then follows the push until it ends. A restarted agent
//! follows again (the order is placed once; the source answers a repeated one with the push
//! it already runs).

use std::time::{Duration, Instant};

use bytes::Bytes;
use click_core::ports::{Clock, CloudTarget, ObjectStorage, PushAction, StorageError};
use click_core::transfers::peer::{self, PushOrder, PushTarget};
use click_core::transfers::{self, Transfer, settings};

use super::Shared;
use super::job::{JobResult, from_storage, provider_of};
use super::limits::Kind;
use crate::cloud::{PUSH_QUERY, Provider, S3};

/// How long presigned URLs stay good: S3's longest (a push paused longer fails at resume).
const URL_LIFETIME_SECS: u64 = 7 * 86_400;
/// How long the source agent may stay out of reach before the transfer fails.
const UNREACHABLE_LIMIT: Duration = Duration::from_secs(600);

fn api(e: click_core::ApiError) -> String {
    format!("{e:?}")
}

/// The S3 client of a side: a transfer between agents speaks S3 to both.
fn s3(provider: Provider) -> JobResult<S3> {
    match provider {
        Provider::S3(s3) => Ok(s3),
        _ => Err("a P2P transfer reaches its servers over S3".into()),
    }
}

/// Runs P2P transfer `t` until the source agent says the push ended; the bytes moved.
pub(crate) async fn run(shared: &Shared, t: &Transfer) -> JobResult<u64> {
    let app = &shared.app;
    let source =
        peer::source_target(&app.agent.ports.store, &app.agent.ports.secrets, t).map_err(api)?;
    if !t.peer.as_ref().is_some_and(|p| p.ordered) {
        order(shared, t, &source).await?;
    }
    follow(shared, &t.id, &source).await
}

/// Makes the target's upload, presigns its requests and hands them to the source agent.
async fn order(shared: &Shared, t: &Transfer, source: &CloudTarget) -> JobResult<()> {
    let (end, servers, push) = match (&t.source, &t.servers, &t.peer) {
        (Some(e), Some(s), Some(p)) => (e, s, p),
        _ => return Err("the transfer is not a P2P transfer".into()),
    };
    let from = s3(from_storage(shared.app.agent.ports.cloud.provider(source))?)?;
    let to = s3(provider_of(
        shared,
        &t.cloud_account_id,
        Some(&servers.target_url),
    )?)?;
    let attempts = t.options.retry_count + 1;
    let object = from_storage(from.stat(&end.bucket, &end.path, attempts).await)?;
    if !push.overwrite {
        match to.stat(&t.bucket, &t.remote, attempts).await {
            Ok(_) => {
                return Err(format!(
                    "{}/{} exists at the target, and 'overwrite' is false",
                    t.bucket, t.remote
                ));
            }
            Err(StorageError::NotFound(_)) => {}
            Err(e) => return Err(super::job::storage(e)),
        }
    }
    let target = presign(shared, t, &to, object.size, push.part_bytes).await?;
    let order = PushOrder {
        id: t.id.clone(),
        bucket: end.bucket.clone(),
        key: end.path.clone(),
        etag: object.etag.clone(),
        size: object.size,
        part_bytes: push.part_bytes,
        bytes_per_second: cap(shared, t),
        target,
    };
    let body = Bytes::from(serde_json::to_vec(&order).map_err(|e| e.to_string())?);
    let query = [(PUSH_QUERY, t.id.as_str()), ("action", "order")];
    let state: click_core::ports::PushState =
        from_storage(from.root_json(reqwest::Method::POST, &query, body).await)?;
    tracing::info!(transfer = %t.id, status = %state.status, "P2P push ordered");
    let store = &shared.app.agent.ports.store;
    transfers::update(store, &t.id, |row| {
        row.total_bytes = object.size;
        Ok(row.peer.as_mut().map(|p| p.ordered = true).is_some())
    })
    .map_err(api)?;
    Ok(())
}

/// The requests the source may send to the target: one PUT for an object of one part, else
/// a multipart upload's parts, completion and abort (the upload made once, kept in the
/// record so a restart reuses it and a cancel aborts it).
async fn presign(
    shared: &Shared,
    t: &Transfer,
    to: &S3,
    size: u64,
    part: u64,
) -> JobResult<PushTarget> {
    let (bucket, key) = (t.bucket.as_str(), t.remote.as_str());
    if size <= part {
        let put = to.presign_request(("PUT", bucket, key, &[], &[]), URL_LIFETIME_SECS);
        return Ok(PushTarget {
            parts: vec![put],
            ..PushTarget::default()
        });
    }
    let upload_id = match t.peer.as_ref().and_then(|p| p.upload_id.clone()) {
        Some(id) => id,
        None => {
            let id = from_storage(
                to.create_multipart(bucket, key, t.options.retry_count + 1)
                    .await,
            )?;
            let store = &shared.app.agent.ports.store;
            transfers::update(store, &t.id, |row| {
                Ok(row
                    .peer
                    .as_mut()
                    .map(|p| p.upload_id = Some(id.clone()))
                    .is_some())
            })
            .map_err(api)?;
            id
        }
    };
    let sign = |method: &str, query: &[(&str, &str)]| {
        to.presign_request((method, bucket, key, query, &[]), URL_LIFETIME_SECS)
    };
    let parts = (1..=size.div_ceil(part))
        .map(|n| {
            sign(
                "PUT",
                &[("partNumber", &n.to_string()), ("uploadId", &upload_id)],
            )
        })
        .collect();
    Ok(PushTarget {
        parts,
        complete: Some(sign("POST", &[("uploadId", &upload_id)])),
        abort: Some(sign("DELETE", &[("uploadId", &upload_id)])),
    })
}

/// The server-to-server cap of the user's FastrSettings for the target account (0: none).
fn cap(shared: &Shared, t: &Transfer) -> u64 {
    let store = &shared.app.agent.ports.store;
    settings::effective(store, &t.account_id, &t.user_id, &t.cloud_account_id)
        .ok()
        .flatten()
        .map_or(0, |s| Kind::ServerToServer.cap(&s))
}

/// Asks the source agent how the push goes, at the progress interval, until it ends.
async fn follow(shared: &Shared, id: &str, source: &CloudTarget) -> JobResult<u64> {
    let app = &shared.app;
    let interval = Duration::from_millis(shared.settings.progress_interval_ms.max(200));
    let mut reached = Instant::now();
    let mut last = 0u64;
    loop {
        let state = match app
            .agent
            .ports
            .cloud
            .push(source, id, PushAction::Status)
            .await
        {
            Ok(state) => state,
            Err(e) if reached.elapsed() > UNREACHABLE_LIMIT => {
                return Err(format!(
                    "the source agent cannot be reached: {}",
                    super::job::storage(e)
                ));
            }
            Err(e) => {
                tracing::debug!(transfer = %id, "the source agent does not answer: {e:?}");
                tokio::time::sleep(interval).await;
                continue;
            }
        };
        reached = Instant::now();
        let now = crate::ports::SystemClock.now_ms();
        let row = peer::merge(&app.agent.ports.store, id, &state, now).map_err(api)?;
        let speed =
            state.transferred_bytes.saturating_sub(last) * 1000 / interval.as_millis() as u64;
        last = state.transferred_bytes;
        let frame = transfers::progress_frame(&row, state.transferred_bytes, speed, now);
        app.agent
            .raise(click_core::events::Channel::Notification, frame);
        match state.status.as_str() {
            "completed" => return Ok(state.total_bytes),
            "failed" => return Err(state.error.unwrap_or_else(|| "the push failed".into())),
            "cancelled" => return Err("the push was cancelled at the source agent".into()),
            _ => tokio::time::sleep(interval).await,
        }
    }
}

/// After a cancel: the target's multipart upload is aborted with the target's own key (the
/// source agent aborts it too, when it can be reached).
pub(crate) async fn undo(shared: &Shared, t: &Transfer) {
    let (Some(servers), Some(upload_id)) = (
        &t.servers,
        t.peer.as_ref().and_then(|p| p.upload_id.as_ref()),
    ) else {
        return;
    };
    let Ok(Provider::S3(to)) = provider_of(shared, &t.cloud_account_id, Some(&servers.target_url))
    else {
        return;
    };
    match to.abort_multipart(&t.bucket, &t.remote, upload_id).await {
        Ok(()) | Err(StorageError::NotFound(_)) => {}
        Err(e) => tracing::warn!(transfer = %t.id, "cannot abort the upload at the target: {e:?}"),
    }
}
