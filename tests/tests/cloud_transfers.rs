//! Upload Object, Download Object and Client File Transfers (cloud.md) against a real S3
//! server (s3s-fs): files and folders arrive intact (compared byte for byte), multipart
//! uploads and ranged downloads, Progress frames, pause, resume, cancel without leftovers,
//! and a SIGKILL in the middle of an upload that the restarted agent finishes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use click_blackbox::s3::S3Server;
use click_blackbox::{
    Agent, Options, PASSWORD, Value, desktop_only, docs, json, login, pattern, signup_and_login,
};

const MIB: usize = 1024 * 1024;

struct Fixture {
    s3: S3Server,
    agent: Agent,
    token: String,
    account: String,
    /// The agent's only allowed local root.
    root: PathBuf,
    data_dir: PathBuf,
    _tmp: tempfile::TempDir,
}

fn options(root: &Path, data_dir: &Path, compat: bool) -> Options {
    Options {
        compat,
        config: format!(
            "[transfers]\nroots = [\"{}\"]\nprogress_interval_ms = 100\n",
            root.display()
        ),
        data_dir: Some(data_dir.to_path_buf()),
        ..Options::default()
    }
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with(false)
    }

    fn with(compat: bool) -> Fixture {
        let s3 = S3Server::start();
        s3.bucket("media");
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("files");
        std::fs::create_dir_all(&root).unwrap();
        let data_dir = tmp.path().join("data");
        let agent = Agent::start_with(options(&root, &data_dir, compat));
        let token = signup_and_login(&agent, "owner@example.com");
        let account = click_blackbox::insert_cloud_account(&agent, &token, s3.account("test"));
        Fixture {
            s3,
            agent,
            token,
            account,
            root,
            data_dir,
            _tmp: tmp,
        }
    }

    fn restart(&mut self) {
        self.agent.kill();
        self.agent = Agent::start_with(options(&self.root, &self.data_dir, false));
        self.token = login(&self.agent, "owner@example.com", PASSWORD);
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn upload(&self, local: &Path, extra: Value) -> String {
        let mut body = docs::example("cloud.md", "### Upload Object");
        body["cloudAccount"] = json!({"id": self.account, "cloudType": 8});
        body["storageName"] = json!("media");
        body["localFilePath"] = json!(local.display().to_string());
        merge(&mut body, extra);
        self.start("/cloud/upload_object", body)
    }

    fn download(&self, key: &str, folder: &Path, extra: Value) -> String {
        let mut body = docs::example("cloud.md", "### Download Object");
        body["cloudAccount"] = json!({"id": self.account, "cloudType": 8});
        body["storageName"] = json!("media");
        body["objectKey"] = json!(key);
        body["downloadPath"] = json!(folder.display().to_string());
        body["name"] = json!("");
        merge(&mut body, extra);
        self.start("/cloud/download_object", body)
    }

    fn start(&self, path: &str, body: Value) -> String {
        let r = self
            .agent
            .post(path, body)
            .token(&self.token)
            .send()
            .expect(200)
            .json();
        r["transferId"].as_str().unwrap().to_string()
    }

    fn status(&self, id: &str) -> Value {
        click_blackbox::transfer_status(&self.agent, &self.token, id)
    }

    fn control(&self, id: &str, action: &str) -> click_blackbox::Resp {
        self.agent
            .post(&format!("/cloud/client_transfer/{id}/{action}"), json!({}))
            .token(&self.token)
            .send()
    }

    fn wait_for(&self, id: &str, status: &str) -> Value {
        click_blackbox::wait_for_transfer(&self.agent, &self.token, id, status)
    }

    /// Polls until at least `bytes` have moved.
    fn wait_for_bytes(&self, id: &str, bytes: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.status(id);
            if s["transferredBytes"].as_u64().unwrap() >= bytes {
                return s;
            }
            assert!(Instant::now() < deadline, "waiting for {bytes} bytes: {s}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn merge(body: &mut Value, extra: Value) {
    if let Value::Object(m) = extra {
        for (k, v) in m {
            body[k] = v;
        }
    }
}

fn same_file(a: &Path, b: &Path) {
    let (x, y) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(
        x.len() == y.len() && x == y,
        "{} and {} differ",
        a.display(),
        b.display()
    );
}

#[test]
fn files_and_folders_go_up_and_come_back_intact() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    let mut ws = f
        .agent
        .ws(&format!("/notification?token={}", f.token), &[])
        .unwrap();

    // 23 MiB: a multipart upload of five parts, the last one short.
    let big = f.write("big.bin", &pattern(23 * MIB + 123, 1));
    let id = f.upload(&big, json!({}));
    let done = f.wait_for(&id, "completed");
    assert_eq!(done["transferId"], id.as_str());
    assert_eq!(done["totalBytes"], (23 * MIB + 123) as u64);
    assert_eq!(done["transferredBytes"], done["totalBytes"]);
    assert!(done["endTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(done["errorMessage"], Value::Null);
    same_file(&big, &f.s3.path("media", "uploads/big.bin"));

    // Progress frames, PascalCase as documented, end with the whole file.
    let mut last = Value::Null;
    let deadline = Instant::now() + Duration::from_secs(10);
    while last["Data"]["Status"] != "Completed" {
        assert!(Instant::now() < deadline, "no Completed frame; last {last}");
        let frame = ws.next_json();
        if frame["Type"] == 1 && frame["Data"]["TransferId"] == id.as_str() {
            last = frame;
        }
    }
    let data = &last["Data"];
    assert_eq!(data["TransferMode"], "Upload");
    assert_eq!(data["Bytes"], data["Size"]);
    assert_eq!(data["StorageName"], "media");
    assert_eq!(data["StorageType"], "S3Generic");
    assert_eq!(data["Name"], "big.bin");
    for field in [
        "Path",
        "Speed",
        "Duration",
        "StartTimeUtc",
        "ProgressTimeUtc",
        "Error",
    ] {
        assert!(data.get(field).is_some(), "{field} in {data}");
    }

    // A small file, renamed on the way, into another folder.
    let small = f.write("notes.txt", b"small and whole");
    let id = f.upload(
        &small,
        json!({"uploadPath": "docs/2026", "name": "renamed.txt"}),
    );
    f.wait_for(&id, "completed");
    same_file(&small, &f.s3.path("media", "docs/2026/renamed.txt"));

    // A folder with everything in it, empty files included.
    f.write("album/a.jpg", &pattern(300_000, 2));
    f.write("album/sub/b.jpg", &pattern(6 * MIB, 3));
    f.write("album/sub/deeper/empty.txt", b"");
    let id = f.upload(&f.root.join("album"), json!({"uploadPath": "photos"}));
    let done = f.wait_for(&id, "completed");
    assert_eq!(done["totalBytes"], (300_000 + 6 * MIB) as u64);
    for rel in ["a.jpg", "sub/b.jpg", "sub/deeper/empty.txt"] {
        same_file(
            &f.root.join("album").join(rel),
            &f.s3.path("media", &format!("photos/album/{rel}")),
        );
    }

    // Down again: one object, then the whole folder (objectType 2).
    let down = f.root.join("down");
    let id = f.download("uploads/big.bin", &down, json!({}));
    f.wait_for(&id, "completed");
    same_file(&big, &down.join("big.bin"));
    assert!(!down.join("big.bin.clickpart").exists());
    let id = f.download(
        "photos/album",
        &down,
        json!({"objectType": 2, "name": "copy"}),
    );
    f.wait_for(&id, "completed");
    for rel in ["a.jpg", "sub/b.jpg", "sub/deeper/empty.txt"] {
        same_file(
            &f.root.join("album").join(rel),
            &down.join("copy").join(rel),
        );
    }

    let all = f
        .agent
        .get("/cloud/client_transfer/all")
        .token(&f.token)
        .send()
        .expect(200)
        .json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0]["transferId"], id.as_str(), "newest first");
    assert_eq!(all[0]["sourceBucket"], "media");
    assert_eq!(all[0]["sourcePath"], "photos/album/");
    assert!(
        all[0]["targetPath"]
            .as_str()
            .unwrap()
            .ends_with("down/copy")
    );
    assert!(
        all.iter()
            .all(|t| t["progress"] == 100 && t["status"] == "completed")
    );
}

#[test]
fn pause_resume_and_cancel_follow_the_documented_states() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    let source = f.write("large.bin", &pattern(80 * MIB, 4));
    let slow = json!({"transferOptions": {"concurrentChunks": 1}});

    let id = f.upload(&source, slow.clone());
    f.control(&id, "pause").expect(200);
    let paused = f.status(&id);
    assert_eq!(paused["status"], "paused");
    f.control(&id, "pause").expect(400);
    std::thread::sleep(Duration::from_millis(1500));
    let later = f.status(&id);
    assert!(later["pausedDuration"].as_str().is_some(), "{later}");
    assert_eq!(
        later["transferredBytes"],
        f.status(&id)["transferredBytes"],
        "nothing moves while paused"
    );
    f.control(&id, "resume").expect(200);
    f.control(&id, "resume").expect(400);
    f.wait_for(&id, "completed");
    same_file(&source, &f.s3.path("media", "uploads/large.bin"));
    f.control(&id, "cancel").expect(400);
    f.control(&id, "pause").expect(400);

    // Cancel in the middle: bytes stop, and no object (nor any part of one) is left.
    let id = f.upload(
        &source,
        json!({"uploadPath": "cancelled", "transferOptions": {"concurrentChunks": 1}}),
    );
    f.wait_for_bytes(&id, 5 * MIB as u64);
    assert!(
        walk(&f.s3.root).iter().any(|p| p.contains(".upload_id-")),
        "s3s-fs keeps uploaded parts as .upload_id-* files"
    );
    f.control(&id, "cancel").expect(200);
    let at_cancel = f.status(&id);
    assert_eq!(at_cancel["status"], "cancelled");
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        f.status(&id)["transferredBytes"],
        at_cancel["transferredBytes"]
    );
    assert!(!f.s3.exists("media", "cancelled/large.bin"));
    let leftovers: Vec<String> = walk(&f.s3.root)
        .into_iter()
        .filter(|p| p.contains(".upload_id-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the multipart upload was aborted: {leftovers:?}"
    );
    f.control(&id, "resume").expect(400);
    f.control(&id, "cancel").expect(400);

    // A cancelled download leaves neither the file nor its partial copy.
    let down = f.root.join("down");
    let id = f.download("uploads/large.bin", &down, slow);
    f.wait_for_bytes(&id, MIB as u64);
    f.control(&id, "cancel").expect(200);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!down.join("large.bin").exists());
    assert!(!down.join("large.bin.clickpart").exists());

    f.control("no-such-transfer", "pause")
        .expect_error("NOT_FOUND");
    f.agent
        .get("/cloud/client_transfer/no-such-transfer/status")
        .token(&f.token)
        .send()
        .expect_error("NOT_FOUND");
}

