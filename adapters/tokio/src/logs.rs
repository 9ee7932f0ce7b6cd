//! The `LogForwarder`: ships audit events to Splunk HTTP Event Collectors from a task of its
//! own, in batches, with retries, through a bounded queue. A full queue drops events (and says
//! so in the log); a request never waits for a collector.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use click_core::ports::{LogDestination, LogForwarder};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;

use crate::http_client::SharedClient;

/// Events gathered into one POST.
const MAX_BATCH: usize = 100;
/// How long the first event of a batch waits for company.
const LINGER: Duration = Duration::from_millis(200);
const ATTEMPTS: u32 = 4;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type Queued = (LogDestination, String);

pub struct SplunkForwarder {
    queue: mpsc::Sender<Queued>,
    dropped: AtomicU64,
}

impl SplunkForwarder {
    /// Starts the forwarding task (call inside the runtime).
    pub fn start(capacity: usize, http: SharedClient) -> SplunkForwarder {
        let (queue, events) = mpsc::channel(capacity.max(1));
        tokio::spawn(run(events, http));
        SplunkForwarder {
            queue,
            dropped: AtomicU64::new(0),
        }
    }
}

impl LogForwarder for SplunkForwarder {
    fn forward(&self, destination: &LogDestination, event: String) {
        match self.queue.try_send((destination.clone(), event)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Closed(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n == 1 || n.is_power_of_two() {
                    tracing::warn!(
                        dropped = n,
                        "log forwarding queue is full; audit events dropped"
                    );
                }
            }
        }
    }
}

async fn run(mut events: mpsc::Receiver<Queued>, http: SharedClient) {
    while let Some(first) = events.recv().await {
        let batch = gather(&mut events, first).await;
        match http.get() {
            Ok(client) => send_by_destination(&client, batch).await,
            Err(e) => tracing::error!("{e}; audit events dropped"),
        }
    }
}

/// `first` and what follows it within [`LINGER`], up to [`MAX_BATCH`] events.
async fn gather(events: &mut mpsc::Receiver<Queued>, first: Queued) -> Vec<Queued> {
    let mut batch = vec![first];
    let deadline = Instant::now() + LINGER;
    while batch.len() < MAX_BATCH {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => batch.push(event),
            Ok(None) | Err(_) => break,
        }
    }
    batch
}

/// One POST per destination in the batch.
async fn send_by_destination(http: &reqwest::Client, mut batch: Vec<Queued>) {
    while !batch.is_empty() {
        let destination = batch[0].0.clone();
        let (mine, rest): (Vec<_>, Vec<_>) =
            batch.into_iter().partition(|(d, _)| *d == destination);
        let body = mine
            .into_iter()
            .map(|(_, e)| e)
            .collect::<Vec<_>>()
            .join("\n");
        send(http, &destination, body).await;
        batch = rest;
    }
}

/// POSTs a batch, retrying with backoff on network errors, 429 and 5xx.
async fn send(http: &reqwest::Client, destination: &LogDestination, body: String) {
    let url = format!("{}/services/collector/event", destination.base_url);
    let body = bytes::Bytes::from(body);
    let mut delay = Duration::from_millis(250);
    for attempt in 1..=ATTEMPTS {
        let result = http
            .post(&url)
            .timeout(REQUEST_TIMEOUT)
            .header("Authorization", format!("Splunk {}", destination.token))
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
            .await;
        let retry = match &result {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                let status = r.status().as_u16();
                tracing::warn!(status, attempt, "log collector refused a batch");
                status == 429 || status >= 500
            }
            Err(e) => {
                tracing::warn!(attempt, "log collector unreachable: {e}");
                true
            }
        };
        if !retry || attempt == ATTEMPTS {
            break;
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    tracing::error!("audit events dropped after {ATTEMPTS} attempts");
}
