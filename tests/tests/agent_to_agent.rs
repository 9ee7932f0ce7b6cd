//! Agent-to-agent transfers (`cloud.md`, Fastr Server-to-Server Transfers and P2P Client
//! Transfers) between real agents on loopback, each serving its built-in storage: the bytes
//! arrive whole, the documented answers and fields hold, cancel undoes, and a `kill -9` in the
//! middle loses nothing.

use std::time::{Duration, Instant};

use click_blackbox::storage::{Key, StorageAgent, ok, pair};
use click_blackbox::{Agent, PatternStream, Value, desktop_only, docs, insert_cloud_account, json};

const MIB: usize = 1 << 20;

/// A storage agent with its storage account (bucket `project-alpha`) and a key reaching all.
struct Peer {
    w: StorageAgent,
    cloud: String,
    key: Key,
}

fn peer() -> Peer {
    let w = StorageAgent::start("");
    let (cloud, key) = w.storage_and_key();
    Peer { w, cloud, key }
}

impl Peer {
    /// Sends `len` bytes of a pattern to `project-alpha/key` through `rclone rcat`, streamed:
    /// the gigabyte files of these tests never sit on disk outside the storages.
    fn put(&self, key: &str, len: usize, seed: u64) -> Sent {
        let to = format!("s3:project-alpha/{key}");
        let bytes = PatternStream::new(len, seed);
        ok(self.w.rclone_fed(pair(&self.key), &["rcat", &to], bytes));
        Sent { len, seed }
    }

    /// Whether `project-alpha/key` holds exactly the bytes `sent`, read through `rclone cat`.
    fn holds(&self, key: &str, sent: Sent) -> bool {
        let from = format!("s3:project-alpha/{key}");
        let want = PatternStream::new(sent.len, sent.seed);
        self.w.rclone_gives(pair(&self.key), &["cat", &from], want)
    }

    fn keys(&self) -> Vec<String> {
        let listed = ok(self
            .w
            .rclone(pair(&self.key), &["lsf", "-R", "s3:project-alpha"]));
        listed.lines().map(str::to_string).collect()
    }

    /// A cloud account on `on` (signed in with `token`) that reaches this peer's storage.
    fn account_on(&self, on: &Agent, token: &str, cloud_type: u32) -> String {
        insert_cloud_account(
            on,
            token,
            json!({"cloudType": cloud_type, "name": "peer", "endpoint": self.w.endpoint,
                "accessKey": self.key.0, "secretKey": self.key.1}),
        )
    }
}

/// What [`Peer::put`] sent: `len` bytes of the pattern of `seed`.
#[derive(Clone, Copy)]
struct Sent {
    len: usize,
    seed: u64,
}

/// The `transferId`s of a list, in its order.
fn transfer_ids(all: &Value) -> Vec<&str> {
    let list = all.as_array().expect("a list");
    list.iter()
        .map(|t| t["transferId"].as_str().unwrap())
        .collect()
}

