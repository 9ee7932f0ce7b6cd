//! The Authentication controller against the real agent (authentication.md, and the
//! extensions README.md lists), with wire shapes checked against the documentation's examples.

use std::time::Duration;

use click_blackbox::{
    Agent, Options, PASSWORD, docs, json, login, signup_and_login, signup_confirmed,
};

#[test]
fn signup_confirm_login_and_profile_follow_the_docs() {
    let agent = Agent::start();
    let email = "jane@example.com";
    agent
        .post(
            "/authentication/signup",
            json!({"name": "Jane Doe", "email": email, "password": PASSWORD}),
        )
        .send()
        .expect(200);
    let mail = agent.last_mail("signup-confirmation", email);
    assert_eq!(mail.token.len(), 4, "a 4-character code: {}", mail.raw);
    assert!(
        mail.raw.contains(&mail.token),
        "the code is in the message body"
    );

    // Login before confirmation is refused.
    let msg = agent
        .post(
            "/authentication/login",
            json!({"username": email, "password": PASSWORD, "type": 16}),
        )
        .send()
        .expect_error("INACTIVE_USER");
    assert!(msg.contains("confirm"), "{msg}");

    let wrong = if mail.token == "0000" { "1111" } else { "0000" };
    agent
        .post(
            "/authentication/confirm_signup",
            json!({"email": email, "token": wrong}),
        )
        .send()
        .expect_error("TOKEN");
    let r = agent
        .post(
            "/authentication/confirm_signup",
            json!({"email": email, "token": mail.token}),
        )
        .send()
        .expect(200);
    assert_eq!(r.json(), json!(true));

    // The documented login response shape.
    let r = agent
        .post(
            "/authentication/login",
            json!({"username": email, "password": PASSWORD, "type": 16}),
        )
        .send()
        .expect(200);
    let body = r.json();
    let doc = docs::example(
        "authentication.md",
        "### Response\n\n```json\n{\n  \"jwtToken\"",
    );
    assert_eq!(docs::keys(&body), docs::keys(&doc));
    assert_eq!(body["challenge"], 0);
    assert_eq!(body["session"], "");
    let token = body["jwtToken"].as_str().unwrap().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT");

    // Get User: the documented fields, as ?token= and as a Bearer header.
    let profile = agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(200)
        .json();
    let doc = docs::example("authentication.md", "## Get User");
    assert_eq!(docs::keys(&profile), docs::keys(&doc), "{profile}");
    assert_eq!(profile["username"], email);
    assert_eq!(profile["firstName"], "Jane");
    assert_eq!(profile["lastName"], "Doe");
    assert_eq!(profile["accountName"], "Jane Doe");
    assert_eq!(
        profile["userType"], 16,
        "the sign-up user is a DesktopAdmin"
    );
    assert_eq!(profile["owner"], true);
    assert_eq!(profile["jwtToken"], token.as_str());
    assert_eq!(profile["subscriptionType"], 1);
    assert_eq!(profile["mfa"], false);
    assert_eq!(profile["authProvider"], 0);
    let via_bearer = agent
        .get("/authentication/user")
        .bearer(&token)
        .send()
        .expect(200)
        .json();
    assert_eq!(via_bearer["userId"], profile["userId"]);
}

#[test]
fn signup_validates_its_input() {
    let agent = Agent::start();
    let long = "x".repeat(51);
    let msg = agent
        .post(
            "/authentication/signup",
            json!({"name": long, "email": "a@example.com", "password": PASSWORD}),
        )
        .send()
        .expect_error("DEFAULT");
    assert!(msg.contains("'name'") && msg.contains("50"), "{msg}");
    let long_email = format!("{}@example.com", "x".repeat(40));
    let msg = agent
        .post(
            "/authentication/signup",
            json!({"name": "A", "email": long_email, "password": PASSWORD}),
        )
        .send()
        .expect_error("DEFAULT");
    assert!(msg.contains("'email'"), "{msg}");
    for bad in ["not-an-email", "a@b", "a @b.com", "@example.com"] {
        agent
            .post(
                "/authentication/signup",
                json!({"name": "A", "email": bad, "password": PASSWORD}),
            )
            .send()
            .expect_error("INVALID_EMAIL");
    }
    let msg = agent
        .post(
            "/authentication/signup",
            json!({"name": "A", "email": "a@example.com", "password": "short"}),
        )
        .send()
        .expect_error("DEFAULT");
    assert!(msg.contains("'password'"), "{msg}");
    let msg = agent
        .post(
            "/authentication/signup",
            json!({"name": "A", "email": "a@example.com"}),
        )
        .send()
        .expect_error("DEFAULT");
    assert!(msg.contains("password"), "{msg}");

    agent
        .post(
            "/authentication/signup",
            json!({"name": "A", "email": "a@example.com", "password": PASSWORD}),
        )
        .send()
        .expect(200);
    agent
        .post(
            "/authentication/signup",
            json!({"name": "B", "email": "A@Example.com", "password": PASSWORD}),
        )
        .send()
        .expect_error("DUPLICATE");
}

