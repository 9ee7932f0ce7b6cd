//! The User controller (user.md): listing with paging, sorting and filters; invitations and
//! activation; edits, deletes, roles, plan limits and isolation between accounts.

use click_blackbox::{Agent, Options, PASSWORD, activate, docs, json, login_as, signup_and_login};
use serde_json::Value;

fn invite(agent: &Agent, token: &str, username: &str, user_type: u32) -> Value {
    agent
        .post(
            "/user/insert_user",
            json!({"firstname": "F", "lastname": username, "username": username, "email": username, "userType": user_type}),
        )
        .token(token)
        .send()
        .expect(200)
        .json()
}

fn list(agent: &Agent, token: &str, query: &str) -> Value {
    agent
        .get(&format!("/user/get_all_users?{query}"))
        .token(token)
        .send()
        .expect(200)
        .json()
}

fn usernames(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn invited_users_activate_by_email_and_match_the_documented_shape() {
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "owner@example.com");
    let created = invite(&agent, &owner, "jane@example.com", 32);
    let doc = docs::example("user.md", "## Get All Users");
    let doc_user = &doc["data"][0];
    assert_eq!(docs::keys(&created), docs::keys(doc_user), "{created}");
    assert_eq!(
        (created["status"].as_u64(), created["owner"].as_bool()),
        (Some(4), Some(false)),
        "Pending"
    );

    let page = list(&agent, &owner, "");
    assert_eq!(docs::keys(&page), docs::keys(&doc));
    // The Click page's options, plus the sort the web-api pages document.
    assert_eq!(
        page["options"],
        json!({"page": 1, "pageSize": 50, "sort": [{"field": "CreateDate", "descending": true}]})
    );
    assert_eq!(page["total"], 2);
    // A pending user cannot log in yet.
    agent
        .post(
            "/authentication/login",
            json!({"username": "jane@example.com", "password": PASSWORD, "type": 32}),
        )
        .send()
        .expect(401);
    activate(&agent, "jane@example.com");
    let jane = login_as(&agent, "jane@example.com", PASSWORD, 32);
    let me = agent
        .get("/authentication/user")
        .token(&jane)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        (me["userType"].as_u64(), me["owner"].as_bool()),
        (Some(32), Some(false))
    );
    let page = list(&agent, &owner, "username=jane");
    assert_eq!(page["data"][0]["status"], 1, "Active after activation");

    let details = agent
        .get("/user/get_all_users_with_details")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    for key in ["userGroups", "projects", "sharedCloudDrives"] {
        assert!(details["data"][0][key].is_array(), "{details}");
    }
    assert_eq!(details["data"][0]["username"], details["data"][0]["email"]);
}

