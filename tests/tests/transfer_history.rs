//! Transfer History (`transferhistory.md`: `/transferhistory/get_all`, `/transferhistory/delete`)
//! through the agent binary against a real S3 server (s3s-fs): every transfer that ends is
//! recorded (an upload, a download, a cloud-to-cloud copy, one that failed) and so is each file
//! a backup moved, as the documented `TransferHistoryDetail` with the names it is joined with;
//! the documented filters, sorting and paging; an admin sees the account's records and a member
//! only their own; records survive a `kill -9`; only the user a record belongs to deletes it,
//! and deleting it leaves the objects alone.

use std::path::Path;
use std::time::{Duration, Instant};

use click_blackbox::backup::{self, BUCKET, RUN};
use click_blackbox::s3::S3Server;
use click_blackbox::{
    Account, Agent, Options, PASSWORD, Value, desktop_only, docs, insert_cloud_account, json,
    login, login_as, member, pattern, wait_for_transfer, wait_until,
};

/// `TransferStatus` and the other documented flags.
const COMPLETED: u64 = 4;
const ERROR: u64 = 16;
const DIRECT: u64 = 1;
const SYNC: u64 = 4;
const UPLOAD: u64 = 1;
const DOWNLOAD: u64 = 2;

/// The agent of these tests: transfers may use `root`.
fn options(root: &Path, data_dir: &Path) -> Options {
    Options {
        config: format!("[transfers]\nroots = [\"{}\"]\n", root.display()),
        data_dir: Some(data_dir.to_path_buf()),
        ..Options::default()
    }
}

struct World {
    s3: S3Server,
    agent: Agent,
    owner: String,
    cloud: String,
    root: std::path::PathBuf,
    data_dir: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let s3 = S3Server::start();
        for bucket in ["media", "archive", BUCKET] {
            s3.bucket(bucket);
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("files");
        std::fs::create_dir_all(&root).unwrap();
        let data_dir = tmp.path().join("data");
        let agent = Agent::start_with(options(&root, &data_dir));
        let owner = click_blackbox::signup_and_login(&agent, "owner@example.com");
        let cloud = insert_cloud_account(&agent, &owner, s3.account("Team S3"));
        World {
            s3,
            agent,
            owner,
            cloud,
            root,
            data_dir,
            _tmp: tmp,
        }
    }

    fn restart(&mut self) {
        self.agent.kill();
        self.agent = Agent::start_with(options(&self.root, &self.data_dir));
        self.owner = login(&self.agent, "owner@example.com", PASSWORD);
    }

    /// Uploads `bytes` as `key` of `media` with `token`'s cloud account `cloud`; waits for it.
    fn upload(&self, token: &str, cloud: &str, key: &str, bytes: &[u8]) -> String {
        let (folder, name) = key.rsplit_once('/').unwrap_or(("", key));
        let local = self.root.join(name);
        std::fs::write(&local, bytes).unwrap();
        let mut body = docs::example("cloud.md", "### Upload Object");
        body["cloudAccount"] = json!({"id": cloud, "cloudType": 8});
        body["storageName"] = json!("media");
        body["uploadPath"] = json!(folder);
        body["localFilePath"] = json!(local.display().to_string());
        body["name"] = json!("");
        self.client(token, "/cloud/upload_object", body)
    }

    fn download(&self, key: &str, folder: &Path) -> String {
        let mut body = docs::example("cloud.md", "### Download Object");
        body["cloudAccount"] = json!({"id": self.cloud, "cloudType": 8});
        body["storageName"] = json!("media");
        body["objectKey"] = json!(key);
        body["downloadPath"] = json!(folder.display().to_string());
        body["name"] = json!("");
        self.client(&self.owner, "/cloud/download_object", body)
    }

    fn client(&self, token: &str, path: &str, body: Value) -> String {
        let r = self.agent.post(path, body).token(token).send().expect(200);
        let id = r.json()["transferId"].as_str().unwrap().to_string();
        wait_for_transfer(&self.agent, token, &id, "completed");
        id
    }

