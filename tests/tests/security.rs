//! The security model (ARCHITECTURE.md "Security"): Host allowlist, Origin checks, CORS, tokens in
//! default and compat modes, and secrets kept out of the log.

use click_blackbox::{Agent, Options, PASSWORD, json, signup_and_login};

const UI: &str = "http://localhost:3000";

fn agent_with_origin() -> Agent {
    Agent::start_with(Options {
        config: format!("allowed_origins = [\"{UI}\"]\nallowed_hosts = [\"nas.lan\"]\n"),
        ..Options::default()
    })
}

#[test]
fn only_loopback_and_configured_hosts_are_served() {
    let agent = agent_with_origin();
    let port = agent.addr.port();
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "nas.lan".into(),
    ] {
        agent
            .get("/management/agent_status")
            .header("Host", &host)
            .send()
            .expect(200);
    }
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own name.
    for host in [
        "evil.example",
        "evil.example:29123",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "",
    ] {
        let r = agent
            .get("/management/agent_status")
            .header("Host", host)
            .send()
            .expect(403);
        assert_eq!(r.json()["type"], "SECURITY");
        agent
            .post(
                "/authentication/signup",
                json!({"name": "x", "email": "x@example.com", "password": PASSWORD}),
            )
            .header("Host", host)
            .send()
            .expect(403);
    }
    agent
        .get("/management/agent_status")
        .without_host()
        .send()
        .expect(403);
    let e = agent
        .ws("/notification", &[("Host", "evil.example")])
        .err()
        .unwrap();
    assert!(e.to_string().contains("403"), "{e}");
}

#[test]
fn state_changing_calls_from_foreign_origins_are_refused() {
    let agent = agent_with_origin();
    let signup = || json!({"name": "x", "email": "o@example.com", "password": PASSWORD});
    // CSRF from a page on another site.
    for origin in ["http://evil.example", "null", "http://localhost:3001"] {
        agent
            .post("/authentication/signup", signup())
            .header("Origin", origin)
            .send()
            .expect(403);
        let e = agent
            .ws("/notification", &[("Origin", origin)])
            .err()
            .unwrap();
        assert!(e.to_string().contains("403"), "{e}");
    }
    // Reads carry no Origin check, and get no CORS header either.
    let r = agent
        .get("/management/agent_status")
        .header("Origin", "http://evil.example")
        .send()
        .expect(200);
    assert_eq!(r.header("access-control-allow-origin"), None);
    // The configured UI origin is served, with CORS.
    let r = agent
        .post("/authentication/signup", signup())
        .header("Origin", UI)
        .send()
        .expect(200);
    assert_eq!(r.header("access-control-allow-origin"), Some(UI));
    // No Origin at all (curl, scripts) is fine.
    agent
        .post(
            "/authentication/forgot_password",
            json!({"username": "o@example.com"}),
        )
        .send()
        .expect(200);
}

#[test]
fn the_agents_own_origin_is_same_origin() {
    // A page the agent serves (the reports' dashboard) calls it from its own origin.
    let agent = Agent::start();
    let own = format!("http://{}", agent.host());
    let port = agent.addr.port();
    let signup = |n: usize| json!({"name": "x", "email": format!("own{n}@example.com"), "password": PASSWORD});
    agent
        .post("/authentication/signup", signup(0))
        .header("Origin", &own)
        .send()
        .expect(200);
    // On loopback, the other names of the same port are the agent too.
    if agent.addr.ip().is_loopback() {
        for (n, name) in ["localhost", "127.0.0.1", "[::1]"].iter().enumerate() {
            agent
                .post("/authentication/signup", signup(n + 1))
                .header("Origin", &format!("http://{name}:{port}"))
                .send()
                .expect(200);
        }
    }
    let token = signup_and_login(&agent, "own@example.com");
    let path = format!("/notification?token={token}");
    agent
        .ws(&path, &[("Origin", &own)])
        .expect("same-origin WebSocket");
    // Another port on the same host is another site.
    let other = format!("http://127.0.0.1:{}", port.wrapping_add(1));
    agent
        .post("/authentication/signup", signup(9))
        .header("Origin", &other)
        .send()
        .expect(403);
}

