//! How long the core takes for one request, without sockets: the agent's own share of a
//! request's CPU time. `cargo run --release -p click-tokio --example request_cost`
use std::time::Instant;

use click_core::{Header, Method, Request};
use click_tokio::config::{FileConfig, Overrides};
use click_tokio::server::App;

fn call(
    app: &App,
    method: Method,
    path: &str,
    query: &str,
    body: &[u8],
    rt: &tokio::runtime::Runtime,
) -> click_core::Response {
    let headers = [
        Header {
            name: "host",
            value: b"localhost:29123",
        },
        Header {
            name: "content-type",
            value: b"application/json",
        },
    ];
    rt.block_on(app.agent.handle(&Request {
        method,
        path,
        query,
        headers: &headers,
        body,
    }))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = FileConfig::default()
        .resolve(Overrides {
            data_dir: Some(dir.path().join("data")),
            ..Overrides::default()
        })
        .unwrap();
    let app = rt.block_on(async { App::open(&settings) }).unwrap();
    let signup = br#"{"name":"A B","email":"a@example.com","password":"long enough"}"#;
    assert_eq!(
        call(
            &app,
            Method::Post,
            "/authentication/signup",
            "",
            signup,
            &rt
        )
        .status,
        200
    );
    let outbox = std::fs::read_dir(dir.path().join("data/outbox"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mail = std::fs::read_to_string(outbox).unwrap();
    let code = mail
        .lines()
        .find_map(|l| l.strip_prefix("X-Click-Token: "))
        .unwrap()
        .trim()
        .to_string();
    let confirm = format!(r#"{{"email":"a@example.com","token":"{code}"}}"#);
    assert_eq!(
        call(
            &app,
            Method::Post,
            "/authentication/confirm_signup",
            "",
            confirm.as_bytes(),
            &rt
        )
        .status,
        200
    );
    let login = call(
        &app,
        Method::Post,
        "/authentication/login",
        "",
        br#"{"username":"a@example.com","password":"long enough"}"#,
        &rt,
    );
    let token: serde_json::Value = serde_json::from_slice(&login.body).unwrap();
    let query = format!("token={}", token["jwtToken"].as_str().unwrap());
    for (name, path, query) in [
        ("agent_status", "/management/agent_status", ""),
        ("user", "/authentication/user", query.as_str()),
    ] {
        let n = 200_000;
        let started = Instant::now();
        for _ in 0..n {
            assert_eq!(call(&app, Method::Get, path, query, b"", &rt).status, 200);
        }
        println!(
            "{name}: {:.2} µs per request",
            started.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
}
