//! FastrSettings (`fastr_settings.md`) as a client written from the docs uses it: the Click
//! page's PascalCase bodies, the `*_for_user` admin routes, roles, isolation between accounts
//! and bad input. Cloud accounts are real ones (on s3s-fs), as the agent checks them.

use click_blackbox::azure::Azurite;
use click_blackbox::recorder::Recorder;
use click_blackbox::s3::S3Server;
use click_blackbox::{Agent, desktop_only, insert_cloud_account, json, member, signup_and_login};
use serde_json::Value;

/// The Click page's insert body, for `cloud`.
fn doc_body(cloud: &str) -> Value {
    json!({
        "CloudAccountId": cloud,
        "UserId": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
        "AccountId": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
        "MaxUploadBytesPerSecond": 0,
        "MaxDownloadBytesPerSecond": 0,
        "MaxServerToServerBytesPerSecond": 0,
        "VerifyChecksum": true,
        "FileExistsAction": 0,
        "Active": true
    })
}

/// `get_all` as `token` sees it.
fn own_records(agent: &Agent, token: &str) -> Value {
    let r = agent.get("/fastrsettings/get_all").token(token).send();
    r.expect(200).json()
}

fn shared_account(s3: &S3Server, name: &str) -> Value {
    let mut body = s3.account(name);
    body["shared"] = json!(true);
    body
}

const FIELDS: [&str; 10] = [
    "id",
    "cloudAccountId",
    "userId",
    "accountId",
    "maxUploadBytesPerSecond",
    "maxDownloadBytesPerSecond",
    "maxServerToServerBytesPerSecond",
    "verifyChecksum",
    "fileExistsAction",
    "active",
];

#[test]
fn a_user_keeps_one_record_per_cloud_account() {
    if desktop_only("FastrSettings") {
        return;
    }
    let s3 = S3Server::start();
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "owner@example.com");
    let cloud = insert_cloud_account(&agent, &owner, s3.account("s3"));
    let by_cloud = format!("/fastrsettings/get_by_cloud_account/{cloud}");

    // No record yet: `null`, as the Click page says.
    let none = agent.get(&by_cloud).token(&owner).send().expect(200);
    assert_eq!(none.json(), Value::Null);

    let saved = (agent.post("/fastrsettings/insert", doc_body(&cloud)))
        .token(&owner)
        .send()
        .expect(200)
        .json();
    for field in FIELDS {
        assert!(saved.get(field).is_some(), "{field} in {saved}");
    }
    assert_eq!(saved["cloudAccountId"], cloud.as_str());
    assert_eq!(saved["verifyChecksum"], true);
    assert_ne!(
        saved["userId"], "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
        "the user comes from the token"
    );
    let id = saved["id"].as_str().unwrap().to_string();

    // Inserting again for the same cloud account updates the record in place.
    let mut again = doc_body(&cloud);
    again["MaxUploadBytesPerSecond"] = json!(50_000_000);
    again["FileExistsAction"] = json!(1);
    let updated = (agent.post("/fastrsettings/insert", again))
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["maxUploadBytesPerSecond"], 50_000_000);
    assert_eq!(updated["fileExistsAction"], 1);
    let all = own_records(&agent, &owner);
    assert_eq!(all["total"], 1);
    assert_eq!(all["data"][0]["id"], id.as_str());

    // update: the fields it names change, the others stay.
    let changed = agent
        .put(
            "/fastrsettings/update",
            json!({"Id": id, "MaxDownloadBytesPerSecond": 1_000_000, "Active": false}),
        )
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(changed["maxDownloadBytesPerSecond"], 1_000_000);
    assert_eq!(changed["maxUploadBytesPerSecond"], 50_000_000);
    assert_eq!(changed["active"], false);
    let read = agent.get(&by_cloud).token(&owner).send().expect(200).json();
    assert_eq!(read, changed, "an inactive record is still the record");

    agent
        .call("DELETE", &format!("/fastrsettings/delete?id={id}"))
        .token(&owner)
        .send()
        .expect(200);
    let gone = agent.get(&by_cloud).token(&owner).send().expect(200);
    assert_eq!(gone.json(), Value::Null);
    agent
        .call("DELETE", &format!("/fastrsettings/delete?id={id}"))
        .token(&owner)
        .send()
        .expect(499)
        .expect_error("NOT_FOUND");
}