#[test]
fn paging_sorting_and_filters() {
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "a-owner@example.com");
    for (i, name) in ["m", "c", "x", "b", "k", "a", "z", "d", "q", "e"]
        .iter()
        .enumerate()
    {
        let t = if i % 2 == 0 { 32 } else { 64 };
        invite(&agent, &owner, &format!("{name}@example.com"), t);
        // Distinct creation times (a fast agent creates several per millisecond, and equal
        // times have no defined order).
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    // Default: CreateDate, newest first.
    let page = list(&agent, &owner, "pagesize=3");
    assert_eq!(
        usernames(&page),
        ["e@example.com", "q@example.com", "d@example.com"]
    );
    assert_eq!(page["total"], 11);
    let page = list(&agent, &owner, "pagesize=3&page=4");
    assert_eq!(usernames(&page), ["m@example.com", "a-owner@example.com"]);
    let page = list(&agent, &owner, "pagesize=3&page=5");
    assert_eq!(usernames(&page), Vec::<String>::new());
    // Username, ascending.
    let page = list(
        &agent,
        &owner,
        "sortfield=Username&descending=false&pagesize=4",
    );
    assert_eq!(
        usernames(&page),
        [
            "a-owner@example.com",
            "a@example.com",
            "b@example.com",
            "c@example.com"
        ]
    );
    let page = list(
        &agent,
        &owner,
        "sortfield=username&descending=true&pagesize=2&page=2",
    );
    assert_eq!(usernames(&page), ["q@example.com", "m@example.com"]);
    // A field without an index sorts all the same.
    // (Invited users' last names are their usernames; the owner's is "Doe".)
    let page = list(
        &agent,
        &owner,
        "sortfield=Lastname&descending=false&pagesize=2",
    );
    assert_eq!(usernames(&page), ["a@example.com", "b@example.com"]);
    let page = list(
        &agent,
        &owner,
        "sortfield=Lastname&descending=false&pagesize=2&page=3",
    );
    assert_eq!(usernames(&page), ["a-owner@example.com", "e@example.com"]);
    // Filters: flags of type and status, username substring; total counts the matches.
    let page = list(
        &agent,
        &owner,
        "userType=32&sortfield=Username&descending=false",
    );
    assert_eq!(page["total"], 5);
    assert!(
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["userType"] == 32)
    );
    let page = list(&agent, &owner, "userType=48");
    assert_eq!(page["total"], 6, "DesktopAdmin | DesktopCreativeUser");
    let page = list(&agent, &owner, "userStatus=1");
    assert_eq!(usernames(&page), ["a-owner@example.com"]);
    let page = list(&agent, &owner, "userStatus=4&pagesize=2&page=5");
    assert_eq!(
        (page["total"].as_u64(), usernames(&page).len()),
        (Some(10), 2)
    );
    let page = list(&agent, &owner, "username=OWNER");
    assert_eq!(usernames(&page), ["a-owner@example.com"]);
    for bad in [
        "page=0",
        "pagesize=0",
        "pagesize=5000",
        "sortfield=Password",
        "userStatus=8",
        "userType=128",
        "descending=maybe",
    ] {
        agent
            .get(&format!("/user/get_all_users?{bad}"))
            .token(&owner)
            .send()
            .expect_error("DEFAULT");
    }
}

#[test]
fn edits_keep_omitted_fields_and_guard_the_owner() {
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "o@example.com");
    let user = invite(&agent, &owner, "u@example.com", 64);
    let id = user["id"].as_str().unwrap();
    let r = agent
        .put(
            "/user/edit_user",
            json!({"id": id, "firstname": "Uma", "userType": 32}),
        )
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        (
            r["firstname"].as_str(),
            r["lastname"].as_str(),
            r["userType"].as_u64()
        ),
        (Some("Uma"), Some("u@example.com"), Some(32))
    );
    // Renaming frees the old username and takes the new one.
    agent
        .put(
            "/user/edit_user",
            json!({"id": id, "username": "uma@example.com"}),
        )
        .token(&owner)
        .send()
        .expect(200);
    invite(&agent, &owner, "u@example.com", 64);
    agent
        .put(
            "/user/edit_user",
            json!({"id": id, "username": "O@EXAMPLE.COM"}),
        )
        .token(&owner)
        .send()
        .expect_error("DUPLICATE");
    let msg = agent
        .put(
            "/user/edit_user",
            json!({"id": id, "lastname": "x".repeat(51)}),
        )
        .token(&owner)
        .send()
        .expect_error("DEFAULT");
    assert!(msg.contains("lastname"), "{msg}");
    agent
        .put("/user/edit_user", json!({"id": id, "status": 1}))
        .token(&owner)
        .send()
        .expect_error("DEFAULT");
    let owner_id = agent
        .get("/authentication/user")
        .token(&owner)
        .send()
        .json()["userId"]
        .as_str()
        .unwrap()
        .to_string();
    agent
        .put("/user/edit_user", json!({"id": owner_id, "userType": 64}))
        .token(&owner)
        .send()
        .expect_error("ACCESS");
    agent
        .put(
            "/user/edit_user",
            json!({"id": "00000000-0000-0000-0000-000000000000"}),
        )
        .token(&owner)
        .send()
        .expect_error("NOT_FOUND");
}

