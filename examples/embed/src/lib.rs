//! An app that embeds the click core: its own hyper server, its own ports (an in-memory
//! store, a mailer that keeps messages, a WebSocket hub) and the Click API mounted under
//! [`MOUNT`], beside routes of its own (`/`, `/health`).
//!
//! It shows what a host writes itself; click-tokio (the desktop agent) is not used.
#![warn(missing_docs)]

pub mod config;
pub mod ports;
mod ws;

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::config::{Limits, Settings};
use crate::ports::EmbedPorts;

/// Everything this app takes from click-core, in one place.
pub mod click {
    pub use click_core::auth::jwt::Hs256;
    pub use click_core::config::{AuthSettings, PlanLimits};
    pub use click_core::ports::{
        Clock, EventSink, Mail, MailError, Mailer, NoDrives, NoForwarding, NoGoogle, NoLocalFiles,
        NoObjectStorage, NoShareMounts, NoTransfers, NoUpdates, PasswordHasher, Ports, Rng,
        SecretBox, outbox_file_name, outbox_text,
    };
    pub use click_core::store::{
        Batch, CommitError, Entry, Op, Store, StoreError, counter_added, first_failed_check,
        prefix_end,
    };
    pub use click_core::{
        Agent, ApiError, Channel, CoreConfig, Event, Header, HostAction, Method, Mode, Request,
        Response,
    };
}

use click::{Agent, ApiError, Header, HostAction, Method};

/// Where the Click API lives in this app: `/click/management/agent_status` reaches the
/// core as `/management/agent_status`.
pub const MOUNT: &str = "/click";

/// How long a stop waits for requests and WebSockets to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

type HttpResponse = hyper::Response<Full<Bytes>>;

/// The running app: the core on this app's ports, its limits, and the stop switch.
pub struct Host {
    agent: Agent<EmbedPorts>,
    limits: Limits,
    stop: watch::Sender<bool>,
}

impl Host {
    /// The app with fresh (empty) state.
    pub fn new(settings: Settings) -> Host {
        let outbox = settings.data_dir.map(|dir| dir.join("outbox"));
        let ports = EmbedPorts::new(settings.limits.ws_queue_frames, outbox);
        Host {
            agent: Agent::new(ports, settings.core),
            limits: settings.limits,
            stop: watch::channel(false).0,
        }
    }

    /// The embedded core, to call directly or to reach its ports.
    pub fn agent(&self) -> &Agent<EmbedPorts> {
        &self.agent
    }

    /// Asks [`serve`] to stop: no new connections, WebSockets closed with 1000.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
}

/// Resolves once a stop was asked for.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Serves connections until [`Host::stop`], then waits a little for the running ones.
pub async fn serve(listener: TcpListener, host: Arc<Host>) {
    // Every task holds a sender; when all are gone, `recv` gives None: nothing is running.
    let (running, mut all_done) = mpsc::channel::<()>(1);
    let mut stop = host.stopping();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped(&mut stop) => break,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(host.clone(), stream, running.clone()));
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    drop((listener, running));
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, all_done.recv()).await;
}

