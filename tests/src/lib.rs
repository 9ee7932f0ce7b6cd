//! Black-box test harness: starts the real `click-agent` binary on a free port with a fresh
//! data directory and talks HTTP and WebSocket to it over real sockets.
//!
//! The HTTP client is deliberately minimal (one connection per call, `Connection: close`) so
//! that tests control every byte: bad Host headers, invalid UTF-8, huge or slow bodies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use serde_json::{Value, json};

pub mod azure;
pub mod backup;
pub mod browser;
pub mod docs;
pub mod form;
pub mod identity;
pub mod idp;
pub mod mail;
pub mod mounts;
pub mod oauth;
pub mod postgres;
pub mod recorder;
pub mod s3;
pub mod saml;
pub mod shares;
pub mod storage;
pub mod tools;
pub mod ws;

/// How to start an agent.
#[derive(Default, Clone)]
pub struct Options {
    pub compat: bool,
    /// Extra TOML appended to the generated configuration file.
    pub config: String,
    /// Environment variables for the agent process.
    pub env: Vec<(String, String)>,
    /// Reuse a data directory (to test restarts).
    pub data_dir: Option<PathBuf>,
    /// Run this copy of the desktop agent instead of the built one (a test that lets the
    /// agent replace its own program).
    pub binary: Option<PathBuf>,
}

/// A running `click-agent`, killed when dropped.
pub struct Agent {
    child: std::sync::Mutex<Option<Child>>,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    /// The TAP device of an embassy agent, removed after it.
    _tap: Option<Tap>,
    /// The agent's log (stderr): lines not yet read, and lines read.
    stderr: std::sync::Mutex<(mpsc::Receiver<String>, Vec<String>)>,
    /// HTTP calls in flight at once.
    calls: Gate,
}

/// Holds clients within what the agent accepts at once, as a browser limits its connections
/// per host. The firmware has a pool of 8 connections (its accept queue: one more is refused)
/// and tests keep up to 3 WebSockets open beside their calls; no limit elsewhere.
struct Gate {
    in_flight: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
    limit: usize,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            in_flight: std::sync::Mutex::new(0),
            freed: std::sync::Condvar::new(),
            limit: if firmware_target() { 4 } else { usize::MAX },
        }
    }

    fn pass<T>(&self, f: impl FnOnce() -> T) -> T {
        {
            let mut n = self.in_flight.lock().unwrap();
            while *n >= self.limit {
                n = self.freed.wait(n).unwrap();
            }
            *n += 1;
        }
        // Released even when `f` panics, so other threads of a failing test go on.
        struct Leave<'a>(&'a Gate);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                *self.0.in_flight.lock().unwrap() -= 1;
                self.0.freed.notify_one();
            }
        }
        let _leave = Leave(self);
        f()
    }
}

/// The `click-agent` binary next to this test's target directory.
pub fn agent_binary() -> PathBuf {
    if let Ok(p) = std::env::var("CLICK_AGENT_BIN") {
        return PathBuf::from(p);
    }
    built_binary(
        "click-agent",
        "cargo build -p click-tokio (cargo test --workspace does)",
    )
}

/// A binary of this workspace next to the test executable.
fn built_binary(name: &str, how: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it with `{how}`",
        bin.display()
    );
    bin
}

/// Which agent the tests start: the desktop agent; with `CLICK_TARGET=embassy-tuntap` the
/// embassy adapter on a TAP device (root, inside a network namespace: see tests/README.md);
/// with `CLICK_TARGET=firmware-mps2` the networked firmware in QEMU (`CLICK_FIRMWARE_ELF`);
/// with `CLICK_TARGET=embed` the app of `examples/embed`, which serves the API under `/click`.
fn target() -> String {
    std::env::var("CLICK_TARGET").unwrap_or_default()
}

/// The embassy adapter, on the TAP device or in the firmware.
pub fn device_target() -> bool {
    matches!(target().as_str(), "embassy-tuntap" | "firmware-mps2")
}

