//! The built-in storage (`storage.md`; `cloud.md`, Storage Management): the agent's own S3
//! server on `[storage] listen`, driven by a client nobody here wrote (`rclone`, Debian's)
//! with the keys the agent issues, and by the agent's own storage operations through the
//! cloud account `add_storage` makes. A key reaches its buckets with its permission, and
//! nothing else; a wrong or deleted key is refused.

use click_blackbox::storage::{StorageAgent, client_ok, ok, pair, python_client, refused};
use std::process::Command;

use click_blackbox::{Agent, Value, desktop_only, docs, json, pattern, signup_and_login};

#[test]
fn rclone_reads_and_writes_the_agents_buckets_with_the_keys_it_issues() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    // The Storj section's body: the storage, as a cloud account with its first bucket.
    let account = w.add_storage();
    assert_eq!(account["cloudType"], 8, "{account}");
    assert_eq!(account["name"], "Amove Storage");
    let cloud = account["id"].as_str().unwrap().to_string();

    // The agent's own storage operations use it like any S3 account.
    let local = w.files.join("clip.mov");
    let clip = pattern(3 << 20, 1);
    std::fs::write(&local, &clip).unwrap();
    let up = json!({"cloudAccount": {"id": cloud, "cloudType": 8}, "storageName": "project-alpha",
        "uploadPath": "clips", "localFilePath": local.display().to_string()});
    let id = w
        .agent
        .post("/cloud/upload_object", up)
        .token(&w.token)
        .send()
        .expect(200)
        .json()["transferId"]
        .as_str()
        .unwrap()
        .to_string();
    click_blackbox::wait_for_transfer(&w.agent, &w.token, &id, "completed");
    // A presigned URL the agent makes for it reads it with no other credential; one with
    // its signature changed does not.
    let mut body = docs::example("cloud.md", "### Generate Download URL");
    body["cloudAccount"] = json!({"id": cloud});
    body["storageName"] = json!("project-alpha");
    body["key"] = json!("clips/clip.mov");
    let url = w
        .agent
        .post("/cloud/generate_download_url", body)
        .token(&w.token)
        .send()
        .expect(200)
        .text();
    let url = url.trim().trim_matches('"').to_string();
    assert!(
        w.get_url(&url).body == clip,
        "the presigned URL reads the object"
    );
    let at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &url[at..=at] == "0" { "1" } else { "0" };
    let forged = format!("{}{flipped}{}", &url[..at], &url[at + 1..]);
    assert_eq!(
        w.get_url(&forged).status,
        403,
        "a changed signature is refused"
    );

    // A read-only key for that bucket: lists and reads, writes nothing, sees no other.
    let (reader, _) = w.new_key(
        json!({"cloudAccountId": cloud, "permission": 0, "allBuckets": false,
            "selectedBuckets": ["project-alpha"]}),
    );
    let listed = ok(w.rclone(pair(&reader), &["lsf", "-R", "s3:project-alpha"]));
    assert!(listed.lines().any(|l| l == "clips/clip.mov"), "{listed}");
    let got = w.files.join("got.mov");
    ok(w.rclone(
        pair(&reader),
        &[
            "copyto",
            "s3:project-alpha/clips/clip.mov",
            got.to_str().unwrap(),
        ],
    ));
    assert!(std::fs::read(&got).unwrap() == clip);
    refused(w.rclone(
        pair(&reader),
        &[
            "copyto",
            local.to_str().unwrap(),
            "s3:project-alpha/nope.mov",
        ],
    ));
    // A key for every bucket, read and write: makes a bucket, copies a folder up and back.
    let (writer, writer_id) = w.new_key(json!({"cloudAccountId": cloud, "permission": 2, "allBuckets": true, "selectedBuckets": []}),
    );
    let tree = w.files.join("tree");
    for (rel, len) in [("a.txt", 10), ("d/b.bin", 70_000), ("d/e/c.bin", 0)] {
        let p = tree.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, pattern(len, len as u64)).unwrap();
    }
    ok(w.rclone(pair(&writer), &["mkdir", "s3:second"]));
    ok(w.rclone(
        pair(&writer),
        &["copy", tree.to_str().unwrap(), "s3:second/tree"],
    ));
    ok(w.rclone(
        pair(&writer),
        &["check", tree.to_str().unwrap(), "s3:second/tree"],
    ));
    let top = ok(w.rclone(pair(&writer), &["lsf", "s3:second/tree"]));
    assert_eq!(top.lines().collect::<Vec<_>>(), ["a.txt", "d/"], "{top}");
    ok(w.rclone(pair(&writer), &["delete", "s3:second/tree/d"]));
    let left = ok(w.rclone(pair(&writer), &["lsf", "-R", "s3:second"]));
    let mut left: Vec<&str> = left.lines().collect();
    left.sort();
    assert_eq!(left, ["tree/", "tree/a.txt"]);
    // The reader does not see the new bucket.
    let buckets = ok(w.rclone(pair(&reader), &["lsd", "s3:"]));
    assert!(!buckets.contains("second"), "{buckets}");
    refused(w.rclone(pair(&reader), &["lsf", "s3:second"]));

    // A wrong secret, and a deleted key, are refused.
    refused(w.rclone((&writer.0, "not-the-secret"), &["lsf", "s3:second"]));
    w.agent
        .call(
            "DELETE",
            &format!("/storage/delete_storage_key?id={writer_id}"),
        )
        .token(&w.token)
        .send()
        .expect(200);
    refused(w.rclone(pair(&writer), &["lsf", "s3:second"]));

    // Listings of keys carry no secret.
    let keys = w.storage_keys();
    assert_eq!(keys["total"], 2, "the reader and the account's own: {keys}");
    for k in keys["data"].as_array().unwrap() {
        assert!(k.get("secretKey").is_none(), "{k}");
    }
}

