//! In-memory ports and a fake clock, for the core's own tests and for embedders' tests.

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::auth::jwt::Hs256;
use crate::events::Event;
use crate::ports::{
    Clock, DriveCommand, DriveError, DriveHost, EventSink, IdTokenVerifier, IdentityClaims,
    LogDestination, LogForwarder, Mail, MailError, Mailer, NoLocalFiles, NoObjectStorage,
    NoShareMounts, NoUpdates, PasswordHasher, Ports, Rng, SecretBox, TransferRunner,
};
use crate::store::mem::MemStore;
use crate::sync::SpinLock;

/// A clock that only moves when told to.
pub struct FakeClock(AtomicU64);

impl FakeClock {
    /// Moves the clock forward (token expiry, MFA timeouts).
    pub fn advance_secs(&self, secs: u64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A deterministic xorshift generator; never use outside tests.
pub struct TestRng(AtomicU64);

impl Rng for TestRng {
    fn fill(&self, buf: &mut [u8]) {
        for b in buf {
            let mut x = self.0.load(Ordering::SeqCst);
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0.store(x, Ordering::SeqCst);
            *b = x as u8;
        }
    }
}

/// A splitmix64 sequence for seeded test cases: the same seed gives the same case.
pub struct Seeded(pub u64);

impl Seeded {
    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n.max(1)
    }

    /// One of `items`, if there is any.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// Stores passwords as `plain:<password>`: fast, and obviously not for production.
pub struct PlainHasher;

impl PasswordHasher for PlainHasher {
    fn hash(&self, password: &str) -> String {
        alloc::format!("plain:{password}")
    }
    fn verify(&self, password: &str, hash: &str) -> bool {
        hash.strip_prefix("plain:") == Some(password)
    }
}

/// A port that records what it is given (mail, events, audit events, transfer commands), for
/// tests to look at.
pub struct Recorded<T>(pub SpinLock<Vec<T>>);

impl<T> Default for Recorded<T> {
    fn default() -> Self {
        Recorded(SpinLock::new(Vec::new()))
    }
}

impl<T: Clone> Recorded<T> {
    /// Everything recorded so far, oldest first.
    pub fn all(&self) -> Vec<T> {
        self.0.lock().clone()
    }
}

impl Mailer for Recorded<Mail> {
    fn send(&self, mail: Mail) -> Result<(), MailError> {
        self.0.lock().push(mail);
        Ok(())
    }
}

impl EventSink for Recorded<Event> {
    fn publish(&self, event: Event) {
        self.0.lock().push(event);
    }
}

impl LogForwarder for Recorded<(LogDestination, String)> {
    fn forward(&self, destination: &LogDestination, event: String) {
        self.0.lock().push((destination.clone(), event));
    }
}

impl TransferRunner for Recorded<String> {
    fn start(&self, id: &str) {
        self.0.lock().push(alloc::format!("start:{id}"));
    }
    fn stop(&self, id: &str) {
        self.0.lock().push(alloc::format!("stop:{id}"));
    }
}

/// Drives: records each command as `apply:<id>`, `remove:<id>`, `sync:<id>:<rel>`,
/// `open:<path>`, `object:<id>:<rel>:<command>`.
impl DriveHost for Recorded<String> {
    fn apply(&self, id: &str) {
        self.0.lock().push(alloc::format!("apply:{id}"));
    }
    fn remove(&self, id: &str, _: &str) {
        self.0.lock().push(alloc::format!("remove:{id}"));
    }
    fn sync(&self, id: &str, rel: &str) {
        self.0.lock().push(alloc::format!("sync:{id}:{rel}"));
    }
    fn open(&self, path: &str) -> Result<(), String> {
        self.0.lock().push(alloc::format!("open:{path}"));
        Ok(())
    }
    async fn object(&self, id: &str, rel: &str, command: DriveCommand) -> Result<(), DriveError> {
        self.0
            .lock()
            .push(alloc::format!("object:{id}:{rel}:{command:?}"));
        Ok(())
    }
    fn rename_pending(&self, _: &str, _: &str) -> bool {
        false
    }
}

/// Accepts `google:<sub>:<email>` as an ID token.
pub struct FakeGoogle;

impl IdTokenVerifier for FakeGoogle {
    fn verify_google(&self, id_token: &str) -> Result<IdentityClaims, &'static str> {
        let mut parts = id_token.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("google"), Some(sub), Some(email)) => Ok(IdentityClaims {
                subject: sub.into(),
                email: email.into(),
                email_verified: true,
                ..IdentityClaims::default()
            }),
            _ => Err("bad token"),
        }
    }
}

/// Ports that keep everything in memory and record what the core sends out. Passwords are
/// hashed with [`PlainHasher`], Google tokens checked by [`FakeGoogle`], cloud storage is
/// [`NoObjectStorage`].
pub struct TestPorts {
    /// The store.
    pub store: MemStore,
    /// Starts at 2026-01-01T00:00:00Z and moves only when told to.
    pub clock: FakeClock,
    /// Deterministic randomness.
    pub rng: TestRng,
    /// HS256 under a fixed key.
    pub signer: Hs256,
    /// The mail sent.
    pub mail: Recorded<Mail>,
    /// The events raised.
    pub events: Recorded<Event>,
    /// The audit events forwarded, with their destination.
    pub logs: Recorded<(LogDestination, String)>,
    /// Under a fixed key.
    pub secrets: SecretBox,
    /// `start:<id>` and `stop:<id>`, in order.
    pub transfers: Recorded<String>,
    /// What the drive host was asked to do.
    pub drives: Recorded<String>,
}

