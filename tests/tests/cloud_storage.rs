//! Storage Operations (cloud.md) against a real S3 server (s3s-fs): buckets, paged listings,
//! folders, presigned URLs used by a plain HTTP client, emailed links and deletes. What the
//! agent does is checked on the server's own folder.

use std::collections::BTreeSet;

use click_blackbox::s3::{S3Server, fetch};
use click_blackbox::{Agent, Value, desktop_only, docs, json, signup_and_login};

struct Fixture {
    s3: S3Server,
    agent: Agent,
    token: String,
    account: String,
}

impl Fixture {
    fn new() -> Fixture {
        let s3 = S3Server::start();
        s3.bucket("media");
        s3.bucket("backups");
        let agent = Agent::start();
        let token = signup_and_login(&agent, "owner@example.com");
        let account = click_blackbox::insert_cloud_account(&agent, &token, s3.account("test"));
        Fixture {
            s3,
            agent,
            token,
            account,
        }
    }

    fn post(&self, path: &str, body: Value) -> click_blackbox::Resp {
        self.agent.post(path, body).token(&self.token).send()
    }

    fn list(&self, path: &str, continuation: &str, count: u32) -> Value {
        // The documented body, with the test's account, bucket and page.
        let mut body = docs::example("cloud.md", "### List Objects");
        body["account"] =
            json!({"id": self.account, "cloudType": 8, "accessKey": "CLIC********EY01"});
        body["request"]["bucketName"] = json!("media");
        body["request"]["path"] = json!(path);
        body["request"]["continuationToken"] = json!(continuation);
        body["request"]["count"] = json!(count);
        self.post("/cloud/list_objects", body).expect(200).json()
    }

    /// Every entry under `path`, following continuation tokens; also counts the pages.
    fn list_all(&self, path: &str, count: u32) -> (Vec<Value>, usize) {
        let (mut all, mut pages, mut token) = (Vec::new(), 0, String::new());
        loop {
            let page = self.list(path, &token, count);
            pages += 1;
            all.extend(page["data"].as_array().unwrap().iter().cloned());
            token = page["continuationToken"].as_str().unwrap().to_string();
            if token.is_empty() {
                return (all, pages);
            }
            assert!(pages < 100, "continuation never ends");
        }
    }

    fn object(&self, key: &str) -> Value {
        json!({"cloudAccount": {"id": self.account}, "storageName": "media", "key": key, "id": ""})
    }
}

fn names(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn buckets_of_a_stored_account_or_of_credentials_given_inline() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    let r = f
        .post("/cloud/list_buckets", json!({"id": f.account}))
        .expect(200)
        .json();
    let mut got = names(r["data"].as_array().unwrap());
    got.sort();
    assert_eq!(got, ["backups", "media"]);
    assert_eq!(r["continuationToken"], "");
    let first = &r["data"][0];
    for field in ["name", "region", "createDate"] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }

    let with_region = f
        .agent
        .post(
            "/cloud/list_buckets?includeRegion=true",
            json!({"id": f.account}),
        )
        .token(&f.token)
        .send()
        .expect(200)
        .json();
    assert!(
        !with_region["data"][0]["region"]
            .as_str()
            .unwrap()
            .is_empty()
    );

    // Credentials given inline (trying them before saving) work the same.
    let inline = f
        .post("/cloud/list_buckets", f.s3.account("inline"))
        .expect(200)
        .json();
    assert_eq!(inline["data"].as_array().unwrap().len(), 2);
    f.post("/cloud/list_buckets", json!({"cloudType": 8}))
        .expect_error("DEFAULT");
    f.post(
        "/cloud/list_buckets",
        json!({"id": "5f0e3c2a-0000-4000-8000-000000000000"}),
    )
    .expect_error("NOT_FOUND");
    f.agent
        .post(
            "/cloud/list_buckets?includeRegion=maybe",
            json!({"id": f.account}),
        )
        .token(&f.token)
        .send()
        .expect_error("DEFAULT");
}

#[test]
fn listings_page_through_folders_with_continuation_tokens() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    for i in 0..1050 {
        f.s3.put("media", &format!("many/file-{i:04}.bin"), &[7u8; 3]);
    }
    f.s3.put("media", "many/sub/inner.txt", b"x");
    f.s3.put("media", "top.txt", b"hello");

    let root = f.list("/", "", 0);
    assert_eq!(root["bucketName"], "media");
    let mut entries: Vec<(String, u64)> = root["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["type"].as_u64().unwrap(),
            )
        })
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        [("many/".to_string(), 2), ("top.txt".to_string(), 1)]
    );
    let top = root["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "top.txt")
        .unwrap();
    assert_eq!(top["size"], 5);
    assert!(top["lastModifiedUtc"].as_str().unwrap().ends_with('Z'));

    // The documented default page is 1000; 1051 entries take two pages.
    let (all, pages) = f.list_all("many/", 0);
    assert_eq!(pages, 2);
    let unique: BTreeSet<String> = names(&all).into_iter().collect();
    assert_eq!(all.len(), 1051, "every entry once");
    assert_eq!(unique.len(), 1051);
    assert!(unique.contains("sub"));
    assert!(unique.contains("file-1049.bin"));

    let (small, pages) = f.list_all("many", 300);
    assert_eq!((small.len(), pages), (1051, 4));
}