#[test]
fn concurrent_signups_for_one_email_create_one_account() {
    let agent = Agent::start();
    let statuses = click_blackbox::concurrently(8, |i| {
        let body =
            json!({"name": format!("N{i}"), "email": "race@example.com", "password": PASSWORD});
        agent.post("/authentication/signup", body).send().status
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 499),
        "{statuses:?}"
    );
}

#[test]
fn login_rejects_bad_credentials_and_types() {
    let agent = Agent::start();
    signup_confirmed(&agent, "bob@example.com", "Bob");
    for (user, pass) in [
        ("bob@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
    ] {
        let r = agent
            .post(
                "/authentication/login",
                json!({"username": user, "password": pass, "type": 16}),
            )
            .send()
            .expect(401);
        assert_eq!(r.json()["type"], "AUTH");
    }
    // A valid UserType that is not this user's: 401, as the Web API documents.
    agent
        .post(
            "/authentication/login",
            json!({"username": "bob@example.com", "password": PASSWORD, "type": 32}),
        )
        .send()
        .expect(401);
    // Not a UserType at all.
    let msg = agent
        .post(
            "/authentication/login",
            json!({"username": "bob@example.com", "password": PASSWORD, "type": 3}),
        )
        .send()
        .expect_error("DEFAULT");
    assert!(msg.contains("'type'"), "{msg}");
    // Usernames match whatever their case.
    login(&agent, "BOB@example.com", PASSWORD);
}

#[test]
fn confirmation_codes_cannot_be_guessed_and_can_be_resent() {
    let agent = Agent::start();
    let email = "guess@example.com";
    agent
        .post(
            "/authentication/signup",
            json!({"name": "G", "email": email, "password": PASSWORD}),
        )
        .send()
        .expect(200);
    let code = agent.last_mail("signup-confirmation", email).token;
    let wrong = if code == "0000" { "1111" } else { "0000" };
    for _ in 0..5 {
        agent
            .post(
                "/authentication/confirm_signup",
                json!({"email": email, "token": wrong}),
            )
            .send()
            .expect_error("TOKEN");
    }
    // After five misses the code is void, even the right one.
    agent
        .post(
            "/authentication/confirm_signup",
            json!({"email": email, "token": code}),
        )
        .send()
        .expect_error("TOKEN");

    let before = agent.outbox().len();
    agent
        .post(
            "/authentication/resend_confirmation_email",
            json!({"email": email}),
        )
        .send()
        .expect(200);
    assert_eq!(agent.outbox().len(), before + 1);
    let fresh = agent.last_mail("signup-confirmation", email).token;
    agent
        .post(
            "/authentication/confirm_signup",
            json!({"email": email, "token": fresh}),
        )
        .send()
        .expect(200);
    login(&agent, email, PASSWORD);

    // Resending for unknown or confirmed addresses says nothing and sends nothing.
    let before = agent.outbox().len();
    for e in [email, "unknown@example.com"] {
        agent
            .post(
                "/authentication/resend_confirmation_email",
                json!({"email": e}),
            )
            .send()
            .expect(200);
    }
    assert_eq!(agent.outbox().len(), before);
}

#[test]
fn logout_revokes_the_token_at_once() {
    let agent = Agent::start();
    let token = signup_and_login(&agent, "out@example.com");
    let other = login(&agent, "out@example.com", PASSWORD);
    agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(200);
    agent
        .post("/authentication/logout", json!({"jwtToken": token}))
        .send()
        .expect(200);
    let r = agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(401);
    assert_eq!(r.header("error-code"), Some("AUTH"));
    // Other sessions of the same user are untouched.
    agent
        .get("/authentication/user")
        .token(&other)
        .send()
        .expect(200);
    // Logging out twice, or with garbage, is harmless.
    agent
        .post("/authentication/logout", json!({"jwtToken": token}))
        .send()
        .expect(200);
    agent
        .post("/authentication/logout", json!({"jwtToken": "garbage"}))
        .send()
        .expect(200);
}

#[test]
fn tampered_and_foreign_tokens_are_refused() {
    let agent = Agent::start();
    let token = signup_and_login(&agent, "t@example.com");
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[2] = parts[2].chars().rev().collect();
    agent
        .get("/authentication/user")
        .token(&parts.join("."))
        .send()
        .expect(401);
    // A token signed by another agent (another data dir, another key).
    let other = Agent::start();
    let foreign = signup_and_login(&other, "t@example.com");
    agent
        .get("/authentication/user")
        .token(&foreign)
        .send()
        .expect(401);
    agent.get("/authentication/user").send().expect(401);
    agent
        .get("/authentication/user")
        .token("")
        .send()
        .expect(401);
}

#[test]
fn tokens_expire() {
    let agent = Agent::start_with(Options {
        config: "[auth]\ntoken_ttl_secs = 1\n".into(),
        ..Options::default()
    });
    let token = signup_and_login(&agent, "exp@example.com");
    agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(200);
    std::thread::sleep(Duration::from_millis(2100));
    agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(401);
}

#[test]
fn update_user_and_subscription() {
    let agent = Agent::start();
    let token = signup_and_login(&agent, "up@example.com");
    let body = json!({"accountName": "Example Org", "firstName": "Janet", "lastName": "Dough"});
    let profile = agent
        .put("/authentication/update_user", body)
        .token(&token)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        docs::keys(&profile),
        docs::keys(&docs::example("authentication.md", "## Get User"))
    );
    assert_eq!(
        (
            profile["accountName"].as_str(),
            profile["firstName"].as_str()
        ),
        (Some("Example Org"), Some("Janet"))
    );
    // Omitted fields keep their values.
    let profile = agent
        .put("/authentication/update_user", json!({"lastName": "Doe"}))
        .token(&token)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        (profile["firstName"].as_str(), profile["lastName"].as_str()),
        (Some("Janet"), Some("Doe"))
    );
    let msg = agent
        .put(
            "/authentication/update_user",
            json!({"firstName": "x".repeat(51)}),
        )
        .token(&token)
        .send()
        .expect_error("DEFAULT");
    assert!(msg.contains("firstName"), "{msg}");

    agent
        .put(
            "/authentication/update_subscription",
            json!({"subscriptionType": 2}),
        )
        .token(&token)
        .send()
        .expect(200);
    let profile = agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(200)
        .json();
    assert_eq!(profile["subscriptionType"], 2);
    agent
        .put(
            "/authentication/update_subscription",
            json!({"subscriptionType": 3}),
        )
        .token(&token)
        .send()
        .expect_error("DEFAULT");
    agent
        .put(
            "/authentication/update_subscription",
            json!({"subscriptionType": 1}),
        )
        .send()
        .expect(401);
}

