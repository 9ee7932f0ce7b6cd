//! The agent's own CPU cost of one request, without sockets: the core and the desktop ports
//! (redb, jsonwebtoken) on a real data directory.
//!
//! `cargo run --release -p click-tokio --example request_cost`
use std::time::Instant;

use click_core::{Header, Method, Request, Response};
use click_tokio::config::{FileConfig, Overrides};
use click_tokio::server::App;

struct Bench {
    app: App,
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn call(&self, method: Method, path: &str, bearer: &str, body: &[u8]) -> Response {
        let auth = format!("Bearer {bearer}");
        let mut headers = vec![
            Header {
                name: "host",
                value: b"localhost:29123",
            },
            Header {
                name: "content-type",
                value: b"application/json",
            },
        ];
        if !bearer.is_empty() {
            headers.push(Header {
                name: "authorization",
                value: auth.as_bytes(),
            });
        }
        let request = Request {
            method,
            path,
            query: "",
            headers: &headers,
            body,
        };
        self.rt.block_on(self.app.agent.handle(&request))
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let overrides = Overrides {
        data_dir: Some(data.clone()),
        ..Overrides::default()
    };
    let settings = FileConfig::default().resolve(overrides).unwrap();
    let app = rt.block_on(async { App::open(&settings) }).unwrap();
    let b = Bench { app, rt, _dir: dir };

    let signup = br#"{"name":"A B","email":"a@example.com","password":"long enough"}"#;
    assert_eq!(
        b.call(Method::Post, "/authentication/signup", "", signup)
            .status,
        200
    );
    let mail = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mail = std::fs::read_to_string(mail).unwrap();
    let code = mail
        .lines()
        .find_map(|l| l.strip_prefix("X-Click-Token: "))
        .unwrap()
        .trim();
    let confirm = format!(r#"{{"email":"a@example.com","token":"{code}"}}"#);
    assert_eq!(
        b.call(
            Method::Post,
            "/authentication/confirm_signup",
            "",
            confirm.as_bytes()
        )
        .status,
        200
    );
    let login = br#"{"username":"a@example.com","password":"long enough"}"#;
    let login: serde_json::Value = serde_json::from_slice(
        &b.call(Method::Post, "/authentication/login", "", login)
            .body,
    )
    .unwrap();
    let token = login["jwtToken"].as_str().unwrap();

    for (name, path, bearer) in [
        ("agent_status", "/management/agent_status", ""),
        ("authentication/user", "/authentication/user", token),
    ] {
        let n = 200_000;
        let started = Instant::now();
        for _ in 0..n {
            assert_eq!(b.call(Method::Get, path, bearer, b"").status, 200);
        }
        println!(
            "{name}: {:.2} µs per request",
            started.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
}