#[test]
fn an_upload_killed_midway_resumes_after_a_restart() {
    if desktop_only("restarts and cloud providers") {
        return;
    }
    let mut f = Fixture::new();
    let source = f.write("resume.bin", &pattern(120 * MIB + 77, 5));
    let id = f.upload(&source, json!({"transferOptions": {"concurrentChunks": 1}}));
    let before = f.wait_for_bytes(&id, 30 * MIB as u64);
    f.restart();
    let after = f.status(&id);
    // Recorded progress survives (at most one progress interval behind the kill) and the
    // transfer picks up from there.
    assert!(
        after["transferredBytes"].as_u64().unwrap() + 10 * MIB as u64
            >= before["transferredBytes"].as_u64().unwrap(),
        "before {before}, after {after}"
    );
    // Reported progress never falls back towards zero: the parts sent before the kill are
    // not sent again.
    let floor = before["transferredBytes"].as_u64().unwrap() - 10 * MIB as u64;
    let until = Instant::now() + Duration::from_millis(600);
    while Instant::now() < until {
        let s = f.status(&id);
        assert!(s["transferredBytes"].as_u64().unwrap() >= floor, "{s}");
        std::thread::sleep(Duration::from_millis(20));
    }
    f.wait_for(&id, "completed");
    same_file(&source, &f.s3.path("media", "uploads/resume.bin"));

    // A download killed midway continues into its partial file after the restart.
    let down = f.root.join("down");
    let id = f.download(
        "uploads/resume.bin",
        &down,
        json!({"transferOptions": {"concurrentChunks": 1}}),
    );
    f.wait_for_bytes(&id, 30 * MIB as u64);
    f.restart();
    assert!(down.join("resume.bin.clickpart").exists());
    f.wait_for(&id, "completed");
    same_file(&source, &down.join("resume.bin"));
}