#[test]
fn deactivation_and_deletion_take_effect_at_once() {
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "boss@example.com");
    let user = invite(&agent, &owner, "temp@example.com", 32);
    let id = user["id"].as_str().unwrap().to_string();
    activate(&agent, "temp@example.com");
    let temp = login_as(&agent, "temp@example.com", PASSWORD, 32);
    agent
        .put("/user/edit_user", json!({"id": id, "status": 2}))
        .token(&owner)
        .send()
        .expect(200);
    agent
        .get("/authentication/user")
        .token(&temp)
        .send()
        .expect(401);
    agent
        .post(
            "/authentication/login",
            json!({"username": "temp@example.com", "password": PASSWORD}),
        )
        .send()
        .expect_error("INACTIVE_USER");
    agent
        .put("/user/edit_user", json!({"id": id, "status": 1}))
        .token(&owner)
        .send()
        .expect(200);
    let temp = login_as(&agent, "temp@example.com", PASSWORD, 32);

    agent
        .call("DELETE", &format!("/user/delete_user?id={id}"))
        .token(&owner)
        .send()
        .expect(200);
    agent
        .get("/authentication/user")
        .token(&temp)
        .send()
        .expect(401);
    agent
        .post(
            "/authentication/login",
            json!({"username": "temp@example.com", "password": PASSWORD}),
        )
        .send()
        .expect(401);
    agent
        .call("DELETE", &format!("/user/delete_user?id={id}"))
        .token(&owner)
        .send()
        .expect_error("NOT_FOUND");
    assert_eq!(list(&agent, &owner, "")["total"], 1);
    // The username is free again.
    invite(&agent, &owner, "temp@example.com", 32);
    let owner_id = agent
        .get("/authentication/user")
        .token(&owner)
        .send()
        .json()["userId"]
        .as_str()
        .unwrap()
        .to_string();
    agent
        .call("DELETE", &format!("/user/delete_user?id={owner_id}"))
        .token(&owner)
        .send()
        .expect_error("ACCESS");
    agent
        .call("DELETE", "/user/delete_user")
        .token(&owner)
        .send()
        .expect_error("DEFAULT");
}

#[test]
fn resend_sends_a_fresh_activation() {
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "r@example.com");
    let user = invite(&agent, &owner, "late@example.com", 64);
    let before = agent.outbox().len();
    agent
        .post("/user/resend_user_email", json!({"id": user["id"]}))
        .token(&owner)
        .send()
        .expect(200);
    agent
        .post(
            "/user/resend_user_email",
            json!({"username": "late@example.com"}),
        )
        .token(&owner)
        .send()
        .expect(200);
    assert_eq!(agent.outbox().len(), before + 2);
    activate(&agent, "late@example.com");
    agent
        .post("/user/resend_user_email", json!({"id": user["id"]}))
        .token(&owner)
        .send()
        .expect_error("DEFAULT");
}

#[test]
fn package_inquiry_counts_real_users_against_the_plan() {
    let agent = Agent::start_with(Options {
        config: "[plan]\nadmin_users = 2\ncreative_users = 5\n".into(),
        ..Options::default()
    });
    let owner = signup_and_login(&agent, "p@example.com");
    let doc = docs::example("user.md", "## Package Inquiry");
    let left = agent
        .get("/user/package_inquiry")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(docs::keys(&left), docs::keys(&doc));
    assert_eq!(
        (left["adminUsers"].as_u64(), left["creativeUsers"].as_u64()),
        (Some(1), Some(5)),
        "the owner is an admin"
    );
    invite(&agent, &owner, "admin2@example.com", 16);
    let left = agent
        .get("/user/package_inquiry")
        .token(&owner)
        .send()
        .json();
    assert_eq!(left["adminUsers"], 0);
    let msg = agent
        .post("/user/insert_user", json!({"username": "admin3@example.com", "email": "admin3@example.com", "userType": 16}))
        .token(&owner)
        .send()
        .expect_error("DEFAULT");
    assert!(msg.contains("plan"), "{msg}");
    agent
        .post(
            "/user/insert_user",
            json!({"username": "x@example.com", "email": "x@example.com", "userType": 4}),
        )
        .token(&owner)
        .send()
        .expect_error("DEFAULT");
}

