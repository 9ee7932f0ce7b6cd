//! Prometheus metrics, served at `GET /metrics` (admins, or API tokens of admins) and, without
//! a token, on `[metrics] listen` when it is set. Counters and histograms are kept as the agent
//! works (requests, transfers, drive reads, store commits); gauges either follow what they
//! count (WebSocket clients, transfer jobs) or are read when scraped (drive cache bytes,
//! process memory). Encoded by the `prometheus-client` crate in the OpenMetrics text format.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// The content type of what [`render`] gives.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A request, by its route's pattern (not its path: ids would make a series each).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

/// A transfer's direction (`upload`, `download`, `copy`) and the provider it writes to or
/// reads from (`s3`, `azure`, `dropbox`, ...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransferLabels {
    pub direction: String,
    pub provider: String,
}

/// A read of a mounted drive: `hit` (every block was in the cache) or `miss`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReadLabels {
    pub result: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histograms<RouteLabels>,
    pub websocket_clients: Gauge,
    pub transfer_jobs: Gauge,
    pub transfer_bytes: Family<TransferLabels, Counter>,
    pub transfer_objects: Family<TransferLabels, Counter>,
    pub transfer_errors: Family<TransferLabels, Counter>,
    drive_reads: Family<ReadLabels, Counter>,
    drive_cache_bytes: Gauge,
    store_commit_seconds: Histogram,
    resident_memory_bytes: Gauge,
}

fn latency() -> Histogram {
    // 100 µs to about 26 s.
    Histogram::new(exponential_buckets(0.0001, 4.0, 10))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let m = Metrics {
            registry: Registry::with_prefix("click"),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(latency as fn() -> Histogram),
            websocket_clients: Gauge::default(),
            transfer_jobs: Gauge::default(),
            transfer_bytes: Family::default(),
            transfer_objects: Family::default(),
            transfer_errors: Family::default(),
            drive_reads: Family::default(),
            drive_cache_bytes: Gauge::default(),
            store_commit_seconds: latency(),
            resident_memory_bytes: Gauge::default(),
        };
        m.register()
    }

    fn register(mut self) -> Metrics {
        let r = &mut self.registry;
        r.register(
            "http_requests",
            "API requests answered",
            self.requests.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "Time from a request's arrival to its answer (streamed bodies aside)",
            Unit::Seconds,
            self.request_seconds.clone(),
        );
        r.register(
            "websocket_clients",
            "WebSocket clients connected (/notification, /statechange, ...)",
            self.websocket_clients.clone(),
        );
        r.register(
            "transfer_jobs",
            "Transfer jobs running (each moves its files a few at a time)",
            self.transfer_jobs.clone(),
        );
        r.register_with_unit(
            "transfer",
            "Bytes moved by transfers",
            Unit::Bytes,
            self.transfer_bytes.clone(),
        );
        r.register(
            "transfer_objects",
            "Files (objects) transfers finished",
            self.transfer_objects.clone(),
        );
        r.register(
            "transfer_errors",
            "Files (objects) transfers gave up on after their retries",
            self.transfer_errors.clone(),
        );
        r.register(
            "drive_reads",
            "Reads of mounted drives, by whether the cache held all they asked for",
            self.drive_reads.clone(),
        );
        r.register_with_unit(
            "drive_cache",
            "Bytes the caches of mounted drives hold",
            Unit::Bytes,
            self.drive_cache_bytes.clone(),
        );
        r.register_with_unit(
            "store_commit_duration",
            "Time to write a group of commits to the store (fsync included)",
            Unit::Seconds,
            self.store_commit_seconds.clone(),
        );
        r.register_with_unit(
            "process_resident_memory",
            "Resident memory of the agent's process",
            Unit::Bytes,
            self.resident_memory_bytes.clone(),
        );
        self
    }

    /// A request answered: by route pattern (`None`: no route matched), status and latency.
    pub fn request(&self, method: &str, route: Option<&str>, status: u16, took: Duration) {
        let route = route.unwrap_or("unmatched").to_string();
        // Clients name methods: only the standard ones become series of their own.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "OTHER",
        };
        let labels = RouteLabels {
            method: method.to_string(),
            route,
        };
        self.request_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        let labels = RequestLabels {
            method: labels.method,
            route: labels.route,
            status: status.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
    }

    /// A read of a mounted drive.
    pub fn drive_read(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        let labels = ReadLabels {
            result: result.to_string(),
        };
        self.drive_reads.get_or_create(&labels).inc();
    }

    pub fn store_commit(&self, took: Duration) {
        self.store_commit_seconds.observe(took.as_secs_f64());
    }
}

/// The text a scrape gets: gauges read now (`drive_cache_bytes`, the process's memory) with
/// everything kept so far.
pub fn render(drive_cache_bytes: u64) -> String {
    let m = metrics();
    m.drive_cache_bytes.set(drive_cache_bytes as i64);
    if let Some(rss) = resident_memory() {
        m.resident_memory_bytes.set(rss as i64);
    }
    let mut out = String::new();
    // Writing to a String does not fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &m.registry);
    out
}

/// The process's resident memory, from `VmRSS` of `/proc/self/status` (Linux).
fn resident_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Holds a gauge one higher while it lives (a WebSocket client connected).
pub struct Held(&'static Gauge);

impl Held {
    pub fn new(gauge: &'static Gauge) -> Held {
        gauge.inc();
        Held(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_counted_shows_in_the_openmetrics_text() {
        let m = metrics();
        m.request(
            "GET",
            Some("/management/clouddrive/{id}"),
            200,
            Duration::from_millis(3),
        );
        m.request("GET", None, 404, Duration::from_micros(50));
        m.request("FROB-1234", None, 405, Duration::from_micros(50));
        m.drive_read(true);
        m.store_commit(Duration::from_millis(2));
        let text = render(1234);
        assert!(text.contains(
            "click_http_requests_total{method=\"GET\",route=\"/management/clouddrive/{id}\",status=\"200\"}"
        ), "{text}");
        assert!(
            text.contains("route=\"unmatched\",status=\"404\""),
            "{text}"
        );
        let other = "method=\"OTHER\",route=\"unmatched\",status=\"405\"";
        assert!(text.contains(other) && !text.contains("FROB"), "{text}");
        assert!(
            text.contains("click_http_request_duration_seconds_bucket{"),
            "{text}"
        );
        assert!(text.contains("click_drive_cache_bytes 1234"), "{text}");
        assert!(
            text.contains("click_drive_reads_total{result=\"hit\"}"),
            "{text}"
        );
        assert!(
            text.contains("click_process_resident_memory_bytes "),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
