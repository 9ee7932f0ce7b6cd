//! Cloud Backups as their provider sees them: the agent's requests to a real S3 server
//! (s3s-fs), counted by a recording proxy in between. A first run writes each file once,
//! each write conditional (`If-None-Match: *`, `If-Match` on the version it replaces); a run
//! after changes sends exactly the changed files and lists nothing (the journal knows what the
//! bucket holds); a backup killed with `kill -9` sends again only what was in flight.

use std::collections::BTreeMap;

use click_blackbox::backup::{BUCKET, RUN, body, folder_of, in_bucket};
use click_blackbox::recorder::{Recorder, Request};
use click_blackbox::s3::S3Server;
use click_blackbox::{
    Account, Agent, DataDir, desktop_only, insert_cloud_account, json, pattern, wait_until,
};
use std::path::PathBuf;

/// The writes of objects under the backup's prefix (folder markers left out), by key.
fn puts(requests: &[Request]) -> BTreeMap<String, Vec<Request>> {
    let mut by_key: BTreeMap<String, Vec<Request>> = BTreeMap::new();
    let prefix = format!("/{BUCKET}/photos/");
    for r in requests {
        let key = r.target.split('?').next().unwrap_or_default();
        if r.method == "PUT" && key.starts_with(&prefix) && !key.ends_with('/') {
            let key = key.trim_start_matches(&format!("/{BUCKET}/"));
            by_key.entry(key.to_string()).or_default().push(r.clone());
        }
    }
    by_key
}

/// A real S3 server with the docs' bucket, behind a recording proxy.
fn watched_s3() -> (S3Server, Recorder) {
    let s3 = S3Server::start();
    s3.bucket(BUCKET);
    let recorder = Recorder::start(s3.addr);
    (s3, recorder)
}

/// The account owner of `agent`, a cloud account reaching `s3` through `recorder`, and a
/// folder to back up.
fn owner_via<'a>(
    agent: &'a Agent,
    s3: &S3Server,
    recorder: &Recorder,
) -> (Account<'a>, String, PathBuf) {
    let a = Account::new(agent, "owner@example.com");
    let mut account = s3.account("s3");
    account["endpoint"] = json!(recorder.endpoint());
    let cloud = insert_cloud_account(agent, &a.token, account);
    (a, cloud, folder_of(agent, "Pictures"))
}

