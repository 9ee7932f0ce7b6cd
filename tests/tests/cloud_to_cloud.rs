//! Cloud-to-cloud transfers (transfer.md: `/transfer/transfer`, `/transfer/get_all`,
//! `/transfer/cancel_transfer`) between real servers: two s3s-fs servers, and Azurite. What
//! each one proves is checked on the servers themselves (their folders, their own API), and
//! the progress through `get_all`'s `Transfer` DTO (web-api/transfer.md):
//!
//! - a folder of objects of every size (empty ones, one past the 5 MiB part size) arrives byte
//!   for byte, the big one as a multipart upload of parts of 5 MiB or more, and the DTO counts
//!   objects and bytes, carries every documented field and obeys the `type` bitmask;
//! - where the keys land: `keepSourceTree` false and true, a single object, a folder named with
//!   or without its slash, the whole bucket;
//! - `allowSkip` leaves the destination's newer (or as new) versions alone and counts them,
//!   `allowSkip: false` overwrites;
//! - S3 to Azure and back;
//! - a cancel in the middle leaves neither an object nor a pending multipart upload;
//! - a `kill -9` in the middle and a restart on the same data directory finish the transfer
//!   with every byte right, and the bytes never went to the agent's disk;
//! - bad input is refused (`NOT_FOUND`, `DEFAULT`, 401) before anything is queued, and a
//!   source path with nothing under it ends the transfer in Error (16).
//!
//! A transfer is caught in the middle by freezing its source server (SIGSTOP) once parts have
//! reached the destination; `concurrent_chunks = 1` keeps the engine on one part at a time so
//! that most of the object is still to come when it freezes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use click_blackbox::azure::Azurite;
use click_blackbox::recorder::Recorder;
use click_blackbox::s3::S3Server;
use click_blackbox::{
    Agent, Options, PASSWORD, Value, desktop_only, docs, insert_cloud_account, json, login,
    pattern, signup_and_login, wait_until,
};

const MIB: usize = 1024 * 1024;
/// The smallest part S3 takes (but the last).
const PART: usize = 5 * MIB;
const TIMEOUT: Duration = Duration::from_secs(60);

/// `TransferStatus` values.
const CREATED: u64 = 1;
const RUNNING: u64 = 2;
const COMPLETED: u64 = 4;
const CANCELED: u64 = 8;
const ERROR: u64 = 16;

/// The `Transfer` DTO's fields (web-api/transfer.md, Get All Transfers).
const DTO_FIELDS: [&str; 35] = [
    "id",
    "userId",
    "syncCycleId",
    "sourceCloudAccountId",
    "sourceBucket",
    "sourceRegion",
    "sourcePath",
    "destinationCloudAccountId",
    "destinationBucket",
    "destinationRegion",
    "destinationPath",
    "requestDate",
    "startDate",
    "endDate",
    "transferStatus",
    "transferType",
    "allowSkip",
    "allowDelete",
    "total",
    "failed",
    "deleted",
    "skipped",
    "skippedSize",
    "transferred",
    "totalSize",
    "totalSizeString",
    "transferredSize",
    "transferredSizeString",
    "percent",
    "averageSpeed",
    "transferredCost",
    "retryBatchTransferID",
    "syncCycle",
    "sourceCloudAccount",
    "destinationCloudAccount",
];

/// Objects by key, with their bytes.
type Objects = BTreeMap<String, Vec<u8>>;

// ------------------------------------------------------------------ fixture

/// An agent with its owner signed in, a source S3 server and a destination S3 server (each
/// a cloud account of the owner), optionally reached through a recording proxy.
struct Fixture {
    src: S3Server,
    dst: S3Server,
    /// The proxy the destination account goes through, when asked for.
    dst_seen: Option<Recorder>,
    agent: Agent,
    token: String,
    src_account: String,
    dst_account: String,
    options: Options,
    /// The agent's temporary folder (its `TMPDIR`).
    agent_tmp: PathBuf,
    _tmp: tempfile::TempDir,
}

/// The agent's options: a data directory and a `TMPDIR` of our own (to look into), and
/// `config` (TOML).
fn agent_options(tmp: &Path, config: &str) -> (Options, PathBuf) {
    let agent_tmp = tmp.join("agent-tmp");
    std::fs::create_dir_all(&agent_tmp).unwrap();
    let options = Options {
        config: config.to_string(),
        data_dir: Some(tmp.join("data")),
        env: vec![("TMPDIR".into(), agent_tmp.display().to_string())],
        ..Options::default()
    };
    (options, agent_tmp)
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with("", false)
    }

    fn with(config: &str, record_destination: bool) -> Fixture {
        let src = S3Server::start();
        let dst = S3Server::start();
        let dst_seen = record_destination.then(|| Recorder::start(dst.addr));
        let tmp = tempfile::tempdir().unwrap();
        let (options, agent_tmp) = agent_options(tmp.path(), config);
        let agent = Agent::start_with(options.clone());
        let token = signup_and_login(&agent, "owner@example.com");
        let src_account = insert_cloud_account(&agent, &token, src.account("source"));
        let mut dst_body = dst.account("destination");
        if let Some(r) = &dst_seen {
            dst_body["endpoint"] = json!(r.endpoint());
        }
        let dst_account = insert_cloud_account(&agent, &token, dst_body);
        Fixture {
            src,
            dst,
            dst_seen,
            agent,
            token,
            src_account,
            dst_account,
            options,
            agent_tmp,
            _tmp: tmp,
        }
    }

    /// A new agent on the same data directory (after a `kill -9` of this one).
    fn restart(&mut self) {
        self.agent.kill();
        self.agent = Agent::start_with(self.options.clone());
        self.token = login(&self.agent, "owner@example.com", PASSWORD);
    }

    /// Queues a transfer from the source server to the destination server.
    fn queue(&self, from: (&str, &str), to: (&str, &str), allow_skip: bool, keep: bool) -> String {
        let body = request(
            (&self.src_account, from.0, from.1),
            (&self.dst_account, to.0, to.1),
            allow_skip,
            keep,
        );
        queue(&self.agent, &self.token, body)
    }

    fn wait(&self, id: &str, status: u64) -> Value {
        wait_status(&self.agent, &self.token, id, status)
    }
}

