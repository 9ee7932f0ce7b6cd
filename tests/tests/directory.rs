//! User groups, projects and permissions (usergroup.md, projects.md, userspermission.md):
//! CRUD, both sides of every relation, cascades, roles, isolation between accounts.

use click_blackbox::{Account, Agent, json};
use serde_json::Value;

fn names(page: &Value, field: &str) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn groups_and_projects_crud_with_unique_names() {
    let agent = Agent::start();
    let a = Account::new(&agent, "a@example.com");
    let b = Account::new(&agent, "b@example.com");
    for path in ["/usergroup", "/projects"] {
        let created = a
            .post(
                &format!("{path}/insert"),
                json!({"name": "Design", "description": "Creative", "active": true}),
            )
            .expect(200)
            .json();
        let mut keys: Vec<&str> = created
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "accountId",
                "active",
                "deleted",
                "description",
                "id",
                "name"
            ]
        );
        let id = created["id"].as_str().unwrap().to_string();
        a.post(&format!("{path}/insert"), json!({"name": "DESIGN"}))
            .expect_error("DUPLICATE");
        b.post(&format!("{path}/insert"), json!({"name": "Design"}))
            .expect(200);
        a.post(&format!("{path}/insert"), json!({"name": "Archive"}))
            .expect(200);
        a.post(
            &format!("{path}/insert"),
            json!({"name": "Zebra", "active": false}),
        )
        .expect(200);
        let msg = a
            .post(&format!("{path}/insert"), json!({"name": "x".repeat(101)}))
            .expect_error("DEFAULT");
        assert!(msg.contains("'name'"), "{msg}");
        a.post(&format!("{path}/insert"), json!({"description": "no name"}))
            .expect_error("DEFAULT");

        let page = a.get(&format!("{path}/get_all"));
        assert_eq!(
            names(&page, "name"),
            ["Archive", "Design", "Zebra"],
            "Name, ascending by default"
        );
        assert_eq!(
            (page["total"].as_u64(), page["options"]["pageSize"].as_u64()),
            (Some(3), Some(50))
        );
        let page = a.get(&format!("{path}/get_all?descending=true&pagesize=1&page=2"));
        assert_eq!(names(&page, "name"), ["Design"]);
        let page = a.get(&format!("{path}/get_all?name=ZEB"));
        assert_eq!(
            (names(&page, "name"), page["total"].as_u64()),
            (vec!["Zebra".to_string()], Some(1))
        );
        let page = a.get(&format!("{path}/get_all?sortfield=Active"));
        assert_eq!(names(&page, "name")[0], "Zebra", "inactive first");

        // Update: omitted fields keep their values; a taken name is refused.
        let updated = a
            .put(
                &format!("{path}/update"),
                json!({"id": id, "name": "Design 2"}),
            )
            .expect(200)
            .json();
        assert_eq!(
            (updated["description"].as_str(), updated["active"].as_bool()),
            (Some("Creative"), Some(true))
        );
        a.put(
            &format!("{path}/update"),
            json!({"id": id, "name": "archive"}),
        )
        .expect_error("DUPLICATE");
        a.post(&format!("{path}/insert"), json!({"name": "Design"}))
            .expect(200);
        a.put(
            &format!("{path}/update"),
            json!({"id": "nope", "name": "x"}),
        )
        .expect_error("NOT_FOUND");
        // Another account's records do not exist from here.
        b.put(&format!("{path}/update"), json!({"id": id, "name": "Mine"}))
            .expect_error("NOT_FOUND");
        b.delete(&format!("{path}/delete?id={id}"))
            .expect_error("NOT_FOUND");
        assert_eq!(
            names(&b.get(&format!("{path}/get_all")), "name"),
            ["Design"]
        );

        a.delete(&format!("{path}/delete?id={id}")).expect(200);
        a.delete(&format!("{path}/delete?id={id}"))
            .expect_error("NOT_FOUND");
        assert_eq!(a.get(&format!("{path}/get_all"))["total"], 3);
    }
}

