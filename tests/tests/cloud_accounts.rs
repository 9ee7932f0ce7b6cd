//! Cloud Accounts (cloud.md) against a real S3 server (s3s-fs): credentials are checked with
//! the provider before saving, secrets are sealed at rest and never shown, sharing decides
//! who sees an account, and nothing crosses accounts.

use click_blackbox::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use click_blackbox::{Agent, Options, Value, desktop_only, docs, json, member, signup_and_login};

fn insert(agent: &Agent, token: &str, body: &Value) -> Value {
    agent
        .post("/cloud/insert_account", body.clone())
        .token(token)
        .send()
        .expect(200)
        .json()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

fn visible(agent: &Agent, token: &str) -> Vec<String> {
    ids(&agent
        .get("/cloud/accounts")
        .token(token)
        .send()
        .expect(200)
        .json())
}

#[test]
fn credentials_are_checked_with_the_provider_before_saving() {
    if desktop_only("cloud providers") {
        return;
    }
    let s3 = S3Server::start();
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "owner@example.com");

    // The documented body, pointed at the test server.
    let mut body = docs::example("cloud.md", "### Insert Cloud Account");
    body["cloudType"] = json!(8);
    body["endpoint"] = json!(s3.endpoint());
    body["accessKey"] = json!(ACCESS_KEY);
    body["secretKey"] = json!("not-the-secret");
    let why = agent
        .post("/cloud/insert_account", body.clone())
        .token(&owner)
        .send()
        .expect_error("ACCESS");
    assert!(why.contains("provider refused"), "{why}");

    body["accessKey"] = json!("UNKNOWNKEY");
    agent
        .post("/cloud/insert_account", body.clone())
        .token(&owner)
        .send()
        .expect_error("ACCESS");

    body["secretKey"] = json!("");
    let why = agent
        .post("/cloud/insert_account", body.clone())
        .token(&owner)
        .send()
        .expect_error("DEFAULT");
    assert!(why.contains("'secretKey' is required"), "{why}");

    for (cloud_type, expected) in [
        (128, "generate_dropbox_authorization_url"),
        (8192, "not supported"),
        (3, "cloudType"),
        (0, "cloudType"),
    ] {
        let mut b = s3.account("x");
        b["cloudType"] = json!(cloud_type);
        let why = agent
            .post("/cloud/insert_account", b)
            .token(&owner)
            .send()
            .expect_error("DEFAULT");
        assert!(why.contains(expected), "{cloud_type}: {why}");
    }

    let mut b = s3.account("x");
    b["endpoint"] = json!("ftp://example.com");
    agent
        .post("/cloud/insert_account", b)
        .token(&owner)
        .send()
        .expect_error("DEFAULT");

    // A server that is not there: a clear 499, not a hang or a 500.
    let mut b = s3.account("x");
    b["endpoint"] = json!("http://127.0.0.1:9");
    let why = agent
        .post("/cloud/insert_account", b)
        .token(&owner)
        .send()
        .expect_error("TRANSFER");
    assert!(why.contains("could not be reached"), "{why}");

    assert!(visible(&agent, &owner).is_empty(), "nothing was saved");
}

#[test]
fn secrets_are_sealed_at_rest_and_never_shown() {
    if desktop_only("cloud providers") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket("media");
    let dir = tempfile::tempdir().unwrap();
    let options = || Options {
        data_dir: Some(dir.path().join("data")),
        ..Options::default()
    };
    let agent = Agent::start_with(options());
    let owner = signup_and_login(&agent, "owner@example.com");
    let account = insert(&agent, &owner, &s3.account("Test S3"));

    assert_eq!(account["name"], "Test S3");
    assert_eq!(account["cloudType"], 8);
    assert_eq!(account["shared"], false);
    assert_eq!(account["active"], true);
    assert_eq!(account["secretKey"], "********");
    assert_eq!(account["accessKey"], "CLIC********EY01");
    assert_eq!(account["endpoint"], s3.endpoint().as_str());
    for field in ["id", "accountId", "userId", "createDate", "serviceUrl"] {
        assert!(account.get(field).is_some(), "{field} in {account}");
    }
    let id = account["id"].as_str().unwrap().to_string();
    let one = agent
        .get(&format!("/cloud/account?id={id}"))
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(one, account);
    let all = agent
        .get("/cloud/accounts")
        .token(&owner)
        .send()
        .expect(200);
    assert!(!all.text().contains(SECRET_KEY));

    drop(agent);
    let database = click_blackbox::stored_state(&dir.path().join("data")).unwrap();
    let secret = SECRET_KEY.as_bytes();
    assert!(
        !database.windows(secret.len()).any(|w| w == secret),
        "the secret key is not in the database file in clear"
    );

    // After a restart the sealed secret opens again: the stored account still works.
    let agent = Agent::start_with(options());
    let owner = click_blackbox::login(&agent, "owner@example.com", click_blackbox::PASSWORD);
    let buckets = agent
        .post("/cloud/list_buckets", json!({"id": id}))
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(buckets["data"][0]["name"], "media");
}

