//! The cloud endpoints against Azure Blob Storage, as served by Azurite: the same account,
//! storage and transfer calls as on S3, checked on the emulator through its own API.

use click_blackbox::azure::Azurite;
use click_blackbox::s3::fetch;
use click_blackbox::{
    Agent, Options, Value, desktop_only, json, signup_and_login, wait_for_transfer,
};

struct Fixture {
    az: Azurite,
    agent: Agent,
    token: String,
    account: String,
    root: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let az = Azurite::start();
        az.create_container("media");
        az.create_container("backups");
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("files");
        std::fs::create_dir_all(&root).unwrap();
        let agent = Agent::start_with(Options {
            config: format!("[transfers]\nroots = [\"{}\"]\n", root.display()),
            ..Options::default()
        });
        let token = signup_and_login(&agent, "owner@example.com");
        let account = click_blackbox::insert_cloud_account(&agent, &token, az.account("azure"));
        Fixture {
            az,
            agent,
            token,
            account,
            root,
            _tmp: tmp,
        }
    }

    fn post(&self, path: &str, body: Value) -> click_blackbox::Resp {
        self.agent.post(path, body).token(&self.token).send()
    }

    fn list(&self, path: &str, continuation: &str, count: u32) -> Value {
        let body = json!({"account": {"id": self.account}, "request": {"bucketName": "media", "path": path, "continuationToken": continuation, "count": count}});
        self.post("/cloud/list_objects", body).expect(200).json()
    }

    fn object(&self, key: &str) -> Value {
        json!({"cloudAccount": {"id": self.account}, "storageName": "media", "key": key})
    }
}