/// Multipart uploads (rclone cuts files of 5 MiB and more into 5 MiB parts here), server-side
/// copies, and an agent killed in the middle of a multipart upload: what was complete stays,
/// nothing half-assembled appears.
#[test]
fn multipart_uploads_and_copies_are_whole_or_absent() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    let key = w.full_key(w.add_storage()["id"].as_str().unwrap());
    let big = w.files.join("big.raw");
    let bytes = pattern(12 << 20, 7);
    std::fs::write(&big, &bytes).unwrap();
    let parts = ["--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"];
    let mut args = vec!["copyto", big.to_str().unwrap(), "s3:project-alpha/big.raw"];
    args.extend(parts);
    ok(w.rclone(pair(&key), &args));
    ok(w.rclone(
        pair(&key),
        &["check", big.to_str().unwrap(), "s3:project-alpha"],
    ));
    // A copy on the server, then read back whole.
    ok(w.rclone(
        pair(&key),
        &[
            "copyto",
            "s3:project-alpha/big.raw",
            "s3:project-alpha/copy.raw",
        ],
    ));
    let back = w.files.join("back.raw");
    ok(w.rclone(
        pair(&key),
        &[
            "copyto",
            "s3:project-alpha/copy.raw",
            back.to_str().unwrap(),
        ],
    ));
    assert!(std::fs::read(&back).unwrap() == bytes);
    let listed = ok(w.rclone(pair(&key), &["lsl", "s3:project-alpha"]));
    assert_eq!(listed.lines().count(), 2, "{listed}");
}

/// An agent killed while rclone sends a multipart upload: after a restart the object is not
/// there (no part of it was assembled), the bucket lists nothing half-made, and the same
/// upload sent again arrives whole.
#[test]
fn an_agent_killed_mid_multipart_upload_leaves_no_object() {
    if desktop_only("the built-in storage") {
        return;
    }
    let mut w = StorageAgent::start("");
    let key = w.full_key(w.add_storage()["id"].as_str().unwrap());
    let big = w.files.join("big.raw");
    let bytes = pattern(40 << 20, 9);
    std::fs::write(&big, &bytes).unwrap();
    let args = [
        "copyto",
        big.to_str().unwrap(),
        "s3:project-alpha/big.raw",
        "--s3-upload-cutoff",
        "5M",
        "--s3-chunk-size",
        "5M",
        "--s3-upload-concurrency",
        "1",
        "--bwlimit",
        "8M",
        "--retries",
        "1",
        "--low-level-retries",
        "1",
    ];
    let mut sending = w.rclone_command(pair(&key), &args).spawn().unwrap();
    let uploads = w.options.data_dir.clone().unwrap().join("storage/uploads");
    click_blackbox::wait_until("parts on disk", std::time::Duration::from_secs(30), || {
        walk_count(&uploads) >= 3
    });
    w.agent.kill();
    let _ = sending.wait();
    // Beside it, an upload begun 8 days ago and never completed: dropped at the start.
    let old = uploads.join("begun-long-ago");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("part-1-00"), b"a part").unwrap();
    let record = std::fs::File::create(old.join("upload.json")).unwrap();
    let eight_days = std::time::Duration::from_secs(8 * 86_400);
    record
        .set_modified(std::time::SystemTime::now() - eight_days)
        .unwrap();
    w.agent = Agent::start_with(w.options.clone());
    assert!(!old.exists(), "an abandoned upload is dropped");
    assert!(walk_count(&uploads) >= 3, "the fresh one is kept");
    let listed = ok(w.rclone(pair(&key), &["lsf", "s3:project-alpha"]));
    assert!(listed.is_empty(), "nothing half-made: {listed}");
    ok(w.rclone(pair(&key), &args[..9]));
    let back = w.files.join("back.raw");
    ok(w.rclone(
        pair(&key),
        &["copyto", "s3:project-alpha/big.raw", back.to_str().unwrap()],
    ));
    assert!(std::fs::read(&back).unwrap() == bytes);
}

/// Files below `dir`, at any depth.
fn walk_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => walk_count(&e.path()),
                _ => 1,
            })
            .sum()
    })
}