#[test]
fn admins_manage_other_users_records_and_members_only_their_own() {
    if desktop_only("FastrSettings") {
        return;
    }
    let s3 = S3Server::start();
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "owner@example.com");
    let (member_id, user) = member(&agent, &owner, "user@example.com", 64);
    let shared = insert_cloud_account(&agent, &owner, shared_account(&s3, "team"));
    let private = insert_cloud_account(&agent, &owner, s3.account("mine"));

    // The admin sets the member's caps on the shared cloud account.
    let mut body = doc_body(&shared);
    body["UserId"] = json!(member_id);
    body["MaxServerToServerBytesPerSecond"] = json!(100_000_000);
    let theirs = (agent.post("/fastrsettings/insert_for_user", body))
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(theirs["userId"], member_id.as_str());
    let id = theirs["id"].as_str().unwrap().to_string();

    // The member sees it as their own; the admin's own list does not hold it.
    let mine = own_records(&agent, &user);
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["data"][0]["id"], id.as_str());
    let admins = own_records(&agent, &owner);
    assert_eq!(admins["total"], 0, "get_all lists the caller's own records");
    let listed = agent
        .get(&format!("/fastrsettings/get_all/{member_id}"))
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(listed["data"][0]["id"], id.as_str());

    // The admin changes it; the member may too, it is theirs.
    let body = json!({"id": id, "maxServerToServerBytesPerSecond": 20_000_000});
    (agent.put("/fastrsettings/update_for_user", body))
        .token(&owner)
        .send()
        .expect(200);
    let body = json!({"id": id, "verifyChecksum": false});
    (agent.put("/fastrsettings/update", body.clone()))
        .token(&user)
        .send()
        .expect(200);

    // A member cannot use the admin routes, nor another user's record through their own.
    let owners = (agent.post("/fastrsettings/insert", doc_body(&private)))
        .token(&owner)
        .send()
        .expect(200)
        .json();
    let owners_id = owners["id"].as_str().unwrap();
    let mut body = doc_body(&shared);
    body["UserId"] = json!(member_id);
    (agent.post("/fastrsettings/insert_for_user", body))
        .token(&user)
        .send()
        .expect(499)
        .expect_error("ACCESS");
    (agent
        .get(&format!("/fastrsettings/get_all/{member_id}"))
        .token(&user)
        .send())
    .expect(499)
    .expect_error("ACCESS");
    (agent.put(
        "/fastrsettings/update",
        json!({"id": owners_id, "active": false}),
    ))
    .token(&user)
    .send()
    .expect(499)
    .expect_error("ACCESS");
    let delete_owners = format!("/fastrsettings/delete?id={owners_id}");
    (agent.call("DELETE", &delete_owners).token(&user).send())
        .expect(499)
        .expect_error("ACCESS");
    // A member has no settings for a cloud account they cannot use.
    (agent.post("/fastrsettings/insert", doc_body(&private)))
        .token(&user)
        .send()
        .expect(499)
        .expect_error("NOT_FOUND");

    // The admin deletes the member's record.
    let delete_theirs = format!("/fastrsettings/delete_for_user?id={id}");
    (agent.call("DELETE", &delete_theirs).token(&owner).send()).expect(200);
    let mine = own_records(&agent, &user);
    assert_eq!(mine["total"], 0);
}