#[test]
fn forgot_and_reset_password_with_an_emailed_token() {
    let agent = Agent::start();
    let email = "forgot@example.com";
    let old_session = signup_and_login(&agent, email);
    let before = agent.outbox().len();
    agent
        .post(
            "/authentication/forgot_password",
            json!({"username": "unknown@example.com"}),
        )
        .send()
        .expect(200);
    assert_eq!(
        agent.outbox().len(),
        before,
        "no mail for unknown users, same answer"
    );
    agent
        .post(
            "/authentication/forgot_password",
            json!({"username": email}),
        )
        .send()
        .expect(200);
    let reset = agent.last_mail("password-reset", email).token;
    assert!(reset.len() >= 32, "{reset}");

    agent
        .post(
            "/authentication/reset_password",
            json!({"resetToken": "bogus", "password": "a new password"}),
        )
        .send()
        .expect_error("TOKEN");
    agent
        .post(
            "/authentication/reset_password",
            json!({"resetToken": reset, "password": "a new password"}),
        )
        .send()
        .expect(200);
    // Single use.
    agent
        .post(
            "/authentication/reset_password",
            json!({"resetToken": reset, "password": "another password"}),
        )
        .send()
        .expect_error("TOKEN");
    // Sessions opened with the old password are gone; the new password works.
    agent
        .get("/authentication/user")
        .token(&old_session)
        .send()
        .expect(401);
    agent
        .post(
            "/authentication/login",
            json!({"username": email, "password": PASSWORD, "type": 16}),
        )
        .send()
        .expect(401);
    login(&agent, email, "a new password");
}

#[test]
fn reset_password_while_signed_in_needs_the_current_password() {
    let agent = Agent::start();
    let email = "change@example.com";
    let token = signup_and_login(&agent, email);
    let other = login(&agent, email, PASSWORD);
    agent
        .post(
            "/authentication/reset_password",
            json!({"password": "brand new password", "currentPassword": "wrong"}),
        )
        .token(&token)
        .send()
        .expect_error("AUTH");
    agent
        .post(
            "/authentication/reset_password",
            json!({"password": "brand new password", "currentPassword": PASSWORD}),
        )
        .token(&token)
        .send()
        .expect(200);
    agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(200);
    agent
        .get("/authentication/user")
        .token(&other)
        .send()
        .expect(401);
    login(&agent, email, "brand new password");
    // Without any token or reset token: 401.
    agent
        .post(
            "/authentication/reset_password",
            json!({"password": "brand new password"}),
        )
        .send()
        .expect(401);
}

#[test]
fn sessions_and_keys_survive_a_restart() {
    if click_blackbox::hosted_only("a restart (its state is in RAM)") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let options = Options {
        data_dir: Some(dir.clone()),
        ..Options::default()
    };
    let agent = Agent::start_with(options.clone());
    let token = signup_and_login(&agent, "persist@example.com");
    assert_eq!(agent.terminate().code(), Some(0));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(dir.join("token-signing.key")).unwrap();
        assert_eq!(
            key.permissions().mode() & 0o777,
            0o600,
            "the signing key is the owner's only"
        );
        let data = std::fs::metadata(&dir).unwrap();
        assert_eq!(data.permissions().mode() & 0o777, 0o700);
    }
    let agent = Agent::start_with(options);
    agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(200);
    login(&agent, "persist@example.com", PASSWORD);
}
