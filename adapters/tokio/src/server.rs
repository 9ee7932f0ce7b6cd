//! The hyper 1 server: connection limits, header and body limits and timeouts, keep-alive,
//! WebSocket upgrades and graceful shutdown.

use std::borrow::Cow;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use click_core::cloud::account::Authorization;
use click_core::ports::SecretBox;
use click_core::routes::{self, Body};
use click_core::{Agent, ApiError, Header, HostAction, Method};
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};

use crate::cloud::CloudStorage;
use crate::config::{Limits, Settings};
use crate::data_dir::{DATABASE_FILE, create_private_dir, outbox, secrets_key, signing_key};
use crate::events::Hub;
use crate::google::GoogleVerifier;
use crate::http_client::SharedClient;
use crate::logs::SplunkForwarder;
use crate::mail::DesktopMailer;
use crate::metrics::metrics;
use crate::ports::{DesktopPorts, JwtSigner};
use crate::store::AgentStore;
use crate::transfers::TransferEngine;

/// Most bodies are whole; a Get Object Stream body is relayed from the provider.
type HttpResponse = hyper::Response<Either<Full<Bytes>, crate::object_stream::Streamed>>;

/// The running agent: the core with its desktop ports, and the shutdown switch.
pub struct App {
    pub agent: Agent<DesktopPorts>,
    pub limits: Limits,
    staging: PathBuf,
    shutdown: watch::Sender<bool>,
    /// Connections and WebSockets still running; shutdown waits for them.
    tasks: Tracker,
}

/// Counts running tasks so that shutdown can wait until none is left.
#[derive(Default)]
struct Tracker {
    running: AtomicUsize,
    idle: Notify,
}

/// Held by a running task.
struct Running(Arc<App>);

impl Running {
    fn new(app: &Arc<App>) -> Running {
        app.tasks.running.fetch_add(1, Ordering::AcqRel);
        Running(app.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.tasks.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.tasks.idle.notify_waiters();
        }
    }
}

impl Tracker {
    async fn all_done(&self) {
        loop {
            let idle = self.idle.notified();
            if self.running.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}

impl App {
    /// Opens the data directory. Must run inside the tokio runtime (the mailer and the log
    /// forwarder start tasks).
    pub fn open(settings: &Settings) -> Result<App, String> {
        let dir = &settings.data_dir;
        create_private_dir(dir)
            .map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
        let store = AgentStore::open(
            &settings.store,
            &dir.join(DATABASE_FILE),
            settings.limits.store_cache_entries,
        )?;
        tracing::info!("state kept in the {}", store.describe());
        let keys = settings.store.keys_dir.as_deref().unwrap_or(dir);
        create_private_dir(keys)
            .map_err(|e| format!("cannot create the keys dir {}: {e}", keys.display()))?;
        let key =
            signing_key(keys).map_err(|e| format!("cannot read or create the signing key: {e}"))?;
        let secrets =
            secrets_key(keys).map_err(|e| format!("cannot read or create the secrets key: {e}"))?;
        crate::data_dir::check_shared_keys(&store, &key, &secrets, keys)?;
        let http = SharedClient::default();
        let ports = DesktopPorts {
            store,
            signer: JwtSigner::new(&key),
            mailer: DesktopMailer::new(&settings.mail, outbox(dir))?,
            hub: Hub::new(settings.limits.ws_queue_frames),
            identities: crate::sso::Identities::new(
                GoogleVerifier::new(settings.google.clone(), http.clone())?,
                &settings.sso,
            )?,
            logs: SplunkForwarder::start(settings.limits.log_queue_events, http.clone()),
            cloud: CloudStorage::new(
                http.clone(),
                crate::cloud::oauth::OAuthApps::new(
                    settings.oauth.clone(),
                    crate::http_client::NoRedirects::new(std::time::Duration::from_secs(30))?,
                ),
            ),
            transfers: TransferEngine::new(),
            drives: crate::drives::DriveManager::new(
                crate::data_dir::drives_key(keys)
                    .map_err(|e| format!("cannot read or create the drives key: {e}"))?,
            ),
            files: crate::local_files::DesktopFiles::new(&settings.transfers.roots()),
            updates: crate::update::SelfUpdater::new(settings.update.clone(), http.clone())?,
            shares: crate::shares::ShareManager::new(Duration::from_secs(
                settings.shares.timeout_secs.max(1),
            )),
            secrets: SecretBox::new(&secrets),
        };
        let mut core = settings.core.clone();
        core.agent_id = crate::data_dir::agent_id(dir)
            .map_err(|e| format!("cannot read or create the agent's id: {e}"))?;
        let staging = PathBuf::from(&settings.core.staging_dir);
        create_private_dir(&staging)
            .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
        Ok(App {
            agent: Agent::new(ports, core),
            limits: settings.limits.clone(),
            staging,
            shutdown: watch::channel(false).0,
            tasks: Tracker::default(),
        })
    }

    /// Where form uploads are staged.
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }

    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn shutdown_receiver(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

/// Serves until shutdown is requested, then waits (up to the grace period) for in-flight
/// requests and WebSockets to finish.
pub async fn serve(listener: TcpListener, app: Arc<App>) {
    let slots = Arc::new(Semaphore::new(app.limits.max_connections.max(1)));
    let mut shutdown = app.shutdown_receiver();
    loop {
        let next = async {
            // Waiting for a slot before accepting leaves excess clients in the kernel backlog.
            let permit = slots
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            (permit, listener.accept().await)
        };
        let (permit, accepted) = tokio::select! {
            r = next => r,
            _ = stopped(&mut shutdown) => break,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(Running::new(&app), stream, permit));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    let grace = Duration::from_millis(app.limits.shutdown_grace_ms);
    if tokio::time::timeout(grace, app.tasks.all_done())
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period over; closing remaining connections");
    }
}

/// Connections the metrics listener serves at once.
const METRICS_CONNECTIONS: usize = 16;

/// `[metrics] listen`: `GET /metrics` without a token, and nothing else.
async fn serve_metrics(listener: TcpListener, app: Arc<App>) {
    let slots = Arc::new(Semaphore::new(METRICS_CONNECTIONS));
    let mut shutdown = app.shutdown_receiver();
    loop {
        let next = async {
            let permit = slots.clone().acquire_owned().await;
            (permit, listener.accept().await)
        };
        let (permit, accepted) = tokio::select! {
            r = next => r,
            _ = stopped(&mut shutdown) => break,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let answer = scrape(&app, &req);
                async move { Ok::<_, Infallible>(answer) }
            });
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!("metrics connection ended: {e}");
            }
            drop(permit);
        });
    }
}

