//! Local stand-ins for the OAuth providers of cloud accounts (Dropbox, Box, OneDrive, Google
//! Drive): `tests/clients/oauth_providers.py`, following each provider's documented
//! authorization, token and account endpoints. The SaaS themselves cannot be reached here.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::raw_exchange;

pub const CLIENT_ID: &str = "click-oauth-client";
pub const CLIENT_SECRET: &str = "click-oauth-secret";
pub const PROVIDERS: [(&str, u32); 4] = [
    ("dropbox", 128),
    ("box", 256),
    ("onedrive", 512),
    ("googledrive", 1024),
];

/// The stand-in providers, stopped when dropped.
pub struct Providers {
    child: Child,
    pub port: u16,
}

impl Providers {
    pub fn start() -> Providers {
        let script = format!("{}/clients/oauth_providers.py", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("python3")
            .args([&script, CLIENT_ID, CLIENT_SECRET])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 tests/clients/oauth_providers.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .expect("READY <port>")
            .parse()
            .unwrap();
        Providers { child, port }
    }

    /// The `[oauth.*]` sections naming them (all but `leave_out`).
    pub fn config(&self, leave_out: &str) -> String {
        let base = format!("http://127.0.0.1:{}", self.port);
        PROVIDERS
            .iter()
            .filter(|(p, _)| *p != leave_out)
            .map(|(p, _)| {
                format!(
                    "[oauth.{p}]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
                     auth_url = \"{base}/{p}/authorize\"\ntoken_url = \"{base}/{p}/token\"\n\
                     api_url = \"{base}/{p}\"\ncontent_url = \"{base}/{p}-content\"\n"
                )
            })
            .collect()
    }

    /// Follows an authorization URL as the browser would (the stand-in approves at once):
    /// the `code` and `state` it sends back.
    pub fn approve(&self, url: &str) -> (String, String) {
        let path = url
            .split_once(&format!("127.0.0.1:{}", self.port))
            .expect(url)
            .1;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let resp = raw_exchange(addr, request.as_bytes());
        assert_eq!(resp.status, 302, "{}", resp.text());
        let location = resp.header("location").unwrap().to_string();
        let query = location.split_once('?').unwrap().1;
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .unwrap()
                .to_string()
        };
        (param("code"), param("state"))
    }
}

impl Providers {
    fn exchange(&self, method: &str, path: &str, body: &str) -> crate::Resp {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        raw_exchange(addr, request.as_bytes())
    }

    /// Calls a test hook of the stand-ins (`rate_limit`, `expire_tokens`, `revoke`).
    pub fn hook(&self, name: &str, body: crate::Value) {
        let resp = self.exchange("POST", &format!("/_test/{name}"), &body.to_string());
        assert!(resp.status < 300, "{name}: {} {}", resp.status, resp.text());
    }

    /// How many calls `path` received so far.
    pub fn calls(&self, path: &str) -> u64 {
        let resp = self.exchange("GET", "/_test/calls", "");
        resp.json()[path].as_u64().unwrap_or(0)
    }
}

impl Drop for Providers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
