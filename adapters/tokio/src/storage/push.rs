//! The push route of the built-in storage: another agent orchestrating a P2P transfer orders
//! this one to send one of its objects straight to a target, through presigned URLs it made
//! with the target's key (`click_core::transfers::peer`). The route sits on the S3 listener
//! (`/?x-click-push=<id>&action=...`, no S3 operation uses it) and takes the same SigV4
//! signatures: the ordering key must read the object, and only it may see or steer the push.
//!
//! Each part is read from the disk, hashed, and sent with its `Content-MD5` (the target
//! checks it); the record lists the parts the target acknowledged, so a push resumes after a
//! restart where it stopped, and the whole object's ETag is checked at the end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use click_core::ports::{Clock, Ports, PushAction, PushState};
use click_core::storage::pushes::{self, Push};
use click_core::storage::{buckets, objects};
use click_core::transfers::Status;
use click_core::transfers::peer::PushOrder;
use futures_util::{StreamExt, TryStreamExt};
use hyper::http::Extensions;
use hyper::{HeaderMap, Method, StatusCode, Uri};
use md5::{Digest, Md5};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result, s3_error};
use tokio::task::JoinHandle;

use super::access::Keys;
use super::backend::Disk;
use crate::cloud::{PUSH_QUERY, etag};
use crate::server::App;
use crate::transfers::limits::Limiter;

/// Tries per request to the target.
const ATTEMPTS: u32 = 4;
/// Part bytes read and in flight at once, per push.
const IN_FLIGHT_BYTES: u64 = 128 << 20;
/// The largest order body taken.
const MAX_ORDER: usize = 4 << 20;
/// Pushes sending at once; more wait their turn (a thousand small orders do not open a
/// thousand connections to the target).
const PUSHES_AT_ONCE: usize = 16;

/// The route, and the pushes running in this process.
#[derive(Clone)]
pub struct Pushes(Arc<Inner>);

struct Inner {
    app: Arc<App>,
    disk: Arc<Disk>,
    keys: Keys,
    running: Mutex<HashMap<String, JoinHandle<()>>>,
    slots: tokio::sync::Semaphore,
}

impl Pushes {
    /// The route; the pushes a stopped run left running go on.
    pub fn start(app: Arc<App>, disk: Arc<Disk>) -> Pushes {
        let keys = Keys { app: app.clone() };
        let inner = Arc::new(Inner {
            app,
            disk,
            keys,
            running: Mutex::default(),
            slots: tokio::sync::Semaphore::new(PUSHES_AT_ONCE),
        });
        match pushes::running(inner.store()) {
            Ok(list) => list.iter().for_each(|p| inner.spawn(p.row_id())),
            Err(e) => tracing::error!("cannot read the pushes to resume: {e:?}"),
        }
        Pushes(inner)
    }
}