    /// A cloud-to-cloud transfer of `media/<path>` into `archive/copies/`; waits until it ends
    /// in `status`.
    fn copy(&self, path: &str, status: u64) -> String {
        let mut body = docs::example("transfer.md", "### Request Body");
        body["sourceCloudAccountId"] = json!(self.cloud);
        body["sourceBucket"] = json!("media");
        body["sourcePath"] = json!(path);
        body["destinationCloudAccountId"] = json!(self.cloud);
        body["destinationBucket"] = json!("archive");
        body["destinationPath"] = json!("copies/");
        let t = self
            .agent
            .post("/transfer/transfer", body)
            .token(&self.owner)
            .send()
            .expect(200)
            .json();
        let id = t["id"].as_str().unwrap().to_string();
        wait_until(
            "the cloud-to-cloud transfer",
            Duration::from_secs(60),
            || {
                let all = self
                    .agent
                    .get("/transfer/get_all")
                    .token(&self.owner)
                    .send()
                    .expect(200)
                    .json();
                let t = all["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["id"] == id);
                t.is_some_and(|t| t["transferStatus"] == status)
            },
        );
        id
    }

    /// `GET /transferhistory/get_all` with `query` (the documented parameter names).
    fn history(&self, token: &str, query: &str) -> Value {
        let page = self
            .agent
            .get(&format!("/transferhistory/get_all?{query}"))
            .token(token)
            .send()
            .expect(200)
            .json();
        assert!(page["total"].is_u64(), "a DTOCollection: {page}");
        page
    }

    fn delete(&self, token: &str, id: &str) -> click_blackbox::Resp {
        self.agent
            .call("DELETE", &format!("/transferhistory/delete?id={id}"))
            .token(token)
            .send()
    }
}

/// The record with this id in a page.
fn record<'a>(page: &'a Value, id: &str) -> &'a Value {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not in {page}"))
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// The fields `record` has that both ends of a transfer fill, checked against `want`.
#[track_caller]
fn assert_fields(r: &Value, want: Value) {
    for (field, value) in want.as_object().unwrap() {
        assert_eq!(&r[field], value, "{field} of {r}");
    }
}