/// The documented request body (transfer.md) with these ends and flags.
fn request(
    (src_account, src_bucket, src_path): (&str, &str, &str),
    (dst_account, dst_bucket, dst_path): (&str, &str, &str),
    allow_skip: bool,
    keep_source_tree: bool,
) -> Value {
    let mut body = docs::example("transfer.md", "### Request Body");
    for (field, value) in [
        ("sourceCloudAccountId", json!(src_account)),
        ("sourceBucket", json!(src_bucket)),
        ("sourceBucketId", json!("")),
        ("sourcePath", json!(src_path)),
        ("sourceId", json!("")),
        ("destinationCloudAccountId", json!(dst_account)),
        ("destinationBucket", json!(dst_bucket)),
        ("destinationBucketId", json!("")),
        ("destinationPath", json!(dst_path)),
        ("destinationId", json!("")),
        ("allowSkip", json!(allow_skip)),
        ("keepSourceTree", json!(keep_source_tree)),
    ] {
        assert!(
            body.get(field).is_some(),
            "{field} is in the documented body"
        );
        body[field] = value;
    }
    body
}

/// `POST /transfer/transfer`: 200 with the queued transfer; its id.
fn queue(agent: &Agent, token: &str, body: Value) -> String {
    let t = agent
        .post("/transfer/transfer", body.clone())
        .token(token)
        .send()
        .expect(200)
        .json();
    let id = t["id"].as_str().unwrap_or_default().to_string();
    assert!(!id.is_empty(), "the queued transfer has an id: {t}");
    assert_eq!(t["transferType"], 1, "a Transfer: {t}");
    for field in [
        "sourceCloudAccountId",
        "sourceBucket",
        "destinationCloudAccountId",
    ] {
        assert_eq!(t[field], body[field], "{field} of {t}");
    }
    assert_eq!(t["destinationBucket"], body["destinationBucket"], "{t}");
    assert_eq!(t["allowSkip"], body["allowSkip"], "{t}");
    id
}

// ------------------------------------------------------------------ get_all

/// `GET /transfer/get_all` with the documented parameters and this `type` mask.
fn get_all(agent: &Agent, token: &str, mask: u32) -> Value {
    let path = format!(
        "/transfer/get_all?page=1&pagesize=50&sortfield=RequestDate&descending=true&type={mask}"
    );
    let page = agent.get(&path).token(token).send().expect(200).json();
    assert!(page["data"].is_array(), "a DTOCollection: {page}");
    assert!(page["total"].is_u64(), "a DTOCollection: {page}");
    page
}

/// The transfer with this id, as `get_all` lists it.
fn find(agent: &Agent, token: &str, id: &str) -> Option<Value> {
    get_all(agent, token, 15)["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .cloned()
}

/// Polls `get_all` until the transfer reaches `status`; fails at once if it ends otherwise
/// (Error, or Completed/Canceled when waiting for another status), or after a minute.
fn wait_status(agent: &Agent, token: &str, id: &str, status: u64) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let t = find(agent, token, id).unwrap_or_else(|| panic!("transfer {id} is not in get_all"));
        let now = t["transferStatus"].as_u64();
        if now == Some(status) {
            return t;
        }
        let ended = matches!(now, Some(COMPLETED | CANCELED | ERROR));
        assert!(
            !ended,
            "waiting for status {status}, the transfer ended: {t}"
        );
        assert!(
            Instant::now() < deadline,
            "waiting for status {status}: {t}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A finished transfer's counters: objects planned, done, skipped; their bytes.
#[track_caller]
fn assert_counts(t: &Value, total: u64, transferred: u64, skipped: u64, total_size: u64) {
    let got = |f: &str| t[f].as_u64().unwrap_or_else(|| panic!("{f} of {t}"));
    assert_eq!(
        (
            got("total"),
            got("transferred"),
            got("skipped"),
            got("failed")
        ),
        (total, transferred, skipped, 0),
        "total, transferred, skipped, failed of {t}"
    );
    assert_eq!(got("totalSize"), total_size, "totalSize of {t}");
}

// ------------------------------------------------------------------ servers' contents

/// The keys a bucket of an s3s-fs server holds (its files), with their bytes.
fn bucket(s3: &S3Server, name: &str) -> Objects {
    fn walk(dir: &Path, root: &Path, out: &mut Objects) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let key = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(key, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    let root = s3.root.join(name);
    walk(&root, &root, &mut out);
    out
}

/// Asserts that `bucket` holds exactly `want` (key -> bytes), naming what differs.
#[track_caller]
fn assert_bucket(what: &str, got: &Objects, want: &Objects) {
    let (g, w): (BTreeSet<&String>, BTreeSet<&String>) =
        (got.keys().collect(), want.keys().collect());
    assert_eq!(g, w, "{what}: the keys at the destination");
    for (key, bytes) in want {
        let have = &got[key];
        assert!(
            have.len() == bytes.len() && have == bytes,
            "{what}: {key} differs ({} bytes, expected {})",
            have.len(),
            bytes.len()
        );
    }
}

/// Multipart uploads created at an s3s-fs server and neither completed nor aborted (it
/// keeps a `.upload-<id>.json` record of each in its root).
fn open_uploads(s3: &S3Server) -> usize {
    std::fs::read_dir(&s3.root).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".upload-"))
            .count()
    })
}