#[test]
fn cors_preflight_only_for_allowlisted_origins() {
    let agent = agent_with_origin();
    let r = agent
        .call("OPTIONS", "/authentication/login")
        .header("Origin", UI)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .expect(204);
    assert_eq!(r.header("access-control-allow-origin"), Some(UI));
    assert!(
        r.header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    agent
        .call("OPTIONS", "/authentication/login")
        .header("Origin", "http://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .expect(403);
}

#[test]
fn management_and_websockets_need_a_token_unless_compat() {
    let secure = Agent::start();
    let notify =
        || json!({"operation": 2, "endpointAddress": "e", "httpMethod": "POST", "origion": "o"});
    secure.get("/management/agent_status").send().expect(200);
    secure
        .post("/management/notify", notify())
        .send()
        .expect(401);
    secure
        .call("POST", "/management/command/2")
        .send()
        .expect(401);
    assert!(secure.ws("/notification", &[]).is_err());
    assert!(secure.ws("/statechange", &[]).is_err());
    let token = signup_and_login(&secure, "sec@example.com");
    secure
        .post("/management/notify", notify())
        .token(&token)
        .send()
        .expect(200);

    let compat = Agent::start_compat();
    compat
        .post("/management/notify", notify())
        .send()
        .expect(200);
    compat
        .ws("/notification", &[])
        .expect("documented: no token");
    // Compat mode still guards Host and Origin.
    compat
        .post("/management/notify", notify())
        .header("Host", "evil.example")
        .send()
        .expect(403);
    compat
        .post("/management/notify", notify())
        .header("Origin", "http://evil.example")
        .send()
        .expect(403);
    // Endpoints documented as needing a token still do.
    compat.get("/authentication/user").send().expect(401);
}

#[test]
fn tokens_and_passwords_never_reach_the_log() {
    if click_blackbox::desktop_only("a request log") {
        return;
    }
    let agent = Agent::start_with(Options {
        env: vec![("RUST_LOG".into(), "trace".into())],
        ..Options::default()
    });
    let token = signup_and_login(&agent, "log@example.com");
    agent
        .get("/authentication/user")
        .token(&token)
        .send()
        .expect(200);
    agent
        .get("/authentication/user")
        .bearer(&token)
        .send()
        .expect(200);
    agent
        .post(
            "/authentication/login",
            json!({"username": "log@example.com", "password": "wrong-password-123"}),
        )
        .send()
        .expect(401);
    agent
        .post("/authentication/logout", json!({"jwtToken": token}))
        .send()
        .expect(200);
    let code = agent
        .last_mail("signup-confirmation", "log@example.com")
        .token;
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = agent.log();
    assert!(
        log.contains("/authentication/user"),
        "requests are logged at trace level: {log}"
    );
    let signature = token.rsplit('.').next().unwrap();
    for secret in [signature, PASSWORD, "wrong-password-123"] {
        assert!(!log.contains(secret), "{secret:?} found in the log");
    }
    assert!(!log.contains(&format!("token={code}")));
}

#[test]
fn password_guessing_is_slowed_down() {
    let agent = Agent::start_with(Options {
        config: "[auth]\nlogin_free_attempts = 3\n".into(),
        ..Options::default()
    });
    signup_and_login(&agent, "target@example.com");
    let attempt = |password: &str| {
        agent
            .post(
                "/authentication/login",
                json!({"username": "target@example.com", "password": password, "type": 16}),
            )
            .send()
    };
    for _ in 0..3 {
        attempt("guess").expect(401);
    }
    let msg = attempt(PASSWORD).expect_error("SECURITY");
    assert!(msg.contains("try again in"), "{msg}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    attempt(PASSWORD).expect(200);
    // Unknown users get the same 401 and never a different answer.
    for _ in 0..5 {
        agent
            .post(
                "/authentication/login",
                json!({"username": "ghost@example.com", "password": "x"}),
            )
            .send()
            .expect(401);
    }
}