#[test]
fn every_ended_transfer_is_recorded_as_documented_and_filtered_sorted_and_paged() {
    if desktop_only("transfer history") {
        return;
    }
    let w = World::new();
    let documented = docs::example("transferhistory.md", "### Response");
    let fields = docs::keys(&documented["data"][0]);

    let small = pattern(3000, 1);
    let up = w.upload(&w.owner, &w.cloud, "clips/a.mov", &small);
    let down_dir = w.root.join("down");
    std::fs::create_dir_all(&down_dir).unwrap();
    let down = w.download("clips/a.mov", &down_dir);
    w.s3.put("media", "clips/b.mov", &pattern(7000, 2));
    w.s3.put("media", "clips/c/d.mov", &pattern(11, 3));
    let copy = w.copy("clips/", COMPLETED);
    let failed = w.copy("nothing-here/", ERROR);

    // A backup's files are recorded one by one, as its report shows them.
    let a = Account {
        agent: &w.agent,
        token: w.owner.clone(),
    };
    let folder = backup::folder_of(&w.agent, "Pictures");
    std::fs::write(folder.join("one.jpg"), b"one").unwrap();
    std::fs::write(folder.join("two.jpg"), b"two!").unwrap();
    a.post(
        "/management/cloudbackup",
        backup::body(&w.cloud, &folder, json!({})),
    )
    .expect(200);
    wait_until("the backup's two files in the history", RUN, || {
        w.history(&w.owner, "origin=4")["total"] == 2
    });

    // The documented example's query: page 1 of 25, completed ones.
    let page = w.history(&w.owner, "page=1&pagesize=25&status=4");
    assert_eq!(
        page["total"], 5,
        "upload, download, copy, two files: {page}"
    );
    assert_eq!(page["options"]["page"], 1);
    assert_eq!(page["options"]["pageSize"], 25);
    for r in page["data"].as_array().unwrap() {
        assert_eq!(docs::keys(r), fields, "exactly the documented fields: {r}");
    }
    let (user_id, account_id) = {
        let r = record(&page, &up);
        (r["userId"].clone(), r["accountId"].clone())
    };
    let owner = json!({
        "userId": user_id, "accountId": account_id,
        "userEmail": "owner@example.com", "userName": "owner@example.com",
    });
    let r = record(&page, &up);
    assert_fields(r, owner.clone());
    assert_fields(
        r,
        json!({
            "origin": DIRECT, "direction": UPLOAD, "transferStatus": COMPLETED,
            "sourceCloudAccountId": "", "sourceCloudProvider": 0, "sourceBucket": "",
            "sourcePath": w.root.join("a.mov").display().to_string(),
            "destinationCloudAccountId": w.cloud, "destinationCloudProvider": 8,
            "destinationBucket": "media", "destinationPath": "clips/a.mov",
            "destinationCloudAccountName": "Team S3", "sourceCloudAccountName": "",
            "totalObjects": 1, "transferredObjects": 1, "failedObjects": 0, "skippedObjects": 0,
            "totalSize": 3000, "transferredSize": 3000,
            "totalSizeString": "2.9 KB", "transferredSizeString": "2.9 KB",
            "errorMessage": null, "name": "a.mov",
        }),
    );
    assert!(r["averageSpeed"].as_f64().unwrap() > 0.0, "{r}");
    assert!(
        r["startDate"].as_str().unwrap() <= r["endDate"].as_str().unwrap(),
        "{r}"
    );
    assert_fields(
        record(&page, &down),
        json!({
            "origin": DIRECT, "direction": DOWNLOAD,
            "sourceCloudAccountId": w.cloud, "sourceBucket": "media",
            "sourcePath": "clips/a.mov", "sourceCloudAccountName": "Team S3",
            "destinationCloudAccountId": "", "destinationCloudAccountName": "",
            "totalSize": 3000, "transferredSize": 3000,
        }),
    );
    let c = record(&page, &copy);
    assert_fields(c, owner);
    assert_fields(
        c,
        json!({
            "origin": DIRECT, "direction": UPLOAD,
            "sourceCloudAccountId": w.cloud, "sourceCloudProvider": 8, "sourceBucket": "media",
            "sourcePath": "clips/", "sourceCloudAccountName": "Team S3",
            "destinationCloudAccountId": w.cloud, "destinationCloudProvider": 8,
            "destinationBucket": "archive", "destinationPath": "copies/",
            "destinationCloudAccountName": "Team S3",
            "totalObjects": 3, "transferredObjects": 3, "failedObjects": 0,
            "totalSize": 3000 + 7000 + 11, "transferredSize": 3000 + 7000 + 11,
        }),
    );

    // What failed is recorded with why.
    let errors = w.history(&w.owner, "status=16");
    assert_eq!(ids(&errors), [failed.as_str()], "{errors}");
    let e = record(&errors, &failed);
    assert!(
        e["errorMessage"].as_str().is_some_and(|m| !m.is_empty()),
        "{e}"
    );

    // Each backup file, from the folder to the bucket, as a sync's.
    let files = w.history(&w.owner, "origin=4&sortfield=TotalSize&descending=false");
    let sizes: Vec<u64> = files["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["totalSize"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [3, 4], "ascending by size: {files}");
    let one = &files["data"][0];
    assert_fields(
        one,
        json!({
            "origin": SYNC, "direction": UPLOAD, "transferStatus": COMPLETED,
            "sourcePath": folder.join("one.jpg").display().to_string(),
            "destinationBucket": BUCKET, "destinationCloudAccountName": "Team S3",
            "name": "Daily photos", "totalObjects": 1,
        }),
    );
    assert!(
        one["destinationPath"]
            .as_str()
            .unwrap()
            .ends_with("one.jpg"),
        "{one}"
    );

    // The filters, each alone and together; sorting and paging.
    assert_eq!(ids(&w.history(&w.owner, "direction=2")), [down.as_str()]);
    assert_eq!(w.history(&w.owner, "origin=1")["total"], 4);
    assert_eq!(w.history(&w.owner, "origin=5&status=20")["total"], 6);
    assert_eq!(w.history(&w.owner, "origin=2")["total"], 0);
    assert_eq!(w.history(&w.owner, "status=8")["total"], 0);
    let all = w.history(&w.owner, "");
    assert_eq!(all["total"], 6);
    assert_eq!(all["options"]["pageSize"], 50, "the documented default");
    let starts: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["startDate"].as_str().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|p| p[0] >= p[1]),
        "newest first by default: {starts:?}"
    );
    let by_size = ids(&w.history(&w.owner, "sortfield=TotalSize&descending=true"));
    assert_eq!(by_size[0], copy, "the biggest first");
    let second = w.history(&w.owner, "page=2&pagesize=4");
    assert_eq!(ids(&second), ids(&all)[4..].to_vec(), "page 2 of 4");
    for bad in [
        "sortfield=Bogus",
        "status=-1",
        "direction=3",
        "origin=x",
        "page=0",
    ] {
        w.agent
            .get(&format!("/transferhistory/get_all?{bad}"))
            .token(&w.owner)
            .send()
            .expect_error("DEFAULT");
    }
    w.agent.get("/transferhistory/get_all").send().expect(401);
}