/// Sets an object's LastModified (s3s-fs reports its file's modification time).
fn set_modified(s3: &S3Server, bucket: &str, key: &str, when: SystemTime) {
    let f = std::fs::File::options()
        .write(true)
        .open(s3.path(bucket, key));
    f.unwrap().set_modified(when).unwrap();
}

/// A time `secs` seconds before now, on a whole second (providers report seconds, or
/// milliseconds, of a LastModified).
fn seconds_ago(secs: u64) -> SystemTime {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(now - secs)
}

/// Waits (polling without a pause) until the destination holds a part of an unfinished
/// multipart upload, then freezes the source server: the transfer is caught in the middle.
fn freeze_source_mid_way(f: &Fixture, dst_bucket: &str, dst_key: &str) {
    let deadline = Instant::now() + TIMEOUT;
    while f.dst.pending_parts() == 0 {
        assert!(Instant::now() < deadline, "no part reached the destination");
        assert!(
            !f.dst.exists(dst_bucket, dst_key),
            "the transfer finished before it could be caught in the middle"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    f.src.pause();
    assert!(
        !f.dst.exists(dst_bucket, dst_key),
        "the transfer finished before it could be caught in the middle"
    );
}

/// Files under `dirs` holding any 16 bytes of `content` taken every 256 KiB (a copy of the
/// object, or of any part of it, written to disk).
fn copies_on_disk(dirs: &[&Path], content: &[u8]) -> Vec<String> {
    const STEP: usize = 256 * 1024;
    const LEN: usize = 16;
    let needles: BTreeSet<&[u8]> = (0..content.len().saturating_sub(LEN))
        .step_by(STEP)
        .map(|i| &content[i..i + LEN])
        .collect();
    // A first filter on two bytes, so that most positions cost one lookup.
    let mut first = vec![false; 1 << 16];
    for n in &needles {
        first[u16::from_le_bytes([n[0], n[1]]) as usize] = true;
    }
    let mut found = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            let hit = bytes
                .windows(LEN)
                .any(|w| first[u16::from_le_bytes([w[0], w[1]]) as usize] && needles.contains(w));
            if hit {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

// ------------------------------------------------------------------ tests

#[test]
fn a_folder_goes_from_one_s3_server_to_another_byte_for_byte() {
    if desktop_only("cloud-to-cloud transfers") {
        return;
    }
    let f = Fixture::with("", true);
    f.src.bucket("media");
    f.dst.bucket("archive");

    // 20 objects: empty ones, small ones, both sides of the 5 MiB part size, one of 12 MiB
    // (three parts), deep keys, a space and non-ASCII letters in keys.
    let sizes: [(&str, usize); 20] = [
        ("empty-1.txt", 0),
        ("a/empty-2.txt", 0),
        ("a/b/empty-3.bin", 0),
        ("one-byte.txt", 1),
        ("a/readme", 10),
        ("deep/1/2/3/4/5/leaf.txt", 12),
        ("a/b.txt", 100),
        ("docs/with space.txt", 333),
        ("docs/ünïcödé.txt", 444),
        ("notes.md", 1000),
        ("a/b/c/d.bin", 4096),
        ("img/001.jpg", 65_536),
        ("img/002.jpg", 65_537),
        ("docs/2026/report.pdf", 77_777),
        ("img/003.jpg", 200_000),
        ("z.bin", 300_000),
        ("img/raw/004.raw", MIB),
        ("five-mib.bin", PART),
        ("five-mib-plus.bin", PART + 1),
        ("video/clip-12m.mov", 12 * MIB + 7),
    ];
    let mut want = BTreeMap::new();
    for (i, (rel, len)) in sizes.iter().enumerate() {
        let bytes = pattern(*len, 100 + i as u64);
        f.src.put("media", &format!("folder/{rel}"), &bytes);
        want.insert(format!("archive/folder/{rel}"), bytes);
    }
    // Beside the folder, not in it.
    f.src
        .put("media", "folder2/not-me.txt", b"a sibling folder");
    f.src.put("media", "folder.txt", b"a sibling object");
    f.src.put("media", "top.txt", b"the bucket's root");
    let total_size: usize = sizes.iter().map(|(_, n)| n).sum();

    let id = f.queue(
        ("media", "folder/"),
        ("archive", "archive/folder/"),
        false,
        false,
    );
    let t = f.wait(&id, COMPLETED);
    assert_bucket(
        "folder/ -> archive/folder/",
        &bucket(&f.dst, "archive"),
        &want,
    );

    // The Transfer DTO: every documented field, the ends as queued, the counters.
    for field in DTO_FIELDS {
        assert!(t.get(field).is_some(), "{field} in {t}");
    }
    assert_counts(&t, 20, 20, 0, total_size as u64);
    assert_eq!(t["transferredSize"], total_size as u64, "{t}");
    assert_eq!(t["skippedSize"], 0, "{t}");
    assert_eq!(t["percent"].as_f64(), Some(100.0), "{t}");
    assert_eq!(t["transferType"], 1, "{t}");
    assert_eq!(t["sourceCloudAccountId"], f.src_account.as_str());
    assert_eq!(t["destinationCloudAccountId"], f.dst_account.as_str());
    assert_eq!(
        (&t["sourceBucket"], &t["sourcePath"]),
        (&json!("media"), &json!("folder/"))
    );
    assert_eq!(
        (&t["destinationBucket"], &t["destinationPath"]),
        (&json!("archive"), &json!("archive/folder/"))
    );
    assert_eq!(t["allowSkip"], false);
    for date in ["requestDate", "startDate", "endDate"] {
        assert!(t[date].is_string(), "{date} of a completed transfer: {t}");
    }
    for text in ["totalSizeString", "transferredSizeString"] {
        assert!(t[text].is_string(), "{text}: {t}");
    }

    // The `type` bitmask: a Transfer (1) is listed under 1 and 15, not under Sync (2) or
    // ManualTransfer (8).
    let page = get_all(&f.agent, &f.token, 15);
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["data"][0]["id"], id.as_str());
    assert!(page["options"].is_object(), "{page}");
    assert_eq!(get_all(&f.agent, &f.token, 1)["data"][0]["id"], id.as_str());
    for mask in [2, 8] {
        let page = get_all(&f.agent, &f.token, mask);
        assert_eq!(page["data"], json!([]), "type={mask}: {page}");
        assert_eq!(page["total"], 0, "type={mask}: {page}");
    }

    // The 12 MiB object went up as a multipart upload, in parts of 5 MiB or more (but the
    // last), one completion; nothing is left pending.
    let seen = f.dst_seen.as_ref().unwrap().requests();
    let of_clip: Vec<_> = seen
        .iter()
        .filter(|r| r.target.contains("clip-12m.mov"))
        .collect();
    assert!(
        of_clip
            .iter()
            .any(|r| r.method == "POST" && r.target.contains("uploads")),
        "a multipart upload was created: {of_clip:?}"
    );
    let parts: Vec<_> = of_clip
        .iter()
        .filter(|r| r.method == "PUT" && r.target.contains("partNumber="))
        .collect();
    assert!(parts.len() >= 2, "sent in parts: {of_clip:?}");
    let mut part_sizes: Vec<usize> = parts
        .iter()
        .filter_map(|r| {
            (r.header("x-amz-decoded-content-length"))
                .or(r.header("content-length"))
                .and_then(|v| v.parse().ok())
        })
        .collect();
    // The sizes, when the requests say them (an aws-chunked body says its decoded length).
    if part_sizes.len() == parts.len() {
        part_sizes.sort();
        assert_eq!(
            part_sizes.iter().sum::<usize>(),
            12 * MIB + 7,
            "{part_sizes:?}"
        );
        assert!(
            part_sizes[1..].iter().all(|&n| n >= PART),
            "parts: {part_sizes:?}"
        );
    }
    assert_eq!(f.dst.pending_parts(), 0);
    assert_eq!(open_uploads(&f.dst), 0);
}

#[test]
fn keys_land_as_keep_source_tree_says_for_folders_single_objects_and_whole_buckets() {
    if desktop_only("cloud-to-cloud transfers") {
        return;
    }
    let f = Fixture::new();
    f.src.bucket("media");
    let objects: Vec<(&str, Vec<u8>)> = vec![
        ("folder/a/b.txt", pattern(1234, 1)),
        ("folder/file.mov", pattern(300_000, 2)),
        ("folder/c/d/e.txt", pattern(10, 3)),
        ("folder/empty.txt", Vec::new()),
        ("top.txt", pattern(77, 4)),
    ];
    for (key, bytes) in &objects {
        f.src.put("media", key, bytes);
    }
    let bytes_of = |key: &str| objects.iter().find(|(k, _)| *k == key).unwrap().1.clone();
    let expect = |pairs: &[(&str, &str)]| -> Objects {
        pairs
            .iter()
            .map(|(dst, src)| (dst.to_string(), bytes_of(src)))
            .collect()
    };
    let folder_flat = expect(&[
        ("archive/folder/a/b.txt", "folder/a/b.txt"),
        ("archive/folder/file.mov", "folder/file.mov"),
        ("archive/folder/c/d/e.txt", "folder/c/d/e.txt"),
        ("archive/folder/empty.txt", "folder/empty.txt"),
    ]);
    // (source path, keepSourceTree, destination bucket, destination path, what it holds then)
    let cases: Vec<(&str, bool, &str, &str, Objects)> = vec![
        (
            "folder/",
            false,
            "flat",
            "archive/folder/",
            folder_flat.clone(),
        ),
        (
            "folder/",
            true,
            "tree",
            "archive/folder/",
            expect(&[
                ("archive/folder/folder/a/b.txt", "folder/a/b.txt"),
                ("archive/folder/folder/file.mov", "folder/file.mov"),
                ("archive/folder/folder/c/d/e.txt", "folder/c/d/e.txt"),
                ("archive/folder/folder/empty.txt", "folder/empty.txt"),
            ]),
        ),
        (
            "folder/file.mov",
            false,
            "one",
            "archive/folder/",
            expect(&[("archive/folder/file.mov", "folder/file.mov")]),
        ),
        (
            "folder/file.mov",
            true,
            "one-tree",
            "archive/folder/",
            expect(&[("archive/folder/folder/file.mov", "folder/file.mov")]),
        ),
        // A path that is no object is a folder, slash or not.
        ("folder", false, "no-slash", "archive/folder/", folder_flat),
        // The whole bucket.
        (
            "",
            false,
            "whole",
            "all/",
            expect(&[
                ("all/folder/a/b.txt", "folder/a/b.txt"),
                ("all/folder/file.mov", "folder/file.mov"),
                ("all/folder/c/d/e.txt", "folder/c/d/e.txt"),
                ("all/folder/empty.txt", "folder/empty.txt"),
                ("all/top.txt", "top.txt"),
            ]),
        ),
    ];
    // All queued at once, then each checked.
    let mut queued = Vec::new();
    for (src_path, keep, dst_bucket, dst_path, want) in &cases {
        f.dst.bucket(dst_bucket);
        let id = f.queue(("media", src_path), (dst_bucket, dst_path), false, *keep);
        queued.push((id, src_path, keep, dst_bucket, want));
    }
    for (id, src_path, keep, dst_bucket, want) in queued {
        let what = format!("sourcePath {src_path:?}, keepSourceTree {keep}");
        let t = f.wait(&id, COMPLETED);
        let size: usize = want.values().map(Vec::len).sum();
        let n = want.len() as u64;
        assert_counts(&t, n, n, 0, size as u64);
        assert_bucket(&what, &bucket(&f.dst, dst_bucket), want);
    }
    // The source is left as it was.
    for (key, bytes) in &objects {
        assert!(
            std::fs::read(f.src.path("media", key)).unwrap() == *bytes,
            "{key}"
        );
    }
}

#[test]
fn allow_skip_keeps_newer_destination_objects_and_false_overwrites_them() {
    if desktop_only("cloud-to-cloud transfers") {
        return;
    }
    let f = Fixture::new();
    f.src.bucket("media");
    f.dst.bucket("backup");
    let source_time = seconds_ago(3600);
    let names = ["1.bin", "2.bin", "3.bin", "4.bin", "5.bin"];
    let sizes = [100_000, 200_000, 30_000, 4_000, 6 * MIB];
    let source: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, n)| pattern(*n, 10 + i as u64))
        .collect();
    for (name, bytes) in names.iter().zip(&source) {
        f.src.put("media", &format!("docs/{name}"), bytes);
        set_modified(&f.src, "media", &format!("docs/{name}"), source_time);
    }
    // At the destination, other bytes of the same length: 1.bin written after the source
    // (newer), 2.bin with the very same LastModified (as new), 3.bin older; 4 and 5 absent.
    let theirs: Vec<Vec<u8>> = sizes[..3]
        .iter()
        .enumerate()
        .map(|(i, n)| pattern(*n, 50 + i as u64))
        .collect();
    for (name, bytes) in names[..3].iter().zip(&theirs) {
        f.dst.put("backup", &format!("docs/{name}"), bytes);
    }
    set_modified(&f.dst, "backup", "docs/2.bin", source_time);
    set_modified(&f.dst, "backup", "docs/3.bin", seconds_ago(7200));

    let id = f.queue(("media", "docs/"), ("backup", "docs/"), true, false);
    let t = f.wait(&id, COMPLETED);
    let total_size: usize = sizes.iter().sum();
    assert_counts(&t, 5, 3, 2, total_size as u64);
    assert_eq!(t["skippedSize"], (sizes[0] + sizes[1]) as u64, "{t}");
    assert_eq!(t["allowSkip"], true, "{t}");
    let mut want = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let bytes = if i < 2 { &theirs[i] } else { &source[i] };
        want.insert(format!("docs/{name}"), bytes.clone());
    }
    assert_bucket(
        "allowSkip: the newer and as-new copies stay, the older one and the missing ones come",
        &bucket(&f.dst, "backup"),
        &want,
    );

    // allowSkip false: everything is written again, the newer copies included.
    let id = f.queue(("media", "docs/"), ("backup", "docs/"), false, false);
    let t = f.wait(&id, COMPLETED);
    assert_counts(&t, 5, 5, 0, total_size as u64);
    assert_eq!(t["skippedSize"], 0, "{t}");
    let want: Objects = names
        .iter()
        .zip(&source)
        .map(|(name, bytes)| (format!("docs/{name}"), bytes.clone()))
        .collect();
    assert_bucket(
        "allowSkip false overwrites",
        &bucket(&f.dst, "backup"),
        &want,
    );
}