#[test]
fn bad_requests_are_refused_before_anything_moves() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    let inside = f.write("a.txt", b"a");
    let post = |path: &str, body: Value| f.agent.post(path, body).token(&f.token).send();
    let upload = |extra: Value| {
        let mut body = json!({"cloudAccount": {"id": f.account}, "storageName": "media", "uploadPath": "u", "localFilePath": inside.display().to_string()});
        merge(&mut body, extra);
        post("/cloud/upload_object", body)
    };
    for (extra, code) in [
        (json!({"localFilePath": "/etc/passwd"}), "SECURITY"),
        (json!({"localFilePath": "relative/a.txt"}), "SECURITY"),
        (
            json!({"localFilePath": format!("{}/../a.txt", f.root.display())}),
            "SECURITY",
        ),
        (json!({"cloudAccount": {"cloudType": 8}}), "DEFAULT"),
        (
            json!({"cloudAccount": {"id": "7d1b0e1c-0000-4000-8000-000000000000"}}),
            "NOT_FOUND",
        ),
        (json!({"storageName": ""}), "DEFAULT"),
        (json!({"transferOptions": {"chunkSize": 1024}}), "DEFAULT"),
        (json!({"id": "has spaces"}), "DEFAULT"),
    ] {
        upload(extra.clone()).expect_error(code);
    }
    let id = f.start(
        "/cloud/upload_object",
        json!({"cloudAccount": {"id": f.account}, "storageName": "media", "localFilePath": inside.display().to_string(), "id": "my-transfer-1"}),
    );
    assert_eq!(id, "my-transfer-1");
    upload(json!({"id": "my-transfer-1"})).expect_error("DUPLICATE");
    let mut body = json!({"cloudAccount": {"id": f.account}, "storageName": "media", "objectKey": "x", "downloadPath": "/etc"});
    post("/cloud/download_object", body.clone()).expect_error("SECURITY");
    body["downloadPath"] = json!(f.root.display().to_string());
    body["objectType"] = json!(3);
    post("/cloud/download_object", body).expect_error("DEFAULT");

    // A missing object fails the transfer with the provider's reason.
    let id = f.download("does/not/exist.bin", &f.root, json!({}));
    let failed = f.wait_for(&id, "failed");
    assert!(
        failed["errorMessage"]
            .as_str()
            .unwrap()
            .contains("not found"),
        "{failed}"
    );

    // Another user of the account does not see the owner's transfers.
    let (_, other) = click_blackbox::member(&f.agent, &f.token, "other@example.com", 64);
    f.agent
        .get(&format!("/cloud/client_transfer/{id}/status"))
        .token(&other)
        .send()
        .expect_error("NOT_FOUND");
    let theirs = f
        .agent
        .get("/cloud/client_transfer/all")
        .token(&other)
        .send()
        .expect(200)
        .json();
    assert_eq!(theirs, json!([]));
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(format!("{} {}", p.display(), p.metadata().unwrap().len()));
        }
    }
    out
}