async fn connection(host: Arc<Host>, stream: TcpStream, running: mpsc::Sender<()>) {
    let _ = stream.set_nodelay(true);
    let mut stop = host.stopping();
    let mut builder = http1::Builder::new();
    let limits = &host.limits;
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_headers(limits.max_headers)
        // hyper's floor for its read buffer.
        .max_buf_size(limits.max_header_bytes.max(8192));
    let service = {
        let (host, running) = (host.clone(), running.clone());
        service_fn(move |req| route(host.clone(), req, running.clone()))
    };
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The app's routing: its own pages, and everything under [`MOUNT`] to the core.
async fn route(
    host: Arc<Host>,
    req: hyper::Request<Incoming>,
    running: mpsc::Sender<()>,
) -> Result<HttpResponse, Infallible> {
    Ok(match req.uri().path() {
        "/" => plain(200, "application/json", INDEX),
        "/health" => plain(200, "application/json", r#"{"status":"ok"}"#),
        path if core_path(path).is_some() => click(host, req, running).await,
        _ => plain(404, "text/plain; charset=utf-8", "not found\n"),
    })
}

const INDEX: &str = r#"{"app":"click-example-embed","click":"/click/","health":"/health"}"#;

/// The path the core sees for a path of this app, if it is under [`MOUNT`].
pub fn core_path(path: &str) -> Option<&str> {
    match path.strip_prefix(MOUNT)? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        // `/clickety` is not under `/click`.
        _ => None,
    }
}

fn plain(status: u16, content_type: &'static str, body: &'static str) -> HttpResponse {
    let mut out = hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *out.status_mut() = hyper::StatusCode::from_u16(status).expect("a valid status");
    out.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    out
}

/// Hands a request under [`MOUNT`] to the core and does what its answer asks of the host.
async fn click(
    host: Arc<Host>,
    req: hyper::Request<Incoming>,
    running: mpsc::Sender<()>,
) -> HttpResponse {
    let (parts, body) = req.into_parts();
    let body = match read_body(&host.limits, &parts, body).await {
        Ok(body) => body,
        Err(e) => return to_hyper(e.into_response()),
    };
    let response = {
        // The core borrows everything; nothing is copied into it.
        let headers: Vec<Header<'_>> = parts
            .headers
            .iter()
            .map(|(name, value)| Header {
                name: name.as_str(),
                value: value.as_bytes(),
            })
            .collect();
        let request = click::Request {
            method: Method::parse(parts.method.as_str()),
            path: core_path(parts.uri.path()).unwrap_or("/"),
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
            body: &body,
        };
        host.agent.handle(&request).await
    };
    match response.action {
        Some(HostAction::Upgrade(channel)) => {
            // The core answered the handshake (101); frames are the host's work.
            let subscription = host.agent.ports.hub.subscribe(channel);
            let upgrade = hyper::upgrade::on(hyper::Request::from_parts(parts, ()));
            let stop = host.stopping();
            tokio::spawn(async move {
                if let Ok(upgraded) = upgrade.await {
                    ws::push(upgraded, subscription, stop).await;
                }
                drop(running);
            });
        }
        // `command/8`: this app takes it as a request to stop altogether. Another host might
        // only stop routing to the core.
        Some(HostAction::Shutdown) => host.stop(),
        // This app keeps no metrics: the core's empty exposition stands.
        Some(HostAction::Metrics) | None => {}
    }
    to_hyper(response)
}

/// The body, within the size and time limits; the error is the core's answer for it.
async fn read_body(limits: &Limits, parts: &Parts, body: Incoming) -> Result<Bytes, ApiError> {
    let max = limits.max_body_bytes;
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(ApiError::PayloadTooLarge(max));
    }
    let timeout = Duration::from_millis(limits.body_read_timeout_ms);
    match tokio::time::timeout(timeout, Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::PayloadTooLarge(max))
        }
        Ok(Err(_)) => Err(ApiError::BadRequest("The request body could not be read.")),
        Err(_) => Err(ApiError::RequestTimeout),
    }
}

fn to_hyper(response: click::Response) -> HttpResponse {
    let mut out = hyper::Response::new(Full::new(Bytes::from(response.body)));
    *out.status_mut() = hyper::StatusCode::from_u16(response.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        let value = match value {
            Cow::Borrowed(v) => Ok(HeaderValue::from_static(v)),
            Cow::Owned(v) => HeaderValue::try_from(v),
        };
        if let Ok(value) = value {
            out.headers_mut()
                .append(HeaderName::from_static(name), value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::core_path;

    #[test]
    fn only_paths_under_the_mount_reach_the_core() {
        assert_eq!(core_path("/click/user/get_all"), Some("/user/get_all"));
        assert_eq!(core_path("/click"), Some("/"));
        assert_eq!(core_path("/click/"), Some("/"));
        assert_eq!(core_path("/clickety/user"), None);
        assert_eq!(core_path("/user/get_all"), None);
        assert_eq!(core_path("/"), None);
    }
}