/// What the agent of `data_dir` keeps at rest, for tests that look for secrets in it: the
/// desktop's redb file or its PostgreSQL rows, the embassy adapter's flash image; `None`
/// where state is only in RAM (the firmware, the embed example).
pub fn stored_state(data_dir: &Path) -> Option<Vec<u8>> {
    if firmware_target() || embed_target() {
        return None;
    }
    if device_target() {
        return Some(std::fs::read(data_dir.join("flash.bin")).expect("the flash image"));
    }
    postgres::stored_values(data_dir)
        .or_else(|| Some(std::fs::read(data_dir.join("click.redb")).expect("the database file")))
}

/// The firmware in QEMU: state in RAM, configuration as `config.json`, 4 KiB requests.
pub fn firmware_target() -> bool {
    target() == "firmware-mps2"
}

/// The app that embeds the core (`examples/embed`): state in memory, no Cloud controller,
/// the API under [`api_prefix`].
pub fn embed_target() -> bool {
    target() == "embed"
}

/// Where the agent under test serves the API: the embed example mounts it under `/click`.
/// Every call and WebSocket path of the tests is prefixed with it.
pub fn api_prefix() -> &'static str {
    if embed_target() { "/click" } else { "" }
}

/// True, after saying so, when the tests run against the embassy adapter or the embed example
/// and the test needs something only the desktop agent has (`what`). The test then returns
/// early.
pub fn desktop_only(what: &str) -> bool {
    if device_target() {
        eprintln!("skipped on the embassy adapter: {what}");
    } else if embed_target() {
        eprintln!("skipped on the embed example: {what}");
    }
    device_target() || embed_target()
}

/// True, after saying so, when the tests run against the firmware and the test needs what
/// only a hosted agent has (`what`: state kept across a restart, signals, runtime sizes).
/// Also true on the embed example, whose state is in memory: it has SIGTERM and a configurable
/// WebSocket queue, but this one helper guards those tests as well as the restarts.
pub fn hosted_only(what: &str) -> bool {
    if firmware_target() {
        eprintln!("skipped on the firmware: {what}");
    } else if embed_target() {
        eprintln!("skipped on the embed example: {what}");
    }
    firmware_target() || embed_target()
}

/// Whether the agent under test has `path`: the firmware is built without the core's `cloud`
/// and `sso` features (a device has no cloud client, mounts no drives and reaches no identity
/// provider), so the Cloud, Transfer, FastrSettings, report and SSO controllers and the
/// Management routes beyond the agent's own lifecycle (and the dashboard page) answer 404
/// there; so does the embed example.
pub fn route_built_in(path: &str) -> bool {
    const DEVICE_MANAGEMENT: [&str; 4] = ["agent_status", "command/", "notify", "outbox"];
    const CLOUD_CONTROLLERS: [&str; 7] = [
        "/cloud/",
        "/transfer/",
        "/fastrsettings/",
        "/backupreport/",
        "/drivereport/",
        "/transferhistory/",
        "/storage/",
    ];
    let needs_cloud = CLOUD_CONTROLLERS.iter().any(|c| path.starts_with(c))
        || path.starts_with("/sso/")
        || path == "/ui"
        || path.starts_with("/ui/")
        || path.strip_prefix("/management/").is_some_and(|rest| {
            !DEVICE_MANAGEMENT
                .iter()
                .any(|route| rest.starts_with(route))
        });
    !((firmware_target() || embed_target()) && needs_cloud)
}