/// Polls `path` (a status route) until its `status` is `want`; fails on a terminal other.
fn wait_status(agent: &Agent, token: &str, path: &str, want: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let s = agent.get(path).token(token).send().expect(200).json();
        if s["status"] == want {
            return s;
        }
        let over =
            ["completed", "failed", "cancelled"].contains(&s["status"].as_str().unwrap_or(""));
        assert!(
            !over && Instant::now() < deadline,
            "waiting for {want}: {s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `path` until at least `bytes` moved (field `field`) while it still runs.
fn wait_moving(agent: &Agent, token: &str, path: &str, field: &str, bytes: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = agent.get(path).token(token).send().expect(200).json();
        if s[field].as_u64().unwrap_or(0) >= bytes {
            assert_eq!(s["status"], "running", "{s}");
            return;
        }
        assert!(Instant::now() < deadline, "waiting for {bytes} bytes: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The docs' "Initiate Server Transfer" body from `source` to `target` (the orchestrator
/// holds `source_account` and `target_account`).
fn server_body(source: &Peer, target: &Peer, accounts: (&str, &str), path: &str) -> Value {
    let mut body = docs::example_after(
        "cloud.md",
        "### Initiate Server Transfer",
        "#### Request Body",
    );
    body["sourceServerUrl"] = json!(source.w.endpoint);
    body["targetServerUrl"] = json!(target.w.endpoint);
    body["sourceBucket"] = json!("project-alpha");
    body["targetBucket"] = json!("project-alpha");
    body["sourcePath"] = json!(path);
    body["targetPath"] = json!(format!("copied/{path}"));
    body["sourceAccountId"] = json!(accounts.0);
    body["targetAccountId"] = json!(accounts.1);
    body
}

fn initiate_server(agent: &Agent, token: &str, body: Value) -> String {
    let r = agent
        .post("/cloud/server_transfer/initiate", body)
        .token(token)
        .send()
        .expect(202)
        .json();
    assert_eq!(r["message"], "Server transfer initiated", "{r}");
    assert_eq!(r["status"], "pending", "{r}");
    r["transferId"].as_str().unwrap().to_string()
}

/// A server transfer of 1 GiB from one agent's storage to another's, orchestrated by the
/// target agent: the documented answers, then cancel, bad input and a `kill -9`.
#[test]
fn a_server_transfer_streams_one_object_between_two_agents() {
    if desktop_only("agent-to-agent transfers") {
        return;
    }
    let source = peer();
    let mut target = peer();
    let (o, token) = (&target.w.agent, target.w.token.clone());
    let from = source.account_on(o, &token, 4096);
    let accounts = (from.as_str(), target.cloud.as_str());
    let big = source.put("films/big.mov", 1024 * MIB, 1);

    let id = initiate_server(
        o,
        &token,
        server_body(&source, &target, accounts, "films/big.mov"),
    );
    let status = format!("/cloud/server_transfer/{id}/status");
    let started = Instant::now();
    let done = wait_status(o, &token, &status, "completed", Duration::from_secs(600));
    eprintln!("1 GiB server transfer: {:?}", started.elapsed());
    let mut want = docs::example_after(
        "cloud.md",
        "### Get Server Transfer Status",
        "#### Response",
    );
    for field in [
        "transferId",
        "status",
        "startTime",
        "endTime",
        "bytesTransferred",
        "totalBytes",
        "progress",
        "errorMessage",
    ] {
        want[field] = done[field].clone();
    }
    want["sourceServerUrl"] = json!(source.w.endpoint);
    want["targetServerUrl"] = json!(target.w.endpoint);
    want["sourceBucket"] = json!("project-alpha");
    want["targetBucket"] = json!("project-alpha");
    want["sourcePath"] = json!("films/big.mov");
    want["targetPath"] = json!("copied/films/big.mov");
    assert_eq!(done, want, "exactly the documented fields");
    assert_eq!(done["bytesTransferred"], 1024 * MIB as u64);
    assert_eq!(done["totalBytes"], 1024 * MIB as u64);
    assert_eq!(done["progress"], 100);
    assert_eq!(done["errorMessage"], "");
    assert_ne!(done["endTime"], "0001-01-01T00:00:00");
    assert!(
        target.holds("copied/films/big.mov", big),
        "the bytes arrived whole"
    );

    // The documented refusals.
    let again = o
        .call("DELETE", &format!("/cloud/server_transfer/{id}"))
        .token(&token)
        .send();
    assert_eq!(again.status, 400, "a completed transfer is not cancelled");
    let unknown = "/cloud/server_transfer/00000000-0000-0000-0000-000000000000/status";
    assert_eq!(o.get(unknown).token(&token).send().status, 404);
    let mut missing = server_body(&source, &target, accounts, "films/big.mov");
    missing["targetPath"] = json!("");
    let r = o
        .post("/cloud/server_transfer/initiate", missing)
        .token(&token)
        .send();
    assert_eq!(r.status, 400, "a missing field is the documented 400");
    let mut bad = server_body(&source, &target, accounts, "films/big.mov");
    bad["sourceServerUrl"] = json!("ftp://example.com");
    o.post("/cloud/server_transfer/initiate", bad)
        .token(&token)
        .send()
        .expect_error("DEFAULT");

    // Cancelled in the middle: 200, then nothing at the target, not even parts.
    let id2 = initiate_server(
        o,
        &token,
        server_body(&source, &target, accounts, "films/big.mov"),
    );
    let path2 = format!("/cloud/server_transfer/{id2}/status");
    std::thread::sleep(Duration::from_millis(10));
    let mut b = server_body(&source, &target, accounts, "films/big.mov");
    b["targetPath"] = json!("cancelled/big.mov");
    let id3 = initiate_server(o, &token, b);
    let path3 = format!("/cloud/server_transfer/{id3}/status");
    wait_moving(o, &token, &path3, "bytesTransferred", 16 * MIB as u64);
    o.call("DELETE", &format!("/cloud/server_transfer/{id3}"))
        .token(&token)
        .send()
        .expect(200);
    let s = o.get(&path3).token(&token).send().expect(200).json();
    assert_eq!(s["status"], "cancelled", "{s}");
    assert!(
        !target.keys().iter().any(|k| k.starts_with("cancelled")),
        "nothing left"
    );

    // The orchestrator (and target) killed mid-transfer: after the restart it goes on.
    wait_moving(o, &token, &path2, "bytesTransferred", 16 * MIB as u64);
    target.w.restart_after_kill();
    let o = &target.w.agent;
    let token = click_blackbox::login(o, "owner@example.com", click_blackbox::PASSWORD);
    wait_status(o, &token, &path2, "completed", Duration::from_secs(600));
    assert!(target.holds("copied/films/big.mov", big));

    let all = o
        .get("/cloud/server_transfer/all")
        .token(&token)
        .send()
        .expect(200)
        .json();
    let ids = transfer_ids(&all);
    assert_eq!(
        ids,
        [id3.as_str(), id2.as_str(), id.as_str()],
        "newest first"
    );
}

/// The docs' "Initiate P2P Transfer" body: the source agent's storage with its key inline
/// (cloudType LocalHttp), the target through the orchestrator's stored account `target_id`.
fn p2p_body(source: &Peer, target: &Peer, target_id: &str, path: &str, to: &str) -> Value {
    let mut body =
        docs::example_after("cloud.md", "### Initiate P2P Transfer", "#### Request Body");
    body["sourceAccount"]["serviceUrl"] = json!(source.w.endpoint);
    body["sourceAccount"]["accessKey"] = json!(source.key.0);
    body["sourceAccount"]["secretKey"] = json!(source.key.1);
    body["targetAccount"]["id"] = json!(target_id);
    body["sourceBucket"] = json!("project-alpha");
    body["sourcePath"] = json!(path);
    body["targetServerUrl"] = json!(target.w.endpoint);
    body["targetBucket"] = json!("project-alpha");
    body["targetPath"] = json!(to);
    body
}

fn initiate_p2p(agent: &Agent, token: &str, body: Value) -> String {
    let r = agent
        .post("/cloud/p2p_transfer/initiate", body)
        .token(token)
        .send()
        .expect(200)
        .json();
    assert_eq!(r["message"], "P2P transfer initiated successfully", "{r}");
    assert_eq!(r.as_object().unwrap().len(), 2, "{r}");
    r["transferId"].as_str().unwrap().to_string()
}

fn p2p_call(agent: &Agent, token: &str, id: &str, action: &str) -> click_blackbox::Resp {
    agent
        .post(&format!("/cloud/p2p_transfer/{id}/{action}"), json!({}))
        .token(token)
        .send()
}

/// `p2p_body` in parts of 5 MiB, for the 256 MiB `films/mid.mov`.
fn capped(source: &Peer, target: &Peer, target_id: &str, to_key: &str) -> Value {
    let mut b = p2p_body(source, target, target_id, "films/mid.mov", to_key);
    b["chunkSizeMB"] = json!(5);
    b
}

/// Multipart uploads left open at a storage agent (parts received, never completed).
fn open_uploads(p: &Peer) -> usize {
    let dir =
        p.w.options
            .data_dir
            .clone()
            .unwrap()
            .join("storage/uploads");
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// Three agents: the orchestrator asks the source agent to push 1 GiB straight to the target
/// agent, then steers capped pushes through pause, resume, cancel, and `kill -9` of the
/// source and of the orchestrator.
#[test]
fn a_p2p_transfer_goes_from_source_to_target_as_the_orchestrator_steers() {
    if desktop_only("agent-to-agent transfers") {
        return;
    }
    let mut source = peer();
    let target = peer();
    let o_data = tempfile::tempdir().unwrap();
    let o_options = click_blackbox::Options {
        data_dir: Some(o_data.path().to_path_buf()),
        config: "[transfers]\nprogress_interval_ms = 200\n".into(),
        ..click_blackbox::Options::default()
    };
    let mut o = Agent::start_with(o_options.clone());
    let token = click_blackbox::signup_and_login(&o, "owner@example.com");
    let to = target.account_on(&o, &token, 4096);
    let big = source.put("films/big.mov", 1024 * MIB, 1);

    let id = initiate_p2p(
        &o,
        &token,
        p2p_body(&source, &target, &to, "films/big.mov", "films/big.mov"),
    );
    let status = format!("/cloud/p2p_transfer/{id}/status");
    let started = Instant::now();
    let done = wait_status(&o, &token, &status, "completed", Duration::from_secs(600));
    eprintln!("1 GiB P2P transfer: {:?}", started.elapsed());
    let mut want = docs::example_after("cloud.md", "### Get P2P Transfer Status", "#### Response");
    for field in ["transferId", "startTime", "endTime"] {
        want[field] = done[field].clone();
    }
    want["status"] = json!("completed");
    want["totalBytes"] = json!(1024 * MIB);
    want["transferredBytes"] = json!(1024 * MIB);
    want["progressPercentage"] = json!(100);
    want["targetServerUrl"] = json!(target.w.endpoint);
    want["targetBucket"] = json!("project-alpha");
    want["sourceBucket"] = json!("project-alpha");
    want["sourcePath"] = json!("films/big.mov");
    want["targetPath"] = json!("films/big.mov");
    want["checksumVerified"] = json!(true);
    assert_eq!(done, want, "exactly the documented fields");
    assert!(done["endTime"].is_string());
    assert!(
        target.holds("films/big.mov", big),
        "the bytes arrived whole"
    );
    assert_eq!(open_uploads(&target), 0);

    // Not again: the target has it, and overwrite is false.
    let again = initiate_p2p(
        &o,
        &token,
        p2p_body(&source, &target, &to, "films/big.mov", "films/big.mov"),
    );
    let failed = wait_status(
        &o,
        &token,
        &format!("/cloud/p2p_transfer/{again}/status"),
        "failed",
        Duration::from_secs(60),
    );
    assert!(
        failed["errorMessage"]
            .as_str()
            .unwrap()
            .contains("overwrite"),
        "{failed}"
    );

    // Capped pushes (the orchestrator's server-to-server cap for the target account, passed
    // on to the source) in parts of 5 MiB, slow enough to steer.
    let cap = json!({"CloudAccountId": to, "MaxUploadBytesPerSecond": 0,
        "MaxDownloadBytesPerSecond": 0, "MaxServerToServerBytesPerSecond": 40_000_000,
        "VerifyChecksum": true, "FileExistsAction": 0, "Active": true});
    o.post("/fastrsettings/insert", cap)
        .token(&token)
        .send()
        .expect(200);
    let mid = source.put("films/mid.mov", 256 * MIB, 2);

    // The part size is read under the docs' spelling, `chunkSizeMB`: one out of its range
    // is refused.
    let mut too_small = capped(&source, &target, &to, "too-small.mov");
    too_small["chunkSizeMB"] = json!(4);
    let refused = o
        .post("/cloud/p2p_transfer/initiate", too_small)
        .token(&token)
        .send()
        .expect(499)
        .json();
    assert!(refused.to_string().contains("chunkSizeMB"), "{refused}");

    // Pause, resume.
    let p = initiate_p2p(&o, &token, capped(&source, &target, &to, "paused.mov"));
    let p_status = format!("/cloud/p2p_transfer/{p}/status");
    wait_moving(&o, &token, &p_status, "transferredBytes", 20 * MIB as u64);
    let paused = p2p_call(&o, &token, &p, "pause").expect(200).json();
    let mut want = docs::example_after("cloud.md", "### Pause P2P Transfer", "#### Response");
    assert_eq!(paused, want);
    let at = o.get(&p_status).token(&token).send().expect(200).json();
    assert_eq!(at["status"], "paused", "{at}");
    std::thread::sleep(Duration::from_millis(1500));
    let later = o.get(&p_status).token(&token).send().expect(200).json();
    assert_eq!(
        later["transferredBytes"], at["transferredBytes"],
        "nothing moves while paused"
    );
    assert_eq!(p2p_call(&o, &token, &p, "pause").status, 400, "not running");
    want = docs::example_after("cloud.md", "### Resume P2P Transfer", "#### Response");
    assert_eq!(p2p_call(&o, &token, &p, "resume").expect(200).json(), want);
    assert_eq!(p2p_call(&o, &token, &p, "resume").status, 400, "not paused");

    // The source agent killed mid-push: restarted, it goes on from the parts the target has.
    wait_moving(&o, &token, &p_status, "transferredBytes", 80 * MIB as u64);
    source.w.restart_after_kill();
    wait_status(&o, &token, &p_status, "completed", Duration::from_secs(120));
    assert!(
        target.holds("paused.mov", mid),
        "whole after the source's kill -9"
    );

    // The orchestrator killed mid-push: restarted, it follows the push to its end.
    let k = initiate_p2p(
        &o,
        &token,
        capped(&source, &target, &to, "orchestrator-killed.mov"),
    );
    let k_status = format!("/cloud/p2p_transfer/{k}/status");
    wait_moving(&o, &token, &k_status, "transferredBytes", 20 * MIB as u64);
    o.kill();
    o = Agent::start_with(o_options.clone());
    let done = wait_status(&o, &token, &k_status, "completed", Duration::from_secs(120));
    assert_eq!(done["checksumVerified"], true, "{done}");
    assert!(target.holds("orchestrator-killed.mov", mid));

    // Cancelled: at the source too, and nothing is left at the target.
    let c = initiate_p2p(&o, &token, capped(&source, &target, &to, "cancelled.mov"));
    let c_status = format!("/cloud/p2p_transfer/{c}/status");
    wait_moving(&o, &token, &c_status, "transferredBytes", 20 * MIB as u64);
    let cancelled = p2p_call(&o, &token, &c, "cancel").expect(200).json();
    assert_eq!(
        cancelled,
        docs::example_after("cloud.md", "### Cancel P2P Transfer", "#### Response")
    );
    let s = o.get(&c_status).token(&token).send().expect(200).json();
    assert_eq!(s["status"], "cancelled", "{s}");
    click_blackbox::wait_until(
        "the target's upload aborted",
        Duration::from_secs(10),
        || open_uploads(&target) == 0,
    );
    assert!(!target.keys().iter().any(|k| k == "cancelled.mov"));
    assert_eq!(
        p2p_call(&o, &token, &c, "cancel").status,
        400,
        "cancelled already"
    );

    // The list: every P2P transfer, newest first, as FastrServerTransferStatus.
    let all = o
        .get("/cloud/p2p_transfer/all")
        .token(&token)
        .send()
        .expect(200)
        .json();
    let ids = transfer_ids(&all);
    assert_eq!(
        ids,
        [
            c.as_str(),
            k.as_str(),
            p.as_str(),
            again.as_str(),
            id.as_str()
        ]
    );
    assert_eq!(
        all[4]["sourceServerUrl"],
        json!(source.w.endpoint),
        "{}",
        all[4]
    );
    assert_eq!(all[4]["bytesTransferred"], json!(1024 * MIB));
    let unknown = "/cloud/p2p_transfer/00000000-0000-0000-0000-000000000000/status";
    o.get(unknown)
        .token(&token)
        .send()
        .expect_error("NOT_FOUND");
}

/// Polls a list route until every entry of it is completed; fails on a failed one.
fn wait_all_completed(agent: &Agent, token: &str, path: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let all = agent.get(path).token(token).send().expect(200).json();
        let list = all.as_array().unwrap();
        let failed: Vec<&Value> = list.iter().filter(|t| t["status"] == "failed").collect();
        assert!(failed.is_empty(), "{:?}", failed.first());
        let done = list.iter().filter(|t| t["status"] == "completed").count();
        if done == count && list.len() == count {
            return;
        }
        assert!(Instant::now() < deadline, "{done} of {count} completed");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A thousand small objects, each its own server transfer and then its own P2P transfer,
/// orchestrated by a third agent: all arrive, byte for byte.
#[test]
fn a_thousand_small_objects_go_by_server_and_p2p_transfers() {
    if desktop_only("agent-to-agent transfers") {
        return;
    }
    let (source, target) = (peer(), peer());
    let o = Agent::start();
    let token = click_blackbox::signup_and_login(&o, "owner@example.com");
    let (from, to) = (
        source.account_on(&o, &token, 2048),
        target.account_on(&o, &token, 4096),
    );
    let many = source.w.files.join("many");
    std::fs::create_dir_all(&many).unwrap();
    for i in 0..1000 {
        let bytes = click_blackbox::pattern(16 << 10, i);
        std::fs::write(many.join(format!("{i:04}.bin")), bytes).unwrap();
    }
    let up = [
        "copy",
        many.to_str().unwrap(),
        "s3:project-alpha/many",
        "--transfers",
        "32",
    ];
    ok(source.w.rclone(pair(&source.key), &up));

    let started = Instant::now();
    for i in 0..1000 {
        let key = format!("many/{i:04}.bin");
        let mut body = server_body(&source, &target, (&from, &to), &key);
        body["targetPath"] = json!(format!("by-server/{i:04}.bin"));
        initiate_server(&o, &token, body);
    }
    wait_all_completed(&o, &token, "/cloud/server_transfer/all", 1000);
    eprintln!("1,000 server transfers: {:?}", started.elapsed());

    let started = Instant::now();
    for i in 0..1000 {
        let (key, to_key) = (format!("many/{i:04}.bin"), format!("by-p2p/{i:04}.bin"));
        initiate_p2p(&o, &token, p2p_body(&source, &target, &to, &key, &to_key));
    }
    wait_all_completed(&o, &token, "/cloud/p2p_transfer/all", 1000);
    eprintln!("1,000 P2P transfers: {:?}", started.elapsed());

    for folder in ["by-server", "by-p2p"] {
        let there = format!("s3:project-alpha/{folder}");
        ok(target.w.rclone(
            pair(&target.key),
            &["check", many.to_str().unwrap(), &there],
        ));
    }
}
