//! The `LogForwarder`: ships audit events to Splunk HTTP Event Collectors from a worker thread,
//! in batches, with retries, through a bounded queue. A full queue drops events (and says so in
//! the log); a request never waits for a collector.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use click_core::ports::{LogDestination, LogForwarder};

/// Events gathered into one POST.
const MAX_BATCH: usize = 100;
/// How long the first event of a batch waits for company.
const LINGER: Duration = Duration::from_millis(200);
const ATTEMPTS: u32 = 4;

pub struct SplunkForwarder {
    queue: SyncSender<(LogDestination, String)>,
    dropped: AtomicU64,
}

impl SplunkForwarder {
    pub fn start(capacity: usize) -> Result<SplunkForwarder, String> {
        let (queue, events) = sync_channel(capacity.max(1));
        std::thread::Builder::new()
            .name("click-log-forwarder".into())
            .spawn(move || run(events))
            .map_err(|e| format!("cannot start the log forwarder: {e}"))?;
        Ok(SplunkForwarder {
            queue,
            dropped: AtomicU64::new(0),
        })
    }
}

impl LogForwarder for SplunkForwarder {
    fn forward(&self, destination: &LogDestination, event: String) {
        match self.queue.try_send((destination.clone(), event)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
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

fn run(events: Receiver<(LogDestination, String)>) {
    let http: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    while let Ok(first) = events.recv() {
        let mut batch = vec![first];
        let deadline = Instant::now() + LINGER;
        while batch.len() < MAX_BATCH {
            match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(event) => batch.push(event),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        while !batch.is_empty() {
            let destination = batch[0].0.clone();
            let (mine, rest): (Vec<_>, Vec<_>) =
                batch.into_iter().partition(|(d, _)| *d == destination);
            let body = mine
                .into_iter()
                .map(|(_, e)| e)
                .collect::<Vec<_>>()
                .join("\n");
            send(&http, &destination, &body);
            batch = rest;
        }
    }
}

/// POSTs a batch, retrying with backoff on network errors, 429 and 5xx.
fn send(http: &ureq::Agent, destination: &LogDestination, body: &str) {
    let url = format!("{}/services/collector/event", destination.base_url);
    let mut delay = Duration::from_millis(250);
    for attempt in 1..=ATTEMPTS {
        let result = http
            .post(&url)
            .header("Authorization", &format!("Splunk {}", destination.token))
            .header("Content-Type", "application/json")
            .send(body);
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
        std::thread::sleep(delay);
        delay *= 2;
    }
    tracing::error!("audit events dropped after {ATTEMPTS} attempts");
}
