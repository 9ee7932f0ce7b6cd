//! LocalPath drives (`driveType` 2): a plain folder kept in two-way sync with a bucket of a
//! real S3 server (s3s-fs) by the agent binary. Edits on both sides travel, deletes spread,
//! both versions of a file edited on both sides while the drive was off are kept, read-only
//! and no-delete drives hold their side, and an agent killed with `kill -9` in the middle of
//! a sync finishes it at the next start with every file intact.

use std::path::{Path, PathBuf};
use std::time::Duration;

use click_blackbox::azure::Azurite;
use click_blackbox::s3::S3Server;
use click_blackbox::{
    Account, Agent, DataDir, Value, desktop_only, drive_insert_body, json, pattern, wait_until,
};

const BUCKET: &str = "my-bucket";
const SYNC: Duration = Duration::from_secs(20);

/// A LocalPath drive of `a` on `s3` syncing `folder`, with `changes` over the docs' example.
fn synced_drive(agent: &Agent, a: &Account, s3: &S3Server, folder: &Path, changes: Value) -> Value {
    synced_drive_on(agent, a, s3.account("s3"), folder, changes)
}

/// A LocalPath drive of `a` on the cloud account `cloud` syncing `folder`.
fn synced_drive_on(
    agent: &Agent,
    a: &Account,
    cloud: Value,
    folder: &Path,
    changes: Value,
) -> Value {
    let mut body = drive_insert_body(
        agent,
        &a.token,
        cloud,
        json!({
            "driveType": 2,
            "localPath": folder.display().to_string(),
            "syncIntervalSeconds": 10,
        }),
    );
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    a.post("/management/clouddrive", body).expect(200).json()
}

/// Asks for a pass now (`clouddrive/sync`), as a UI does after changing the bucket.
fn sync_now(agent: &Agent, a: &Account, drive: &Value) {
    let id = drive["id"].as_str().unwrap();
    agent
        .get(&format!("/management/clouddrive/sync/{id}"))
        .token(&a.token)
        .send()
        .expect(200);
}

fn read(path: impl AsRef<Path>) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

fn folder_of(agent: &Agent, name: &str) -> PathBuf {
    agent.data_dir.join("drives").join(name)
}

fn set_active(a: &Account, drive: &Value, active: bool) {
    let mut body = drive.clone();
    body["active"] = json!(active);
    let id = drive["id"].as_str().unwrap();
    a.put(&format!("/management/clouddrive/{id}"), body)
        .expect(200);
}

#[test]
fn edits_on_both_sides_travel_and_a_conflict_keeps_both_versions() {
    if desktop_only("synced folders") {
        return;
    }
    let s3 = S3Server::start();
    s3.put(BUCKET, "docs/readme.md", b"# hi");
    s3.put(BUCKET, "photos/2026/a.txt", b"a");
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let mut states = agent
        .ws(&format!("/statechange?token={}", a.token), &[])
        .expect("statechange");
    let root = folder_of(&agent, "Synced");
    std::fs::create_dir_all(root.join("notes")).unwrap();
    std::fs::write(root.join("notes/local.txt"), b"made here first").unwrap();
    let d = synced_drive(&agent, &a, &s3, &root, json!({}));

    // The first pass brings both sides together.
    wait_until("the first sync", SYNC, || {
        read(root.join("photos/2026/a.txt")).as_deref() == Some(b"a")
            && read(root.join("docs/readme.md")).as_deref() == Some(b"# hi")
            && read(s3.path(BUCKET, "notes/local.txt")).as_deref() == Some(b"made here first")
    });
    // The drive's reports count what its journal tracks.
    let id = d["id"].as_str().unwrap();
    let summary = format!("/drivereport/summary/{id}");
    wait_until("the files counted", SYNC, || {
        a.get(&summary)["TotalFiles"] == 3
    });
    let s = a.get(&summary);
    assert_eq!(s["TotalDirectories"], 4, "{s}");
    assert_eq!(s["TotalSizeBytes"], 4 + 1 + 15);
    assert_eq!(s["DriveType"], "LocalPath");
    assert_eq!(s["PermissionType"], "ReadWrite");
    // The pass records each file's end in the journal as it gets there: the health is whole
    // once the pass is over.
    let health = format!("/drivereport/sync_health/{id}");
    wait_until("the pass recorded", SYNC, || {
        a.get(&health)["OverallSyncCompletionPercent"] == 100
    });
    let h = a.get(&health);
    assert_eq!(h["TotalTrackedFiles"], 3, "{h}");
    assert_eq!(h["OverallSyncCompletionPercent"], 100);

    // Local edits go up: a new file (the watcher wakes the pass), a change, a delete.
    std::fs::write(root.join("docs/new.txt"), b"new locally").unwrap();
    std::fs::write(root.join("docs/readme.md"), b"# edited locally").unwrap();
    std::fs::remove_file(root.join("notes/local.txt")).unwrap();
    wait_until("local edits in the bucket", SYNC, || {
        read(s3.path(BUCKET, "docs/new.txt")).as_deref() == Some(b"new locally")
            && read(s3.path(BUCKET, "docs/readme.md")).as_deref() == Some(b"# edited locally")
            && !s3.exists(BUCKET, "notes/local.txt")
    });

    // The bucket's edits come down at the next poll.
    s3.put(BUCKET, "remote/made.txt", b"made in the bucket");
    s3.put(BUCKET, "docs/new.txt", b"changed in the bucket");
    std::fs::remove_file(s3.path(BUCKET, "photos/2026/a.txt")).unwrap();
    sync_now(&agent, &a, &d);
    wait_until("the bucket's edits in the folder", SYNC, || {
        read(root.join("remote/made.txt")).as_deref() == Some(b"made in the bucket")
            && read(root.join("docs/new.txt")).as_deref() == Some(b"changed in the bucket")
            && !root.join("photos/2026/a.txt").exists()
    });

    // Both sides edit one file while the drive is off: both versions stay.
    set_active(&a, &d, false);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(root.join("docs/readme.md"), b"# mine").unwrap();
    s3.put(BUCKET, "docs/readme.md", b"# theirs");
    set_active(&a, &d, true);
    let conflict = |dir: &Path| -> Option<PathBuf> {
        std::fs::read_dir(dir.join("docs"))
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().contains("readme (conflict "))
    };
    wait_until("both versions on both sides", SYNC, || {
        read(root.join("docs/readme.md")).as_deref() == Some(b"# theirs")
            && conflict(&root).and_then(read).as_deref() == Some(b"# mine")
            && conflict(&s3.bucket(BUCKET)).and_then(read).as_deref() == Some(b"# mine")
    });
    let name = conflict(&root).unwrap();
    assert!(name.to_string_lossy().ends_with(".md"), "{name:?}");

    // Every transfer was journaled: Uploading then Normal for the new file (a pass that
    // scanned it while the test was still writing it fails that upload, Error 256, and the
    // next pass sends it).
    let path = root.join("docs/new.txt").display().to_string();
    let seen = states.states_of(&path, BUCKET, Duration::from_secs(2));
    let up = seen.iter().position(|s| *s == 0);
    assert!(
        seen.first() == Some(&4)
            && up.is_some_and(|i| seen[i - 1] == 4 && seen[..i].iter().all(|s| [4, 256].contains(s))),
        "Uploading then Normal for {path}: {seen:?}"
    );
    assert!(
        seen.windows(2).any(|w| w == [2, 0]),
        "then Downloading and Normal: {seen:?}"
    );
}

