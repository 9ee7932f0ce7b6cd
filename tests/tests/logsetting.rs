//! AccountLogSetting (accountlogsetting.md) and forwarding of audit events to a Splunk HTTP
//! Event Collector. The collector here is a local HTTP receiver that checks the protocol (path,
//! `Authorization: Splunk <token>`, JSON events); Splunk itself cannot run on this machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use click_blackbox::{Agent, docs, json, signup_and_login};
use serde_json::Value;

#[derive(Default)]
struct Collector {
    events: Mutex<Vec<Value>>,
    requests: Mutex<usize>,
}

/// A HEC receiver: answers `fail_first` requests with 503, then 200; `stall` makes it never
/// answer at all.
fn collector(token: &'static str, fail_first: usize, stall: bool) -> (u16, Arc<Collector>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = Arc::new(Collector::default());
    let shared = state.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let shared = shared.clone();
            std::thread::spawn(move || {
                let mut out = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    assert!(
                        line.starts_with("POST /services/collector/event "),
                        "{line}"
                    );
                    let (mut length, mut auth) = (0usize, String::new());
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        if h == "\r\n" {
                            break;
                        }
                        let (name, value) = h.split_once(':').unwrap();
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap(),
                            "authorization" => auth = value.trim().to_string(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0u8; length];
                    reader.read_exact(&mut body).unwrap();
                    if stall {
                        std::thread::sleep(Duration::from_secs(3600));
                    }
                    assert_eq!(auth, format!("Splunk {token}"));
                    let n = {
                        let mut r = shared.requests.lock().unwrap();
                        *r += 1;
                        *r
                    };
                    if n <= fail_first {
                        out.write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
                        )
                        .unwrap();
                        continue;
                    }
                    let text = String::from_utf8(body).unwrap();
                    let stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
                    shared
                        .events
                        .lock()
                        .unwrap()
                        .extend(stream.map(Result::unwrap));
                    let reply = br#"{"text":"Success","code":0}"#;
                    write!(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", reply.len()).unwrap();
                    out.write_all(reply).unwrap();
                }
            });
        }
    });
    (port, state)
}

fn wait_for(state: &Collector, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = state.events.lock().unwrap().clone();
        if events.len() >= n {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} events arrived",
            events.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn setting(port: u16, token: &str) -> Value {
    json!({"token": token, "serverAddress": "http://127.0.0.1", "servicePort": port.to_string(), "active": true, "provider": 1})
}

#[test]
fn setting_crud_follows_the_docs() {
    let agent = Agent::start();
    let token = signup_and_login(&agent, "log@example.com");
    agent
        .get("/accountlogsetting/get")
        .token(&token)
        .send()
        .expect_error("NOT_FOUND");
    let doc = docs::example("accountlogsetting.md", "### Request Body");
    let created = agent
        .post("/accountlogsetting/setup", doc.clone())
        .token(&token)
        .send()
        .expect(200)
        .json();
    let mut keys = docs::keys(&doc);
    keys.push("id".into());
    keys.sort();
    assert_eq!(docs::keys(&created), keys);
    agent
        .post("/accountlogsetting/setup", doc)
        .token(&token)
        .send()
        .expect_error("DUPLICATE");
    let got = agent
        .get("/accountlogsetting/get")
        .token(&token)
        .send()
        .expect(200)
        .json();
    assert_eq!(got, created);
    let mut changed = created.clone();
    changed["active"] = json!(false);
    changed["servicePort"] = json!(9088);
    let updated = agent
        .put("/accountlogsetting/update", changed)
        .token(&token)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        (updated["active"].as_bool(), updated["servicePort"].as_str()),
        (Some(false), Some("9088"))
    );
    for (field, bad) in [
        ("servicePort", json!("http")),
        ("provider", json!(2)),
        ("token", json!("x".repeat(101))),
        ("serverAddress", json!("")),
    ] {
        let mut body = created.clone();
        body[field] = bad;
        let msg = agent
            .put("/accountlogsetting/update", body)
            .token(&token)
            .send()
            .expect_error("DEFAULT");
        assert!(msg.contains(field), "{msg}");
    }
    agent
        .call("DELETE", "/accountlogsetting/delete")
        .token(&token)
        .send()
        .expect(200);
    agent
        .call("DELETE", "/accountlogsetting/delete")
        .token(&token)
        .send()
        .expect_error("NOT_FOUND");
}

#[test]
fn audit_events_reach_the_collector_with_who_did_what() {
    if click_blackbox::desktop_only("log forwarding (no HTTP client on the device)") {
        return;
    }
    let (port, hec) = collector("HEC-TOKEN", 1, false);
    let agent = Agent::start();
    let token = signup_and_login(&agent, "audit@example.com");
    agent
        .post("/accountlogsetting/setup", setting(port, "HEC-TOKEN"))
        .token(&token)
        .send()
        .expect(200);
    agent
        .post("/usergroup/insert", json!({"name": "Audited"}))
        .token(&token)
        .send()
        .expect(200);
    agent
        .post("/usergroup/insert", json!({"name": "Audited"}))
        .token(&token)
        .send()
        .expect_error("DUPLICATE");
    agent
        .get("/usergroup/get_all")
        .token(&token)
        .send()
        .expect(200);
    // The first POST to the collector fails with 503: the batch is retried.
    let events = wait_for(&hec, 3);
    let inserts: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["event"]["EndpointAddress"]
                .as_str()
                .is_some_and(|a| a.ends_with("/usergroup/insert"))
        })
        .collect();
    assert_eq!(inserts.len(), 2, "{events:?}");
    let e = &inserts[0]["event"];
    assert_eq!(
        (e["HttpMethod"].as_str(), e["Username"].as_str()),
        (Some("POST"), Some("audit@example.com"))
    );
    assert_eq!(
        (
            inserts[0]["event"]["Status"].as_u64(),
            inserts[1]["event"]["Status"].as_u64()
        ),
        (Some(200), Some(499))
    );
    assert!(e["UserId"].is_string() && e["AccountId"].is_string());
    assert!(inserts[0]["time"].as_f64().unwrap() > 1.7e9);
    assert!(
        events.iter().all(|e| e["event"]["HttpMethod"] != "GET"),
        "reads are not audited"
    );
    assert!(*hec.requests.lock().unwrap() >= 2);
}

#[test]
fn a_dead_collector_never_slows_requests() {
    if click_blackbox::desktop_only("log forwarding (no HTTP client on the device)") {
        return;
    }
    let (port, _hec) = collector("T", 0, true);
    let agent = Agent::start();
    let token = signup_and_login(&agent, "slow@example.com");
    agent
        .post("/accountlogsetting/setup", setting(port, "T"))
        .token(&token)
        .send()
        .expect(200);
    let started = Instant::now();
    for i in 0..100 {
        agent
            .post("/projects/insert", json!({"name": format!("p{i}")}))
            .token(&token)
            .send()
            .expect(200);
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(20),
        "100 calls took {elapsed:?}"
    );
    agent.get("/management/agent_status").send().expect(200);
}