fn names(page: &Value) -> Vec<String> {
    let mut v: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn accounts_buckets_and_listings() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    let mut bad = f.az.account("bad");
    bad["secretKey"] = json!(
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
    );
    f.post("/cloud/insert_account", bad).expect_error("ACCESS");
    let mut bad = f.az.account("bad");
    bad["secretKey"] = json!("not base64!");
    f.post("/cloud/insert_account", bad).expect_error("DEFAULT");

    let buckets = f
        .post("/cloud/list_buckets", json!({"id": f.account}))
        .expect(200)
        .json();
    assert_eq!(names(&buckets), ["backups", "media"]);
    assert!(
        buckets["data"][0]["createDate"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    for i in 0..25 {
        f.az.put("media", &format!("docs/file-{i:02}.txt"), b"x");
    }
    f.az.put("media", "docs/sub/inner.txt", b"inner");
    f.az.put("media", "top.txt", b"hello");
    let root = f.list("", "", 0);
    assert_eq!(names(&root), ["docs", "top.txt"]);
    let top = root["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "top.txt")
        .unwrap();
    assert_eq!(
        (top["size"].as_u64(), top["type"].as_u64()),
        (Some(5), Some(1))
    );

    // Pages of 10 with continuation tokens: 26 entries, each once.
    let (mut seen, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = f.list("docs/", &token, 10);
        pages += 1;
        seen.extend(names(&page));
        token = page["continuationToken"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!((seen.len(), pages), (26, 3));
    assert!(seen.contains(&"sub".to_string()));

    // Folders, deletes.
    f.post("/cloud/create_folder", json!({"cloudAccount": {"id": f.account}, "storageName": "media", "path": "docs", "folderName": "new"}))
        .expect(200);
    assert!(
        f.az.get("media", "docs/new/").is_some(),
        "a folder marker blob"
    );
    f.post("/cloud/delete_object", f.object("top.txt"))
        .expect(200);
    assert!(f.az.get("media", "top.txt").is_none());
    f.post("/cloud/delete_object", f.object("docs/"))
        .expect(200);
    assert!(f.az.get("media", "docs/sub/inner.txt").is_none());
    assert!(names(&f.list("", "", 0)).is_empty());
    let mut missing = f.object("x");
    missing["storageName"] = json!("nope");
    f.post("/cloud/delete_object", missing)
        .expect_error("NOT_FOUND");
}

#[test]
fn sas_urls_work_for_a_plain_http_client() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut up = f.object("up/load me.bin");
    up["contentType"] = json!("application/octet-stream");
    let url: String =
        serde_json::from_value(f.post("/cloud/generate_upload_url", up).expect(200).json())
            .unwrap();
    assert!(url.contains("sig="), "{url}");
    // Azure's Put Blob needs its blob type header, whoever sends it.
    fetch("PUT", &url, &[("x-ms-blob-type", "BlockBlob")], &content).expect(201);
    assert_eq!(
        f.az.get("media", "up/load%20me.bin").as_deref(),
        Some(&content[..])
    );

    let mut down = f.object("up/load me.bin");
    down["forceToDownload"] = json!(true);
    let url: String = serde_json::from_value(
        f.post("/cloud/generate_download_url", down)
            .expect(200)
            .json(),
    )
    .unwrap();
    let got = fetch("GET", &url, &[], b"").expect(200);
    assert!(got.body == content);
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename=\"load me.bin\"")
    );
    let forged = url.replace("load%20me", "other");
    assert_eq!(fetch("GET", &forged, &[], b"").status, 403);
}

#[test]
fn transfers_move_files_in_blocks() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    let content: Vec<u8> = (0..(12 << 20) + 9u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let local = f.root.join("big.bin");
    std::fs::write(&local, &content).unwrap();
    let r = f
        .post("/cloud/upload_object", json!({"cloudAccount": {"id": f.account}, "storageName": "media", "uploadPath": "up", "localFilePath": local.display().to_string()}))
        .expect(200)
        .json();
    wait_for_transfer(
        &f.agent,
        &f.token,
        r["transferId"].as_str().unwrap(),
        "completed",
    );
    assert!(
        f.az.get("media", "up/big.bin").unwrap() == content,
        "three blocks, in order"
    );

    let down = f.root.join("down");
    let r = f
        .post("/cloud/download_object", json!({"cloudAccount": {"id": f.account}, "storageName": "media", "objectKey": "up/big.bin", "downloadPath": down.display().to_string()}))
        .expect(200)
        .json();
    wait_for_transfer(
        &f.agent,
        &f.token,
        r["transferId"].as_str().unwrap(),
        "completed",
    );
    assert!(std::fs::read(down.join("big.bin")).unwrap() == content);

    // A whole folder, listed flat through the blob API.
    f.az.put("media", "up/sub/small.txt", b"small");
    let r = f
        .post("/cloud/download_object", json!({"cloudAccount": {"id": f.account}, "storageName": "media", "objectKey": "up", "objectType": 2, "downloadPath": down.display().to_string(), "name": "copy"}))
        .expect(200)
        .json();
    wait_for_transfer(
        &f.agent,
        &f.token,
        r["transferId"].as_str().unwrap(),
        "completed",
    );
    assert!(std::fs::read(down.join("copy/big.bin")).unwrap() == content);
    assert_eq!(
        std::fs::read(down.join("copy/sub/small.txt")).unwrap(),
        b"small"
    );

    // Cancelled before the block list is committed: no blob.
    let r = f
        .post("/cloud/upload_object", json!({"cloudAccount": {"id": f.account}, "storageName": "media", "uploadPath": "cancelled", "localFilePath": local.display().to_string(), "transferOptions": {"concurrentChunks": 1}}))
        .expect(200)
        .json();
    let id = r["transferId"].as_str().unwrap();
    f.agent
        .post(&format!("/cloud/client_transfer/{id}/cancel"), json!({}))
        .token(&f.token)
        .send()
        .expect(200);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(f.az.get("media", "cancelled/big.bin").is_none());
}

#[test]
fn the_remaining_endpoints_work_on_azure_too() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    // Account endpoints on an Azure account.
    let one = f
        .agent
        .get(&format!("/cloud/account?id={}", f.account))
        .token(&f.token)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        (one["cloudType"].as_u64(), one["secretKey"].as_str()),
        (Some(4), Some("********"))
    );
    f.agent
        .put(
            "/cloud/manage_share",
            json!({"id": f.account, "shared": true}),
        )
        .token(&f.token)
        .send()
        .expect(200);

    // An emailed link to a blob.
    f.az.put("media", "mail/me.txt", b"by mail");
    f.post(
        "/cloud/send_download_url",
        json!({"email": "friend@example.com", "cloudAccountId": f.account, "storageName": "media", "key": "mail/me.txt", "note": "here"}),
    )
    .expect(200);
    let mail = f.agent.last_mail("download-link", "friend@example.com");
    assert_eq!(
        fetch("GET", &mail.token, &[], b"").expect(200).body,
        b"by mail"
    );

    // Pause, resume, status and the list, on a block upload.
    let content: Vec<u8> = (0..(30 << 20) as u32).map(|i| (i % 253) as u8).collect();
    let local = f.root.join("paused.bin");
    std::fs::write(&local, &content).unwrap();
    let r = f
        .post("/cloud/upload_object", json!({"cloudAccount": {"id": f.account}, "storageName": "media", "uploadPath": "p", "localFilePath": local.display().to_string(), "transferOptions": {"concurrentChunks": 1}}))
        .expect(200)
        .json();
    let id = r["transferId"].as_str().unwrap().to_string();
    let control = |action: &str| {
        f.agent
            .post(&format!("/cloud/client_transfer/{id}/{action}"), json!({}))
            .token(&f.token)
            .send()
    };
    control("pause").expect(200);
    assert_eq!(
        f.agent
            .get(&format!("/cloud/client_transfer/{id}/status"))
            .token(&f.token)
            .send()
            .expect(200)
            .json()["status"],
        "paused"
    );
    control("resume").expect(200);
    wait_for_transfer(&f.agent, &f.token, &id, "completed");
    assert!(f.az.get("media", "p/paused.bin").unwrap() == content);
    let all = f
        .agent
        .get("/cloud/client_transfer/all")
        .token(&f.token)
        .send()
        .expect(200)
        .json();
    assert_eq!(all[0]["targetBucket"], "media");
    assert_eq!(all[0]["progress"], 100);

    // Delete the account.
    f.agent
        .call("DELETE", &format!("/cloud/delete?id={}", f.account))
        .token(&f.token)
        .send()
        .expect(200);
}