#[test]
fn another_accounts_records_and_cloud_accounts_do_not_exist_from_here() {
    if desktop_only("FastrSettings") {
        return;
    }
    let s3 = S3Server::start();
    let agent = Agent::start();
    let first = signup_and_login(&agent, "first@example.com");
    let second = signup_and_login(&agent, "second@example.com");
    let cloud = insert_cloud_account(&agent, &first, shared_account(&s3, "s3"));
    let saved = (agent.post("/fastrsettings/insert", doc_body(&cloud)))
        .token(&first)
        .send()
        .expect(200)
        .json();
    let id = saved["id"].as_str().unwrap();
    let first_user = saved["userId"].as_str().unwrap();

    (agent.post("/fastrsettings/insert", doc_body(&cloud)))
        .token(&second)
        .send()
        .expect(499)
        .expect_error("NOT_FOUND");
    (agent.put(
        "/fastrsettings/update_for_user",
        json!({"id": id, "active": false}),
    ))
    .token(&second)
    .send()
    .expect(499)
    .expect_error("NOT_FOUND");
    let delete = format!("/fastrsettings/delete_for_user?id={id}");
    (agent.call("DELETE", &delete).token(&second).send())
        .expect(499)
        .expect_error("NOT_FOUND");
    (agent
        .get(&format!("/fastrsettings/get_all/{first_user}"))
        .token(&second)
        .send())
    .expect(499)
    .expect_error("NOT_FOUND");
    let by_cloud = format!("/fastrsettings/get_by_cloud_account/{cloud}");
    let seen = agent.get(&by_cloud).token(&second).send().expect(200);
    assert_eq!(seen.json(), Value::Null);
    let still = agent.get(&by_cloud).token(&first).send().expect(200).json();
    assert_eq!(still["active"], true, "nothing changed: {still}");

    // Deleting the cloud account deletes the settings that governed it.
    (agent
        .call("DELETE", &format!("/cloud/delete?id={cloud}"))
        .token(&first)
        .send())
    .expect(200);
    let all = own_records(&agent, &first);
    assert_eq!(all["total"], 0);
}

#[test]
fn bad_settings_are_refused_with_a_clear_499() {
    if desktop_only("FastrSettings") {
        return;
    }
    let s3 = S3Server::start();
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "owner@example.com");
    let cloud = insert_cloud_account(&agent, &owner, s3.account("s3"));
    let refused = |body: Value, field: &str| {
        let message = (agent.post("/fastrsettings/insert", body))
            .token(&owner)
            .send()
            .expect(499)
            .expect_error("DEFAULT");
        assert!(message.contains(field), "{field}: {message}");
    };
    for field in [
        "MaxUploadBytesPerSecond",
        "MaxDownloadBytesPerSecond",
        "MaxServerToServerBytesPerSecond",
    ] {
        let mut body = doc_body(&cloud);
        body[field] = json!(-1);
        refused(body, field);
    }
    for action in [3, -1] {
        let mut body = doc_body(&cloud);
        body["FileExistsAction"] = json!(action);
        refused(body, "FileExistsAction");
    }
    let mut body = doc_body(&cloud);
    body["CloudAccountId"] = json!("");
    refused(body, "CloudAccountId");
    let mut body = doc_body(&cloud);
    body["CloudAccountId"] = json!("00000000-0000-0000-0000-000000000000");
    (agent.post("/fastrsettings/insert", body))
        .token(&owner)
        .send()
        .expect(499)
        .expect_error("NOT_FOUND");
    let mut body = doc_body(&cloud);
    body["UserId"] = json!("");
    let message = (agent.post("/fastrsettings/insert_for_user", body))
        .token(&owner)
        .send()
        .expect(499)
        .expect_error("DEFAULT");
    assert!(message.contains("UserId"), "{message}");
    (agent.put("/fastrsettings/update", json!({"id": "nope"})))
        .token(&owner)
        .send()
        .expect(499)
        .expect_error("NOT_FOUND");

    // Nothing was stored by the refused requests.
    let all = own_records(&agent, &owner);
    assert_eq!(all["total"], 0);
    // No token: 401.
    agent.get("/fastrsettings/get_all").send().expect(401);
}