/// A file in the agent's own staging folder, which no client may name.
fn big_path(f: &Fixture) -> String {
    let dir = f.data_dir.join("tmp").join("someone-else");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("secret.bin"), b"not yours").unwrap();
    dir.join("secret.bin").display().to_string()
}

/// A multipart/form-data body with the documented fields; `file` as (name, bytes) if any.
fn form(account: &str, file: Option<(&str, &[u8])>) -> Vec<u8> {
    let cloud = json!({"id": account, "cloudType": 8}).to_string();
    let fields = [
        ("cloudAccountJson", cloud.as_str()),
        ("storageName", "media"),
        ("uploadPath", "from-browser"),
    ];
    click_blackbox::form::body(&fields, file)
}

impl Fixture {
    fn send_form(&self, body: &[u8], token: Option<&str>) -> click_blackbox::Resp {
        let mut call = self
            .agent
            .call("POST", "/cloud/upload_object_from_form")
            .header("Content-Type", &click_blackbox::form::content_type())
            .raw(body);
        if let Some(t) = token {
            call = call.token(t);
        }
        call.send()
    }

    fn staged(&self) -> Vec<String> {
        walk(&self.data_dir.join("tmp"))
    }
}

#[test]
fn form_uploads_are_streamed_to_disk_and_uploaded() {
    if desktop_only("cloud providers") {
        return;
    }
    let mut f = Fixture::new();
    // Three times the 1 MiB body limit of ordinary requests: a form is streamed, not held.
    let content = pattern(3 * MIB + 5, 6);
    let body = form(&f.account, Some(("C:\\Users\\me\\photo.jpg", &content)));
    f.send_form(&body, None).expect(401);
    assert!(
        f.staged().is_empty(),
        "nothing is staged for a refused caller"
    );

    let r = f.send_form(&body, Some(&f.token)).expect(200).json();
    let id = r["transferId"].as_str().unwrap().to_string();
    f.wait_for(&id, "completed");
    let stored = std::fs::read(f.s3.path("media", "from-browser/photo.jpg")).unwrap();
    assert!(stored == content, "the object holds the form's file");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f.staged().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the staged copy is deleted: {:?}",
            f.staged()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    f.send_form(&form(&f.account, None), Some(&f.token))
        .expect(400);
    f.send_form(&form(&f.account, Some(("empty.bin", b""))), Some(&f.token))
        .expect(400);
    f.agent
        .call("POST", "/cloud/upload_object_from_form")
        .header("Content-Type", "application/json")
        .raw(b"{}")
        .token(&f.token)
        .send()
        .expect(400);
    // No spelling of the route lets a client hand the agent a file path of its choosing.
    let forged = json!({"cloudAccountJson": json!({"id": f.account}).to_string(), "storageName": "media", "stagedFile": big_path(&f)});
    for path in [
        "/cloud/upload_object_from_form/",
        "/cloud/upload_object_from_form",
    ] {
        f.agent
            .call("POST", path)
            .header("Content-Type", "application/json")
            .raw(forged.to_string().as_bytes())
            .token(&f.token)
            .send()
            .expect(400);
    }
    std::fs::remove_dir_all(f.data_dir.join("tmp").join("someone-else")).unwrap();
    let transfers = f
        .agent
        .get("/cloud/client_transfer/all")
        .token(&f.token)
        .send()
        .expect(200)
        .json();
    assert_eq!(transfers.as_array().unwrap().len(), 1, "{transfers}");
    f.send_form(
        &form(
            "2f0c6f5e-0000-4000-8000-000000000000",
            Some(("a.bin", b"a")),
        ),
        Some(&f.token),
    )
    .expect_error("NOT_FOUND");
    assert!(
        f.staged().is_empty(),
        "refused forms leave nothing behind: {:?}",
        f.staged()
    );

    // What a crash left in the staging folder goes at the next start.
    let orphan = f.data_dir.join("tmp").join("orphan");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("half.bin"), b"half a form").unwrap();
    f.restart();
    assert!(!orphan.exists());
}

