//! Cloud Drives and the object routes of File System Operations (management.md) against a
//! real S3 server (s3s-fs): the drive's configuration as documented, paths owned by drives,
//! object metadata, byte ranges, presigned URLs a plain client uses, folder-rename status,
//! and shared cloud drives turned into local drives for the users they are assigned to.

use click_blackbox::s3::{S3Server, fetch};
use click_blackbox::{Account, Agent, Value, desktop_only, docs, encode, json};

/// A real S3 server with the docs' `my-bucket`, and an agent.
fn setup() -> (S3Server, Agent) {
    let s3 = S3Server::start();
    s3.put("my-bucket", "photos/file.jpg", b"0123456789");
    s3.put("my-bucket", "photos/2026/a.txt", b"a");
    s3.put("my-bucket", "docs/readme.md", b"# hi");
    (s3, Agent::start())
}

/// The account owner and a cloud account on `s3`.
fn owner<'a>(agent: &'a Agent, s3: &S3Server) -> (Account<'a>, String) {
    let a = Account::new(agent, "owner@example.com");
    let cloud = click_blackbox::insert_cloud_account(agent, &a.token, s3.account("s3"));
    (a, cloud)
}

/// The documented insert body, on the test's cloud account, with `changes` applied.
fn insert_body(cloud: &str, changes: Value) -> Value {
    let mut body = docs::example("management.md", "### Insert Cloud Drive");
    body["account"]["id"] = json!(cloud);
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn path_query(route: &str, path: &str) -> String {
    format!("{route}?path={}", encode(path))
}

#[test]
fn drives_are_stored_as_documented_and_found_by_their_paths() {
    if desktop_only("cloud drives") {
        return;
    }
    let (_s3, agent) = setup();
    let (a, cloud) = owner(&agent, &_s3);
    let d = a
        .post("/management/clouddrive", insert_body(&cloud, json!({})))
        .expect(200)
        .json();
    let doc = &docs::example("management.md", "### Get Cloud Drives")[0];
    for field in doc.as_object().unwrap().keys() {
        assert!(d.get(field).is_some(), "{field} missing from {d}");
    }
    assert_eq!(d["name"], "Team Drive");
    assert_eq!(d["keepFileAfterUpload"], true);
    assert_eq!(d["transferOptions"], doc["transferOptions"]);
    assert_eq!(
        d["account"]["cloudType"], 8,
        "taken from the stored account"
    );
    let root = d["localPath"].as_str().unwrap().to_string();
    let cache = d["permanentLocalPath"].as_str().unwrap().to_string();
    assert!(
        root.starts_with(&agent.data_dir.display().to_string()),
        "{root}"
    );
    assert!(
        cache.ends_with(d["id"].as_str().unwrap()),
        "$$$ chooses <cache>/<id>: {cache}"
    );

    // The same name or drive letter twice is a DUPLICATE; bad values name their field.
    a.post(
        "/management/clouddrive",
        insert_body(&cloud, json!({"driveName": "H"})),
    )
    .expect_error("DUPLICATE");
    a.post(
        "/management/clouddrive",
        insert_body(&cloud, json!({"name": "Other"})),
    )
    .expect_error("DUPLICATE");
    let bad = a
        .post(
            "/management/clouddrive",
            insert_body(
                &cloud,
                json!({"name": "B", "driveName": "", "driveType": 7}),
            ),
        )
        .expect_error("DEFAULT");
    assert!(bad.contains("driveType"), "{bad}");
    let escape = a
        .post(
            "/management/clouddrive",
            insert_body(
                &cloud,
                json!({"name": "C", "driveName": "", "localPath": "/etc/click"}),
            ),
        )
        .expect_error("SECURITY");
    assert!(escape.contains("localPath"), "{escape}");

    // Paths: inside the mount point or the cache, nothing else.
    let file = format!("{root}/photos/file.jpg");
    assert_eq!(
        a.get(&path_query("/management/exist_clouddrive", &file)),
        json!("1")
    );
    assert_eq!(
        a.get(&path_query(
            "/management/exist_clouddrive",
            &format!("{cache}/x")
        )),
        json!("1")
    );
    assert_eq!(
        a.get(&path_query(
            "/management/exist_clouddrive",
            "/tmp/elsewhere"
        )),
        json!("0")
    );
    let owned = a.get(&path_query("/management/clouddrive", &file));
    assert_eq!(owned.as_array().unwrap().len(), 1);
    assert_eq!(owned[0]["id"], d["id"]);
    assert_eq!(
        a.get(&path_query("/management/clouddrive", "/tmp/x")),
        json!([])
    );
    assert_eq!(a.get("/management/clouddrive").as_array().unwrap().len(), 1);
    let letters = a.get("/management/list_available_drives");
    assert!(
        !letters.as_array().unwrap().contains(&json!("G")),
        "{letters}"
    );
    assert!(letters.as_array().unwrap().contains(&json!("H")));

    // Update replaces; the cache route changes only the cache's fields.
    let id = d["id"].as_str().unwrap();
    let mut changed = d.clone();
    changed["syncIntervalSeconds"] = json!(300);
    changed["allowDelete"] = json!(false);
    let u = a
        .put(&format!("/management/clouddrive/{id}"), changed)
        .expect(200)
        .json();
    assert_eq!(
        (u["syncIntervalSeconds"].clone(), u["allowDelete"].clone()),
        (json!(300), json!(false))
    );
    let c = a
        .put(
            &format!("/management/clouddrive_change_cache/{id}"),
            json!({"name": "Renamed?", "maximumCacheSize": 1048576, "rotationalCache": false}),
        )
        .expect(200)
        .json();
    assert_eq!(c["name"], "Team Drive", "only cache fields change");
    assert_eq!(
        (c["maximumCacheSize"].clone(), c["rotationalCache"].clone()),
        (json!(1048576), json!(false))
    );
    assert_eq!(
        a.get("/management/clouddrive")[0],
        c,
        "what was answered is what is stored"
    );

    // A cloud account in use by a drive cannot go; an unknown drive is the documented 404.
    let refused = a
        .delete(&format!("/cloud/delete?id={cloud}"))
        .expect_error("DEFAULT");
    assert!(refused.contains("Team Drive"), "{refused}");
    let unknown = "00000000-0000-0000-0000-000000000001";
    a.agent
        .get(&format!("/management/clouddrive/sync/{unknown}"))
        .token(&a.token)
        .send()
        .expect(404);
    a.agent
        .get(&format!("/management/clouddrive/sync/{id}?path=photos"))
        .token(&a.token)
        .send()
        .expect(200);
    a.delete(&format!("/management/clouddrive/{id}"))
        .expect(200);
    assert_eq!(a.get("/management/clouddrive"), json!([]));
    a.delete(&format!("/management/clouddrive/{id}"))
        .expect_error("NOT_FOUND");
}

#[test]
fn object_routes_read_the_bucket_through_the_drive() {
    if desktop_only("cloud drives") {
        return;
    }
    let (s3, agent) = setup();
    let (a, cloud) = owner(&agent, &s3);
    let d = a
        .post(
            "/management/clouddrive",
            insert_body(&cloud, json!({"allowDelete": false})),
        )
        .expect(200)
        .json();
    let root = d["localPath"].as_str().unwrap().to_string();
    let file = format!("{root}/photos/file.jpg");

    assert_eq!(
        a.get(&path_query("/management/object_status", &file)),
        json!(0)
    );
    let info = a.get(&path_query("/management/object_info", &file));
    assert_eq!(info["size"], 10);
    assert_eq!(info["isDirectory"], false);
    assert_eq!(info["bucketName"], "my-bucket");
    assert_eq!(info["path"], json!(file));
    let listing = a.get(&path_query(
        "/management/objects_info",
        &format!("{root}/photos"),
    ));
    let mut names: Vec<(String, bool)> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                o["isDirectory"].as_bool().unwrap(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("2026".to_string(), true), ("file.jpg".to_string(), false)]
    );

    // Inclusive byte ranges, streamed.
    let range = a
        .agent
        .get(&format!(
            "/management/get_object_stream?path={}&start=2&end=5",
            encode(&file)
        ))
        .token(&a.token)
        .send()
        .expect(200);
    assert_eq!(range.body, b"2345");
    assert_eq!(
        range.header("content-type"),
        Some("application/octet-stream")
    );
    let tail = a
        .agent
        .get(&format!(
            "/management/get_object_stream?path={}&start=7",
            encode(&file)
        ))
        .token(&a.token)
        .send()
        .expect(200);
    assert_eq!(tail.body, b"789");
    a.agent
        .get(&format!(
            "/management/get_object_stream?path={}&start=5&end=2",
            encode(&file)
        ))
        .token(&a.token)
        .send()
        .expect_error("DEFAULT");

    // Paths no drive owns: the documented 404s; traversal: SECURITY.
    for route in [
        "/management/object_status",
        "/management/get_object_stream",
        "/management/get_directory_rename_status",
        "/management/object_download",
    ] {
        a.agent
            .get(&path_query(route, "/tmp/not-a-drive/x"))
            .token(&a.token)
            .send()
            .expect(404);
    }
    a.agent
        .get(&path_query(
            "/management/object_info",
            &format!("{root}/photos/../../../etc/passwd"),
        ))
        .token(&a.token)
        .send()
        .expect_error("SECURITY");
    a.agent
        .get(&path_query(
            "/management/object_info",
            &format!("{root}/photos/none.jpg"),
        ))
        .token(&a.token)
        .send()
        .expect_error("NOT_FOUND");

    // Deleting needs allowDelete and ReadWrite: 403 as documented.
    a.agent
        .call("POST", &path_query("/management/object_delete", &file))
        .token(&a.token)
        .send()
        .expect(403);
    assert!(s3.exists("my-bucket", "photos/file.jpg"));

    // Presigned URLs for the drive named by its name, used by a plain HTTP client.
    let urls = a
        .post(
            "/management/generate_presigned_urls",
            json!({"driveName": "Team Drive", "relativePath": "photos/file.jpg", "uploadKey": "photos/new.jpg"}),
        )
        .expect(200)
        .json();
    let got = fetch("GET", urls["downloadUrl"].as_str().unwrap(), &[], b"");
    assert_eq!((got.status, got.body.as_slice()), (200, &b"0123456789"[..]));
    let put = fetch("PUT", urls["uploadUrl"].as_str().unwrap(), &[], b"uploaded");
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(
        std::fs::read(s3.path("my-bucket", "photos/new.jpg")).unwrap(),
        b"uploaded"
    );
    a.post(
        "/management/generate_presigned_urls",
        json!({"driveName": "No Such Drive", "relativePath": "a", "uploadKey": "a"}),
    )
    .expect(404);

    // A folder with objects under it is not renamed away; an empty one is.
    let status = |p: &str| {
        a.get(&path_query(
            "/management/get_directory_rename_status",
            &format!("{root}/{p}"),
        ))
    };
    assert_eq!(status("photos"), json!(false));
    assert_eq!(status("moved-away"), json!(true));
}