/// `FileExistsAction` as the user's FastrSettings for the cloud account set it, on uploads,
/// downloads and cloud-to-cloud transfers: SkipIfSame leaves a destination that holds the
/// same bytes untouched and replaces one that differs; KeepBoth puts the new file beside
/// the old one as `name (1).ext`; Overwrite (the default) replaces.
#[test]
fn file_exists_actions_apply_to_uploads_downloads_and_copies() {
    if desktop_only("FastrSettings") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket("media");
    let tmp = tempfile::tempdir().unwrap();
    let agent = Agent::start_with(click_blackbox::transfer_roots(tmp.path(), ""));
    let owner = signup_and_login(&agent, "owner@example.com");
    let cloud = insert_cloud_account(&agent, &owner, s3.account("s3"));
    let set_action = |action: u32| {
        let mut body = doc_body(&cloud);
        body["FileExistsAction"] = json!(action);
        (agent.post("/fastrsettings/insert", body))
            .token(&owner)
            .send()
            .expect(200);
    };
    let start = |route: &str, body: Value| {
        let r = agent
            .post(route, body)
            .token(&owner)
            .send()
            .expect(200)
            .json();
        let id = r["transferId"].as_str().unwrap().to_string();
        click_blackbox::wait_for_transfer(&agent, &owner, &id, "completed");
    };
    let bucket = |key: &str| std::fs::read(s3.path("media", key)).ok();
    let modified = |key: &str| {
        std::fs::metadata(s3.path("media", key))
            .unwrap()
            .modified()
            .unwrap()
    };
    let account = json!({"id": cloud, "cloudType": 8});

    // Uploads: the bucket holds same.txt as the folder has it, and other.txt with other bytes.
    let folder = tmp.path().join("up");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("same.txt"), b"same bytes").unwrap();
    std::fs::write(folder.join("other.txt"), b"new bytes!").unwrap();
    s3.put("media", "up/same.txt", b"same bytes");
    s3.put("media", "up/other.txt", b"old bytes!");
    let same_before = modified("up/same.txt");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let upload = json!({"cloudAccount": account, "storageName": "media", "uploadPath": "",
        "localFilePath": folder.display().to_string()});
    set_action(1);
    start("/cloud/upload_object", upload.clone());
    assert_eq!(
        modified("up/same.txt"),
        same_before,
        "the same bytes are not sent again"
    );
    assert_eq!(bucket("up/other.txt").unwrap(), b"new bytes!");
    set_action(2);
    std::fs::write(folder.join("other.txt"), b"newer one!").unwrap();
    start("/cloud/upload_object", upload.clone());
    assert_eq!(bucket("up/other.txt").unwrap(), b"new bytes!", "kept");
    assert_eq!(
        bucket("up/other (1).txt").unwrap(),
        b"newer one!",
        "beside it"
    );
    assert_eq!(bucket("up/same (1).txt").unwrap(), b"same bytes");

    // Downloads: KeepBoth beside the local file; SkipIfSame leaves an identical one alone.
    let down = tmp.path().join("down");
    std::fs::create_dir_all(&down).unwrap();
    std::fs::write(down.join("other.txt"), b"local copy").unwrap();
    let download = |key: &str| {
        json!({"cloudAccount": account, "storageName": "media", "objectKey": key,
            "downloadPath": down.display().to_string()})
    };
    start("/cloud/download_object", download("up/other.txt"));
    assert_eq!(
        std::fs::read(down.join("other.txt")).unwrap(),
        b"local copy"
    );
    assert_eq!(
        std::fs::read(down.join("other (1).txt")).unwrap(),
        b"new bytes!"
    );
    set_action(1);
    std::fs::write(down.join("same.txt"), b"same bytes").unwrap();
    let local_before = std::fs::metadata(down.join("same.txt"))
        .unwrap()
        .modified()
        .unwrap();
    start("/cloud/download_object", download("up/same.txt"));
    let local_after = std::fs::metadata(down.join("same.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        local_after, local_before,
        "an identical local file is left alone"
    );

    // Cloud to cloud (within one bucket): SkipIfSame skips what the destination holds as is.
    s3.put("media", "copy/same.txt", b"same bytes");
    let copied_before = modified("copy/same.txt");
    let body = json!({"sourceCloudAccountId": cloud, "sourceBucket": "media", "sourcePath": "up/same.txt",
        "destinationCloudAccountId": cloud, "destinationBucket": "media", "destinationPath": "copy/"});
    let queued = agent
        .post("/transfer/transfer", body)
        .token(&owner)
        .send()
        .expect(200)
        .json();
    let id = queued["id"].as_str().unwrap().to_string();
    click_blackbox::wait_until("the copy", std::time::Duration::from_secs(30), || {
        let page = agent
            .get("/transfer/get_all")
            .token(&owner)
            .send()
            .expect(200)
            .json();
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str() && t["transferStatus"] == 4)
    });
    let page = agent
        .get("/transfer/get_all")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    let t = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (t["skipped"].as_u64(), t["transferred"].as_u64()),
        (Some(1), Some(0)),
        "{t}"
    );
    assert_eq!(modified("copy/same.txt"), copied_before);
}

