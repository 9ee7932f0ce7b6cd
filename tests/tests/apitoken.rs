//! API tokens (apitoken.md): shown once, stored as a hash, accepted like a login token until
//! they expire or are deleted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use click_blackbox::{Agent, docs, json, signup_and_login};

fn iso_in(secs: u64) -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + secs;
    // Civil date from days (the inverse of what the agent parses).
    let (days, rem) = ((t / 86_400) as i64, t % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn api_tokens_work_like_login_tokens_and_are_shown_once() {
    let agent = Agent::start();
    let login = signup_and_login(&agent, "api@example.com");
    let created = agent
        .post(
            "/apitoken/insert",
            json!({"title": "CI pipeline", "expirationDate": "2099-01-01T00:00:00Z"}),
        )
        .token(&login)
        .send()
        .expect(200)
        .json();
    let doc = docs::example("apitoken.md", "## Get All API Tokens");
    assert_eq!(docs::keys(&created), docs::keys(&doc[0]));
    assert_eq!(created["expirationDate"], "2099-01-01T00:00:00Z");
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("click_") && token.len() > 40, "{token}");

    // Accepted wherever a login token is, both ways.
    let me = agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(200)
        .json();
    assert_eq!(me["username"], "api@example.com");
    agent
        .get("/user/get_all_users")
        .bearer(&token)
        .send()
        .expect(200);
    agent
        .call("POST", "/management/command/0")
        .token(&token)
        .send()
        .expect(200);

    // Listed without the value; the store keeps only a hash.
    let all = agent
        .get("/apitoken/get_all")
        .token(&login)
        .send()
        .expect(200)
        .json();
    assert_eq!(all.as_array().unwrap().len(), 1);
    let shown = all[0]["token"].as_str().unwrap();
    assert!(
        shown.ends_with('…') && token.starts_with(shown.trim_end_matches('…')),
        "{shown}"
    );
    // Whatever keeps the agent's state at rest (the firmware's and the embed example's rows
    // are in RAM).
    if let Some(database) = click_blackbox::stored_state(&agent.data_dir) {
        let secret = &token["click_".len()..];
        assert!(
            !database
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "the token is stored in clear"
        );
    }

    // Deleted: refused at once.
    let id = created["id"].as_str().unwrap();
    agent
        .call("DELETE", &format!("/apitoken/delete?id={id}"))
        .token(&login)
        .send()
        .expect(200);
    agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(401);
    agent
        .call("DELETE", &format!("/apitoken/delete?id={id}"))
        .token(&login)
        .send()
        .expect_error("NOT_FOUND");
    agent
        .get("/authentication/user")
        .token("click_not-a-real-token")
        .send()
        .expect(401);
}

#[test]
fn api_tokens_expire_and_die_with_their_user() {
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "owner@example.com");
    let short = agent
        .post(
            "/apitoken/insert",
            json!({"title": "short", "expirationDate": iso_in(2)}),
        )
        .token(&owner)
        .send()
        .expect(200)
        .json();
    let short = short["token"].as_str().unwrap().to_string();
    agent
        .get("/authentication/user")
        .token(&short)
        .send()
        .expect(200);
    std::thread::sleep(Duration::from_millis(3100));
    agent
        .get("/authentication/user")
        .token(&short)
        .send()
        .expect(401);

    for bad in ["yesterday", "2001-01-01T00:00:00Z", "2027-02-30T99:00:00Z"] {
        agent
            .post(
                "/apitoken/insert",
                json!({"title": "t", "expirationDate": bad}),
            )
            .token(&owner)
            .send()
            .expect_error("DEFAULT");
    }
    agent
        .post("/apitoken/insert", json!({"title": ""}))
        .token(&owner)
        .send()
        .expect_error("DEFAULT");

    // A user's tokens go with the user; other users cannot see or delete them.
    let (user_id, bot) = click_blackbox::member(&agent, &owner, "bot@example.com", 64);
    let bot_api = agent
        .post("/apitoken/insert", json!({"title": "forever"}))
        .token(&bot)
        .send()
        .expect(200)
        .json();
    assert_eq!(bot_api["expirationDate"], serde_json::Value::Null);
    let bot_token = bot_api["token"].as_str().unwrap().to_string();
    let bot_id = bot_api["id"].as_str().unwrap();
    assert_eq!(
        agent
            .get("/apitoken/get_all")
            .token(&owner)
            .send()
            .json()
            .as_array()
            .unwrap()
            .len(),
        1,
        "only the owner's own"
    );
    agent
        .call("DELETE", &format!("/apitoken/delete?id={bot_id}"))
        .token(&owner)
        .send()
        .expect_error("NOT_FOUND");
    agent
        .get("/authentication/user")
        .token(&bot_token)
        .send()
        .expect(200);
    agent
        .call("DELETE", &format!("/user/delete_user?id={user_id}"))
        .token(&owner)
        .send()
        .expect(200);
    agent
        .get("/authentication/user")
        .token(&bot_token)
        .send()
        .expect(401);
}