/// The docs' body after `marker` in `storage.md`, with `changes`.
fn doc_body(marker: &str, changes: Value) -> Value {
    let mut body = docs::example("storage.md", marker);
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Keys and buckets as a client written from the docs uses them: bad input is a clear 499,
/// statuses and updates as documented, a bucket with objects is not deleted, another account
/// neither sees nor changes anything, a member sees only their own keys, and an agent
/// without `[storage] listen` says so.
#[test]
fn keys_and_buckets_follow_the_rules_roles_and_accounts() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    let cloud = w.add_storage()["id"].as_str().unwrap().to_string();
    let post = |path: &str, body: Value, token: &str| w.agent.post(path, body).token(token).send();
    let key = |changes: Value| doc_body("### Request Body", changes);
    for (changes, code) in [
        (json!({"cloudAccountId": cloud, "permission": 3}), "DEFAULT"),
        (
            json!({"cloudAccountId": cloud, "selectedBuckets": []}),
            "DEFAULT",
        ),
        (
            json!({"cloudAccountId": cloud, "selectedBuckets": ["Bad_Name"]}),
            "DEFAULT",
        ),
        (
            json!({"cloudAccountId": cloud, "selectedBuckets": ["no-such-bucket"]}),
            "NOT_FOUND",
        ),
        (json!({"cloudAccountId": cloud, "name": ""}), "DEFAULT"),
        (
            json!({"cloudAccountId": "00000000-0000-0000-0000-000000000001"}),
            "NOT_FOUND",
        ),
    ] {
        post(
            "/storage/create_storage_key",
            key(changes.clone()),
            &w.token,
        )
        .expect_error(code);
    }
    let mine = post(
        "/storage/create_storage_key",
        key(json!({"cloudAccountId": cloud, "selectedBuckets": ["project-alpha"]})),
        &w.token,
    )
    .expect(200)
    .json();
    // `ShowStorageApiKey`: the documented fields, the secret once.
    let shown = docs::example_after(
        "../web-api/storage.md",
        "## Create Storage Key",
        "### Response",
    );
    assert_eq!(docs::keys(&mine), docs::keys(&shown), "{mine}");

    let bucket = |marker: &str, changes: Value| {
        let mut b = doc_body(marker, changes);
        b["cloudAccountId"] = json!(cloud);
        b
    };
    for name in ["Bad_Name", "ab", "192.168.0.1"] {
        post(
            "/storage/create_bucket",
            bucket("## Create Bucket", json!({"bucketName": name})),
            &w.token,
        )
        .expect_error("DEFAULT");
    }
    post(
        "/storage/create_bucket",
        bucket("## Create Bucket", json!({"bucketName": "project-alpha"})),
        &w.token,
    )
    .expect_error("DUPLICATE");
    post(
        "/storage/create_bucket",
        bucket("## Create Bucket", json!({"bucketName": "second-bucket"})),
        &w.token,
    )
    .expect(200);
    let status = post(
        "/storage/bucket_status",
        bucket("## Bucket Status", json!({"bucketName": "second-bucket"})),
        &w.token,
    )
    .expect(200)
    .json();
    let documented = docs::example_after(
        "../web-api/storage.md",
        "## Get Bucket Status",
        "### Response",
    );
    assert_eq!(docs::keys(&status), docs::keys(&documented));
    assert_eq!(
        status,
        json!({"versioningEnabled": false, "encryptionEnabled": true, "isPublic": false,
            "objectLockEnabled": false}),
        "the docs' create body asks for encryption"
    );
    w.agent
        .put(
            "/storage/update_bucket",
            bucket("## Update Bucket", json!({"bucketName": "second-bucket"})),
        )
        .token(&w.token)
        .send()
        .expect(200);
    let status = post(
        "/storage/bucket_status",
        bucket("## Bucket Status", json!({"bucketName": "second-bucket"})),
        &w.token,
    )
    .expect(200)
    .json();
    assert_eq!(status["versioningEnabled"], true, "{status}");

    // A bucket with an object stays; an empty one goes.
    let delete = |name: &str, token: &str| {
        w.agent
            .call(
                "DELETE",
                &format!("/storage/delete_bucket?cloudAccountId={cloud}&bucketName={name}"),
            )
            .token(token)
            .send()
    };
    let writer = w.full_key(&cloud);
    let one = w.files.join("one.txt");
    std::fs::write(&one, b"one").unwrap();
    ok(w.rclone(
        pair(&writer),
        &["copyto", one.to_str().unwrap(), "s3:project-alpha/one.txt"],
    ));
    delete("project-alpha", &w.token).expect_error("DEFAULT");
    delete("second-bucket", &w.token).expect(200);
    post(
        "/storage/bucket_status",
        bucket("## Bucket Status", json!({"bucketName": "second-bucket"})),
        &w.token,
    )
    .expect_error("NOT_FOUND");

    // Another account sees and changes nothing of this one.
    let other = signup_and_login(&w.agent, "other@example.com");
    let theirs = w
        .agent
        .get("/storage/get_storage_key")
        .token(&other)
        .send()
        .expect(200)
        .json();
    assert_eq!(theirs["total"], 0, "{theirs}");
    let mine_id = mine["id"].as_str().unwrap();
    w.agent
        .call(
            "DELETE",
            &format!("/storage/delete_storage_key?id={mine_id}"),
        )
        .token(&other)
        .send()
        .expect_error("NOT_FOUND");
    post(
        "/storage/create_bucket",
        bucket("## Create Bucket", json!({"bucketName": "theirs-now"})),
        &other,
    )
    .expect_error("NOT_FOUND");
    delete("project-alpha", &other).expect_error("NOT_FOUND");

    // A member sees their own keys only, and not the owner's private storage.
    let (_, member) = click_blackbox::member(&w.agent, &w.token, "user@example.com", 64);
    let seen = w
        .agent
        .get("/storage/get_storage_key")
        .token(&member)
        .send()
        .expect(200)
        .json();
    assert_eq!(seen["total"], 0, "{seen}");
    post(
        "/storage/create_storage_key",
        key(json!({"cloudAccountId": cloud, "selectedBuckets": ["project-alpha"]})),
        &member,
    )
    .expect_error("NOT_FOUND");

    // Deleting the storage's cloud account ends the keys issued through it; the bucket and
    // its objects stay.
    w.agent
        .call("DELETE", &format!("/cloud/delete?id={cloud}"))
        .token(&w.token)
        .send()
        .expect(200);
    refused(w.rclone(pair(&writer), &["lsf", "s3:project-alpha"]));
    let keys = w.storage_keys();
    assert_eq!(keys["total"], 0, "{keys}");

    // Without [storage] listen there is no built-in storage.
    let plain = Agent::start();
    let token = signup_and_login(&plain, "owner@example.com");
    let add = docs::example("cloud.md", "### Add Storage");
    let r = plain.post("/cloud/add_storage", add).token(&token).send();
    assert!(r.expect_error("DEFAULT").contains("[storage]"));
}