/// A free TCP port on the loopback interface (for QEMU's `hostfwd`, chromedriver).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// QEMU booting the networked firmware, its port 80 forwarded to `port` on the host; its
/// semihosting files (the outbox) land in `dir`.
fn firmware_command(dir: &Path, port: u16, options: &Options) -> Command {
    assert!(
        options.env.is_empty(),
        "the firmware has no environment: guard this test with hosted_only()"
    );
    let elf = std::env::var("CLICK_FIRMWARE_ELF")
        .expect("CLICK_FIRMWARE_ELF: the networked firmware (tests/run-on-firmware.sh builds it)");
    std::fs::create_dir_all(dir.join("outbox")).expect("create the outbox dir");
    // A device reads the same keys as JSON (it has no TOML parser).
    let config: Value = toml::from_str(&options.config).expect("the test's configuration");
    std::fs::write(dir.join("config.json"), config.to_string()).expect("write config.json");
    let mut semihosting = String::from("enable=on,target=native,arg=firmware");
    if options.compat {
        semihosting.push_str(",arg=--compat");
    }
    let mut cmd = Command::new("qemu-system-arm");
    cmd.args(["-cpu", "cortex-m4", "-machine", "mps2-an386", "-nographic"])
        .args(["-monitor", "none", "-serial", "none"])
        .args(["-semihosting-config", &semihosting])
        .args(["-kernel", &elf])
        .args([
            "-nic",
            &format!("user,model=lan9118,hostfwd=tcp:127.0.0.1:{port}-:80"),
        ])
        .current_dir(dir);
    cmd
}

/// A TAP device for one embassy agent: `tapcN`, host side 10.77.N.1/24, the agent at .2.
struct Tap {
    name: String,
    index: u32,
}

impl Tap {
    fn create() -> Tap {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let index = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert!(index < 250, "too many TAP devices in one test binary");
        let name = format!("tapc{index}");
        let ip = |args: &[&str]| {
            let ok = Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {}", args.join(" "));
        };
        let _ = Command::new("ip")
            .args(["link", "del", &name])
            .stderr(Stdio::null())
            .status();
        ip(&["tuntap", "add", &name, "mode", "tap"]);
        ip(&["addr", "add", &format!("10.77.{index}.1/24"), "dev", &name]);
        ip(&["link", "set", &name, "up"]);
        Tap { name, index }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.name])
            .status();
    }
}

/// Runs `f(0)` .. `f(n - 1)` on `n` threads at once and returns their results in order (races
/// against the agent: duplicates, counters, plan limits).
pub fn concurrently<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..n).map(|i| s.spawn(move || f(i))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racing call panicked"))
            .collect()
    })
}