#[test]
fn a_backup_writes_each_file_once_and_then_only_what_changed() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, recorder) = watched_s3();
    let agent = Agent::start();
    let (a, cloud, folder) = owner_via(&agent, &s3, &recorder);
    let names: Vec<String> = (0..24).map(|i| format!("d{}/f{i:02}.jpg", i % 3)).collect();
    for (i, name) in names.iter().enumerate() {
        std::fs::create_dir_all(folder.join(name).parent().unwrap()).unwrap();
        std::fs::write(folder.join(name), pattern(1000 + i, i as u64)).unwrap();
    }
    let b = a
        .post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200)
        .json();
    wait_until("the first run", RUN, || {
        names
            .iter()
            .all(|n| in_bucket(&s3, &format!("photos/{n}")).is_some())
    });

    let first = puts(&recorder.requests());
    assert_eq!(first.len(), names.len(), "every file written: {first:?}");
    for (key, writes) in &first {
        assert_eq!(writes.len(), 1, "{key} written once");
        assert_eq!(
            writes[0].header("if-none-match"),
            Some("*"),
            "{key}: a new object is written only if nothing took its key meanwhile"
        );
    }
    let etag_before = etag_of(&pattern(1000, 0));

    // One file changed, one added: exactly those two are written, and nothing is listed.
    recorder.clear();
    // Each file appears whole (written beside, then renamed in): a pass that caught one
    // half-written would fail it and list the bucket, as it should after a failure.
    for (rel, bytes) in [("d0/f00.jpg", &b"edited"[..]), ("d1/new.jpg", b"new")] {
        let staged = folder.with_file_name("staged-edit");
        std::fs::write(&staged, bytes).unwrap();
        std::fs::rename(&staged, folder.join(rel)).unwrap();
    }
    wait_until("the changes sent", RUN, || {
        in_bucket(&s3, "photos/d0/f00.jpg").as_deref() == Some(b"edited")
            && in_bucket(&s3, "photos/d1/new.jpg").is_some()
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let requests = recorder.requests();
    let second = puts(&requests);
    assert_eq!(
        second.keys().collect::<Vec<_>>(),
        ["photos/d0/f00.jpg", "photos/d1/new.jpg"],
        "only what changed: {requests:?}"
    );
    assert_eq!(
        second["photos/d0/f00.jpg"][0].header("if-match"),
        Some(etag_before.as_str()),
        "an edit replaces only the version the backup wrote"
    );
    let others: Vec<&Request> = requests.iter().filter(|r| r.method != "PUT").collect();
    assert!(
        others.is_empty(),
        "no listing, no HEAD, no read: {others:?}"
    );

    // A restarted backup (its settings updated) finds nothing to send.
    recorder.clear();
    let id = b["id"].as_str().unwrap();
    let mut renamed = b.clone();
    renamed["name"] = json!("Renamed photos");
    a.put(&format!("/management/cloudbackup/{id}"), renamed)
        .expect(200);
    std::fs::write(folder.join("d2/after.jpg"), b"after").unwrap();
    wait_until("the file added after the restart", RUN, || {
        in_bucket(&s3, "photos/d2/after.jpg").is_some()
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let third = puts(&recorder.requests());
    assert_eq!(
        third.keys().collect::<Vec<_>>(),
        ["photos/d2/after.jpg"],
        "unchanged files are never sent twice"
    );
}

/// A file whose time changed but not its bytes is confirmed by its content hash, in the form
/// of the object's ETag (a multipart upload's is the MD5 of its parts' MD5s), and not sent.
#[test]
fn a_touched_file_is_confirmed_by_its_content_and_not_sent_again() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, recorder) = watched_s3();
    let agent = Agent::start();
    let (a, cloud, folder) = owner_via(&agent, &s3, &recorder);
    // 12 MiB goes up in three parts of the backups' 5 MiB.
    let (small, big) = (pattern(3000, 1), pattern(12 << 20, 2));
    std::fs::write(folder.join("small.jpg"), &small).unwrap();
    std::fs::write(folder.join("big.raw"), &big).unwrap();
    a.post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200);
    wait_until("the first run", RUN, || {
        in_bucket(&s3, "photos/small.jpg").is_some() && in_bucket(&s3, "photos/big.raw").is_some()
    });
    let parts = (recorder.requests().iter())
        .filter(|r| r.method == "PUT" && r.target.contains("photos/big.raw?"))
        .count();
    assert_eq!(parts, 3, "the big file went up in parts");

    recorder.clear();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    for name in ["small.jpg", "big.raw"] {
        let f = std::fs::File::options().write(true).open(folder.join(name));
        f.unwrap().set_modified(later).unwrap();
    }
    std::fs::write(folder.join("added.jpg"), b"added").unwrap();
    wait_until("the pass that saw the touched files", RUN, || {
        in_bucket(&s3, "photos/added.jpg").is_some()
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let requests = recorder.requests();
    assert_eq!(
        puts(&requests).keys().collect::<Vec<_>>(),
        ["photos/added.jpg"],
        "only the new file is sent: {requests:?}"
    );
    assert_eq!(in_bucket(&s3, "photos/big.raw").as_ref(), Some(&big));
}

/// The ETag S3 gives an object written in one PUT: the MD5 of its bytes, quoted.
fn etag_of(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    let hex: String = Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

#[test]
fn a_backup_killed_mid_run_sends_again_only_what_was_in_flight() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, recorder) = watched_s3();
    let data = DataDir::new();
    let first = data.agent();
    let (a, cloud, folder) = owner_via(&first, &s3, &recorder);
    let names: Vec<String> = (0..200)
        .map(|i| format!("d{}/f{i:03}.bin", i % 5))
        .collect();
    for (i, name) in names.iter().enumerate() {
        std::fs::create_dir_all(folder.join(name).parent().unwrap()).unwrap();
        std::fs::write(folder.join(name), pattern(20_000 + i, i as u64)).unwrap();
    }
    a.post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200);
    wait_until("a quarter sent", RUN, || {
        names
            .iter()
            .filter(|n| in_bucket(&s3, &format!("photos/{n}")).is_some())
            .count()
            >= names.len() / 4
    });
    first.kill();
    drop(a);
    drop(first);
    let sent_before = puts(&recorder.requests()).len();
    assert!(sent_before < names.len(), "killed mid-run");

    let _again = data.agent();
    wait_until("every file backed up", RUN, || {
        names
            .iter()
            .all(|n| in_bucket(&s3, &format!("photos/{n}")).is_some())
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let twice: Vec<String> = puts(&recorder.requests())
        .into_iter()
        .filter(|(_, writes)| writes.len() > 1)
        .map(|(key, _)| key)
        .collect();
    // At most the eight files a pass sends at once were in flight when it was killed.
    assert!(
        twice.len() <= 8,
        "finished files are not sent again after kill -9: {twice:?}"
    );
}

/// A file edited while its multipart upload runs is never published torn: the upload is
/// abandoned (its parts aborted) and the next pass sends the edited file whole.
#[test]
fn a_file_edited_during_its_upload_is_sent_again_whole() {
    if desktop_only("cloud backups") {
        return;
    }
    let (s3, recorder) = watched_s3();
    let agent = Agent::start();
    let (a, cloud, folder) = owner_via(&agent, &s3, &recorder);
    let path = folder.join("big.raw");
    let before = pattern(40 << 20, 1);
    std::fs::write(&path, &before).unwrap();
    a.post("/management/cloudbackup", body(&cloud, &folder, json!({})))
        .expect(200);
    // The server is frozen as soon as a part is on its way, the file edited, the server let go.
    let part_sent = || {
        (recorder.requests().iter()).any(|r| {
            r.method == "PUT"
                && r.target.contains("photos/big.raw?")
                && r.target.contains("uploadId=")
        })
    };
    wait_until("a part of the upload on its way", RUN, part_sent);
    s3.pause();
    let after = pattern(40 << 20, 2);
    std::fs::write(&path, &after).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    s3.unpause();

    wait_until("the edited file backed up", RUN, || {
        in_bucket(&s3, "photos/big.raw").as_ref() == Some(&after)
    });
    wait_until("the abandoned upload's parts aborted", RUN, || {
        s3.pending_parts() == 0
    });
    let completes = (recorder.requests().iter())
        .filter(|r| r.method == "POST" && r.target.contains("photos/big.raw?uploadId="))
        .count();
    assert_eq!(completes, 1, "only the whole edited file was completed");
}