#[test]
fn objects_go_from_s3_to_azure_and_back() {
    if desktop_only("cloud-to-cloud transfers") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket("media");
    s3.bucket("back");
    let az = Azurite::start();
    az.create_container("media");
    let agent = Agent::start();
    let token = signup_and_login(&agent, "owner@example.com");
    let s3_account = insert_cloud_account(&agent, &token, s3.account("s3"));
    let az_account = insert_cloud_account(&agent, &token, az.account("azure"));

    let objects: Vec<(&str, Vec<u8>)> = vec![
        ("in/a.txt", pattern(1000, 1)),
        ("in/empty.bin", Vec::new()),
        ("in/sub/mid.bin", pattern(300_000, 2)),
        ("in/sub/big.bin", pattern(12 * MIB + 3, 3)),
    ];
    for (key, bytes) in &objects {
        s3.put("media", key, bytes);
    }
    let total_size: usize = objects.iter().map(|(_, b)| b.len()).sum();

    // S3 -> Azure.
    let id = queue(
        &agent,
        &token,
        request(
            (&s3_account, "media", "in/"),
            (&az_account, "media", "from-s3/"),
            false,
            false,
        ),
    );
    let t = wait_status(&agent, &token, &id, COMPLETED);
    assert_counts(&t, 4, 4, 0, total_size as u64);
    for (key, bytes) in &objects {
        let blob = key.replacen("in/", "from-s3/", 1);
        let got = az
            .get("media", &blob)
            .unwrap_or_else(|| panic!("no blob {blob}"));
        assert!(
            got.len() == bytes.len() && got == *bytes,
            "{blob}: {} bytes, expected {}",
            got.len(),
            bytes.len()
        );
    }

    // Azure -> S3, from what just arrived.
    let id = queue(
        &agent,
        &token,
        request(
            (&az_account, "media", "from-s3/"),
            (&s3_account, "back", "again/"),
            false,
            false,
        ),
    );
    let t = wait_status(&agent, &token, &id, COMPLETED);
    assert_counts(&t, 4, 4, 0, total_size as u64);
    let want: Objects = objects
        .iter()
        .map(|(key, bytes)| (key.replacen("in/", "again/", 1), bytes.clone()))
        .collect();
    assert_bucket("Azure -> S3", &bucket(&s3, "back"), &want);
    assert_eq!(s3.pending_parts(), 0);
}

