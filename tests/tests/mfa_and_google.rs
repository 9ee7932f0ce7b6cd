//! TOTP multi-factor authentication (RFC 6238, checked with the independent `totp-rs`) and
//! Google sign-in with RS256 ID tokens signed by a locally generated key.

use std::time::Duration;

use click_blackbox::identity::{
    CLIENT_ID, away_from_step_boundary, claims, code, fixture, google_config, id_token, now,
};
use click_blackbox::{Agent, Options, PASSWORD, json, signup_and_login};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

fn enable_mfa(agent: &Agent, token: &str, step_offset: i64) -> String {
    let r = agent
        .post("/user/generate_mfa_token", json!({}))
        .token(token)
        .send()
        .expect(200);
    let secret = r.json().as_str().expect("a JSON string").to_string();
    assert!(
        secret.len() >= 32
            && secret
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
        "{secret}"
    );
    agent
        .post(
            "/user/set_mfa",
            json!({"enabled": true, "userCode": code(&secret, step_offset)}),
        )
        .token(token)
        .send()
        .expect(200);
    secret
}

fn login_challenge(agent: &Agent, email: &str) -> String {
    let body = agent
        .post(
            "/authentication/login",
            json!({"username": email, "password": PASSWORD, "type": 16}),
        )
        .send()
        .expect(200)
        .json();
    assert_eq!(body["challenge"], 1, "{body}");
    assert_eq!(body["jwtToken"], "");
    body["session"].as_str().unwrap().to_string()
}

