//! `/notification` and `/statechange` (websockets.md): upgrades, auth, AppNotification after
//! every non-GET call, slow clients, shutdown.

use std::time::{Duration, Instant};

use click_blackbox::ws::Frame;
use click_blackbox::{Agent, Options, json, signup_and_login};

#[test]
fn a_plain_get_is_400_and_an_upgrade_needs_a_token() {
    let agent = Agent::start();
    let token = signup_and_login(&agent, "ws@example.com");
    for path in ["/notification", "/statechange"] {
        agent.get(path).token(&token).send().expect(400);
        let e = agent.ws(path, &[]).err().expect("refused without a token");
        assert!(e.to_string().contains("401"), "{e}");
        agent
            .ws(&format!("{path}?token={token}"), &[])
            .expect("upgrade with ?token=");
        let bearer = format!("Bearer {token}");
        agent
            .ws(path, &[("Authorization", &bearer)])
            .expect("upgrade with a Bearer header");
    }
    let compat = Agent::start_compat();
    compat.get("/notification").send().expect(400);
    compat
        .ws("/notification", &[])
        .expect("open in compat mode");
    compat.ws("/statechange", &[]).expect("open in compat mode");
}

#[test]
fn every_non_get_call_raises_an_app_notification() {
    let agent = Agent::start_compat();
    let mut ws = agent.ws("/notification", &[]).unwrap();
    let mut other = agent.ws("/notification", &[]).unwrap();
    let mut states = agent.ws("/statechange", &[]).unwrap();
    agent.get("/management/agent_status").send().expect(200);
    agent
        .post(
            "/authentication/forgot_password",
            json!({"username": "x@example.com"}),
        )
        .header("X-App-Origin", "my-ui")
        .send()
        .expect(200);
    for socket in [&mut ws, &mut other] {
        let frame = socket.next_json();
        assert_eq!(frame["Type"], 4, "{frame}");
        let data = &frame["Data"];
        assert_eq!(data["Operation"], "EndpointExecution");
        assert_eq!(data["HttpMethod"], "POST");
        assert_eq!(data["Origin"], "my-ui");
        let address = data["EndpointAddress"].as_str().unwrap();
        assert!(
            address.ends_with("/authentication/forgot_password"),
            "{address}"
        );
    }
    // Failed calls raise one too; the token never appears in it.
    agent
        .post(
            "/authentication/login",
            json!({"username": "nobody@example.com", "password": "x"}),
        )
        .send()
        .expect(401);
    let frame = ws.next_json();
    assert_eq!(frame["Data"]["Origin"], "");
    // The GET raised nothing, and nothing goes to /statechange.
    ws.set_timeout(Duration::from_millis(300));
    assert!(matches!(ws.read_frame(), Frame::Timeout));
    states.set_timeout(Duration::from_millis(300));
    assert!(matches!(states.read_frame(), Frame::Timeout));
}

#[test]
fn a_client_too_slow_to_read_is_closed_with_1008_without_slowing_the_agent() {
    if click_blackbox::hosted_only(
        "[limits] ws_queue_frames (the firmware's queue is sized when it is built)",
    ) {
        return;
    }
    let agent = Agent::start_with(Options {
        compat: true,
        config: "[limits]\nws_queue_frames = 8\n".into(),
        ..Options::default()
    });
    let mut slow = agent.ws("/notification", &[]).unwrap();
    let mut fast = agent.ws("/notification", &[]).unwrap();
    // Fits the embassy adapter's 16 KiB request buffer; enough calls to fill any socket buffer.
    let payload = "x".repeat(12_000);
    let sent = 600;
    let mut slowest = Duration::ZERO;
    for _ in 0..sent {
        let started = Instant::now();
        agent
            .post(
                "/management/notify",
                json!({"operation": 2, "data": payload}),
            )
            .send()
            .expect(200);
        slowest = slowest.max(started.elapsed());
        // The fast client keeps up.
        assert_eq!(
            fast.next_json()["Data"]["Data"].as_str().map(str::len),
            Some(12_000)
        );
    }
    assert!(slowest < Duration::from_secs(2), "a call took {slowest:?}");
    // The slow client got some frames, then was closed with 1008 (policy: it did not keep up)
    // long before all of them.
    let mut received = 0;
    slow.set_timeout(Duration::from_secs(5));
    let end = loop {
        match slow.read_frame() {
            Frame::Json(_) => received += 1,
            other => break other,
        }
    };
    assert!(received < sent, "the slow client got all {received} frames");
    assert!(
        matches!(end, Frame::Close(Some(1008))),
        "expected a close with 1008 after {received} frames, got {end:?}"
    );
    agent.get("/management/agent_status").send().expect(200);
}

#[test]
fn shutdown_closes_websockets_with_1000() {
    if click_blackbox::hosted_only("SIGTERM (it stops on command/8)") {
        return;
    }
    let agent = Agent::start_compat();
    let mut a = agent.ws("/notification", &[]).unwrap();
    let mut b = agent.ws("/statechange", &[]).unwrap();
    // Let both upgrades settle before the signal.
    agent.get("/management/agent_status").send().expect(200);
    let status = agent.terminate();
    assert_eq!(status.code(), Some(0));
    for ws in [&mut a, &mut b] {
        match ws.read_frame() {
            Frame::Close(code) => assert_eq!(code, Some(1000)),
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}