fn query_value<'a>(uri: &'a Uri, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn json_response<T: serde::Serialize>(value: &T) -> S3Response<Body> {
    let mut resp = S3Response::new(Body::from(serde_json::to_string(value).unwrap_or_default()));
    resp.status = Some(StatusCode::OK);
    resp.headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

#[async_trait::async_trait]
impl S3Route for Pushes {
    fn is_match(&self, _: &Method, uri: &Uri, _: &HeaderMap, _: &mut Extensions) -> bool {
        uri.path() == "/" && query_value(uri, PUSH_QUERY).is_some()
    }

    async fn call(&self, mut req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let access = (req.credentials.as_ref())
            .map(|c| c.access_key.clone())
            .ok_or_else(|| s3_error!(AccessDenied, "Requests must be signed."))?;
        let id = query_value(&req.uri, PUSH_QUERY)
            .unwrap_or_default()
            .into_owned();
        let action = query_value(&req.uri, "action")
            .unwrap_or_default()
            .into_owned();
        let inner = &self.0;
        let state = match (req.method.clone(), action.as_str()) {
            (Method::POST, "order") => {
                let body = (req.input.store_all_limited(MAX_ORDER).await)
                    .map_err(|_| s3_error!(EntityTooLarge, "The order is too large."))?;
                let order: PushOrder = serde_json::from_slice(&body)
                    .map_err(|e| s3_error!(MalformedPolicy, "The order is not understood: {e}"))?;
                if order.id != id {
                    return Err(s3_error!(InvalidArgument, "The order names another id."));
                }
                inner.order(&access, order)?
            }
            (m, a) => {
                let action = PushAction::parse(a)
                    .filter(|a| (m == Method::GET) == (*a == PushAction::Status))
                    .ok_or_else(|| s3_error!(InvalidArgument, "Unknown push action."))?;
                inner.act(&access, &id, action).await?
            }
        };
        Ok(json_response(&state))
    }
}

fn internal(e: impl std::fmt::Debug) -> s3s::S3Error {
    s3_error!(InternalError, "{e:?}")
}

/// How a push ended, when it did not complete.
type Outcome = Result<bool, String>;

impl Inner {
    fn store(&self) -> &crate::store::AgentStore {
        &self.app.agent.ports.store
    }

    fn now_ms(&self) -> u64 {
        self.app.agent.ports.clock().now_ms()
    }

    /// Takes an order from the key `access`: its object must be one the key reads. An order
    /// given again (the orchestrator restarted) answers for the push already made.
    fn order(self: &Arc<Self>, access: &str, order: PushOrder) -> S3Result<PushState> {
        if let Some(existing) = pushes::get(self.store(), access, &order.id).map_err(internal)? {
            return Ok(existing.state());
        }
        let key = self.keys.key(access)?;
        let bucket = buckets::get(self.store(), &order.bucket)
            .map_err(internal)?
            .filter(|b| b.account_id == key.account_id && key.reaches(&b.name))
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        if !key.permission.reads() {
            return Err(s3_error!(AccessDenied, "This key may not read."));
        }
        let object = objects::get(self.store(), &bucket.name, &order.key)
            .map_err(internal)?
            .ok_or_else(|| s3_error!(NoSuchKey))?;
        check_order(&order, object.size)?;
        let push = Push {
            order,
            access_key: access.to_string(),
            status: Status::Running,
            start_ms: self.now_ms(),
            ..Push::default()
        };
        pushes::insert(self.store(), &push).map_err(internal)?;
        tracing::info!(push = %push.order.id, bucket = %bucket.name, key = %push.order.key, "push ordered");
        self.spawn(push.row_id());
        Ok(push.state())
    }

    /// Status, pause, resume or cancel of push `id` of key `access`.
    async fn act(
        self: &Arc<Self>,
        access: &str,
        id: &str,
        action: PushAction,
    ) -> S3Result<PushState> {
        let row = pushes::get(self.store(), access, id)
            .map_err(internal)?
            .ok_or_else(|| s3_error!(NoSuchKey, "No push has this id."))?
            .row_id();
        let (from, to): (&[Status], Status) = match action {
            PushAction::Status => (&[], Status::Running),
            PushAction::Pause => (&[Status::Running, Status::Initiating], Status::Paused),
            PushAction::Resume => (&[Status::Paused], Status::Running),
            PushAction::Cancel => (
                &[Status::Running, Status::Initiating, Status::Paused],
                Status::Cancelled,
            ),
        };
        let now = self.now_ms();
        let changed = pushes::update(self.store(), &row, |p| {
            let go = from.contains(&p.status);
            if go {
                p.status = to;
                p.end_ms = to.is_final().then_some(now);
            }
            Ok(go)
        })
        .map_err(internal)?;
        match (action, &changed) {
            (PushAction::Pause | PushAction::Cancel, Some(_)) => self.stop(&row).await,
            (PushAction::Resume, Some(_)) => self.spawn(row.clone()),
            _ => {}
        }
        if let (PushAction::Cancel, Some(p)) = (action, &changed) {
            self.abort_at_target(p).await;
        }
        let now = pushes::get(self.store(), access, id).map_err(internal)?;
        Ok(now.map(|p| p.state()).unwrap_or_default())
    }

    fn spawn(self: &Arc<Self>, row: String) {
        let me = self.clone();
        let key = row.clone();
        let handle = tokio::spawn(async move {
            let _slot = me.slots.acquire().await;
            let outcome = me.send(&row).await;
            me.finish(&row, outcome);
        });
        if let Some(old) = self.running.lock().expect("pushes").insert(key, handle) {
            old.abort();
        }
    }

    async fn stop(&self, row: &str) {
        let handle = self.running.lock().expect("pushes").remove(row);
        if let Some(h) = handle {
            h.abort();
            let _ = h.await;
        }
    }

    /// Records the end of a push still running (a pause or cancel came first otherwise).
    fn finish(&self, row: &str, outcome: Outcome) {
        let now = self.now_ms();
        let ended = pushes::update(self.store(), row, |p| {
            if p.status != Status::Running {
                return Ok(false);
            }
            match &outcome {
                Ok(verified) => {
                    p.status = Status::Completed;
                    p.checksum_verified = *verified;
                }
                Err(why) => {
                    p.status = Status::Failed;
                    p.error = Some(why.clone());
                }
            }
            p.end_ms = Some(now);
            Ok(true)
        });
        if let Err(why) = &outcome {
            tracing::warn!(push = row, "push failed: {why}");
        }
        if let Err(e) = ended {
            tracing::warn!(push = row, "cannot record the push's end: {e:?}");
        }
        self.running.lock().expect("pushes").remove(row);
    }

    async fn abort_at_target(&self, p: &Push) {
        let (Some(url), Ok(http)) = (&p.order.target.abort, self.app.agent.ports.cloud.http())
        else {
            return;
        };
        let aborted = crate::cloud::send_retrying(ATTEMPTS, || http.delete(url)).await;
        if let Err(e) = aborted {
            tracing::warn!(push = %p.order.id, "cannot abort the upload at the target: {e:?}");
        }
    }

    /// Sends the parts the target lacks, then completes the upload; whether the target's
    /// ETag of the whole object matches the bytes read.
    async fn send(&self, row: &str) -> Outcome {
        let push: Push = click_core::store::keys::STORAGE_PUSHES
            .get(self.store(), row)
            .ok()
            .flatten()
            .ok_or("the push's record is gone")?;
        let order = &push.order;
        let bucket = buckets::get(self.store(), &order.bucket)
            .ok()
            .flatten()
            .ok_or("the bucket was deleted")?;
        let object = objects::get(self.store(), &bucket.name, &order.key)
            .ok()
            .flatten()
            .ok_or("the object was deleted")?;
        if order
            .etag
            .as_deref()
            .is_some_and(|e| e.trim_matches('"') != object.etag)
        {
            return Err(format!("{} changed after the transfer began", order.key));
        }
        let http = self
            .app
            .agent
            .ports
            .cloud
            .http()
            .map_err(|e| format!("{e:?}"))?;
        let limiter = Limiter::default();
        limiter.set_rate(order.bytes_per_second);
        let parts = order.target.parts.len() as u32;
        let at_once = (IN_FLIGHT_BYTES / order.part_bytes.max(1)).clamp(1, 8) as usize;
        let todo: Vec<u32> = (1..=parts)
            .filter(|n| !push.parts_done.contains_key(n))
            .collect();
        let sent = futures_util::stream::iter(todo)
            .map(|n| {
                let (push, bucket, object, http, limiter) =
                    (&push, &bucket, &object, &http, &limiter);
                async move {
                    let (start, end) = push.part_range(n);
                    let bytes = self.read(bucket, object, start, end).await?;
                    limiter.take(bytes.len() as u64).await;
                    let etag =
                        put_part(http, &push.order.target.parts[n as usize - 1], bytes).await?;
                    pushes::update(self.store(), row, |p| {
                        p.parts_done.insert(n, etag.clone());
                        Ok(true)
                    })
                    .map_err(|e| format!("cannot record a part: {e:?}"))?;
                    Ok::<(), String>(())
                }
            })
            .buffer_unordered(at_once)
            .try_collect::<Vec<()>>()
            .await;
        sent?;
        let done: Push = click_core::store::keys::STORAGE_PUSHES
            .get(self.store(), row)
            .ok()
            .flatten()
            .ok_or("the push's record is gone")?;
        let md5s: Vec<(u32, String)> = done.parts_done.into_iter().collect();
        match &order.target.complete {
            Some(url) => {
                let got = crate::cloud::complete_presigned(&http, url, &md5s, ATTEMPTS)
                    .await
                    .map_err(|e| format!("the target refused to complete the upload: {e:?}"))?;
                let want = etag::of_parts(md5s.iter().map(|(_, m)| m.as_str()));
                Ok(got.map(|g| g.trim_matches('"').to_string()) == want)
            }
            None => Ok(md5s.len() == 1),
        }
    }

    /// Bytes `start..end` of `object`.
    async fn read(
        &self,
        bucket: &buckets::Bucket,
        object: &objects::ObjectMeta,
        start: u64,
        end: u64,
    ) -> Result<Bytes, String> {
        let mut out = BytesMut::with_capacity((end - start) as usize);
        let mut stream = std::pin::pin!(self.disk.read(bucket, object, start, end));
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.map_err(|e| format!("cannot read the object: {e}"))?);
        }
        if out.len() as u64 != end - start {
            return Err("the object changed while it was being read".into());
        }
        Ok(out.freeze())
    }
}