/// `VerifyChecksum`: a cloud-to-cloud copy whose source answer arrives with a flipped byte
/// (a proxy corrupts it) is caught by its checksum and sent again; bytes that keep arriving
/// corrupt fail the object with a clear message, and nothing of it is kept.
#[test]
fn verify_checksum_catches_corrupted_bytes_and_keeps_none() {
    if desktop_only("FastrSettings") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket("copies");
    let object = click_blackbox::pattern(200_000, 9);
    s3.put("media", "photos/raw.dng", &object);
    let proxy = click_blackbox::recorder::Recorder::start(s3.addr);
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "owner@example.com");
    let mut via_proxy = s3.account("source");
    via_proxy["endpoint"] = json!(proxy.endpoint());
    let source = insert_cloud_account(&agent, &owner, via_proxy);
    let destination = insert_cloud_account(&agent, &owner, s3.account("destination"));
    let mut body = doc_body(&destination);
    body["VerifyChecksum"] = json!(true);
    (agent.post("/fastrsettings/insert", body))
        .token(&owner)
        .send()
        .expect(200);
    let copy = |to: &str| {
        let body = json!({"sourceCloudAccountId": source, "sourceBucket": "media",
            "sourcePath": "photos/raw.dng", "destinationCloudAccountId": destination,
            "destinationBucket": "copies", "destinationPath": to});
        queue_and_wait(&agent, &owner, body)
    };

    // One corrupted answer: caught, sent again, the copy intact.
    proxy.corrupt_answers(1);
    let t = copy("once/");
    assert_eq!(t["transferStatus"], 4, "{t}");
    assert!(
        std::fs::read(s3.path("copies", "once/raw.dng")).unwrap() == object,
        "the copy is intact: {t}\n{}",
        agent.log()
    );

    // Every answer corrupted: the object fails, with why, and is not left behind.
    proxy.corrupt_answers(1000);
    let t = copy("always/");
    assert_eq!(t["transferStatus"], 16, "{t}");
    let why = t["errorMessage"].as_str().unwrap_or_default();
    assert!(why.contains("checksum mismatch"), "{t}");
    assert!(
        !s3.exists("copies", "always/raw.dng"),
        "a corrupted copy is never kept"
    );
}