#[test]
fn membership_is_seen_from_both_sides_and_cascades() {
    let agent = Agent::start();
    let a = Account::new(&agent, "owner@example.com");
    let group = a.group("Editors");
    let (jane, _) = a.user("jane@example.com", 32);
    let (joe, _) = a.user("joe@example.com", 64);
    a.post(
        "/usergroup/assign_users",
        json!([{"userId": jane, "userGroupId": group}, {"userId": joe, "userGroupId": group}]),
    )
    .expect(200);
    // Assigning twice changes nothing.
    a.post(
        "/usergroup/assign_users",
        json!([{"userId": jane, "userGroupId": group}]),
    )
    .expect(200);

    let members = a.get(&format!(
        "/usergroup/get_assigned_users?userGroupId={group}"
    ));
    assert_eq!(members["total"], 2);
    let first = &members["data"][0];
    assert_eq!(
        first["user"]["username"], "jane@example.com",
        "sorted by User.Username"
    );
    assert_eq!(
        (first["userId"].as_str(), first["userGroupId"].as_str()),
        (Some(jane.as_str()), Some(group.as_str()))
    );
    assert_eq!(first["userGroup"]["name"], "Editors");
    let filtered = a.get(&format!(
        "/usergroup/get_assigned_users?userGroupId={group}&username=JOE"
    ));
    assert_eq!(filtered["total"], 1);
    let groups = a.get(&format!("/usergroup/get_assigned_usergroups?userId={jane}"));
    assert_eq!(names(&groups, "userGroupId"), vec![group.to_string()]);

    let details = a.get("/usergroup/get_all_with_details");
    assert_eq!(details["data"][0]["users"].as_array().unwrap().len(), 2);
    assert!(
        details["data"][0]["sharedCloudDrives"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // All or nothing: one unknown user, nothing assigned.
    let other = a.group("Other");
    a.post(
        "/usergroup/assign_users",
        json!([{"userId": jane, "userGroupId": other}, {"userId": "00000000-0000-0000-0000-000000000000", "userGroupId": other}]),
    )
    .expect_error("NOT_FOUND");
    assert_eq!(
        a.get(&format!(
            "/usergroup/get_assigned_users?userGroupId={other}"
        ))["total"],
        0
    );
    a.post("/usergroup/assign_users", json!([{"userId": jane}]))
        .expect_error("DEFAULT");

    // Unassign by the assignment's id: gone from both sides.
    let rel = members["data"][1]["id"].as_str().unwrap().to_string();
    a.delete(&format!("/usergroup/unassign_user?id={rel}"))
        .expect(200);
    a.delete(&format!("/usergroup/unassign_user?id={rel}"))
        .expect_error("NOT_FOUND");
    assert_eq!(
        a.get(&format!("/usergroup/get_assigned_usergroups?userId={joe}"))["total"],
        0
    );

    // Deleting a user removes its memberships; deleting a group removes its members' links.
    a.delete(&format!("/user/delete_user?id={jane}"))
        .expect(200);
    assert_eq!(
        a.get(&format!(
            "/usergroup/get_assigned_users?userGroupId={group}"
        ))["total"],
        0
    );
    a.post(
        "/usergroup/assign_users",
        json!([{"userId": joe, "userGroupId": group}]),
    )
    .expect(200);
    a.delete(&format!("/usergroup/delete?id={group}"))
        .expect(200);
    assert_eq!(
        a.get(&format!("/usergroup/get_assigned_usergroups?userId={joe}"))["total"],
        0
    );
}

#[test]
fn permissions_on_projects_for_users_and_groups() {
    let agent = Agent::start();
    let a = Account::new(&agent, "perm@example.com");
    let project = a.project("Campaign 2026");
    let group = a.group("Team");
    let (jane, jane_token) = a.user("jane@example.com", 32);
    a.post(
        "/userspermission/users_project_permission",
        json!([{"userId": jane, "projectId": project, "permissionType": 2}]),
    )
    .expect(200);
    a.post(
        "/userspermission/usergroups_project_permission",
        json!([{"userGroupId": group, "projectId": project, "permissionType": 1}]),
    )
    .expect(200);

    let users = a.get(&format!(
        "/userspermission/get_users_assigned_to_project?projectId={project}"
    ));
    let row = &users["data"][0];
    assert_eq!(
        (
            row["user"]["username"].as_str(),
            row["permission"]["permissionType"].as_u64()
        ),
        (Some("jane@example.com"), Some(2))
    );
    assert_eq!(row["project"]["name"], "Campaign 2026");
    let projects = a.get(&format!(
        "/userspermission/get_projects_assigned_to_user?userId={jane}"
    ));
    assert_eq!(projects["data"][0]["project"]["name"], "Campaign 2026");
    let groups = a.get(&format!(
        "/userspermission/get_usergroups_assigned_to_project?projectId={project}"
    ));
    assert_eq!(groups["data"][0]["userGroup"]["name"], "Team");
    let of_group = a.get(&format!(
        "/userspermission/get_projects_assigned_to_usergroup?userGroupId={group}"
    ));
    assert_eq!(of_group["data"][0]["permission"]["permissionType"], 1);

    // Edit by id; bad permission types are refused.
    let id = row["id"].as_str().unwrap();
    a.put(
        "/userspermission/users_project_permission",
        json!([{"id": id, "userId": jane, "projectId": project, "permissionType": 1}]),
    )
    .expect(200);
    let users = a.get(&format!(
        "/userspermission/get_users_assigned_to_project?projectId={project}"
    ));
    assert_eq!(users["data"][0]["permissionType"], 1);
    for bad in [json!(3), json!("rw"), json!(0)] {
        a.post(
            "/userspermission/users_project_permission",
            json!([{"userId": jane, "projectId": project, "permissionType": bad}]),
        )
        .expect_error("DEFAULT");
    }
    a.post(
        "/userspermission/users_project_permission",
        json!([{"userId": jane, "projectId": project}]),
    )
    .expect_error("DEFAULT");

    let details = a.get("/projects/get_all_with_details");
    assert_eq!(
        details["data"][0]["users"][0]["username"],
        "jane@example.com"
    );
    assert_eq!(details["data"][0]["userGroups"][0]["name"], "Team");

    // Jane sees the project assigned to her, and nothing to manage.
    let mine = agent
        .get("/projects/get_all")
        .token(&jane_token)
        .send()
        .expect(200)
        .json();
    assert_eq!(names(&mine, "name"), ["Campaign 2026"]);
    agent
        .post("/projects/insert", json!({"name": "Mine"}))
        .token(&jane_token)
        .send()
        .expect_error("ACCESS");

    // Deleting the project removes its permissions; the user and group stay.
    a.delete(&format!("/projects/delete?id={project}"))
        .expect(200);
    assert_eq!(
        a.get(&format!(
            "/userspermission/get_projects_assigned_to_user?userId={jane}"
        ))["total"],
        0
    );
    assert_eq!(
        a.get(&format!(
            "/userspermission/get_projects_assigned_to_usergroup?userGroupId={group}"
        ))["total"],
        0
    );
    a.delete(&format!(
        "/userspermission/users_project_permission?id={id}"
    ))
    .expect_error("NOT_FOUND");
}

#[test]
fn members_read_only_what_is_theirs() {
    let agent = Agent::start();
    let a = Account::new(&agent, "boss@example.com");
    let (jane, jane_token) = a.user("jane@example.com", 64);
    let (joe, _) = a.user("joe@example.com", 64);
    let mine = a.group("Mine");
    let theirs = a.group("Theirs");
    let project = a.project("Via group");
    a.post(
        "/usergroup/assign_users",
        json!([{"userId": jane, "userGroupId": mine}, {"userId": joe, "userGroupId": theirs}]),
    )
    .expect(200);
    a.post(
        "/userspermission/usergroups_project_permission",
        json!([{"userGroupId": mine, "projectId": project, "permissionType": 1}]),
    )
    .expect(200);
    let as_jane = |path: &str| agent.get(path).token(&jane_token).send();
    assert_eq!(
        names(&as_jane("/usergroup/get_all").expect(200).json(), "name"),
        ["Mine"]
    );
    assert_eq!(
        names(&as_jane("/projects/get_all").expect(200).json(), "name"),
        ["Via group"],
        "through her group"
    );
    as_jane(&format!("/usergroup/get_assigned_usergroups?userId={jane}")).expect(200);
    as_jane(&format!("/usergroup/get_assigned_usergroups?userId={joe}")).expect_error("ACCESS");
    as_jane(&format!("/usergroup/get_assigned_users?userGroupId={mine}")).expect(200);
    as_jane(&format!(
        "/usergroup/get_assigned_users?userGroupId={theirs}"
    ))
    .expect_error("ACCESS");
    agent
        .post(
            "/usergroup/assign_users",
            json!([{"userId": jane, "userGroupId": theirs}]),
        )
        .token(&jane_token)
        .send()
        .expect_error("ACCESS");
    agent
        .call("DELETE", &format!("/usergroup/delete?id={mine}"))
        .token(&jane_token)
        .send()
        .expect_error("ACCESS");
}

#[test]
fn nothing_crosses_accounts() {
    let agent = Agent::start();
    let a = Account::new(&agent, "a@example.com");
    let b = Account::new(&agent, "b@example.com");
    let (a_user, _) = a.user("a-user@example.com", 64);
    let a_group = a.group("A group");
    let a_project = a.project("A project");
    let b_group = b.group("B group");
    let b_project = b.project("B project");
    b.post(
        "/usergroup/assign_users",
        json!([{"userId": a_user, "userGroupId": b_group}]),
    )
    .expect_error("NOT_FOUND");
    b.post(
        "/usergroup/assign_users",
        json!([{"userId": a_user, "userGroupId": a_group}]),
    )
    .expect_error("NOT_FOUND");
    b.post(
        "/userspermission/users_project_permission",
        json!([{"userId": a_user, "projectId": b_project, "permissionType": 1}]),
    )
    .expect_error("NOT_FOUND");
    b.post(
        "/userspermission/usergroups_project_permission",
        json!([{"userGroupId": b_group, "projectId": a_project, "permissionType": 1}]),
    )
    .expect_error("NOT_FOUND");
    for path in [
        format!("/usergroup/get_assigned_users?userGroupId={a_group}"),
        format!("/usergroup/get_assigned_usergroups?userId={a_user}"),
        format!("/userspermission/get_users_assigned_to_project?projectId={a_project}"),
        format!("/userspermission/get_projects_assigned_to_usergroup?userGroupId={a_group}"),
    ] {
        b.agent
            .get(&path)
            .token(&b.token)
            .send()
            .expect_error("NOT_FOUND");
    }
    a.post(
        "/usergroup/assign_users",
        json!([{"userId": a_user, "userGroupId": a_group}]),
    )
    .expect(200);
    let rel = a.get(&format!(
        "/usergroup/get_assigned_users?userGroupId={a_group}"
    ))["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    b.delete(&format!("/usergroup/unassign_user?id={rel}"))
        .expect_error("NOT_FOUND");
    assert_eq!(
        a.get(&format!(
            "/usergroup/get_assigned_users?userGroupId={a_group}"
        ))["total"],
        1
    );
}

#[test]
fn import_users_maps_by_username_and_group_id_or_name() {
    let agent = Agent::start();
    let a = Account::new(&agent, "imp@example.com");
    let (ada, _) = a.user("ada@example.com", 64);
    a.user("alan@example.com", 64);
    let design = a.group("Design Team");
    let ops = a.group("Ops");
    a.post(
        "/usergroup/import_users",
        json!([
            {"user": {"username": "ada@example.com", "firstName": "Ada"}, "userGroups": [{"id": design, "name": "Design Team"}, {"name": "ops"}]},
            {"user": {"username": "ALAN@example.com"}, "userGroups": [{"name": "Design Team"}]}
        ]),
    )
    .expect(200);
    assert_eq!(
        a.get(&format!(
            "/usergroup/get_assigned_users?userGroupId={design}"
        ))["total"],
        2
    );
    assert_eq!(
        a.get(&format!("/usergroup/get_assigned_usergroups?userId={ada}"))["total"],
        2
    );
    // One unknown user: nothing of the import is written.
    a.post(
        "/usergroup/import_users",
        json!([
            {"user": {"username": "alan@example.com"}, "userGroups": [{"id": ops}]},
            {"user": {"username": "nobody@example.com"}, "userGroups": [{"id": ops}]}
        ]),
    )
    .expect_error("NOT_FOUND");
    assert_eq!(
        a.get(&format!("/usergroup/get_assigned_users?userGroupId={ops}"))["total"],
        1
    );
}

#[test]
fn concurrent_inserts_of_one_name_create_one_record() {
    let agent = Agent::start();
    let a = Account::new(&agent, "race@example.com");
    let statuses = click_blackbox::concurrently(8, |i| {
        let name = if i % 2 == 0 { "Same" } else { "SAME" };
        a.post("/usergroup/insert", json!({"name": name})).status
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(a.get("/usergroup/get_all")["total"], 1);
}

#[test]
fn assignments_racing_a_delete_leave_no_orphan() {
    let agent = Agent::start();
    let a = Account::new(&agent, "orphan@example.com");
    let users: Vec<String> = (0..12)
        .map(|i| a.user(&format!("u{i}@example.com"), 64).0)
        .collect();
    for round in 0..3 {
        let group = a.group(&format!("Doomed {round}"));
        std::thread::scope(|s| {
            for u in &users {
                let (a, group) = (&a, &group);
                s.spawn(move || {
                    a.post(
                        "/usergroup/assign_users",
                        json!([{"userId": u, "userGroupId": group}]),
                    )
                    .status
                });
            }
            s.spawn(|| {
                a.delete(&format!("/usergroup/delete?id={group}"))
                    .expect(200)
            });
        });
        for u in &users {
            let page = a.get(&format!("/usergroup/get_assigned_usergroups?userId={u}"));
            assert_eq!(page["total"], 0, "an assignment outlived its group: {page}");
        }
    }
}
