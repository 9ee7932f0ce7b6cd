//! SharedCloudDrive (sharedclouddrive.md) and its assignments in projects.md and
//! userspermission.md: drives backed by a real cloud account (on s3s-fs), seen from both
//! sides of every relation, visible to members through users, groups and projects, and
//! removed with everything that pointed at them.

use click_blackbox::s3::S3Server;
use click_blackbox::{Account, Agent, Value, desktop_only, docs, json};

fn ids(page: &Value, field: &str) -> Vec<String> {
    let mut v: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn cloud_account(a: &Account<'_>, s3: &S3Server) -> String {
    click_blackbox::insert_cloud_account(a.agent, &a.token, s3.account("backing"))
}

fn drive(a: &Account<'_>, name: &str, cloud: &str) -> Value {
    let mut body = docs::example("sharedclouddrive.md", "## Insert Shared Cloud Drive");
    body["name"] = json!(name);
    body["cloudAccountId"] = json!(cloud);
    a.post("/sharedclouddrive/insert", body).expect(200).json()
}

#[test]
fn drives_are_named_records_backed_by_a_cloud_account() {
    if desktop_only("cloud providers") {
        return;
    }
    let s3 = S3Server::start();
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let cloud = cloud_account(&a, &s3);

    let d = drive(&a, "Creative", &cloud);
    for (field, value) in [
        ("name", json!("Creative")),
        ("cloudAccountId", json!(cloud)),
        ("storageName", json!("my-shared-bucket")),
        ("prefix", json!("projects/creative/")),
        ("objectsPerFolder", json!(10000)),
        ("allowDelete", json!(false)),
        ("driveType", json!(1)),
        ("syncType", json!(2)),
        ("active", json!(true)),
        ("deleted", json!(false)),
    ] {
        assert_eq!(d[field], value, "{field} in {d}");
    }
    let id = d["id"].as_str().unwrap().to_string();

    // Defaults for what a client leaves out; bad values named.
    let minimal = a
        .post(
            "/sharedclouddrive/insert",
            json!({"name": "Minimal", "cloudAccountId": cloud, "storageName": "b"}),
        )
        .expect(200)
        .json();
    assert_eq!(
        (
            &minimal["objectsPerFolder"],
            &minimal["syncType"],
            &minimal["prefix"]
        ),
        (&json!(10000), &json!(1), &json!(""))
    );
    for (body, code, says) in [
        (
            json!({"name": "X", "storageName": "b"}),
            "DEFAULT",
            "'cloudAccountId' is required",
        ),
        (
            json!({"name": "X", "cloudAccountId": cloud}),
            "DEFAULT",
            "'storageName' is required",
        ),
        (
            json!({"name": "X", "cloudAccountId": cloud, "storageName": "b", "driveType": 3}),
            "DEFAULT",
            "'driveType'",
        ),
        (
            json!({"name": "X", "cloudAccountId": cloud, "storageName": "b", "allowDelete": "yes"}),
            "DEFAULT",
            "'allowDelete'",
        ),
        (
            json!({"name": "X", "cloudAccountId": "2c9b3f0e-0000-4000-8000-000000000000", "storageName": "b"}),
            "NOT_FOUND",
            "cloud account",
        ),
        (
            json!({"name": "creative", "cloudAccountId": cloud, "storageName": "b"}),
            "DUPLICATE",
            "name",
        ),
    ] {
        let why = a
            .post("/sharedclouddrive/insert", body.clone())
            .expect_error(code);
        assert!(why.contains(says), "{body}: {why}");
    }

    // Update changes what is given and keeps the rest.
    let updated = a
        .put(
            "/sharedclouddrive/update",
            json!({"id": id, "prefix": "projects/new/", "allowDelete": true}),
        )
        .expect(200)
        .json();
    assert_eq!(updated["prefix"], "projects/new/");
    assert_eq!(updated["allowDelete"], true);
    assert_eq!(updated["storageName"], "my-shared-bucket");
    assert_eq!(updated["name"], "Creative");
    a.put(
        "/sharedclouddrive/update",
        json!({"id": id, "name": "Minimal"}),
    )
    .expect_error("DUPLICATE");

    let page = a.get("/sharedclouddrive/get_all?name=crea");
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["prefix"], "projects/new/");
    // web-api/sharedclouddrive.md: who created it, and its cloud account as /cloud/account
    // shows it (keys obfuscated).
    let owner = a.get("/authentication/user")["userId"].clone();
    for d in [&d, &updated, &page["data"][0]] {
        assert_eq!(d["creatorUserId"], owner, "{d}");
        assert_eq!(d["cloudAccount"]["id"], json!(cloud), "{d}");
        assert_eq!(d["cloudAccount"]["secretKey"], "********", "{d}");
    }
    let all = a.get("/sharedclouddrive/get_all?sortfield=Name&descending=true");
    assert_eq!(all["data"][0]["name"], "Minimal");

    // The cloud account cannot go while a drive uses it.
    let why = a
        .delete(&format!("/cloud/delete?id={cloud}"))
        .expect_error("DEFAULT");
    assert!(why.contains("delete the drive first"), "{why}");
    a.delete(&format!("/sharedclouddrive/delete?id={id}"))
        .expect(200);
    a.delete(&format!(
        "/sharedclouddrive/delete?id={}",
        minimal["id"].as_str().unwrap()
    ))
    .expect(200);
    a.delete(&format!("/cloud/delete?id={cloud}")).expect(200);
    assert_eq!(a.get("/sharedclouddrive/get_all")["total"], 0);
}

