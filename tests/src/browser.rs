//! A headless Chromium driven through chromedriver's W3C WebDriver HTTP API: just what the
//! dashboard test needs (navigate, find, type, click, read, run a script, take a screenshot),
//! as plain JSON calls over the harness's own HTTP client.
//!
//! Chromium and chromedriver are the operating system's (Debian `chromium` and
//! `chromium-driver`), installed on first use like the other tools ([`crate::tools`]).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::{Resp, Value, json, tools};

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium, as Debian installs it.
pub fn chromium() -> PathBuf {
    tools::os_package("/usr/bin/chromium", &["chromium", "chromium-driver"])
}

/// chromedriver, as Debian installs it.
pub fn chromedriver() -> PathBuf {
    tools::os_package("/usr/bin/chromedriver", &["chromium", "chromium-driver"])
}

/// What WebDriver answered instead of a value.
#[derive(Debug, Clone)]
pub struct WebDriverError {
    /// The HTTP status.
    pub status: u16,
    /// The W3C error code (`no such element`, `stale element reference`, ...).
    pub error: String,
    pub message: String,
}

/// One request on a new connection; `None` when chromedriver is not there (yet). Its answer
/// is read as far as its `Content-Length` (chromedriver keeps connections open).
fn exchange(addr: SocketAddr, request: &[u8]) -> Option<Resp> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    stream.write_all(request).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|l| buf.len() >= end + 4 + l) {
                break;
            }
        }
        match stream.read(&mut chunk).ok()? {
            0 => break,
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Resp::parse(&buf)
}

/// One browser session on its own chromedriver, ended (and the driver killed) when dropped.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A headless Chromium, 1280 x 900, in a fresh profile.
    pub fn start() -> Browser {
        let chromium = chromium();
        let driver_bin = chromedriver();
        let port = crate::free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("temp dir");
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while browser
            .request("GET", "/status", None)
            .ok()
            .and_then(|v| v["ready"].as_bool())
            != Some(true)
        {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not get ready on {addr}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,900".into(),
            "--no-first-run".into(),
            "--lang=en-US".into(),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let created = browser
            .request(
                "POST",
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium.display().to_string(),
                        "args": args,
                    },
                }}})),
            )
            .unwrap_or_else(|e| panic!("no browser session: {e:?}"));
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser
    }

    /// One WebDriver call: its `value`, or the error it names.
    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut bytes = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.addr,
            body.len()
        );
        if method == "POST" {
            bytes.push_str("Content-Type: application/json; charset=utf-8\r\n");
        }
        bytes.push_str("\r\n");
        bytes.push_str(&body);
        let r = exchange(self.addr, bytes.as_bytes()).ok_or_else(|| WebDriverError {
            status: 0,
            error: "no answer".into(),
            message: format!(
                "chromedriver on {} did not answer {method} {path}",
                self.addr
            ),
        })?;
        let value: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let value = value["value"].clone();
        if r.status == 200 {
            Ok(value)
        } else {
            Err(WebDriverError {
                status: r.status,
                error: value["error"].as_str().unwrap_or("unknown").to_string(),
                message: value["message"]
                    .as_str()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            })
        }
    }

    /// A call in this session (`path` after `/session/{id}`).
    fn session_call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        self.request(method, &format!("/session/{}{path}", self.session), body)
    }

    #[track_caller]
    fn must(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.session_call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e:?}"))
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.must("POST", "/url", Some(json!({"url": url})));
    }

    /// The URL shown.
    pub fn url(&self) -> String {
        self.must("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching the CSS selector, if there is one now.
    pub fn try_find(&self, css: &str) -> Option<Element<'_>> {
        let v = self
            .session_call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .ok()?;
        Some(Element {
            browser: self,
            id: v[ELEMENT].as_str()?.to_string(),
        })
    }

    /// The first element matching the CSS selector, waiting up to `timeout` for one to show
    /// up (and be displayed).
    #[track_caller]
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Element<'_> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.try_find(css)
                && e.displayed()
            {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no {css} shown after {timeout:?}; the page says: {}",
                self.try_find("body").map(|b| b.text()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page; its return value.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.must(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let b64 = self.must("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64 PNG"))
            .expect("a base64 screenshot")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.request("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// An element of the page, as WebDriver names it.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    fn call(&self, method: &str, what: &str, body: Option<Value>) -> Result<Value, WebDriverError> {
        self.browser
            .session_call(method, &format!("/element/{}{what}", self.id), body)
    }

    #[track_caller]
    fn must(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        self.call(method, what, body)
            .unwrap_or_else(|e| panic!("WebDriver element {what}: {e:?}"))
    }

    pub fn click(&self) {
        self.must("POST", "/click", Some(json!({})));
    }

    /// Empties an input.
    pub fn clear(&self) {
        self.must("POST", "/clear", Some(json!({})));
    }

    /// Types `text` into the element.
    pub fn send_keys(&self, text: &str) {
        self.must("POST", "/value", Some(json!({"text": text})));
    }

    /// Its rendered text.
    pub fn text(&self) -> String {
        self.must("GET", "/text", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// An attribute's value (`data-value`, ...), if it has it.
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.must("GET", &format!("/attribute/{name}"), None)
            .as_str()
            .map(str::to_string)
    }

    pub fn displayed(&self) -> bool {
        self.call("GET", "/displayed", None)
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    /// Whether the element is still in the page: false once the page was loaded again
    /// (WebDriver's `stale element reference`).
    pub fn still_attached(&self) -> bool {
        !matches!(
            self.call("GET", "/name", None),
            Err(WebDriverError { ref error, .. }) if error == "stale element reference"
        )
    }

    /// The first element inside this one matching the CSS selector.
    pub fn find(&self, css: &str) -> Option<Element<'_>> {
        let v = self
            .call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .ok()?;
        Some(Element {
            browser: self.browser,
            id: v[ELEMENT].as_str()?.to_string(),
        })
    }
}
