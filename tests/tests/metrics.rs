//! Prometheus metrics (extension, README): `GET /metrics` for admins, `[metrics] listen`
//! without a token. The exposition is read by the Prometheus client library's own
//! OpenMetrics parser (`tests/clients/parse_metrics.py`), which refuses malformed text.

use click_blackbox::s3::S3Server;
use click_blackbox::*;

/// Every sample of an exposition, as the parser read it.
fn parse(text: &str) -> Vec<Value> {
    let out = python_filter("parse_metrics.py", text.as_bytes());
    assert!(
        out.status.success(),
        "the parser refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][k] == *v))
        .map(|s| s["value"].as_f64().unwrap())
}

#[test]
fn metrics_count_requests_transfers_websockets_and_commits_in_valid_openmetrics() {
    if desktop_only("metrics are kept by the desktop agent") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket("media");
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let agent = Agent::start_with(transfer_roots(
        root.path(),
        &format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"),
    ));
    let admin = signup_and_login(&agent, "owner@example.com");
    let account = insert_cloud_account(&agent, &admin, s3.account("test"));

    // Some requests, one that no route answers, a WebSocket client and an upload.
    agent.get("/management/agent_status").send().expect(200);
    agent.get("/no/such/route").send().expect(404);
    let _socket = agent
        .ws(
            "/notification",
            &[("Authorization", &format!("Bearer {admin}"))],
        )
        .unwrap();
    let bytes = pattern(3 << 20, 7);
    std::fs::write(root.path().join("up.bin"), &bytes).unwrap();
    let body = json!({"cloudAccount": {"id": account, "cloudType": 8}, "storageName": "media",
                      "localFilePath": root.path().join("up.bin").display().to_string()});
    let started = agent
        .post("/cloud/upload_object", body)
        .token(&admin)
        .send()
        .expect(200)
        .json();
    let id = started["transferId"].as_str().unwrap().to_string();
    wait_for_transfer(&agent, &admin, &id, "completed");

    // Admins read them with their token; other users and callers without one do not.
    let scraped = agent.get("/metrics").token(&admin).send().expect(200);
    assert!(
        scraped
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        scraped.header("content-type")
    );
    let samples = parse(&scraped.text());
    let (_, member) = member(&agent, &admin, "member@example.com", 64);
    agent
        .get("/metrics")
        .token(&member)
        .send()
        .expect_error("ACCESS");
    agent.get("/metrics").send().expect(401);

    let requests = "click_http_requests_total";
    let status = [("method", "GET"), ("route", "/management/agent_status")];
    assert!(
        sample(
            &samples,
            requests,
            &[status[0], status[1], ("status", "200")]
        ) >= Some(1.0)
    );
    assert!(
        sample(
            &samples,
            requests,
            &[("route", "unmatched"), ("status", "404")]
        ) >= Some(1.0)
    );
    let latency = "click_http_request_duration_seconds_count";
    assert!(sample(&samples, latency, &status) >= Some(1.0));
    let upload = [("direction", "upload"), ("provider", "S3")];
    assert_eq!(
        sample(&samples, "click_transfer_bytes_total", &upload),
        Some(bytes.len() as f64)
    );
    assert_eq!(
        sample(&samples, "click_transfer_objects_total", &upload),
        Some(1.0)
    );
    assert_eq!(sample(&samples, "click_websocket_clients", &[]), Some(1.0));
    assert!(sample(&samples, "click_store_commit_duration_seconds_count", &[]) > Some(0.0));
    assert!(sample(&samples, "click_process_resident_memory_bytes", &[]) > Some(1e6));

    // The separate listener serves them without a token, and nothing else.
    let at = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let plain = raw_exchange(
        at,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(plain.status, 200);
    let samples = parse(&plain.text());
    assert!(sample(&samples, "click_transfer_jobs", &[]).is_some());
    let other = raw_exchange(
        at,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(other.status, 404);
}