/// Sends one part (or a whole single-part object) with its `Content-MD5`: the target keeps it
/// only if the bytes arrived intact. Its MD5 (hex), which the target's ETag must be.
async fn put_part(http: &reqwest::Client, url: &str, bytes: Bytes) -> Result<String, String> {
    let md5 = Md5::digest(&bytes);
    let md5_hex = click_core::ports::hex(&md5);
    let header = crate::cloud::content_md5_header(&md5_hex).unwrap_or_default();
    let resp = crate::cloud::send_retrying(ATTEMPTS, || {
        http.put(url)
            .header("content-md5", &header)
            .body(bytes.clone())
    })
    .await
    .map_err(|e| format!("the target refused a part: {e:?}"))?;
    let etag = crate::cloud::etag_of(&resp).unwrap_or_default();
    if etag.trim_matches('"') != md5_hex {
        return Err(format!(
            "the target stored other bytes (ETag {etag}, sent {md5_hex})"
        ));
    }
    Ok(md5_hex)
}

/// An order must cut the object into the parts it has URLs for, S3's way.
fn check_order(order: &PushOrder, size: u64) -> S3Result<()> {
    let parts = order.target.parts.len() as u64;
    let want = if order.target.complete.is_some() {
        size.div_ceil(order.part_bytes.max(1))
    } else {
        1
    };
    let urls_ok = (order
        .target
        .parts
        .iter()
        .chain(&order.target.complete)
        .chain(&order.target.abort))
    .all(|u| u.starts_with("http://") || u.starts_with("https://"));
    if order.size != size || parts != want || !urls_ok || parts > 10_000 {
        return Err(s3_error!(
            InvalidArgument,
            "The order does not fit the object: {parts} URLs for {size} bytes in parts of {}.",
            order.part_bytes
        ));
    }
    Ok(())
}