/// The Storj section's routes on the caller's built-in storage: buckets made and deleted by
/// name, their usage and the account's as counted from what is stored, the quota held on
/// every write, and the storage deleted with its keys.
#[test]
fn the_storj_routes_count_usage_and_hold_the_quota() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("quota_bytes = 1000000");
    let call = |method: &str, path: &str| w.agent.call(method, path).token(&w.token).send();
    call("POST", "/cloud/create_bucket?bucketName=photos").expect_error("DEFAULT");
    let cloud = w.add_storage()["id"].as_str().unwrap().to_string();
    call("POST", "/cloud/create_bucket?bucketName=photos").expect(200);
    call("POST", "/cloud/create_bucket?bucketName=photos").expect_error("DUPLICATE");
    call("POST", "/cloud/create_bucket?bucketName=No_Good").expect_error("DEFAULT");
    let key = w.full_key(&cloud);
    for (name, len) in [("a.jpg", 1000), ("b.jpg", 20_000), ("c/d.jpg", 300_000)] {
        let p = w.files.join(name.replace('/', "_"));
        std::fs::write(&p, pattern(len, 1)).unwrap();
        let to = format!("s3:photos/{name}");
        ok(w.rclone(pair(&key), &["copyto", p.to_str().unwrap(), &to]));
    }
    let info = call("GET", "/cloud/get_bucket_info?bucketName=photos")
        .expect(200)
        .json();
    assert_eq!(
        (info["objectCount"].clone(), info["usedBytes"].clone()),
        (json!(3), json!(321_000)),
        "{info}"
    );
    assert_eq!(info["bucketName"], "photos");
    let cloud_info = call("GET", "/cloud/get_cloud_info").expect(200).json();
    assert_eq!(
        cloud_info,
        json!({"totalQuota": 1_000_000, "usedBytes": 321_000, "bucketCount": 2, "objectCount": 3})
    );
    // Past the quota: refused, nothing counted.
    let big = w.files.join("big.jpg");
    std::fs::write(&big, pattern(700_000, 2)).unwrap();
    refused(w.rclone(
        pair(&key),
        &[
            "copyto",
            big.to_str().unwrap(),
            "s3:photos/big.jpg",
            "--retries",
            "1",
        ],
    ));
    let after = call("GET", "/cloud/get_cloud_info").expect(200).json();
    assert_eq!(after["usedBytes"], 321_000, "{after}");
    // A replaced object counts once; a deleted one not at all.
    ok(w.rclone(pair(&key), &["deletefile", "s3:photos/c/d.jpg"]));
    let info = call("GET", "/cloud/get_bucket_info?bucketName=photos")
        .expect(200)
        .json();
    assert_eq!(
        (info["objectCount"].clone(), info["usedBytes"].clone()),
        (json!(2), json!(21_000))
    );
    call("DELETE", "/cloud/delete_bucket?bucketName=photos").expect_error("DEFAULT");
    ok(w.rclone(pair(&key), &["delete", "s3:photos"]));
    call("DELETE", "/cloud/delete_bucket?bucketName=photos").expect(200);
    call("GET", "/cloud/get_bucket_info?bucketName=photos").expect_error("NOT_FOUND");
    // Deleting the storage ends its keys; its buckets stay with the account.
    let gone = call("DELETE", &format!("/cloud/delete_storage?id={cloud}"))
        .expect(200)
        .json();
    assert_eq!(gone, json!(true));
    refused(w.rclone(pair(&key), &["lsd", "s3:"]));
    call("GET", "/cloud/get_cloud_info").expect_error("DEFAULT");
}

/// boto3 (PyPI), another client nobody here wrote, through its own transfer manager and
/// presigner: `tests/clients/boto3_storage.py` says what it checks.
#[test]
fn boto3_works_against_the_built_in_storage() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    let (cloud, full) = w.storage_and_key();
    let (reader, _) = w.new_key(
        json!({"cloudAccountId": cloud, "permission": 0, "allBuckets": false,
            "selectedBuckets": ["project-alpha"]}),
    );
    client_ok(python_client(
        "boto3_storage.py",
        &[
            &w.endpoint,
            &full.0,
            &full.1,
            "project-alpha",
            &reader.0,
            &reader.1,
        ],
    ));
}