#[test]
fn only_admins_manage_and_accounts_do_not_see_each_other() {
    let agent = Agent::start();
    let a = signup_and_login(&agent, "a@example.com");
    let b = signup_and_login(&agent, "b@example.com");
    let a_user = invite(&agent, &a, "a-user@example.com", 64);
    activate(&agent, "a-user@example.com");
    let standard = login_as(&agent, "a-user@example.com", PASSWORD, 64);
    // A standard user reads what is assigned to it, and manages nothing.
    agent
        .get("/user/get_all_users")
        .token(&standard)
        .send()
        .expect_error("ACCESS");
    agent
        .post(
            "/user/insert_user",
            json!({"username": "s@example.com", "email": "s@example.com", "userType": 64}),
        )
        .token(&standard)
        .send()
        .expect_error("ACCESS");
    agent
        .get("/user/package_inquiry")
        .token(&standard)
        .send()
        .expect(200);
    // Account B sees only itself and cannot touch A's users.
    assert_eq!(usernames(&list(&agent, &b, "")), ["b@example.com"]);
    let id = a_user["id"].as_str().unwrap();
    agent
        .put("/user/edit_user", json!({"id": id, "firstname": "Hacked"}))
        .token(&b)
        .send()
        .expect_error("NOT_FOUND");
    agent
        .call("DELETE", &format!("/user/delete_user?id={id}"))
        .token(&b)
        .send()
        .expect_error("NOT_FOUND");
    agent
        .post("/user/resend_user_email", json!({"id": id}))
        .token(&b)
        .send()
        .expect_error("NOT_FOUND");
    assert_eq!(
        list(&agent, &a, "username=a-user")["data"][0]["firstname"],
        "F"
    );
}

#[test]
fn concurrent_invitations_of_one_username_create_one_user() {
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "c@example.com");
    let statuses = click_blackbox::concurrently(8, |_| {
        let body =
            json!({"username": "same@example.com", "email": "same@example.com", "userType": 64});
        agent
            .post("/user/insert_user", body)
            .token(&owner)
            .send()
            .status
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(list(&agent, &owner, "")["total"], 2);
    // Concurrent invitations of different users all land in the counts.
    click_blackbox::concurrently(8, |i| {
        invite(&agent, &owner, &format!("n{i}@example.com"), 64)
    });
    assert_eq!(list(&agent, &owner, "")["total"], 10);
    let left = agent
        .get("/user/package_inquiry")
        .token(&owner)
        .send()
        .json();
    let plan_default = 100_000 - 9;
    assert_eq!(left["standardUsers"], plan_default);
}

#[test]
fn concurrent_invitations_cannot_exceed_the_plan() {
    let agent = Agent::start_with(Options {
        config: "[plan]\nadmin_users = 4\n".into(),
        ..Options::default()
    });
    let owner = signup_and_login(&agent, "plan@example.com");
    let statuses = click_blackbox::concurrently(8, |i| {
        let name = format!("admin{i}@example.com");
        let body = json!({"username": name, "email": name, "userType": 16});
        agent
            .post("/user/insert_user", body)
            .token(&owner)
            .send()
            .status
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        3,
        "the owner is the fourth admin: {statuses:?}"
    );
    assert_eq!(list(&agent, &owner, "userType=16")["total"], 4);
    assert_eq!(
        agent
            .get("/user/package_inquiry")
            .token(&owner)
            .send()
            .json()["adminUsers"],
        0
    );
}