#[test]
fn read_only_and_no_delete_drives_hold_their_side() {
    if desktop_only("synced folders") {
        return;
    }
    let s3 = S3Server::start();
    s3.put(BUCKET, "ro/kept.txt", b"kept");
    s3.put(BUCKET, "nd/kept.txt", b"kept");
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let ro = folder_of(&agent, "ReadOnly");
    let nd = folder_of(&agent, "NoDelete");
    let r = synced_drive(
        &agent,
        &a,
        &s3,
        &ro,
        json!({"name": "ro", "driveName": "R", "prefix": "ro", "permissionType": 1}),
    );
    synced_drive(
        &agent,
        &a,
        &s3,
        &nd,
        json!({"name": "nd", "driveName": "N", "prefix": "nd", "allowDelete": false}),
    );
    wait_until("both drives synced", SYNC, || {
        ro.join("kept.txt").exists() && nd.join("kept.txt").exists()
    });

    // Read-only: a local file never reaches the bucket, the bucket's changes still come.
    std::fs::write(ro.join("local.txt"), b"stays here").unwrap();
    s3.put(BUCKET, "ro/later.txt", b"later");
    sync_now(&agent, &a, &r);
    wait_until("the bucket's file", SYNC, || ro.join("later.txt").exists());
    std::thread::sleep(Duration::from_secs(2));
    assert!(!s3.exists(BUCKET, "ro/local.txt"));
    assert_eq!(read(ro.join("local.txt")).unwrap(), b"stays here");

    // No delete: a file deleted locally comes back from the bucket.
    std::fs::remove_file(nd.join("kept.txt")).unwrap();
    wait_until("the deleted file back", SYNC, || {
        read(nd.join("kept.txt")).as_deref() == Some(b"kept")
    });
    assert!(s3.exists(BUCKET, "nd/kept.txt"));
}