/// `VerifyChecksum` with Azure at either end, whose ETags are no content hashes: an Azure
/// source is checked against the `Content-MD5` Azure keeps of a blob (one corrupted answer is
/// caught and read again; answers that stay corrupt fail the object with why, and nothing of
/// it is written); every object and part sent carries its MD5 (`Content-MD5`), which the
/// destination checks, and Azure keeps it as the new blob's `Content-MD5`.
#[test]
fn verify_checksum_checks_azure_blobs_by_their_content_md5() {
    if desktop_only("FastrSettings") {
        return;
    }
    use base64::Engine;
    use md5::{Digest, Md5};
    let azure = Azurite::start();
    azure.create_container("media");
    let object = click_blackbox::pattern(200_000, 5);
    azure.put("media", "photos/raw.dng", &object);
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&object));
    assert_eq!(
        azure.content_md5("media", "photos/raw.dng").as_deref(),
        Some(md5.as_str()),
        "Azure keeps the MD5 of a blob put in one request"
    );
    let s3 = S3Server::start();
    s3.bucket("copies");
    let (from_azure, to_s3) = (Recorder::start(azure.addr), Recorder::start(s3.addr));
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "owner@example.com");
    let mut via_proxy = azure.account("source");
    via_proxy["endpoint"] = json!(
        azure
            .endpoint()
            .replace(&azure.addr.to_string(), &from_azure.addr.to_string())
    );
    let source = insert_cloud_account(&agent, &owner, via_proxy);
    let mut via_proxy = s3.account("destination");
    via_proxy["endpoint"] = json!(to_s3.endpoint());
    let destination = insert_cloud_account(&agent, &owner, via_proxy);
    let azure_dst = insert_cloud_account(&agent, &owner, azure.account("azure"));
    for cloud in [&destination, &azure_dst] {
        (agent.post("/fastrsettings/insert", doc_body(cloud)))
            .token(&owner)
            .send()
            .expect(200);
    }
    let copy = |from: (&str, &str, &str), to: (&str, &str, &str)| {
        let body = json!({"sourceCloudAccountId": from.0, "sourceBucket": from.1,
            "sourcePath": from.2, "destinationCloudAccountId": to.0,
            "destinationBucket": to.1, "destinationPath": to.2});
        queue_and_wait(&agent, &owner, body)
    };
    let from = (source.as_str(), "media", "photos/raw.dng");

    to_s3.clear();
    from_azure.corrupt_answers(1);
    let t = copy(from, (&destination, "copies", "once/"));
    assert_eq!(t["transferStatus"], 4, "{t}");
    assert!(
        std::fs::read(s3.path("copies", "once/raw.dng")).unwrap() == object,
        "the copy is intact: {t}\n{}",
        agent.log()
    );
    let puts: Vec<_> = (to_s3.requests().into_iter())
        .filter(|r| r.method == "PUT")
        .collect();
    assert!(!puts.is_empty());
    for put in &puts {
        assert_eq!(put.header("content-md5"), Some(md5.as_str()), "{put:?}");
    }

    from_azure.corrupt_answers(1000);
    let t = copy(from, (&destination, "copies", "always/"));
    assert_eq!(t["transferStatus"], 16, "{t}");
    let why = t["errorMessage"].as_str().unwrap_or_default();
    assert!(
        why.contains("checksum mismatch") && why.contains("Content-MD5"),
        "{t}"
    );
    assert!(
        !s3.exists("copies", "always/raw.dng"),
        "nothing corrupt is written"
    );
    from_azure.corrupt_answers(0);

    // To Azure: the blob it writes keeps the MD5 it was sent with.
    s3.put("copies", "clip.mov", &object);
    let t = copy(
        (&destination, "copies", "clip.mov"),
        (&azure_dst, "media", "in/"),
    );
    assert_eq!(t["transferStatus"], 4, "{t}");
    assert!(azure.get("media", "in/clip.mov").unwrap() == object);
    assert_eq!(azure.content_md5("media", "in/clip.mov"), Some(md5));
    // In blocks, each sent with its MD5 (which Azure checks).
    let big = click_blackbox::pattern(12 << 20, 6);
    s3.put("copies", "big.raw", &big);
    let t = copy(
        (&destination, "copies", "big.raw"),
        (&azure_dst, "media", "in/"),
    );
    assert_eq!(t["transferStatus"], 4, "{t}");
    assert!(azure.get("media", "in/big.raw").unwrap() == big);
}

/// Queues a cloud-to-cloud transfer of `body`, and polls `get_all` until it ends (completed
/// or failed); the transfer then.
fn queue_and_wait(agent: &Agent, owner: &str, body: Value) -> Value {
    let queued = agent
        .post("/transfer/transfer", body)
        .token(owner)
        .send()
        .expect(200);
    let id = queued.json()["id"].as_str().unwrap().to_string();
    let mut last = Value::Null;
    click_blackbox::wait_until(
        "the copy to end",
        std::time::Duration::from_secs(60),
        || {
            let page = agent
                .get("/transfer/get_all")
                .token(owner)
                .send()
                .expect(200)
                .json();
            let all = page["data"].as_array().unwrap().clone();
            last = all.into_iter().find(|t| t["id"] == id).unwrap();
            matches!(last["transferStatus"].as_u64(), Some(4 | 16))
        },
    );
    last
}