/// The IDrive section on regions that are folders of their own: a region's buckets keep
/// their bytes in its folder, usage is measured by storage tier, bad regions and tiers are
/// refused, and buckets and the storage go as documented.
#[test]
fn idrive_regions_keep_their_buckets_and_usage_is_measured() {
    if desktop_only("the built-in storage") {
        return;
    }
    let disks = tempfile::tempdir().unwrap();
    let (ca, va) = (disks.path().join("ca"), disks.path().join("va"));
    let w = StorageAgent::start(&format!(
        "[[storage.regions]]\ncode = \"us-ca\"\nname = \"California\"\nroot = \"{}\"\n\
         [[storage.regions]]\ncode = \"us-va\"\nname = \"Virginia\"\nroot = \"{}\"\n",
        ca.display(),
        va.display()
    ));
    let get = |path: &str| w.agent.get(path).token(&w.token).send();
    let regions = get("/cloud/idrive_regions").expect(200).json();
    let documented = docs::example("cloud.md", "### IDrive Regions");
    assert_eq!(docs::keys(&regions[0]), docs::keys(&documented[0]));
    assert_eq!(
        regions,
        json!([{"name": "California", "code": "us-ca"}, {"name": "Virginia", "code": "us-va"}])
    );
    let add = |changes: Value| {
        let mut body = docs::example("cloud.md", "### IDrive Add Storage");
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        w.agent
            .post("/cloud/idrive_add_storage", body)
            .token(&w.token)
            .send()
    };
    add(json!({"regionCode": "eu-nowhere"})).expect_error("DEFAULT");
    add(json!({"storageTier": 3})).expect_error("DEFAULT");
    let account = add(json!({"storageTier": 1})).expect(200).json();
    assert_eq!(
        (account["name"].clone(), account["region"].clone()),
        (json!("IDrive e2"), json!("us-ca"))
    );
    let cloud = account["id"].as_str().unwrap().to_string();
    let call = |method: &str, path: &str| w.agent.call(method, path).token(&w.token).send();
    call(
        "POST",
        &format!("/cloud/idrive_create_bucket?cloudAccountId={cloud}&bucketName=second"),
    )
    .expect(200);

    let key = w.full_key(&cloud);
    for (to, len) in [("s3:project-alpha/a.bin", 4000), ("s3:second/b.bin", 6000)] {
        let p = w.files.join(format!("{len}.bin"));
        std::fs::write(&p, pattern(len, 3)).unwrap();
        ok(w.rclone(pair(&key), &["copyto", p.to_str().unwrap(), to]));
    }
    // The bytes are in California's folder, not in Virginia's nor the storage's own.
    let stored = |dir: &std::path::Path| walk_count(&dir.join("objects"));
    assert_eq!((stored(&ca), stored(&va)), (2, 0));
    assert_eq!(
        stored(&w.options.data_dir.clone().unwrap().join("storage")),
        0
    );
    assert_eq!(
        get("/cloud/idrive_get_usage").expect(200).json(),
        json!(10000.0)
    );
    assert_eq!(
        get("/cloud/idrive_get_usage?storageTier=1")
            .expect(200)
            .json(),
        json!(10000.0)
    );
    assert_eq!(
        get("/cloud/idrive_get_usage?storageTier=2")
            .expect(200)
            .json(),
        json!(0.0)
    );
    get("/cloud/idrive_get_usage?storageTier=3").expect_error("DEFAULT");
    // What was written today is no part of yesterday's.
    assert_eq!(
        get("/cloud/idrive_get_daily_usage").expect(200).json(),
        json!(0.0)
    );

    ok(w.rclone(pair(&key), &["deletefile", "s3:second/b.bin"]));
    call(
        "DELETE",
        &format!("/cloud/idrive_delete_bucket?cloudAccountId={cloud}&bucketName=second"),
    )
    .expect(200);
    assert_eq!(stored(&ca), 1);
    call(
        "DELETE",
        &format!("/cloud/idrive_delete_storage?id={cloud}"),
    )
    .expect(200);
    refused(w.rclone(pair(&key), &["lsd", "s3:"]));
}

/// `aws` (awscli, PyPI) with `--endpoint-url`: `s3 cp` up (multipart past 8 MiB) and down,
/// `s3 ls`, `s3 presign` read by a plain GET, `s3 rm`; a read-only key's `cp` up refused.
#[test]
fn awscli_works_against_the_built_in_storage() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    let (cloud, full) = w.storage_and_key();
    let (reader, _) = w.new_key(
        json!({"cloudAccountId": cloud, "permission": 0, "allBuckets": false,
            "selectedBuckets": ["project-alpha"]}),
    );
    let aws = |key: &(String, String), args: &[&str]| {
        let out = Command::new("aws")
            .args(["--endpoint-url", &w.endpoint])
            .args(args)
            .env_remove("AWS_CA_BUNDLE")
            .env("AWS_ACCESS_KEY_ID", &key.0)
            .env("AWS_SECRET_ACCESS_KEY", &key.1)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .expect("awscli is installed");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            out,
        )
    };
    let big = w.files.join("big.raw");
    let bytes = pattern(12 << 20, 5);
    std::fs::write(&big, &bytes).unwrap();
    let (up, _, out) = aws(
        &full,
        &[
            "s3",
            "cp",
            big.to_str().unwrap(),
            "s3://project-alpha/aws/big.raw",
        ],
    );
    assert!(up, "{}", String::from_utf8_lossy(&out.stderr));
    let back = w.files.join("back.raw");
    let (down, _, _) = aws(
        &full,
        &[
            "s3",
            "cp",
            "s3://project-alpha/aws/big.raw",
            back.to_str().unwrap(),
        ],
    );
    assert!(down && std::fs::read(&back).unwrap() == bytes);
    let (listed, ls, _) = aws(&full, &["s3", "ls", "s3://project-alpha/aws/"]);
    assert!(
        listed && ls.contains("big.raw") && ls.contains(&(12 << 20).to_string()),
        "{ls}"
    );
    let (signed, url, _) = aws(&full, &["s3", "presign", "s3://project-alpha/aws/big.raw"]);
    assert!(signed);
    assert!(
        w.get_url(url.trim()).body == bytes,
        "the presigned URL reads the object"
    );
    let (refused_up, _, _) = aws(
        &reader,
        &[
            "s3",
            "cp",
            big.to_str().unwrap(),
            "s3://project-alpha/aws/no.raw",
        ],
    );
    assert!(!refused_up, "a read-only key writes nothing");
    let (removed, _, _) = aws(&full, &["s3", "rm", "s3://project-alpha/aws/big.raw"]);
    let (_, ls, _) = aws(&full, &["s3", "ls", "s3://project-alpha/aws/"]);
    assert!(removed && ls.trim().is_empty(), "{ls}");
}