#[test]
fn enabling_and_disabling_mfa_needs_valid_codes() {
    away_from_step_boundary();
    let agent = Agent::start();
    let token = signup_and_login(&agent, "mfa1@example.com");
    agent
        .post(
            "/user/set_mfa",
            json!({"enabled": true, "userCode": "123456"}),
        )
        .token(&token)
        .send()
        .expect_error("DEFAULT");
    let r = agent
        .post("/user/generate_mfa_token", json!({}))
        .token(&token)
        .send()
        .expect(200);
    let secret = r.json().as_str().unwrap().to_string();
    let wrong = if code(&secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    agent
        .post("/user/set_mfa", json!({"enabled": true, "userCode": wrong}))
        .token(&token)
        .send()
        .expect_error("TOTP");
    agent
        .post(
            "/user/set_mfa",
            json!({"enabled": true, "userCode": code(&secret, -1)}),
        )
        .token(&token)
        .send()
        .expect(200);
    assert_eq!(
        agent
            .get("/authentication/user")
            .token(&token)
            .send()
            .json()["mfa"],
        true
    );
    // A stolen token alone cannot turn MFA off.
    agent
        .post("/user/set_mfa", json!({"enabled": false}))
        .token(&token)
        .send()
        .expect_error("TOTP");
    agent
        .post(
            "/user/set_mfa",
            json!({"enabled": false, "userCode": code(&secret, 0)}),
        )
        .token(&token)
        .send()
        .expect(200);
    assert_eq!(
        agent
            .get("/authentication/user")
            .token(&token)
            .send()
            .json()["mfa"],
        false
    );
    agent
        .post("/user/generate_mfa_token", json!({}))
        .send()
        .expect(401);
}

#[test]
fn login_with_mfa_is_a_short_single_use_challenge() {
    away_from_step_boundary();
    let agent = Agent::start();
    let email = "mfa2@example.com";
    let token = signup_and_login(&agent, email);
    let secret = enable_mfa(&agent, &token, -1);

    let session = login_challenge(&agent, email);
    let good = code(&secret, 0);
    let r = agent
        .post(
            "/authentication/mfa_respond",
            json!({"userCode": good, "session": session}),
        )
        .send()
        .expect(200)
        .json();
    assert_eq!(r["challenge"], 0);
    let mfa_token = r["jwtToken"].as_str().unwrap().to_string();
    agent
        .get("/authentication/user")
        .token(&mfa_token)
        .send()
        .expect(200);
    // The session is single-use.
    agent
        .post(
            "/authentication/mfa_respond",
            json!({"userCode": good, "session": session}),
        )
        .send()
        .expect_error("SESSION");
    // A code cannot be replayed in another login.
    let session = login_challenge(&agent, email);
    agent
        .post(
            "/authentication/mfa_respond",
            json!({"userCode": good, "session": session}),
        )
        .send()
        .expect_error("TOTP");
    // Three wrong codes void the session.
    for _ in 0..2 {
        agent
            .post(
                "/authentication/mfa_respond",
                json!({"userCode": "12345x", "session": session}),
            )
            .send()
            .expect_error("TOTP");
    }
    agent
        .post(
            "/authentication/mfa_respond",
            json!({"userCode": code(&secret, 1), "session": session}),
        )
        .send()
        .expect_error("SESSION");
    agent
        .post(
            "/authentication/mfa_respond",
            json!({"userCode": code(&secret, 1), "session": "made-up"}),
        )
        .send()
        .expect_error("SESSION");
}

#[test]
fn mfa_sessions_expire() {
    away_from_step_boundary();
    let agent = Agent::start_with(Options {
        config: "[auth]\nmfa_session_ttl_secs = 1\n".into(),
        ..Options::default()
    });
    let email = "mfa3@example.com";
    let token = signup_and_login(&agent, email);
    let secret = enable_mfa(&agent, &token, -1);
    let session = login_challenge(&agent, email);
    std::thread::sleep(Duration::from_millis(1500));
    agent
        .post(
            "/authentication/mfa_respond",
            json!({"userCode": code(&secret, 0), "session": session}),
        )
        .send()
        .expect_error("SESSION");
}

// ------------------------------------------------------------------ Google

fn google_agent() -> Agent {
    Agent::start_with(Options {
        config: google_config(),
        ..Options::default()
    })
}

#[test]
fn google_sign_up_and_login() {
    if click_blackbox::desktop_only("Google sign-in") {
        return;
    }
    let agent = google_agent();
    let token = id_token("google-test-key.pem", claims("1001", "gina@example.com"));
    let r = agent
        .post("/authentication/google_signup", json!({"idToken": token}))
        .send()
        .expect(200);
    let jwt = r.json().as_str().expect("a JSON string").to_string();
    let profile = agent
        .get("/authentication/user")
        .token(&jwt)
        .send()
        .expect(200)
        .json();
    assert_eq!(profile["authProvider"], 1);
    assert_eq!(
        (profile["firstName"].as_str(), profile["username"].as_str()),
        (Some("Gina"), Some("gina@example.com"))
    );
    assert_eq!(
        (profile["owner"].as_bool(), profile["userType"].as_u64()),
        (Some(true), Some(16))
    );

    agent
        .post("/authentication/google_signup", json!({"idToken": token}))
        .send()
        .expect_error("DUPLICATE");
    let r = agent
        .post("/authentication/google_login", json!({"idToken": token}))
        .send()
        .expect(200);
    let jwt = r.json().as_str().unwrap().to_string();
    agent
        .get("/authentication/user")
        .token(&jwt)
        .send()
        .expect(200);
    // A Google-only user has no password to log in with.
    agent
        .post(
            "/authentication/login",
            json!({"username": "gina@example.com", "password": "", "type": 16}),
        )
        .send()
        .expect(401);
}

#[test]
fn google_tokens_are_verified() {
    if click_blackbox::desktop_only("Google sign-in") {
        return;
    }
    let agent = google_agent();
    let mut wrong_aud = claims("2", "a@example.com");
    wrong_aud["aud"] = json!("someone-else.apps.googleusercontent.com");
    let mut expired = claims("3", "b@example.com");
    expired["exp"] = json!(now() - 3600);
    expired["iat"] = json!(now() - 7200);
    let mut wrong_iss = claims("4", "c@example.com");
    wrong_iss["iss"] = json!("https://evil.example.com");
    let bad = [
        id_token("google-test-key.pem", wrong_aud),
        id_token("google-test-key.pem", expired),
        id_token("google-test-key.pem", wrong_iss),
        id_token("other-key.pem", claims("5", "d@example.com")),
        "not.a.token".to_string(),
    ];
    for token in bad {
        agent
            .post("/authentication/google_signup", json!({"idToken": token}))
            .send()
            .expect(401);
        agent
            .post("/authentication/google_login", json!({"idToken": token}))
            .send()
            .expect(401);
    }
    let mut unverified = claims("6", "e@example.com");
    unverified["email_verified"] = json!(false);
    agent
        .post(
            "/authentication/google_signup",
            json!({"idToken": id_token("google-test-key.pem", unverified)}),
        )
        .send()
        .expect_error("INVALID_EMAIL");
    // A valid token for nobody who signed up.
    agent
        .post(
            "/authentication/google_login",
            json!({"idToken": id_token("google-test-key.pem", claims("7", "f@example.com"))}),
        )
        .send()
        .expect(401);
}

#[test]
fn google_sign_in_is_off_unless_configured() {
    let agent = Agent::start();
    let token = id_token("google-test-key.pem", claims("1", "g@example.com"));
    let r = agent
        .post("/authentication/google_signup", json!({"idToken": token}))
        .send()
        .expect(401);
    assert!(r.text().contains("not configured"), "{}", r.text());
}

/// Serves the JWKS document `keys()` returns over HTTP and counts the fetches.
fn jwks_server(
    keys: impl Fn() -> String + Send + 'static,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = fetches.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = keys();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: public, max-age=3600\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, fetches)
}

#[test]
fn google_keys_from_a_url_are_cached_and_refetched_on_rotation() {
    if click_blackbox::desktop_only("Google sign-in") {
        return;
    }
    use std::sync::atomic::Ordering;
    let rotated = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = rotated.clone();
    let (port, fetches) = jwks_server(move || {
        let mut set: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture("google-jwks.json")).unwrap())
                .unwrap();
        if flag.load(Ordering::SeqCst) {
            // The second key of a rotation: other-key.pem's public half.
            let other: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(fixture("other-jwks.json")).unwrap())
                    .unwrap();
            set["keys"]
                .as_array_mut()
                .unwrap()
                .push(other["keys"][0].clone());
        }
        set.to_string()
    });
    let agent = Agent::start_with(Options {
        config: format!(
            "[google]\nclient_ids = [\"{CLIENT_ID}\"]\njwks_url = \"http://127.0.0.1:{port}/certs\"\njwks_min_refetch_secs = 1\n"
        ),
        ..Options::default()
    });
    let token = id_token("google-test-key.pem", claims("u1", "u1@example.com"));
    agent
        .post("/authentication/google_signup", json!({"idToken": token}))
        .send()
        .expect(200);
    agent
        .post("/authentication/google_login", json!({"idToken": token}))
        .send()
        .expect(200);
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "fetched once, then cached"
    );

    // Google rotates in a new key; tokens signed with it are accepted after one refetch.
    rotated.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1100));
    let pem = std::fs::read(fixture("other-key.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-key-2".into());
    let new_token = encode(
        &header,
        &claims("u2", "u2@example.com"),
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap();
    agent
        .post(
            "/authentication/google_signup",
            json!({"idToken": new_token}),
        )
        .send()
        .expect(200);
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // Unknown key ids cannot make the agent hammer the key server.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("made-up".into());
    let bogus = encode(
        &header,
        &claims("u3", "u3@example.com"),
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap();
    for _ in 0..5 {
        agent
            .post("/authentication/google_login", json!({"idToken": bogus}))
            .send()
            .expect(401);
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[test]
fn plain_http_key_urls_must_be_loopback() {
    if click_blackbox::desktop_only("the desktop binary") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, format!("[google]\nclient_ids = [\"{CLIENT_ID}\"]\njwks_url = \"http://keys.example.com/certs\"\n")).unwrap();
    let out = std::process::Command::new(click_blackbox::agent_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback"), "{err}");
}