fn scrape(app: &App, req: &hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (status, body, content_type) = match (req.method(), req.uri().path()) {
        (&hyper::Method::GET, "/metrics") => {
            let cache_bytes = app.agent.ports.drives.cache_bytes();
            (
                200,
                crate::metrics::render(cache_bytes),
                crate::metrics::CONTENT_TYPE,
            )
        }
        _ => (
            404,
            String::from("only GET /metrics is served here\n"),
            "text/plain; charset=utf-8",
        ),
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

async fn connection(running: Running, stream: TcpStream, _permit: OwnedSemaphorePermit) {
    let app = &running.0;
    let _ = stream.set_nodelay(true);
    let mut shutdown = app.shutdown_receiver();
    let limits = &app.limits;
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_headers(limits.max_headers)
        .max_buf_size(limits.max_header_bytes.max(8192));
    let service = {
        let app = app.clone();
        service_fn(move |req| handle(app.clone(), req))
    };
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!("connection ended: {e}");
    }
}

async fn handle(app: Arc<App>, req: hyper::Request<Incoming>) -> Result<HttpResponse, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let (response, route) = respond(app, req, started).await;
    let status = response.status().as_u16();
    metrics().request(method.as_str(), route, status, started.elapsed());
    Ok(response)
}

/// The answer to a request, and the pattern of the route that gave it.
async fn respond(
    app: Arc<App>,
    req: hyper::Request<Incoming>,
    started: Instant,
) -> (HttpResponse, Option<&'static str>) {
    let (parts, body) = req.into_parts();
    let found = routes::find(Method::parse(parts.method.as_str()), parts.uri.path());
    let route = match found {
        routes::Match::Found(r, _) => Some(r.path),
        _ => None,
    };
    if found.body() == Body::StreamedForm {
        let received = crate::form::receive(&app, &parts, body, found).await;
        return (to_hyper(received), route);
    }
    let body = match read_body(&app.limits, &parts, body).await {
        Ok(b) => b,
        Err(e) => return (to_hyper(e.into_response()), route),
    };
    let mut response = {
        let headers = core_headers(&parts);
        let request = click_core::Request {
            method: Method::parse(parts.method.as_str()),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
            body: &body,
        };
        app.agent.handle_matched(&request, found).await
    };
    // The path is logged, never the query string: it may carry a token.
    tracing::debug!(method = %parts.method, path = parts.uri.path(), status = response.status, micros = started.elapsed().as_micros() as u64);
    match response.action {
        Some(HostAction::Upgrade(channel)) => {
            let subscription = app.agent.ports.hub.subscribe(channel);
            let upgrade = hyper::upgrade::on(hyper::Request::from_parts(parts, ()));
            let shutdown = app.shutdown_receiver();
            let running = Running::new(&app);
            tokio::spawn(async move {
                let _connected = crate::metrics::Held::new(&metrics().websocket_clients);
                match upgrade.await {
                    Ok(upgraded) => crate::ws::run(upgraded, subscription, shutdown).await,
                    Err(e) => tracing::debug!("WebSocket upgrade failed: {e}"),
                }
                drop(running);
            });
        }
        Some(HostAction::Shutdown) => {
            tracing::info!("exit requested through the API");
            app.request_shutdown();
        }
        Some(HostAction::Metrics) => {
            let cache_bytes = app.agent.ports.drives.cache_bytes();
            response.body = crate::metrics::render(cache_bytes).into_bytes();
        }
        None => {}
    }
    if let Some(read) = response.stream.take() {
        return (streamed(&app, response, &read).await, route);
    }
    (to_hyper(response), route)
}