/// A bucket made public (`isPublic`) is read without a signature, and nothing else is: not
/// before, not a write, not another bucket.
#[test]
fn a_public_bucket_is_read_without_a_signature() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    let (cloud, key) = w.storage_and_key();
    let file = w.files.join("pub.txt");
    std::fs::write(&file, b"for everyone").unwrap();
    ok(w.rclone(
        pair(&key),
        &["copyto", file.to_str().unwrap(), "s3:project-alpha/pub.txt"],
    ));
    ok(w.rclone(pair(&key), &["mkdir", "s3:private"]));
    ok(w.rclone(
        pair(&key),
        &["copyto", file.to_str().unwrap(), "s3:private/pub.txt"],
    ));
    let url = |path: &str| format!("{}{path}", w.endpoint);
    assert_eq!(
        w.get_url(&url("/project-alpha/pub.txt")).status,
        403,
        "not public yet"
    );
    let mut body = docs::example("storage.md", "## Update Bucket");
    body["cloudAccountId"] = json!(cloud);
    body["bucketName"] = json!("project-alpha");
    body["isPublic"] = json!(true);
    (w.agent.put("/storage/update_bucket", body))
        .token(&w.token)
        .send()
        .expect(200);
    let read = w.get_url(&url("/project-alpha/pub.txt"));
    assert_eq!(
        (read.status, read.body.as_slice()),
        (200, &b"for everyone"[..])
    );
    let listed = w.get_url(&url("/project-alpha?list-type=2"));
    assert!(
        listed.status == 200 && listed.text().contains("pub.txt"),
        "{}",
        listed.text()
    );
    assert_eq!(
        w.get_url(&url("/private/pub.txt")).status,
        403,
        "another bucket"
    );
    let host = w.endpoint.trim_start_matches("http://");
    let put = format!(
        "PUT /project-alpha/new.txt HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"
    );
    let r = click_blackbox::raw_exchange(host.parse().unwrap(), put.as_bytes());
    assert_eq!(r.status, 403, "no anonymous write");
}

/// S3's flexible checksums (`x-amz-checksum-*`) as boto3 sends them, on objects and parts:
/// matching ones are taken, others refused with BadDigest and nothing kept.
#[test]
fn flexible_checksums_are_checked() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    let (_, full) = w.storage_and_key();
    client_ok(python_client(
        "boto3_checksums.py",
        &[&w.endpoint, &full.0, &full.1, "project-alpha"],
    ));
}

/// boto3 with `key` on the storage, running `boto3_cors.py` with `action`; its output.
fn cors(w: &StorageAgent, key: &(String, String), action: &str) -> std::process::Output {
    let args = [&*w.endpoint, &key.0, &key.1, "project-alpha", action];
    python_client("boto3_cors.py", &args)
}

/// A raw request from a browser at `origin` to the storage.
fn from_browser(w: &StorageAgent, head: &str, origin: &str, more: &str) -> click_blackbox::Resp {
    let host = w.endpoint.trim_start_matches("http://");
    let request = format!(
        "{head} HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n{more}Connection: close\r\n\r\n"
    );
    click_blackbox::raw_exchange(host.parse().unwrap(), request.as_bytes())
}

/// CORS per bucket: off until the bucket's owner sets rules with S3's PutBucketCors; then a
/// browser's preflight is answered by them, and refused for other origins, methods and
/// headers; deleting the rules turns it off again.
#[test]
fn cors_is_off_until_a_bucket_sets_rules() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    let (_, key) = w.storage_and_key();
    let preflight = |origin: &str, method: &str, headers: &str| {
        let more = format!(
            "Access-Control-Request-Method: {method}\r\nAccess-Control-Request-Headers: {headers}\r\n"
        );
        from_browser(&w, "OPTIONS /project-alpha/a.txt", origin, &more)
    };
    let app = "https://app.example.com";
    assert_eq!(
        preflight(app, "PUT", "content-type").status,
        403,
        "off by default"
    );
    let got = cors(&w, &key, "get");
    assert!(
        !got.status.success()
            && String::from_utf8_lossy(&got.stderr).contains("NoSuchCORSConfiguration")
    );

    assert!(cors(&w, &key, "put").status.success());
    let rules = String::from_utf8(cors(&w, &key, "get").stdout).unwrap();
    assert!(
        rules.contains("https://app.example.com") && rules.contains("600"),
        "{rules}"
    );
    let ok = preflight(app, "PUT", "content-type, x-amz-date");
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("access-control-allow-origin"), Some(app));
    assert_eq!(ok.header("access-control-allow-methods"), Some("GET, PUT"));
    assert_eq!(ok.header("access-control-max-age"), Some("600"));
    assert_eq!(preflight("https://evil.example.net", "PUT", "").status, 403);
    assert_eq!(preflight(app, "DELETE", "").status, 403);
    assert_eq!(preflight(app, "PUT", "authorization").status, 403);
    // An actual request still needs its signature; the refusal carries the CORS headers so
    // the page can read why.
    let get = from_browser(&w, "GET /project-alpha/a.txt", app, "");
    assert_eq!(get.status, 403);
    assert_eq!(get.header("access-control-allow-origin"), Some(app));
    assert_eq!(get.header("access-control-expose-headers"), Some("ETag"));
    let other = from_browser(
        &w,
        "GET /project-alpha/a.txt",
        "https://evil.example.net",
        "",
    );
    assert_eq!(other.header("access-control-allow-origin"), None);

    assert!(cors(&w, &key, "delete").status.success());
    assert_eq!(
        preflight(app, "PUT", "content-type").status,
        403,
        "off again"
    );
}