#[test]
fn a_cancel_mid_way_leaves_no_object_and_no_pending_upload() {
    if desktop_only("cloud-to-cloud transfers") {
        return;
    }
    let f = Fixture::with("[transfers]\nconcurrent_chunks = 1\n", false);
    f.src.bucket("media");
    f.dst.bucket("archive");
    f.src.put("media", "big/huge.bin", &pattern(64 * MIB, 7));

    let id = f.queue(("media", "big/huge.bin"), ("archive", "out/"), false, false);
    freeze_source_mid_way(&f, "archive", "out/huge.bin");
    let t = find(&f.agent, &f.token, &id).unwrap();
    assert!(
        matches!(t["transferStatus"].as_u64(), Some(CREATED | RUNNING)),
        "in the middle: {t}"
    );
    f.agent
        .post("/transfer/cancel_transfer", json!({"id": id}))
        .token(&f.token)
        .send()
        .expect(200);
    f.src.unpause();
    let t = f.wait(&id, CANCELED);
    assert!(t["transferred"].as_u64().unwrap() == 0, "{t}");

    wait_until(
        "the multipart upload aborted",
        Duration::from_secs(10),
        || f.dst.pending_parts() == 0 && open_uploads(&f.dst) == 0,
    );
    // Nothing comes back to life once the source answers again.
    std::thread::sleep(Duration::from_millis(700));
    assert!(!f.dst.exists("archive", "out/huge.bin"), "no object");
    assert_eq!(bucket(&f.dst, "archive").len(), 0, "nothing at all");
    assert_eq!((f.dst.pending_parts(), open_uploads(&f.dst)), (0, 0));
    let t = find(&f.agent, &f.token, &id).unwrap();
    assert_eq!(t["transferStatus"], CANCELED, "{t}");
}