#[test]
fn sharing_decides_who_sees_and_who_changes_an_account() {
    if desktop_only("cloud providers") {
        return;
    }
    let s3 = S3Server::start();
    s3.bucket("media");
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "owner@example.com");
    let (_, user) = member(&agent, &owner, "user@example.com", 64);
    let (_, admin) = member(&agent, &owner, "admin@example.com", 16);
    let stranger = signup_and_login(&agent, "stranger@example.com");

    let private = insert(&agent, &user, &s3.account("mine"));
    let id = private["id"].as_str().unwrap().to_string();
    assert_eq!(visible(&agent, &user), vec![id.clone()]);
    assert!(
        visible(&agent, &owner).is_empty(),
        "not shared: only its owner sees it"
    );
    for token in [&owner, &admin, &stranger] {
        agent
            .get(&format!("/cloud/account?id={id}"))
            .token(token)
            .send()
            .expect_error("NOT_FOUND");
        agent
            .post("/cloud/list_buckets", json!({"id": id}))
            .token(token)
            .send()
            .expect_error("NOT_FOUND");
        agent
            .call("DELETE", &format!("/cloud/delete?id={id}"))
            .token(token)
            .send()
            .expect_error("NOT_FOUND");
    }

    // manage_share takes the whole CloudAccount (obfuscated keys and all) and keeps only
    // the sharing state.
    let mut whole = private.clone();
    whole["shared"] = json!(true);
    whole["name"] = json!("renamed?");
    agent
        .put("/cloud/manage_share", whole)
        .token(&user)
        .send()
        .expect(200);
    for token in [&owner, &admin, &user] {
        assert_eq!(visible(&agent, token), vec![id.clone()]);
    }
    assert!(visible(&agent, &stranger).is_empty());
    let seen = agent
        .get(&format!("/cloud/account?id={id}"))
        .token(&admin)
        .send()
        .expect(200)
        .json();
    assert_eq!(seen["shared"], true);
    assert_eq!(seen["name"], "mine");
    // Everyone in the account can use a shared account ...
    agent
        .post("/cloud/list_buckets", json!({"id": id}))
        .token(&owner)
        .send()
        .expect(200);

    // ... only its owner and admins change it.
    let (_, other) = member(&agent, &owner, "other@example.com", 64);
    agent
        .put("/cloud/manage_share", json!({"id": id, "shared": false}))
        .token(&other)
        .send()
        .expect_error("ACCESS");
    agent
        .call("DELETE", &format!("/cloud/delete?id={id}"))
        .token(&other)
        .send()
        .expect_error("ACCESS");
    agent
        .put("/cloud/manage_share", json!({"shared": false}))
        .token(&admin)
        .send()
        .expect_error("DEFAULT");

    let deleted = agent
        .call("DELETE", &format!("/cloud/delete?id={id}"))
        .token(&admin)
        .send()
        .expect(200);
    assert_eq!(deleted.json(), json!(true));
    assert!(visible(&agent, &user).is_empty());
    agent
        .call("DELETE", &format!("/cloud/delete?id={id}"))
        .token(&user)
        .send()
        .expect_error("NOT_FOUND");
}