#[test]
fn assignments_are_seen_from_both_sides_and_go_with_the_drive() {
    if desktop_only("cloud providers") {
        return;
    }
    let s3 = S3Server::start();
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let cloud = cloud_account(&a, &s3);
    let drive_id = drive(&a, "Creative", &cloud)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hidden = drive(&a, "Finance", &cloud)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (direct, direct_token) = a.user("direct@example.com", 32);
    let (via_group, group_token) = a.user("grouped@example.com", 64);
    let (via_project, project_token) = a.user("projected@example.com", 64);
    let group = a.group("Editors");
    let project = a.project("Campaign");

    a.post(
        "/userspermission/users_sharedclouddrive_permision",
        json!([{"userId": direct, "sharedCloudDriveId": drive_id, "permissionType": 2}]),
    )
    .expect(200);
    a.post(
        "/usergroup/assign_users",
        json!([{"userId": via_group, "userGroupId": group}]),
    )
    .expect(200);
    a.post(
        "/userspermission/usergroup_sharedclouddrive_permission",
        json!([{"userGroupId": group, "sharedCloudDriveId": drive_id, "permissionType": 1}]),
    )
    .expect(200);
    a.post(
        "/userspermission/users_project_permission",
        json!([{"userId": via_project, "projectId": project, "permissionType": 1}]),
    )
    .expect(200);
    let mut assign = docs::example("projects.md", "## Assign Shared Cloud Drive");
    assign[0]["projectId"] = json!(project);
    assign[0]["sharedCloudDriveId"] = json!(drive_id);
    a.post("/projects/assign_sharedclouddrive", assign)
        .expect(200);

    // From the drive's side ...
    let users = a.get(&format!(
        "/userspermission/get_users_assigned_to_sharedclouddrive?sharedCloudDriveId={drive_id}"
    ));
    assert_eq!(users["data"][0]["user"]["username"], "direct@example.com");
    assert_eq!(users["data"][0]["permission"]["permissionType"], 2);
    // Documented as `sharedCloudDrive` here (the other routes' `sharedCloudDriveId` too).
    for param in ["sharedCloudDrive", "sharedCloudDriveId"] {
        let groups = a.get(&format!(
            "/userspermission/get_usergroups_assigned_to_sharedclouddrive?{param}={drive_id}"
        ));
        assert_eq!(groups["data"][0]["userGroup"]["name"], "Editors");
    }
    let projects = a.get(&format!(
        "/projects/get_assigned_projects?sharedCloudDriveId={drive_id}"
    ));
    assert_eq!(projects["data"][0]["project"]["name"], "Campaign");
    let details = a.get("/sharedclouddrive/get_all_with_details?name=Creative");
    let d = &details["data"][0];
    assert_eq!(d["users"][0]["username"], "direct@example.com");
    assert_eq!(d["userGroups"][0]["name"], "Editors");
    assert_eq!(d["projects"][0]["name"], "Campaign");
    assert_eq!(d["storageName"], "my-shared-bucket");

    // ... and from the other sides (the docs spell this sort field SharedClouDrive.Name).
    let of_user = a.get(&format!(
        "/userspermission/get_sharedclouddrive_assigned_to_user?userId={direct}&sortfield=SharedClouDrive.Name"
    ));
    assert_eq!(of_user["data"][0]["sharedCloudDrive"]["name"], "Creative");
    let of_group = a.get(&format!(
        "/userspermission/get_sharedclouddrive_assigned_to_usergroup?userGroupId={group}"
    ));
    assert_eq!(of_group["data"][0]["sharedCloudDrive"]["name"], "Creative");
    let of_project = a.get(&format!(
        "/projects/get_assigned_sharedclouddrives?projectId={project}"
    ));
    assert_eq!(
        of_project["data"][0]["sharedCloudDrive"]["name"],
        "Creative"
    );
    let project_details = a.get("/projects/get_all_with_details");
    assert_eq!(
        project_details["data"][0]["sharedCloudDrives"][0]["name"],
        "Creative"
    );
    let group_details = a.get("/usergroup/get_all_with_details");
    assert_eq!(
        group_details["data"][0]["sharedCloudDrives"][0]["name"],
        "Creative"
    );
    let user_details = a.get("/user/get_all_users_with_details?username=direct");
    assert_eq!(
        user_details["data"][0]["sharedCloudDrives"][0]["name"],
        "Creative"
    );
    let user_details = a.get("/user/get_all_users_with_details?username=grouped");
    assert_eq!(user_details["data"][0]["userGroups"][0]["name"], "Editors");
    let user_details = a.get("/user/get_all_users_with_details?username=projected");
    assert_eq!(user_details["data"][0]["projects"][0]["name"], "Campaign");

    // Members see the drives that reach them directly, through a group or a project; not
    // the others, and they change nothing.
    for token in [&direct_token, &group_token, &project_token] {
        let mine = agent
            .get("/sharedclouddrive/get_all")
            .token(token)
            .send()
            .expect(200)
            .json();
        assert_eq!(ids(&mine, "id"), vec![drive_id.clone()]);
        agent
            .post(
                "/sharedclouddrive/insert",
                json!({"name": "Mine", "cloudAccountId": cloud, "storageName": "b"}),
            )
            .token(token)
            .send()
            .expect_error("ACCESS");
    }
    agent
        .get(&format!(
            "/userspermission/get_users_assigned_to_sharedclouddrive?sharedCloudDriveId={hidden}"
        ))
        .token(&direct_token)
        .send()
        .expect_error("ACCESS");

    // Permissions change by assignment id; an assignment goes by its id.
    let assignment = users["data"][0]["id"].as_str().unwrap().to_string();
    a.put(
        "/userspermission/users_sharedclouddrive_permision",
        json!([{"id": assignment, "userId": direct, "sharedCloudDriveId": drive_id, "permissionType": 1}]),
    )
    .expect(200);
    let users = a.get(&format!(
        "/userspermission/get_users_assigned_to_sharedclouddrive?sharedCloudDriveId={drive_id}"
    ));
    assert_eq!(users["data"][0]["permission"]["permissionType"], 1);
    // SharedCloudDriveProjectDTO (web-api/project.md): the assignment under
    // `projectSharedCloudDrive`, whose id unassigns it.
    let item = &of_project["data"][0];
    assert_eq!(item["projectSharedCloudDrive"]["projectId"], json!(project));
    assert_eq!(
        item["projectSharedCloudDrive"]["sharedCloudDriveId"],
        json!(drive_id)
    );
    let project_assignment = item["projectSharedCloudDrive"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    a.delete(&format!(
        "/projects/unassign_sharedclouddrive?id={project_assignment}"
    ))
    .expect(200);
    assert_eq!(
        a.get(&format!(
            "/projects/get_assigned_sharedclouddrives?projectId={project}"
        ))["total"],
        0
    );

    // Deleting the drive removes every assignment in the same transaction.
    a.delete(&format!("/sharedclouddrive/delete?id={drive_id}"))
        .expect(200);
    for path in [
        format!("/userspermission/get_sharedclouddrive_assigned_to_user?userId={direct}"),
        format!("/userspermission/get_sharedclouddrive_assigned_to_usergroup?userGroupId={group}"),
        format!("/projects/get_assigned_sharedclouddrives?projectId={project}"),
    ] {
        assert_eq!(a.get(&path)["total"], 0, "{path}");
    }
    let mine = agent
        .get("/sharedclouddrive/get_all")
        .token(&direct_token)
        .send()
        .expect(200)
        .json();
    assert_eq!(mine["total"], 0);
}

#[test]
fn drives_do_not_cross_accounts() {
    if desktop_only("cloud providers") {
        return;
    }
    let s3 = S3Server::start();
    let agent = Agent::start();
    let a = Account::new(&agent, "a@example.com");
    let b = Account::new(&agent, "b@example.com");
    let a_cloud = cloud_account(&a, &s3);
    let a_drive = drive(&a, "Creative", &a_cloud)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b_project = b.project("Theirs");

    // B cannot back a drive with A's cloud account, see A's drive, or assign it.
    b.post(
        "/sharedclouddrive/insert",
        json!({"name": "Stolen", "cloudAccountId": a_cloud, "storageName": "b"}),
    )
    .expect_error("NOT_FOUND");
    assert_eq!(b.get("/sharedclouddrive/get_all")["total"], 0);
    b.post(
        "/projects/assign_sharedclouddrive",
        json!([{"projectId": b_project, "sharedCloudDriveId": a_drive}]),
    )
    .expect_error("NOT_FOUND");
    b.put(
        "/sharedclouddrive/update",
        json!({"id": a_drive, "name": "Mine"}),
    )
    .expect_error("NOT_FOUND");
    b.delete(&format!("/sharedclouddrive/delete?id={a_drive}"))
        .expect_error("NOT_FOUND");
    agent
        .get(&format!(
            "/projects/get_assigned_projects?sharedCloudDriveId={a_drive}"
        ))
        .token(&b.token)
        .send()
        .expect_error("NOT_FOUND");
    assert_eq!(
        a.get("/sharedclouddrive/get_all")["data"][0]["name"],
        "Creative"
    );
}

#[test]
fn a_cloud_account_deleted_while_drives_are_added_leaves_no_orphan() {
    if desktop_only("cloud providers") {
        return;
    }
    let s3 = S3Server::start();
    let agent = Agent::start();
    let a = Account::new(&agent, "race@example.com");
    let mut body = docs::example("sharedclouddrive.md", "## Insert Shared Cloud Drive");
    for round in 0..12 {
        let cloud = cloud_account(&a, &s3);
        body["cloudAccountId"] = json!(cloud);
        let statuses = click_blackbox::concurrently(8, |i| {
            if i == 3 {
                a.delete(&format!("/cloud/delete?id={cloud}")).status
            } else {
                let mut body = body.clone();
                body["name"] = json!(format!("r{round}-{i}"));
                a.post("/sharedclouddrive/insert", body).status
            }
        });
        assert!(
            statuses.iter().all(|s| [200, 499].contains(s)),
            "{statuses:?}"
        );
        let deleted = statuses[3] == 200;
        let using: Vec<Value> = a.get("/sharedclouddrive/get_all?pagesize=1000")["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["cloudAccountId"] == json!(cloud))
            .map(|d| d["name"].clone())
            .collect();
        let present = agent
            .get(&format!("/cloud/account?id={cloud}"))
            .token(&a.token)
            .send()
            .status
            == 200;
        assert_eq!(present, !deleted, "round {round}: {statuses:?}");
        if deleted {
            assert!(using.is_empty(), "round {round}: orphans {using:?}");
        } else {
            // Refused because a drive uses it: the drives that made it are there.
            assert!(!using.is_empty(), "round {round}: {statuses:?}");
        }
    }
}