#[test]
fn a_transfer_killed_mid_way_finishes_intact_after_a_restart() {
    if desktop_only("cloud-to-cloud transfers and a restart") {
        return;
    }
    let mut f = Fixture::with(
        "[transfers]\nconcurrent_chunks = 1\nprogress_interval_ms = 100\n",
        false,
    );
    f.src.bucket("media");
    f.dst.bucket("archive");
    let content = pattern(64 * MIB, 8);
    f.src.put("media", "big/resume.bin", &content);

    let id = f.queue(
        ("media", "big/resume.bin"),
        ("archive", "out/"),
        false,
        false,
    );
    freeze_source_mid_way(&f, "archive", "out/resume.bin");
    // A few progress intervals, so that what went is recorded.
    std::thread::sleep(Duration::from_millis(300));
    let data_dir = f.agent.data_dir.clone();
    let on_disk = copies_on_disk(&[&data_dir, &f.agent_tmp], &content);
    assert!(
        on_disk.is_empty(),
        "the bytes are streamed, not stored: {on_disk:?}"
    );
    f.agent.kill();
    f.src.unpause();
    f.restart();

    let t = f.wait(&id, COMPLETED);
    assert_counts(&t, 1, 1, 0, content.len() as u64);
    assert_eq!(t["transferredSize"], content.len() as u64, "{t}");
    let got = std::fs::read(f.dst.path("archive", "out/resume.bin")).unwrap();
    assert!(
        got.len() == content.len() && got == content,
        "{} bytes arrived, expected {}, or they differ",
        got.len(),
        content.len()
    );
    assert_eq!(bucket(&f.dst, "archive").len(), 1);
    wait_until("no multipart upload left", Duration::from_secs(10), || {
        f.dst.pending_parts() == 0 && open_uploads(&f.dst) == 0
    });
    let on_disk = copies_on_disk(&[&data_dir, &f.agent_tmp], &content);
    assert!(
        on_disk.is_empty(),
        "the bytes are streamed, not stored: {on_disk:?}"
    );
}

#[test]
fn bad_input_is_refused_and_an_empty_source_ends_in_error() {
    if desktop_only("cloud-to-cloud transfers") {
        return;
    }
    let f = Fixture::new();
    f.src.bucket("media");
    f.dst.bucket("archive");
    f.src.put("media", "folder/a.txt", b"a");
    let stranger = signup_and_login(&f.agent, "stranger@example.com");
    let theirs = insert_cloud_account(&f.agent, &stranger, f.src.account("theirs"));
    let unknown = "7d1b0e1c-0000-4000-8000-000000000000";

    let good = || {
        request(
            (&f.src_account, "media", "folder/"),
            (&f.dst_account, "archive", "copy/"),
            false,
            false,
        )
    };
    let post = |body: Value| {
        f.agent
            .post("/transfer/transfer", body)
            .token(&f.token)
            .send()
    };
    for (field, value, code) in [
        ("sourceCloudAccountId", unknown, "NOT_FOUND"),
        ("destinationCloudAccountId", unknown, "NOT_FOUND"),
        ("sourceCloudAccountId", theirs.as_str(), "NOT_FOUND"),
        ("destinationCloudAccountId", theirs.as_str(), "NOT_FOUND"),
        ("sourceBucket", "", "DEFAULT"),
        ("destinationBucket", "", "DEFAULT"),
    ] {
        let mut body = good();
        body[field] = json!(value);
        let r = post(body);
        assert_eq!(r.status, 499, "{field} = {value:?}: {}", r.text());
        assert_eq!(r.json()["type"], code, "{field} = {value:?}: {}", r.text());
        r.expect_error(code);
    }
    // The extension fields: a TransferType, and a sync's interval (5 s to a day).
    for extra in [
        json!({"transferType": 3}),
        json!({"transferType": 16}),
        json!({"transferType": 2, "syncIntervalSeconds": 4}),
        json!({"transferType": 2, "syncIntervalSeconds": 86_401}),
        json!({"transferType": 1, "syncIntervalSeconds": 60}),
    ] {
        let mut body = good();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        post(body).expect_error("DEFAULT");
    }
    // No token: 401 on all three.
    let r = f.agent.post("/transfer/transfer", good()).send();
    assert_eq!(r.status, 401, "{}", r.text());
    let r = f.agent.get("/transfer/get_all").send();
    assert_eq!(r.status, 401, "{}", r.text());
    let r = f
        .agent
        .post("/transfer/cancel_transfer", json!({"id": unknown}))
        .send();
    assert_eq!(r.status, 401, "{}", r.text());

    // Nothing refused was queued, nothing moved.
    let page = get_all(&f.agent, &f.token, 15);
    assert_eq!(
        (page["total"].clone(), page["data"].clone()),
        (json!(0), json!([]))
    );
    assert!(bucket(&f.dst, "archive").is_empty());

    // A source path with no object under it: queued, then Error.
    let mut body = good();
    body["sourcePath"] = json!("nothing/here/");
    let id = queue(&f.agent, &f.token, body);
    let t = f.wait(&id, ERROR);
    assert_eq!(t["transferred"], 0, "{t}");
    assert!(bucket(&f.dst, "archive").is_empty());

    // Another account neither sees nor cancels it.
    let page = get_all(&f.agent, &stranger, 15);
    assert_eq!(page["data"], json!([]), "{page}");
    f.agent
        .post("/transfer/cancel_transfer", json!({"id": id}))
        .token(&stranger)
        .send()
        .expect_error("NOT_FOUND");
    assert_eq!(
        find(&f.agent, &f.token, &id).unwrap()["transferStatus"],
        ERROR
    );
}