/// Keys with `.` or `..` segments or NUL are refused on every write (a client mirroring the
/// bucket to disk would write them outside its folder) and leave nothing on disk; keys that
/// merely hold dots are fine.
#[test]
fn keys_that_climb_out_of_a_folder_are_refused() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    let (_, full) = w.storage_and_key();
    client_ok(python_client(
        "boto3_keys.py",
        &[&w.endpoint, &full.0, &full.1, "project-alpha"],
    ));
    // Refused is not enough if a blob or a part was written before the refusal: nothing the
    // keys name may exist anywhere under the agent's folder (the data dir's parent).
    let tmp = w.options.data_dir.as_ref().unwrap().parent().unwrap();
    let mut left = vec![tmp.to_path_buf()];
    while let Some(dir) = left.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !matches!(name.as_str(), "escape.txt" | "b.txt"),
                "{} was written",
                path.display()
            );
            if path.is_dir() {
                left.push(path);
            }
        }
    }
}

/// Debian's `s3cmd` with `key` on the storage (its config written here, path-style).
fn s3cmd(w: &StorageAgent, key: &(String, String), args: &[&str]) -> std::process::Output {
    let host = w.endpoint.trim_start_matches("http://");
    let config = w.files.join(format!("s3cmd-{}.cfg", key.0));
    let text = format!(
        "[default]\naccess_key = {}\nsecret_key = {}\nhost_base = {host}\nhost_bucket = {host}\n\
         use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n",
        key.0, key.1
    );
    std::fs::write(&config, text).unwrap();
    std::process::Command::new("s3cmd")
        .arg("-c")
        .arg(&config)
        .args(args)
        .env_remove("AWS_CA_BUNDLE")
        .output()
        .expect("s3cmd (Debian's) is installed")
}

/// s3cmd's exit status when the server answers 403 (`S3/ExitCodes.py`, EX_ACCESSDENIED): a
/// refusal, and not a client that failed for some other reason.
const S3CMD_ACCESS_DENIED: i32 = 77;

/// Debian's s3cmd: put (one request, and multipart in 5 MiB parts), get, ls, la, del and
/// signurl; a key limited to one bucket reaches no other, and a read-only key writes nothing.
#[test]
fn s3cmd_works_against_the_built_in_storage() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    let (cloud, full) = w.storage_and_key();
    let small = w.files.join("small.txt");
    std::fs::write(&small, b"a small file").unwrap();
    let big = w.files.join("big.bin");
    std::fs::write(&big, click_blackbox::pattern(20 << 20, 7)).unwrap();
    let back = w.files.join("back.bin");
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "s3cmd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let denied = |out: std::process::Output, what: &str| {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(S3CMD_ACCESS_DENIED),
            "{what}: {err}"
        );
    };
    let (small_path, big_path, back_path) = (
        small.to_str().unwrap(),
        big.to_str().unwrap(),
        back.to_str().unwrap(),
    );
    ok(s3cmd(
        &w,
        &full,
        &["put", small_path, "s3://project-alpha/docs/small.txt"],
    ));
    let args = [
        "put",
        "--multipart-chunk-size-mb=5",
        big_path,
        "s3://project-alpha/big.bin",
    ];
    ok(s3cmd(&w, &full, &args));
    // S3 gives a multipart object the ETag `md5-of-part-md5s-N`: four 5 MiB parts went up.
    let info = ok(s3cmd(&w, &full, &["info", "s3://project-alpha/big.bin"]));
    assert!(
        info.contains("20971520")
            && info
                .lines()
                .any(|l| l.contains("MD5 sum") && l.ends_with("-4")),
        "{info}"
    );
    ok(s3cmd(
        &w,
        &full,
        &["get", "--force", "s3://project-alpha/big.bin", back_path],
    ));
    assert!(
        click_blackbox::same_file(&big, &back),
        "the multipart object comes back whole"
    );
    ok(s3cmd(
        &w,
        &full,
        &[
            "get",
            "--force",
            "s3://project-alpha/docs/small.txt",
            back_path,
        ],
    ));
    assert_eq!(std::fs::read(&back).unwrap(), b"a small file");
    let listed = ok(s3cmd(
        &w,
        &full,
        &["ls", "--recursive", "s3://project-alpha"],
    ));
    assert!(
        listed.contains("s3://project-alpha/docs/small.txt")
            && listed.contains("s3://project-alpha/big.bin"),
        "{listed}"
    );
    ok(s3cmd(&w, &full, &["mb", "s3://other-bucket"]));
    ok(s3cmd(
        &w,
        &full,
        &["put", small_path, "s3://other-bucket/other.txt"],
    ));
    let all = ok(s3cmd(&w, &full, &["la", "--recursive"]));
    assert!(
        [
            "project-alpha/docs/small.txt",
            "project-alpha/big.bin",
            "other-bucket/other.txt"
        ]
        .iter()
        .all(|k| all.contains(&format!("s3://{k}"))),
        "{all}"
    );

    // s3cmd signs its URLs with signature version 2 (AWSAccessKeyId, Expires, Signature) even
    // with signature_v2 = False: the one client here that reaches the server's V2 query auth.
    let url = ok(s3cmd(
        &w,
        &full,
        &["signurl", "s3://project-alpha/docs/small.txt", "+300"],
    ));
    let read = w.get_url(url.trim());
    assert_eq!(
        (read.status, read.body.as_slice()),
        (200, &b"a small file"[..])
    );
    let forged = url.trim().replace("Signature=", "Signature=A");
    let r = w.get_url(&forged);
    assert!(
        r.status == 403 && r.text().contains("SignatureDoesNotMatch"),
        "{}",
        r.text()
    );
    let past = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 5;
    let expired = ok(s3cmd(
        &w,
        &full,
        &[
            "signurl",
            "s3://project-alpha/docs/small.txt",
            &past.to_string(),
        ],
    ));
    let r = w.get_url(expired.trim());
    assert!(
        r.status == 403 && r.text().contains("Request has expired"),
        "{}",
        r.text()
    );

    // A read-write key for project-alpha alone: writes there, and reaches no other bucket.
    let (one, _) = w.new_key(json!({"cloudAccountId": cloud, "permission": 2,
        "allBuckets": false, "selectedBuckets": ["project-alpha"]}));
    ok(s3cmd(
        &w,
        &one,
        &["put", small_path, "s3://project-alpha/one.txt"],
    ));
    let put = ["put", small_path, "s3://other-bucket/one.txt"];
    denied(s3cmd(&w, &one, &put), "a write to another bucket");
    denied(
        s3cmd(
            &w,
            &one,
            &["get", "--force", "s3://other-bucket/other.txt", back_path],
        ),
        "a read of another bucket",
    );
    denied(
        s3cmd(&w, &one, &["ls", "s3://other-bucket"]),
        "a listing of another bucket",
    );
    let buckets = ok(s3cmd(&w, &one, &["ls"]));
    assert!(
        buckets.contains("s3://project-alpha") && !buckets.contains("other-bucket"),
        "{buckets}"
    );

    // A read-only key: reads, and neither writes nor deletes.
    let (reader, _) = w.new_key(json!({"cloudAccountId": cloud, "permission": 0,
        "allBuckets": false, "selectedBuckets": ["project-alpha"]}));
    ok(s3cmd(
        &w,
        &reader,
        &["get", "--force", "s3://project-alpha/one.txt", back_path],
    ));
    assert_eq!(std::fs::read(&back).unwrap(), b"a small file");
    let put = ["put", small_path, "s3://project-alpha/nope.txt"];
    denied(s3cmd(&w, &reader, &put), "a read-only key's put");
    denied(
        s3cmd(&w, &reader, &["del", "s3://project-alpha/one.txt"]),
        "a read-only key's del",
    );

    ok(s3cmd(
        &w,
        &full,
        &["del", "s3://project-alpha/docs/small.txt"],
    ));
    let listed = ok(s3cmd(
        &w,
        &full,
        &["ls", "--recursive", "s3://project-alpha"],
    ));
    assert!(
        !listed.contains("small.txt") && !listed.contains("nope.txt") && listed.contains("one.txt"),
        "{listed}"
    );
}