impl Default for TestPorts {
    fn default() -> Self {
        TestPorts {
            store: MemStore::new(),
            clock: FakeClock(AtomicU64::new(1_767_225_600_000)),
            rng: TestRng(AtomicU64::new(0x9E37_79B9_7F4A_7C15)),
            signer: Hs256::new(b"test key"),
            mail: Recorded::default(),
            events: Recorded::default(),
            logs: Recorded::default(),
            secrets: SecretBox::new(&[0x5e; 32]),
            transfers: Recorded::default(),
            drives: Recorded::default(),
        }
    }
}

impl Ports for TestPorts {
    type Store = MemStore;
    type Clock = FakeClock;
    type Rng = TestRng;
    type Signer = Hs256;
    type Hasher = PlainHasher;
    type Mailer = Recorded<Mail>;
    type Events = Recorded<Event>;
    type IdTokens = FakeGoogle;
    type Logs = Recorded<(LogDestination, String)>;
    type Objects = NoObjectStorage;
    type Transfers = Recorded<String>;
    type Drives = Recorded<String>;
    type Files = NoLocalFiles;
    type Updates = NoUpdates;
    type Shares = NoShareMounts;

    fn store(&self) -> &MemStore {
        &self.store
    }
    fn clock(&self) -> &FakeClock {
        &self.clock
    }
    fn rng(&self) -> &TestRng {
        &self.rng
    }
    fn signer(&self) -> &Hs256 {
        &self.signer
    }
    fn hasher(&self) -> &PlainHasher {
        &PlainHasher
    }
    fn mailer(&self) -> &Recorded<Mail> {
        &self.mail
    }
    fn events(&self) -> &Recorded<Event> {
        &self.events
    }
    fn id_tokens(&self) -> &FakeGoogle {
        &FakeGoogle
    }
    fn logs(&self) -> &Recorded<(LogDestination, String)> {
        &self.logs
    }
    fn objects(&self) -> &NoObjectStorage {
        &NoObjectStorage
    }
    fn transfers(&self) -> &Recorded<String> {
        &self.transfers
    }
    fn drives(&self) -> &Recorded<String> {
        &self.drives
    }
    fn files(&self) -> &NoLocalFiles {
        &NoLocalFiles
    }
    fn updates(&self) -> &NoUpdates {
        &NoUpdates
    }
    fn shares(&self) -> &NoShareMounts {
        &NoShareMounts
    }
    fn secrets(&self) -> &SecretBox {
        &self.secrets
    }
}

/// Polls a core future to completion. The core's futures never wait on I/O, so with in-memory
/// ports one poll finishes them.
pub fn block_on<F: core::future::Future>(f: F) -> F::Output {
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    let mut f = core::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        core::task::Poll::Ready(v) => v,
        core::task::Poll::Pending => panic!("a core future waited"),
    }
}

/// A response's body as JSON (panics if it is not).
pub fn json(r: &crate::Response) -> serde_json::Value {
    serde_json::from_slice(&r.body).expect("a JSON body")
}

/// The password of the users [`TestAgent`] signs up.
pub const PASSWORD: &str = "long enough";

/// An agent on [`TestPorts`] and a way to call it.
pub struct TestAgent {
    /// The agent, with the default configuration.
    pub agent: crate::Agent<TestPorts>,
}

impl Default for TestAgent {
    fn default() -> Self {
        TestAgent::new()
    }
}

impl TestAgent {
    /// A fresh agent with an empty store.
    pub fn new() -> TestAgent {
        TestAgent {
            agent: crate::Agent::new(TestPorts::default(), crate::CoreConfig::default()),
        }
    }

    /// Calls `path` (which may carry a query) from localhost with a JSON body.
    pub fn call(&self, method: crate::Method, path: &str, body: &str) -> crate::Response {
        let headers = [crate::Header {
            name: "Host",
            value: b"localhost:29123",
        }];
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        block_on(self.agent.handle(&crate::Request {
            method,
            path,
            query,
            headers: &headers,
            body: body.as_bytes(),
        }))
    }

    /// POSTs `body` to `path`.
    pub fn post(&self, path: &str, body: serde_json::Value) -> crate::Response {
        self.call(
            crate::Method::Post,
            path,
            &alloc::string::ToString::to_string(&body),
        )
    }

    /// Signs up `email` with [`PASSWORD`] (the code is in the recorded mail).
    pub fn signup(&self, email: &str) -> crate::Response {
        self.post(
            "/authentication/signup",
            serde_json::json!({"name": "A B", "email": email, "password": PASSWORD}),
        )
    }

    /// Signs up, confirms with the code from the recorded mail, logs in; returns the token.
    pub fn signup_and_login(&self, email: &str) -> String {
        assert_eq!(self.signup(email).status, 200);
        let code = self
            .agent
            .ports
            .mail
            .all()
            .last()
            .expect("a mail")
            .token
            .clone();
        let r = self.post(
            "/authentication/confirm_signup",
            serde_json::json!({"email": email, "token": code}),
        );
        assert_eq!(r.status, 200);
        self.login(email)
    }

    /// Logs a confirmed user in with [`PASSWORD`]; returns the token.
    pub fn login(&self, email: &str) -> String {
        let r = self.post(
            "/authentication/login",
            serde_json::json!({"username": email, "password": PASSWORD}),
        );
        assert_eq!(r.status, 200, "{:?}", core::str::from_utf8(&r.body));
        String::from(json(&r)["jwtToken"].as_str().expect("a token"))
    }
}