/// An agent killed while it syncs a folder of many files, again and again: every start
/// finishes the work, and at the end the bucket and the folder hold every file intact.
#[test]
fn kill_9_during_a_sync_loses_nothing() {
    if desktop_only("synced folders") {
        return;
    }
    let s3 = S3Server::start();
    let data = DataDir::new();
    let first = data.agent();
    let a = Account::new(&first, "owner@example.com");
    let root = folder_of(&first, "Synced");
    std::fs::create_dir_all(&root).unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..120)
        .map(|i| {
            (
                format!("dir{}/f{i:03}.bin", i % 4),
                pattern(20_000 + i * 700, i as u64),
            )
        })
        .collect();
    for (i, (name, body)) in files.iter().enumerate() {
        if i % 2 == 0 {
            std::fs::create_dir_all(root.join(name).parent().unwrap()).unwrap();
            std::fs::write(root.join(name), body).unwrap();
        } else {
            s3.put(BUCKET, name, body);
        }
    }
    synced_drive(&first, &a, &s3, &root, json!({}));
    std::thread::sleep(Duration::from_millis(300));
    first.kill();
    drop(a);
    drop(first);
    for round in 0..4u64 {
        let agent = data.agent();
        std::thread::sleep(Duration::from_millis(200 + 150 * round));
        agent.kill();
    }
    let _agent = data.agent();
    wait_until("both sides complete", Duration::from_secs(60), || {
        files.iter().all(|(name, body)| {
            read(root.join(name)).as_ref() == Some(body)
                && read(s3.path(BUCKET, name)).as_ref() == Some(body)
        })
    });
    let leftovers: Vec<PathBuf> = walk(&root)
        .into_iter()
        .filter(|p| {
            p.to_string_lossy().contains(".click-part-")
                || p.to_string_lossy().contains("(conflict")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "no partial downloads or conflicts left: {leftovers:?}"
    );
}

#[test]
fn the_parts_of_an_upload_a_killed_pass_left_are_aborted_at_the_next_start() {
    if desktop_only("synced folders") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket(BUCKET);
    let data = DataDir::new();
    let first = data.agent();
    let a = Account::new(&first, "owner@example.com");
    let root = folder_of(&first, "Synced");
    std::fs::create_dir_all(&root).unwrap();
    synced_drive(&first, &a, &s3, &root, json!({}));
    // 16 parts of 5 MB, 5 at a time; cut once some are in the bucket.
    let big = pattern(80 << 20, 51);
    std::fs::write(root.join("big.bin"), &big).unwrap();
    wait_until("some parts sent", SYNC, || s3.pending_parts() >= 2);
    s3.pause();
    first.kill();
    s3.unpause();
    assert!(s3.pending_parts() > 0 && !s3.exists(BUCKET, "big.bin"));

    let _again = data.agent();
    wait_until("the file in the bucket", SYNC, || {
        read(s3.path(BUCKET, "big.bin")).is_some_and(|b| b == big)
    });
    wait_until("no parts left behind", SYNC, || s3.pending_parts() == 0);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn a_folder_syncs_with_azure_blob_storage() {
    if desktop_only("synced folders") {
        return;
    }
    let az = Azurite::start();
    az.create_container(BUCKET);
    az.put(BUCKET, "docs/readme.md", b"# hi");
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let root = folder_of(&agent, "Synced");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("local.txt"), b"from the folder").unwrap();
    let d = synced_drive_on(&agent, &a, az.account("azure"), &root, json!({}));
    wait_until("the first sync", SYNC, || {
        read(root.join("docs/readme.md")).as_deref() == Some(b"# hi")
            && az.get(BUCKET, "local.txt").as_deref() == Some(b"from the folder")
    });
    std::fs::write(root.join("docs/readme.md"), b"# edited").unwrap();
    az.put(BUCKET, "remote.txt", b"from the container");
    sync_now(&agent, &a, &d);
    wait_until("both edits across", SYNC, || {
        az.get(BUCKET, "docs/readme.md").as_deref() == Some(b"# edited")
            && read(root.join("remote.txt")).as_deref() == Some(b"from the container")
    });
    std::fs::remove_file(root.join("local.txt")).unwrap();
    wait_until("the delete in the container", SYNC, || {
        az.get(BUCKET, "local.txt").is_none()
    });
}

/// `cloudObjectsEncrypted` on a synced folder: the bucket holds sealed objects, the folder
/// plaintext, both ways.
#[test]
fn an_encrypted_folder_keeps_only_ciphertext_in_the_bucket() {
    if desktop_only("synced folders") {
        return;
    }
    let s3 = S3Server::start();
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    std::fs::create_dir_all(s3.bucket(BUCKET)).unwrap();
    let root = folder_of(&agent, "Sealed");
    std::fs::create_dir_all(&root).unwrap();
    let body = pattern(200_000, 3);
    std::fs::write(root.join("local.bin"), &body).unwrap();
    let d = synced_drive(
        &agent,
        &a,
        &s3,
        &root,
        json!({"cloudObjectsEncrypted": true}),
    );
    wait_until("the upload", SYNC, || s3.exists(BUCKET, "local.bin"));
    let stored = read(s3.path(BUCKET, "local.bin")).unwrap();
    assert_eq!(&stored[..4], b"CLKE");
    assert_eq!(
        stored.len(),
        25 + body.len() + 16 * body.len().div_ceil(64 << 10)
    );

    // A sealed object written by another drive of this agent comes down as plaintext.
    std::fs::copy(s3.path(BUCKET, "local.bin"), s3.path(BUCKET, "copy.bin")).unwrap();
    sync_now(&agent, &a, &d);
    wait_until("the download", SYNC, || {
        read(root.join("copy.bin")).as_ref() == Some(&body)
    });
    assert_eq!(read(root.join("local.bin")).unwrap(), body);
}