/// A presigned URL from boto3 (`expires` seconds) for `key` signed with `(access, secret)`.
fn boto3_presign(w: &StorageAgent, access: &str, secret: &str, key: &str, expires: u32) -> String {
    let code = format!(
        "import boto3; from botocore.config import Config\n\
         c = boto3.client('s3', endpoint_url='{}', aws_access_key_id='{access}', \
         aws_secret_access_key='{secret}', region_name='us-east-1', \
         config=Config(s3={{'addressing_style': 'path'}}, signature_version='s3v4'))\n\
         print(c.generate_presigned_url('get_object', Params={{'Bucket': 'project-alpha', \
         'Key': '{key}'}}, ExpiresIn={expires}))",
        w.endpoint
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &code])
        .env_remove("AWS_CA_BUNDLE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Presigned URLs made by boto3: good until they expire, then 403; one signed with a wrong
/// secret is 403 at once.
#[test]
fn expired_presigned_urls_and_wrong_secrets_are_refused() {
    if desktop_only("the built-in storage") {
        return;
    }
    let w = StorageAgent::start("");
    let (_, full) = w.storage_and_key();
    let file = w.files.join("f.txt");
    std::fs::write(&file, b"presigned").unwrap();
    let put = ["copyto", file.to_str().unwrap(), "s3:project-alpha/f.txt"];
    click_blackbox::storage::ok(w.rclone(click_blackbox::storage::pair(&full), &put));
    // X-Amz-Date holds whole seconds, so a URL good for 1 s may be spent before its first GET
    // on a busy machine; 4 s is still short.
    let short = boto3_presign(&w, &full.0, &full.1, "f.txt", 4);
    assert_eq!(w.get_url(&short).body, b"presigned", "good at once");
    let wrong = boto3_presign(&w, &full.0, "not-the-secret", "f.txt", 300);
    let r = w.get_url(&wrong);
    assert!(
        r.status == 403 && r.text().contains("SignatureDoesNotMatch"),
        "signed with a wrong secret: {} {}",
        r.status,
        r.text()
    );
    std::thread::sleep(std::time::Duration::from_millis(4500));
    let r = w.get_url(&short);
    assert!(
        r.status == 403 && r.text().contains("Request has expired"),
        "expired: {} {}",
        r.status,
        r.text()
    );
    let long = boto3_presign(&w, &full.0, &full.1, "f.txt", 300);
    assert_eq!(w.get_url(&long).status, 200);
}