#[test]
fn in_compat_mode_a_form_upload_runs_as_the_started_user() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::with(true);
    let body = form(&f.account, Some(("note.txt", b"from the browser")));
    f.send_form(&body, None).expect(401);
    f.agent
        .post("/management/command/0", json!({}))
        .token(&f.token)
        .send()
        .expect(200);
    let r = f.send_form(&body, None).expect(200).json();
    f.wait_for(r["transferId"].as_str().unwrap(), "completed");
    assert_eq!(
        std::fs::read(f.s3.path("media", "from-browser/note.txt")).unwrap(),
        b"from the browser"
    );
}

#[test]
fn a_download_never_mixes_two_versions_of_an_object() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    f.s3.put("media", "v.bin", &pattern(60 * MIB, 7));
    let down = f.root.join("down");
    let id = f.download(
        "v.bin",
        &down,
        json!({"transferOptions": {"concurrentChunks": 1}}),
    );
    f.wait_for_bytes(&id, 5 * MIB as u64);
    f.control(&id, "pause").expect(200);
    // The object is replaced while the download is paused.
    f.s3.put("media", "v.bin", &pattern(60 * MIB, 8));
    f.control(&id, "resume").expect(200);
    let failed = f.wait_for(&id, "failed");
    assert!(
        failed["errorMessage"].as_str().unwrap().contains("changed"),
        "{failed}"
    );
    assert!(!down.join("v.bin").exists(), "no file of two versions");
}

#[test]
fn an_upload_the_provider_forgot_starts_over() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    let source = f.write("forgotten.bin", &pattern(40 * MIB, 9));
    // One retry: s3s-fs closes the connection under a part of an upload it no longer knows
    // (S3 answers NoSuchUpload), which reads as a network failure until retries run out.
    let id = f.upload(
        &source,
        json!({"transferOptions": {"concurrentChunks": 1, "retryCount": 1}}),
    );
    f.wait_for_bytes(&id, 10 * MIB as u64);
    f.control(&id, "pause").expect(200);
    std::thread::sleep(Duration::from_millis(300));
    // The server drops the multipart upload while the transfer is paused (as a lifecycle
    // rule would): its parts and its record go.
    for entry in std::fs::read_dir(&f.s3.root).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".upload") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    f.control(&id, "resume").expect(200);
    f.wait_for(&id, "completed");
    same_file(&source, &f.s3.path("media", "uploads/forgotten.bin"));
}