#[test]
fn members_see_their_own_records_which_survive_a_restart_and_only_they_delete() {
    if desktop_only("transfer history") {
        return;
    }
    let mut w = World::new();
    let (_, member_token) = member(&w.agent, &w.owner, "user@example.com", 64);
    let theirs = insert_cloud_account(&w.agent, &member_token, w.s3.account("Mine"));
    let mine = w.upload(&w.owner, &w.cloud, "owner.bin", b"owner's");
    let their = w.upload(&member_token, &theirs, "member.bin", b"member's");

    let own = w.history(&member_token, "");
    assert_eq!(
        ids(&own),
        [their.as_str()],
        "a member sees their own: {own}"
    );
    assert_eq!(record(&own, &their)["userEmail"], "user@example.com");
    assert_eq!(record(&own, &their)["destinationCloudAccountName"], "Mine");
    let everyone = w.history(&w.owner, "");
    assert_eq!(
        everyone["total"], 2,
        "an admin sees the account's: {everyone}"
    );

    let other = click_blackbox::signup_and_login(&w.agent, "other@example.com");
    assert_eq!(w.history(&other, "")["total"], 0, "nor another account");

    // Records are kept in the agent's database.
    w.restart();
    let member_token = login_as(&w.agent, "user@example.com", PASSWORD, 64);
    assert_eq!(w.history(&w.owner, "")["total"], 2, "after a kill -9");

    w.delete(&other, &their).expect_error("NOT_FOUND");
    assert_eq!(w.delete(&w.owner, &their).status, 403, "not the admin's");
    w.delete(&member_token, &mine).expect_error("NOT_FOUND");
    w.delete(&w.owner, "00000000-0000-0000-0000-000000000001")
        .expect_error("NOT_FOUND");
    w.agent
        .call("DELETE", "/transferhistory/delete")
        .token(&w.owner)
        .send()
        .expect_error("DEFAULT");
    w.delete(&member_token, &their).expect(200);
    w.delete(&w.owner, &mine).expect(200);
    w.delete(&w.owner, &mine).expect_error("NOT_FOUND");
    assert_eq!(w.history(&w.owner, "")["total"], 0);
    assert_eq!(
        std::fs::read(w.s3.path("media", "member.bin")).unwrap(),
        b"member's",
        "deleting a record leaves the object"
    );
    assert!(w.s3.path("media", "owner.bin").exists());

    // A backup file's record goes the same way, and the backup's report follows.
    let folder = backup::folder_of(&w.agent, "Pictures");
    std::fs::write(folder.join("one.jpg"), b"one").unwrap();
    let a = Account {
        agent: &w.agent,
        token: w.owner.clone(),
    };
    let b = a
        .post(
            "/management/cloudbackup",
            backup::body(&w.cloud, &folder, json!({})),
        )
        .expect(200)
        .json();
    let deadline = Instant::now() + RUN;
    let file = loop {
        let page = w.history(&w.owner, "origin=4");
        if let Some(id) = ids(&page).pop() {
            break id;
        }
        assert!(Instant::now() < deadline, "the backup's file: {page}");
        std::thread::sleep(Duration::from_millis(50));
    };
    w.delete(&member_token, &file).expect_error("NOT_FOUND");
    w.delete(&w.owner, &file).expect(200);
    assert_eq!(w.history(&w.owner, "")["total"], 0);
    let report = a.get(&format!(
        "/backupreport/transfer_activity/{}",
        b["id"].as_str().unwrap()
    ));
    assert_eq!(report["Total"], 0, "{report}");
    assert!(
        backup::in_bucket(&w.s3, "photos/one.jpg").is_some(),
        "the file stays in the bucket"
    );
}