/// The route table as `click-agent routes` prints it: method, path pattern, auth policy.
pub fn routes() -> Vec<(String, String, String)> {
    let out = Command::new(agent_binary())
        .arg("routes")
        .output()
        .expect("click-agent routes");
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

impl Agent {
    pub fn start() -> Agent {
        Agent::start_with(Options::default())
    }

    pub fn start_compat() -> Agent {
        Agent::start_with(Options {
            compat: true,
            ..Options::default()
        })
    }

    pub fn start_with(options: Options) -> Agent {
        let (tmp, data_dir) = match &options.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::tempdir().expect("temp dir");
                let d = t.path().join("data");
                (Some(t), d)
            }
        };
        let config_path = data_dir.with_extension("toml");
        std::fs::create_dir_all(data_dir.parent().unwrap()).unwrap();
        let mut config = options.config.clone();
        if target().is_empty() && !config.contains("[store]") {
            config.extend(postgres::store_config(&data_dir));
        }
        std::fs::write(&config_path, &config).expect("write config");
        if firmware_target() {
            return Agent::boot_firmware(&options, tmp, data_dir);
        }
        let tap = device_target().then(Tap::create);
        let mut cmd = match &tap {
            None if embed_target() => {
                let bin = built_binary("click-example-embed", "cargo build -p click-example-embed");
                let mut cmd = Command::new(bin);
                cmd.arg("--listen").arg("127.0.0.1:0");
                cmd
            }
            None => {
                let bin = options.binary.clone().unwrap_or_else(agent_binary);
                let mut cmd = Command::new(bin);
                cmd.arg("serve").arg("--listen").arg("127.0.0.1:0");
                cmd
            }
            Some(tap) => {
                let bin = built_binary(
                    "click-embassy-tuntap",
                    "cargo build -p click-embassy-tuntap",
                );
                let mut cmd = Command::new(bin);
                cmd.arg("--tap")
                    .arg(&tap.name)
                    .arg("--address")
                    .arg(format!("10.77.{}.2/24", tap.index));
                cmd
            }
        };
        cmd.arg("--data-dir")
            .arg(&data_dir)
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if options.compat {
            cmd.arg("--compat");
        }
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start click-agent");
        let (child, line, err_rx) = Agent::first_line(child);
        let addr = line
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"));
        let mut agent = Agent::running(child, addr, data_dir, tmp, err_rx);
        agent._tap = tap;
        agent
    }

    fn running(
        child: Child,
        addr: SocketAddr,
        data_dir: PathBuf,
        tmp: Option<tempfile::TempDir>,
        log: mpsc::Receiver<String>,
    ) -> Agent {
        Agent {
            child: std::sync::Mutex::new(Some(child)),
            addr,
            data_dir,
            _tmp: tmp,
            stderr: std::sync::Mutex::new((log, Vec::new())),
            calls: Gate::new(),
            _tap: None,
        }
    }

    /// Boots the firmware; it is reached through the port QEMU forwards.
    fn boot_firmware(
        options: &Options,
        tmp: Option<tempfile::TempDir>,
        data_dir: PathBuf,
    ) -> Agent {
        let port = free_port();
        let mut cmd = firmware_command(&data_dir, port, options);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("start qemu-system-arm");
        let (child, _, err_rx) = Agent::first_line(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        Agent::running(child, addr, data_dir, tmp, err_rx)
    }

    /// Waits for the agent's first line on stdout (where it says it listens); its stderr goes
    /// to the returned channel.
    fn first_line(mut child: Child) -> (Child, String, mpsc::Receiver<String>) {
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if err_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (addr_tx, addr_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = addr_tx.send(line);
            }
            for _ in lines {}
        });
        let line = match addr_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let err: Vec<String> = err_rx.try_iter().collect();
                panic!("click-agent did not start: {}", err.join("\n"));
            }
        };
        (child, line, err_rx)
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Starts building a request.
    pub fn call(&self, method: &str, path: &str) -> Call<'_> {
        Call {
            agent: self,
            method: method.to_string(),
            path: format!("{}{path}", api_prefix()),
            headers: vec![("Host".into(), self.host())],
            body: Vec::new(),
        }
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        self.call("GET", path)
    }

    pub fn post(&self, path: &str, body: Value) -> Call<'_> {
        self.call("POST", path).json(&body)
    }

    pub fn put(&self, path: &str, body: Value) -> Call<'_> {
        self.call("PUT", path).json(&body)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&self) -> std::process::ExitStatus {
        let pid = self.child.lock().unwrap().as_ref().expect("running").id();
        unsafe_kill(pid, "TERM");
        self.wait_exit(Duration::from_secs(15))
            .expect("agent exits after SIGTERM")
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.lock().unwrap().as_mut().map(Child::try_wait)
            {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Kills the agent with SIGKILL, as a crash would.
    pub fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(
            self.child.lock().unwrap().as_mut().map(Child::try_wait),
            Some(Ok(None))
        )
    }

    /// Everything the agent wrote on stderr so far (its log).
    pub fn log(&self) -> String {
        let mut guard = self.stderr.lock().unwrap();
        let (rx, lines) = &mut *guard;
        lines.extend(rx.try_iter());
        lines.join("\n")
    }

    /// Messages in the outbox, oldest first.
    pub fn outbox(&self) -> Vec<mail::OutboxMail> {
        mail::read_outbox(&self.data_dir.join("outbox"))
    }

    /// The last message of a purpose sent to `to`.
    pub fn last_mail(&self, purpose: &str, to: &str) -> mail::OutboxMail {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(m) = self
                .outbox()
                .into_iter()
                .rev()
                .find(|m| m.purpose == purpose && m.to.contains(to))
            {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no {purpose} mail to {to} in the outbox"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Opens a WebSocket on `path` with extra headers.
    pub fn ws(&self, path: &str, headers: &[(&str, &str)]) -> Result<ws::Socket, ws::Error> {
        ws::connect(self, &format!("{}{path}", api_prefix()), headers)
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
        detach_mounts_under(&self.data_dir);
        if std::thread::panicking() {
            // A failed test shows the agent's side of the story (CI keeps only the output).
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- agent log (last {} lines) ---", tail.len());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Detaches the drives a killed agent left mounted under `dir` (the kernel keeps a dead FUSE
/// mount until someone unmounts it).
fn detach_mounts_under(dir: &Path) {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return;
    };
    let dir = dir.display().to_string().replace(' ', "\\040");
    for point in mounts.lines().filter_map(|l| l.split(' ').nth(1)) {
        if point.starts_with(&dir) {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(point.replace("\\040", " "))
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Bytes that differ everywhere (xorshift of `seed`), so that a misplaced or lost part of a
/// file shows.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `len` bytes of an 8 MiB [`pattern`] block over and over, as a stream: a test can send or
/// check a file of gigabytes without a copy of it on disk or in memory.
pub struct PatternStream {
    block: Vec<u8>,
    at: usize,
    left: usize,
}

impl PatternStream {
    pub fn new(len: usize, seed: u64) -> PatternStream {
        PatternStream {
            block: pattern(8 << 20, seed),
            at: 0,
            left: len,
        }
    }
}

impl Read for PatternStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left).min(self.block.len() - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at = (self.at + n) % self.block.len();
        self.left -= n;
        Ok(n)
    }
}

/// A request being built.
pub struct Call<'a> {
    agent: &'a Agent,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if name.eq_ignore_ascii_case("host") {
            self.headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("host"));
        }
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn without_host(mut self) -> Self {
        self.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("host"));
        self
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.body = serde_json::to_vec(body).unwrap();
        self.header("Content-Type", "application/json")
    }

    pub fn raw(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self.header("Content-Type", "application/json")
    }

    /// Passes the token as the documented `?token=` parameter.
    pub fn token(mut self, token: &str) -> Self {
        let sep = if self.path.contains('?') { '&' } else { '?' };
        self.path = format!("{}{sep}token={}", self.path, encode(token));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        let value = format!("Bearer {token}");
        self.header("Authorization", &value)
    }

    /// Like [`Call::send`], but `None` when the connection fails or the answer is cut off (an
    /// agent being killed).
    pub fn try_send(self) -> Option<Resp> {
        let bytes = self.bytes();
        let mut stream = TcpStream::connect(self.agent.addr).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        stream.write_all(&bytes).ok()?;
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).ok()?;
        let resp = Resp::parse(&buf)?;
        let complete = resp
            .header("content-length")
            .and_then(|l| l.parse::<usize>().ok())
            .is_none_or(|l| resp.body.len() == l);
        complete.then_some(resp)
    }

    fn bytes(&self) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        for (n, v) in &self.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    pub fn send(self) -> Resp {
        self.agent
            .calls
            .pass(|| raw_exchange(self.agent.addr, &self.bytes()))
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends raw bytes on a new connection and reads the response until the server closes it.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Resp {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).expect("send request");
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    Resp::parse(&buf)
        .unwrap_or_else(|| panic!("no HTTP response: {:?}", String::from_utf8_lossy(&buf)))
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn parse(buf: &[u8]) -> Option<Resp> {
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&buf[..end]).ok()?;
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = buf[end + 4..].to_vec();
        if let Some(len) = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
        {
            body.truncate(len);
        }
        Some(Resp {
            status,
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// Asserts a documented 499 with this error code, and returns its message.
    #[track_caller]
    pub fn expect_error(self, code: &str) -> String {
        assert_eq!(
            self.status,
            499,
            "expected 499 {code}; body: {}",
            self.text()
        );
        let body = self.json();
        assert_eq!(body["type"], code, "{body}");
        assert_eq!(body["status"], 499);
        assert_eq!(self.header("error-code"), Some(code));
        body["errors"][code][0]
            .as_str()
            .expect("a message")
            .to_string()
    }
}

// ------------------------------------------------------------------ account helpers

pub const PASSWORD: &str = "correct horse battery";

/// Signs up, confirms with the emailed code, and logs in. Returns the token.
pub fn signup_and_login(agent: &Agent, email: &str) -> String {
    signup_confirmed(agent, email, "Jane Doe");
    login(agent, email, PASSWORD)
}

pub fn signup_confirmed(agent: &Agent, email: &str, name: &str) {
    agent
        .post(
            "/authentication/signup",
            json!({"name": name, "email": email, "password": PASSWORD}),
        )
        .send()
        .expect(200);
    let code = agent.last_mail("signup-confirmation", email).token;
    let r = agent
        .post(
            "/authentication/confirm_signup",
            json!({"email": email, "token": code}),
        )
        .send()
        .expect(200);
    assert_eq!(r.json(), json!(true));
}

/// Invites a user of `user_type` into the admin's account and activates it through the
/// emailed link; returns its id and a login token.
pub fn member(agent: &Agent, admin: &str, username: &str, user_type: u32) -> (String, String) {
    let user = agent
        .post(
            "/user/insert_user",
            json!({"username": username, "email": username, "userType": user_type}),
        )
        .token(admin)
        .send()
        .expect(200)
        .json();
    activate(agent, username);
    (
        user["id"].as_str().unwrap().to_string(),
        login_as(agent, username, PASSWORD, user_type),
    )
}

/// Follows the activation mail: sets the password, which makes the invited user Active.
pub fn activate(agent: &Agent, username: &str) {
    let mail = agent.last_mail("user-activation", username);
    agent
        .post(
            "/authentication/reset_password",
            json!({"resetToken": mail.token, "password": PASSWORD}),
        )
        .send()
        .expect(200);
}

/// Logs in as a DesktopAdmin (16), as the account owners of the tests are.
pub fn login(agent: &Agent, username: &str, password: &str) -> String {
    login_as(agent, username, password, 16)
}

pub fn login_as(agent: &Agent, username: &str, password: &str, user_type: u32) -> String {
    let r = agent
        .post(
            "/authentication/login",
            json!({"username": username, "password": password, "type": user_type}),
        )
        .send()
        .expect(200);
    let body = r.json();
    assert_eq!(body["challenge"], 0, "{body}");
    body["jwtToken"].as_str().unwrap().to_string()
}

/// Adds a cloud account (`/cloud/insert_account` with `body`); its id.
pub fn insert_cloud_account(agent: &Agent, token: &str, body: Value) -> String {
    agent
        .post("/cloud/insert_account", body)
        .token(token)
        .send()
        .expect(200)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Whether two files hold the same bytes (read a window at a time: they may be gigabytes).
pub fn same_file(a: &Path, b: &Path) -> bool {
    same_bytes(
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    )
}

/// Whether two streams carry the same bytes, read 8 MiB at a time.
pub fn same_bytes(mut a: impl Read, mut b: impl Read) -> bool {
    let (mut x, mut y) = (vec![0u8; 8 << 20], vec![0u8; 8 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
        if b.read_exact(&mut y[..n]).is_err() || x[..n] != y[..n] {
            return false;
        }
    }
}

/// Options of an agent whose transfers may use the local folder `root`, with `more` lines of
/// its `[transfers]` section.
pub fn transfer_roots(root: &Path, more: &str) -> Options {
    Options {
        config: format!("[transfers]\nroots = [\"{}\"]\n{more}", root.display()),
        ..Options::default()
    }
}

/// Waits until `done` holds, checking every 50 ms; fails the test after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The docs' "Insert Cloud Drive" example on a new cloud account (`cloud`, a body for
/// `/cloud/insert_account`) of the user signed in with `token`, with `changes` over it.
pub fn drive_insert_body(agent: &Agent, token: &str, cloud: Value, changes: Value) -> Value {
    let cloud = insert_cloud_account(agent, token, cloud);
    let mut body = docs::example("management.md", "### Insert Cloud Drive");
    body["account"]["id"] = json!(cloud);
    for (k, v) in changes.as_object().expect("an object of changes") {
        body[k] = v.clone();
    }
    body
}

/// A data directory that outlives the agents started on it, so a test can kill one and start
/// the next.
pub struct DataDir(tempfile::TempDir);

impl DataDir {
    #[allow(clippy::new_without_default)]
    pub fn new() -> DataDir {
        DataDir(tempfile::tempdir().expect("temp dir"))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// An agent on this directory.
    pub fn agent(&self) -> Agent {
        Agent::start_with(Options {
            data_dir: Some(self.0.path().to_path_buf()),
            ..Options::default()
        })
    }
}

/// `/cloud/client_transfer/{id}/status`.
pub fn transfer_status(agent: &Agent, token: &str, id: &str) -> Value {
    agent
        .get(&format!("/cloud/client_transfer/{id}/status"))
        .token(token)
        .send()
        .expect(200)
        .json()
}

/// Polls `/cloud/client_transfer/{id}/status` until the transfer reaches `status`; fails the
/// test if it fails instead or takes longer than a minute.
pub fn wait_for_transfer(agent: &Agent, token: &str, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = transfer_status(agent, token, id);
        if s["status"] == status {
            return s;
        }
        assert!(
            (status == "failed" || s["status"] != "failed") && Instant::now() < deadline,
            "waiting for {status}: {s}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An account's owner, signed in, with shortcuts for its calls.
pub struct Account<'a> {
    pub agent: &'a Agent,
    pub token: String,
}

impl Account<'_> {
    pub fn new<'a>(agent: &'a Agent, email: &str) -> Account<'a> {
        Account {
            agent,
            token: signup_and_login(agent, email),
        }
    }

    pub fn post(&self, path: &str, body: Value) -> Resp {
        self.agent.post(path, body).token(&self.token).send()
    }

    pub fn put(&self, path: &str, body: Value) -> Resp {
        self.agent.put(path, body).token(&self.token).send()
    }

    pub fn get(&self, path: &str) -> Value {
        self.agent
            .get(path)
            .token(&self.token)
            .send()
            .expect(200)
            .json()
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.agent.call("DELETE", path).token(&self.token).send()
    }

    pub fn group(&self, name: &str) -> String {
        let g = self
            .post(
                "/usergroup/insert",
                json!({"name": name, "description": "d", "active": true}),
            )
            .expect(200)
            .json();
        g["id"].as_str().unwrap().to_string()
    }

    pub fn project(&self, name: &str) -> String {
        let p = self
            .post(
                "/projects/insert",
                json!({"name": name, "description": "d", "active": true}),
            )
            .expect(200)
            .json();
        p["id"].as_str().unwrap().to_string()
    }

    /// Invites and activates a user of the given type; returns its id and token.
    pub fn user(&self, username: &str, user_type: u32) -> (String, String) {
        member(self.agent, &self.token, username, user_type)
    }
}

/// The value of `name` in a URL's query (form-decoded), if it is there.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| form_decode(v))
}

/// A form-encoded value, decoded (`%XX` and `+`).
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Runs the Python script `tests/clients/<script>` with `input` on its standard input; its
/// output, whether it succeeded or not.
pub fn python_filter(script: &str, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let path = format!("{}/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3")
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}