/// The response with its body relayed from the cloud provider.
async fn streamed(
    app: &App,
    response: click_core::Response,
    read: &click_core::ports::ObjectRead,
) -> HttpResponse {
    match crate::object_stream::open(&app.agent.ports.cloud, &app.agent.ports.drives, read).await {
        Ok((body, len)) => {
            let mut out = to_hyper(response);
            out.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(len));
            *out.body_mut() = Either::Right(body);
            out
        }
        Err(e) => to_hyper(e.into_response()),
    }
}

/// A request's headers as the core reads them, borrowed.
pub(crate) fn core_headers(parts: &hyper::http::request::Parts) -> Vec<Header<'_>> {
    parts
        .headers
        .iter()
        .map(|(name, value)| Header {
            name: name.as_str(),
            value: value.as_bytes(),
        })
        .collect()
}

async fn read_body(
    limits: &Limits,
    parts: &hyper::http::request::Parts,
    body: Incoming,
) -> Result<Bytes, ApiError> {
    if hyper::body::Body::is_end_stream(&body) {
        return Ok(Bytes::new());
    }
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

fn to_hyper(response: click_core::Response) -> HttpResponse {
    let mut out = hyper::Response::new(Either::Left(Full::new(Bytes::from(response.body))));
    *out.status_mut() = hyper::StatusCode::from_u16(response.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in response.headers {
        let value = match value {
            Cow::Borrowed(v) => Ok(HeaderValue::from_static(v)),
            Cow::Owned(v) => HeaderValue::try_from(v),
        };
        if let Ok(value) = value {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    out
}

/// Resolves once shutdown has been requested.
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard returned by `wait_for` is not Send; drop it here.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Resolves when the process is asked to stop (Ctrl-C, SIGTERM).
pub async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// How long exit waits for the drives' pending uploads; what is left resumes at the next
/// start.
const DRIVE_DRAIN: Duration = Duration::from_secs(30);

/// Has the OAuth clients record in the store what their refreshes learn: the refresh tokens
/// providers replace (a provider that rotates them takes each only once, so the next start
/// needs the new one), and authorizations revoked (`active: false`) or working again.
fn record_authorizations(app: &Arc<App>) {
    let weak = Arc::downgrade(app);
    let record = move |cache_key: &str, what: Authorization<'_>| {
        let Some(app) = weak.upgrade() else { return };
        let p = &app.agent.ports;
        let label = match what {
            Authorization::Rotated { .. } => "kept the provider's new refresh token",
            Authorization::Revoked => "the provider refused the account's authorization",
            Authorization::Working => "the account's authorization works again",
        };
        let recorded = click_core::cloud::account::record_authorization(
            &p.store,
            &p.secrets,
            &crate::ports::OsRng,
            cache_key,
            what,
        );
        match recorded {
            Ok(true) => tracing::info!(account = cache_key, "{label}"),
            Ok(false) => {}
            Err(e) => tracing::warn!(account = cache_key, "not recorded ({label}): {e:?}"),
        }
    };
    app.agent
        .ports
        .cloud
        .oauth()
        .record_authorizations(Box::new(record));
}

/// Opens everything, binds, prints the address on stdout, and serves until asked to stop.
pub async fn run(settings: Settings) -> Result<(), String> {
    let app = Arc::new(App::open(&settings)?);
    record_authorizations(&app);
    crate::transfers::spawn(app.clone(), settings.transfers.clone());
    crate::drives::spawn(app.clone());
    crate::shares::spawn(
        app.clone(),
        Duration::from_secs(settings.shares.retry_secs.max(1)),
    );
    // The storage is ready (its folders swept, its port bound) before the agent says it runs.
    let storage = match &settings.storage {
        Some(storage) => Some(crate::storage::spawn(app.clone(), storage).await?),
        None => None,
    };
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Scripts and the tests read this line to find the port when listening on port 0.
    println!("click-agent listening on http://{addr}");
    tracing::info!(%addr, data_dir = %settings.data_dir.display(), mode = ?settings.core.mode, "click-agent started");
    if let Some(at) = storage {
        println!("click-agent storage on http://{at}");
    }
    if let Some(at) = settings.metrics.listen {
        let metrics = TcpListener::bind(at)
            .await
            .map_err(|e| format!("cannot listen for metrics on {at}: {e}"))?;
        let at = metrics.local_addr().map_err(|e| e.to_string())?;
        println!("click-agent metrics on http://{at}/metrics");
        tracing::info!(%at, "metrics served without a token ([metrics] listen)");
        tokio::spawn(serve_metrics(metrics, app.clone()));
    }
    let stopper = app.clone();
    tokio::spawn(async move {
        stop_signal().await;
        tracing::info!("stop signal received");
        stopper.request_shutdown();
    });
    serve(listener, app.clone()).await;
    // Exit drains the drives' uploads (bounded), then unmounts them.
    crate::drives::shutdown(&app, DRIVE_DRAIN).await;
    crate::shares::shutdown(&app);
    tracing::info!("click-agent stopped");
    Ok(())
}