#[test]
fn folders_and_deletes_change_the_bucket() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    let mut body = docs::example("cloud.md", "### Create Folder");
    body["cloudAccount"] = json!({"id": f.account});
    body["storageName"] = json!("media");
    f.post("/cloud/create_folder", body.clone()).expect(200);
    // s3s-fs keeps a folder marker as a directory, and (unlike S3) lists no empty folder.
    assert!(f.s3.path("media", "photos/vacation-2026").is_dir());
    f.s3.put("media", "photos/vacation-2026/a.jpg", b"a");
    let photos = f.list("photos/", "", 0);
    assert_eq!(names(photos["data"].as_array().unwrap()), ["vacation-2026"]);
    assert_eq!(photos["data"][0]["type"], 2);
    assert_eq!(photos["path"], "photos/");

    for bad in ["a/b", "..", ""] {
        let mut b = body.clone();
        b["folderName"] = json!(bad);
        f.post("/cloud/create_folder", b).expect_error("DEFAULT");
    }

    f.s3.put("media", "photos/vacation-2026/b.jpg", b"b");
    f.s3.put("media", "photos/keep.jpg", b"k");
    f.post("/cloud/delete_object", f.object("photos/keep.jpg"))
        .expect(200);
    assert!(!f.s3.exists("media", "photos/keep.jpg"));
    // A folder goes with everything in it.
    f.post("/cloud/delete_object", f.object("photos/vacation-2026/"))
        .expect(200);
    assert!(!f.s3.exists("media", "photos/vacation-2026/a.jpg"));
    assert!(names(f.list("photos/", "", 0)["data"].as_array().unwrap()).is_empty());

    let mut missing_bucket = f.object("x");
    missing_bucket["storageName"] = json!("nope");
    f.post("/cloud/delete_object", missing_bucket)
        .expect_error("NOT_FOUND");
    f.post("/cloud/delete_object", f.object(""))
        .expect_error("DEFAULT");
}

#[test]
fn presigned_urls_work_for_a_plain_http_client() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + 3) as u8).collect();

    let mut up = docs::example("cloud.md", "### Generate Upload URL");
    up["cloudAccount"] = json!({"id": f.account});
    up["storageName"] = json!("media");
    up["key"] = json!("uploads/odd name+1.bin");
    let url: String = serde_json::from_value(
        f.post("/cloud/generate_upload_url", up.clone())
            .expect(200)
            .json(),
    )
    .unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    fetch(
        "PUT",
        &url,
        &[("Content-Type", "application/octet-stream")],
        &content,
    )
    .expect(200);
    let stored = std::fs::read(f.s3.path("media", "uploads/odd name+1.bin")).unwrap();
    assert!(stored == content, "the uploaded bytes arrived unchanged");

    let mut down = docs::example("cloud.md", "### Generate Download URL");
    down["cloudAccount"] = json!({"id": f.account});
    down["storageName"] = json!("media");
    down["key"] = json!("uploads/odd name+1.bin");
    let url: String = serde_json::from_value(
        f.post("/cloud/generate_download_url", down.clone())
            .expect(200)
            .json(),
    )
    .unwrap();
    let got = fetch("GET", &url, &[], b"").expect(200);
    assert!(got.body == content, "the downloaded bytes match");

    let mut attachment = down.clone();
    attachment["forceToDownload"] = json!(true);
    let url_attachment: String = serde_json::from_value(
        f.post("/cloud/generate_download_url", attachment)
            .expect(200)
            .json(),
    )
    .unwrap();
    assert!(
        url_attachment.contains("response-content-disposition=attachment"),
        "{url_attachment}"
    );
    let got = fetch("GET", &url_attachment, &[], b"").expect(200);
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename=\"odd name+1.bin\"")
    );

    // A tampered URL is refused by the server: the signature covers the key.
    let forged = url.replace("odd%20name", "other%20name");
    assert_eq!(fetch("GET", &forged, &[], b"").status, 403);

    for (hours, ok) in [(1, true), (168, true), (169, false)] {
        let mut b = down.clone();
        b["expireHours"] = json!(hours);
        let r = f.post("/cloud/generate_download_url", b);
        if ok {
            r.expect(200);
        } else {
            r.expect_error("DEFAULT");
        }
    }
    let mut b = down.clone();
    b["key"] = json!("x".repeat(1025));
    f.post("/cloud/generate_download_url", b)
        .expect_error("DEFAULT");
}

#[test]
fn download_links_are_emailed() {
    if desktop_only("cloud providers") {
        return;
    }
    let f = Fixture::new();
    f.s3.put("media", "photos/file.jpg", b"jpeg bytes");
    let mut body = docs::example("cloud.md", "### Send Download URL");
    body["cloudAccountId"] = json!(f.account);
    body["email"] = json!("friend@example.com");
    body["storageName"] = json!("media");
    f.post("/cloud/send_download_url", body.clone()).expect(200);
    let mail = f.agent.last_mail("download-link", "friend@example.com");
    assert!(mail.raw.contains("Please review"), "{}", mail.raw);
    let got = fetch("GET", &mail.token, &[], b"").expect(200);
    assert_eq!(got.body, b"jpeg bytes");

    body["email"] = json!("not an address");
    f.post("/cloud/send_download_url", body.clone())
        .expect_error("INVALID_EMAIL");
    body["email"] = json!("friend@example.com");
    body["cloudAccountId"] = json!("");
    f.post("/cloud/send_download_url", body)
        .expect_error("DEFAULT");
}