/// The cycles of sync `sync_id`, oldest first, as `get_all` lists them.
fn cycles(f: &Fixture, sync_id: &str) -> Vec<Value> {
    let page = get_all(&f.agent, &f.token, 6);
    let mut out: Vec<Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["syncCycleId"] == sync_id)
        .cloned()
        .collect();
    out.reverse();
    out
}

/// Waits for cycle `n` (1-based) of sync `sync_id` to complete.
fn wait_cycle(f: &Fixture, sync_id: &str, n: usize) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let all = cycles(f, sync_id);
        if let Some(t) = all.get(n - 1)
            && t["transferStatus"] == COMPLETED
        {
            return t.clone();
        }
        assert!(Instant::now() < deadline, "cycle {n} of {sync_id}: {all:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A sync (`transferType` 2 and `syncIntervalSeconds`, extensions) copies everything in its
/// first cycle (a SyncInitTransfer, 4), then in each later one (a Sync, 2) only what is new or
/// changed at the source; it goes on after a `kill -9`; cancelling one of its cycles stops it.
#[test]
fn a_sync_copies_everything_then_only_what_changed() {
    if desktop_only("cloud-to-cloud syncs") {
        return;
    }
    let mut f = Fixture::new();
    let (a, b, d) = (pattern(3000, 1), pattern(5000, 2), pattern(10, 3));
    f.src.put("media", "clips/a.mov", &a);
    f.src.put("media", "clips/b.mov", &b);
    f.src.put("media", "clips/c/d.mov", &d);
    f.dst.bucket("archive");
    let mut body = request(
        (&f.src_account, "media", "clips/"),
        (&f.dst_account, "archive", "copies/"),
        false,
        false,
    );
    body["transferType"] = json!(2);
    body["syncIntervalSeconds"] = json!(5);
    let first = f
        .agent
        .post("/transfer/transfer", body)
        .token(&f.token)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        first["transferType"], 4,
        "a SyncInitTransfer first: {first}"
    );
    let sync_id = first["syncCycleId"].as_str().unwrap().to_string();
    assert_ne!(sync_id, "00000000-0000-0000-0000-000000000000", "{first}");
    let done = f.wait(first["id"].as_str().unwrap(), COMPLETED);
    assert_counts(&done, 3, 3, 0, 8010);
    let mut want: Objects = [
        ("copies/a.mov", a),
        ("copies/b.mov", b),
        ("copies/c/d.mov", d.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_bucket("the first cycle", &bucket(&f.dst, "archive"), &want);

    // One object rewritten at the same size (its time tells: listings carry a time to the
    // second), one new, the others as they were.
    std::thread::sleep(Duration::from_millis(1100));
    let (b2, new) = (pattern(5000, 9), pattern(100, 4));
    f.src.put("media", "clips/b.mov", &b2);
    f.src.put("media", "clips/new.mov", &new);
    let second = wait_cycle(&f, &sync_id, 2);
    assert_eq!(second["transferType"], 2, "a Sync: {second}");
    assert_counts(&second, 4, 2, 2, 8110);
    want.insert("copies/b.mov".into(), b2);
    want.insert("copies/new.mov".into(), new);
    assert_bucket("the second cycle", &bucket(&f.dst, "archive"), &want);
    let third = wait_cycle(&f, &sync_id, 3);
    assert_counts(&third, 4, 0, 4, 8110);

    // The sync outlives the agent.
    f.restart();
    f.src.put("media", "clips/after.mov", b"after the restart");
    wait_until("a cycle after the restart", TIMEOUT, || {
        bucket(&f.dst, "archive").contains_key("copies/after.mov")
    });

    // Its cycles by type; then a cancel of its latest cycle stops it.
    let all = cycles(&f, &sync_id);
    let types: BTreeSet<u64> = all
        .iter()
        .map(|t| t["transferType"].as_u64().unwrap())
        .collect();
    assert_eq!(types, BTreeSet::from([2, 4]), "{all:?}");
    assert_eq!(get_all(&f.agent, &f.token, 4)["total"], 1);
    assert_eq!(get_all(&f.agent, &f.token, 1)["total"], 0);
    let latest = all.last().unwrap()["id"].clone();
    f.agent
        .post("/transfer/cancel_transfer", json!({"id": latest}))
        .token(&f.token)
        .send()
        .expect(200);
    let count = cycles(&f, &sync_id).len();
    f.src.put("media", "clips/late.mov", b"too late");
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(
        cycles(&f, &sync_id).len(),
        count,
        "no cycle after the cancel"
    );
    assert!(!bucket(&f.dst, "archive").contains_key("copies/late.mov"));
    f.agent
        .post("/transfer/cancel_transfer", json!({"id": latest}))
        .token(&f.token)
        .send()
        .expect_error("DEFAULT");
    // Every cycle that ended is in the history, as a sync's.
    let history = f
        .agent
        .get("/transferhistory/get_all?origin=4")
        .token(&f.token)
        .send()
        .expect(200)
        .json();
    assert!(history["total"].as_u64().unwrap() >= 4, "{history}");
}

/// Both ends on one S3 endpoint under the same credentials: each object is copied on the
/// server (CopyObject; pinned with `x-amz-copy-source-if-match` to the version the listing
/// named, which s3s-fs's listings do not), and none of its bytes is read through the agent:
/// the proxy in front of the server sees no GET of an object, only listings.
#[test]
fn a_copy_within_one_endpoint_happens_on_the_server() {
    if desktop_only("cloud-to-cloud transfers") {
        return;
    }
    let f = Fixture::new();
    let seen = Recorder::start(f.src.addr);
    let mut body = f.src.account("same endpoint");
    body["endpoint"] = json!(seen.endpoint());
    let account = insert_cloud_account(&f.agent, &f.token, body);
    let objects = [("folder/a.txt", 1000), ("folder/sub/b.bin", 12 * MIB + 3)];
    for (i, (key, size)) in objects.iter().enumerate() {
        f.src.put("media", key, &pattern(*size, 70 + i as u64));
    }
    f.src.bucket("archive");
    let body = request(
        (&account, "media", "folder/"),
        (&account, "archive", "copied/"),
        false,
        false,
    );
    let id = queue(&f.agent, &f.token, body);
    f.wait(&id, COMPLETED);
    for (i, (key, size)) in objects.iter().enumerate() {
        let copied = key.replacen("folder/", "copied/", 1);
        let got = std::fs::read(f.src.path("archive", &copied)).unwrap();
        assert!(
            got == pattern(*size, 70 + i as u64),
            "{copied} is its source's bytes"
        );
    }
    let requests = seen.requests();
    let reads: Vec<_> = (requests.iter())
        .filter(|r| r.method == "GET" && r.target.contains("folder/"))
        .filter(|r| !r.target.contains("list-type") && !r.target.contains("prefix="))
        .collect();
    assert!(
        reads.is_empty(),
        "no object read through the agent: {reads:?}"
    );
    let copies: Vec<_> = (requests.iter())
        .filter(|r| r.method == "PUT" && r.header("x-amz-copy-source").is_some())
        .collect();
    assert_eq!(
        copies.len(),
        objects.len(),
        "one CopyObject each: {requests:?}"
    );
}

/// The sizes the issue names: 5,000 small objects under a prefix, and one object of 2 GiB,
/// each from one S3 server to another, every byte where it belongs.
#[test]
fn five_thousand_small_objects_and_one_of_two_gib() {
    if desktop_only("cloud-to-cloud transfers") {
        return;
    }
    let f = Fixture::new();
    f.src.bucket("media");
    f.dst.bucket("archive");
    // Written straight into the server's folder (s3s-fs serves what it holds): 5,000 puts
    // through its API would take longer than the copy.
    let root = f.src.path("media", "many");
    for i in 0..5_000u64 {
        let dir = root.join(format!("d{:02}", i % 50));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("o{i:05}.txt")), format!("object {i}")).unwrap();
    }
    let big = f.src.path("media", "big/video.raw");
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let mut window = pattern(8 << 20, 6);
        for chunk in 0..256u64 {
            // Each window differs, so a part sent twice or out of place is found.
            window[..8].copy_from_slice(&chunk.to_le_bytes());
            std::io::Write::write_all(&mut file, &window).unwrap();
        }
    }
    f.src.note_etag("media", "big/video.raw");
    let many = f.queue(("media", "many/"), ("archive", "many/"), false, false);
    let one = f.queue(
        ("media", "big/video.raw"),
        ("archive", "big/"),
        false,
        false,
    );
    // Sizes that take a debug build a minute or two: a longer wait than the other tests'.
    let done = |id: &str| {
        let status = || find(&f.agent, &f.token, id).map(|t| t["transferStatus"].clone());
        wait_until("the transfer", Duration::from_secs(600), || {
            matches!(status().and_then(|s| s.as_u64()), Some(COMPLETED | ERROR))
        });
        wait_status(&f.agent, &f.token, id, COMPLETED)
    };
    let t = done(&many);
    assert_eq!(
        (t["total"].as_u64(), t["transferred"].as_u64()),
        (Some(5_000), Some(5_000))
    );
    for i in 0..5_000u64 {
        let key = format!("many/d{:02}/o{i:05}.txt", i % 50);
        let got = std::fs::read(f.dst.path("archive", &key)).unwrap();
        assert!(got == format!("object {i}").as_bytes(), "{key}");
    }
    done(&one);
    let copied = f.dst.path("archive", "big/video.raw");
    assert!(
        click_blackbox::same_file(&big, &copied),
        "the 2 GiB object is intact"
    );
}