#[test]
fn shared_cloud_drives_become_local_drives_of_the_users_they_are_assigned_to() {
    if desktop_only("cloud drives") {
        return;
    }
    let (s3, agent) = setup();
    let (a, cloud) = owner(&agent, &s3);
    let mut body = docs::example("sharedclouddrive.md", "## Insert Shared Cloud Drive");
    body["cloudAccountId"] = json!(cloud);
    body["storageName"] = json!("my-bucket");
    body["prefix"] = json!("photos/");
    let shared = a.post("/sharedclouddrive/insert", body).expect(200).json();
    let shared_id = shared["id"].as_str().unwrap();
    let (member, member_token) = a.user("editor@example.com", 64);
    a.post(
        "/userspermission/users_sharedclouddrive_permision",
        json!([{"userId": member, "sharedCloudDriveId": shared_id, "permissionType": 1}]),
    )
    .expect(200);
    let drives = |token: &str| {
        agent
            .get("/management/clouddrive")
            .token(token)
            .send()
            .expect(200)
            .json()
    };
    agent
        .post("/management/sync_shareddrive", json!({}))
        .token(&member_token)
        .send()
        .expect(200);
    let mine = drives(&member_token);
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let d = &mine[0];
    assert_eq!(
        (d["sharedDrive"].clone(), d["sharedDriveId"].clone()),
        (json!(true), json!(shared_id))
    );
    assert_eq!(
        (
            d["name"].clone(),
            d["storageName"].clone(),
            d["prefix"].clone()
        ),
        (shared["name"].clone(), json!("my-bucket"), json!("photos/"))
    );
    assert_eq!(d["permissionType"], 1, "the assignment's Read permission");
    assert_eq!(d["syncType"], 2);
    // The member reads objects through it, with the admin's (private) cloud account.
    let file = format!("{}/file.jpg", d["localPath"].as_str().unwrap());
    let info = agent
        .get(&path_query("/management/object_info", &file))
        .token(&member_token)
        .send()
        .expect(200)
        .json();
    assert_eq!(info["size"], 10);

    // Syncing again changes nothing; once the shared drive is gone, so is the local one.
    agent
        .post("/management/sync_shareddrive", json!({}))
        .token(&member_token)
        .send()
        .expect(200);
    assert_eq!(drives(&member_token), mine);
    a.delete(&format!("/sharedclouddrive/delete?id={shared_id}"))
        .expect(200);
    agent
        .post("/management/sync_shareddrive", json!({}))
        .token(&member_token)
        .send()
        .expect(200);
    assert_eq!(drives(&member_token), json!([]));
}
