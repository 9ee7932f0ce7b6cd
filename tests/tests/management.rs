//! Management basics: agent status, lifecycle commands, notify (management.md).

use std::time::Duration;

use click_blackbox::ws::Frame;
use click_blackbox::{Agent, json, signup_and_login};

fn status(agent: &Agent) -> serde_json::Value {
    let r = agent.get("/management/agent_status").send().expect(200);
    // A bare integer, as management.md shows.
    assert_eq!(r.text().trim(), r.json().to_string());
    r.json()
}

#[test]
fn agent_status_is_a_bare_integer_without_a_token() {
    let agent = Agent::start();
    assert_eq!(status(&agent), json!(0), "Created");
    let compat = Agent::start_compat();
    assert_eq!(status(&compat), json!(0));
}

#[test]
fn commands_drive_the_documented_states() {
    let agent = Agent::start();
    let token = signup_and_login(&agent, "cmd@example.com");
    // Secure mode: every command needs a token.
    agent
        .call("POST", "/management/command/0")
        .send()
        .expect(401);
    agent
        .call("POST", "/management/command/2")
        .send()
        .expect(401);
    // Pause before Start makes no sense.
    agent
        .call("POST", "/management/command/2")
        .token(&token)
        .send()
        .expect_error("DEFAULT");

    agent
        .call("POST", "/management/command/0")
        .token(&token)
        .send()
        .expect(200);
    assert_eq!(status(&agent), json!(1), "Started");
    agent
        .call("POST", "/management/command/2")
        .token(&token)
        .send()
        .expect(200);
    assert_eq!(status(&agent), json!(4), "Paused");
    agent
        .call("POST", "/management/command/2")
        .token(&token)
        .send()
        .expect_error("DEFAULT");
    agent
        .call("POST", "/management/command/4")
        .token(&token)
        .send()
        .expect(200);
    assert_eq!(status(&agent), json!(1), "Resumed");
    agent
        .call("POST", "/management/command/1")
        .token(&token)
        .send()
        .expect(200);
    assert_eq!(status(&agent), json!(8), "Disposed");
    // Names are aliases of the integers.
    agent
        .call("POST", "/management/command/start")
        .bearer(&token)
        .send()
        .expect(200);
    assert_eq!(status(&agent), json!(1));
    agent
        .call("POST", "/management/command/Pause")
        .bearer(&token)
        .send()
        .expect(200);
    assert_eq!(status(&agent), json!(4));
    for bad in ["3", "16", "-1", "reboot"] {
        let msg = agent
            .call("POST", &format!("/management/command/{bad}"))
            .token(&token)
            .send()
            .expect_error("DEFAULT");
        assert!(msg.contains("Start (0)"), "{msg}");
    }
}

#[test]
fn compat_mode_needs_a_token_only_for_start() {
    let agent = Agent::start_compat();
    let token = signup_and_login(&agent, "compat@example.com");
    agent
        .call("POST", "/management/command/0")
        .send()
        .expect(401);
    agent
        .call("POST", "/management/command/0")
        .token(&token)
        .send()
        .expect(200);
    agent
        .call("POST", "/management/command/2")
        .send()
        .expect(200);
    assert_eq!(status(&agent), json!(4));
    agent
        .call("POST", "/management/command/4")
        .send()
        .expect(200);
    agent
        .post(
            "/management/notify",
            json!({"operation": 2, "endpointAddress": "x", "httpMethod": "POST", "origion": "o"}),
        )
        .send()
        .expect(200);
    // An invalid token is refused even where none is needed.
    agent
        .call("POST", "/management/command/2")
        .token("garbage")
        .send()
        .expect(401);
}

#[test]
fn exit_stops_the_agent_gracefully() {
    let agent = Agent::start();
    let token = signup_and_login(&agent, "exit@example.com");
    let mut ws = agent
        .ws(&format!("/notification?token={token}"), &[])
        .unwrap();
    agent
        .call("POST", "/management/command/8")
        .token(&token)
        .send()
        .expect(200);
    // The AppExit notification, then a clean close.
    let frame = ws.next_json();
    assert_eq!(
        (frame["Type"].as_u64(), frame["Data"]["Operation"].as_str()),
        (Some(4), Some("AppExit"))
    );
    loop {
        match ws.read_frame() {
            Frame::Json(_) => continue,
            Frame::Close(code) => {
                assert_eq!(code, Some(1000));
                break;
            }
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    let exit = agent
        .wait_exit(Duration::from_secs(15))
        .expect("the agent exits");
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn notify_reaches_websocket_clients() {
    let agent = Agent::start();
    let token = signup_and_login(&agent, "notify@example.com");
    let mut ws = agent
        .ws(&format!("/notification?token={token}"), &[])
        .unwrap();
    let doc = click_blackbox::docs::example("management.md", "### Notify");
    agent
        .post("/management/notify", doc)
        .token(&token)
        .send()
        .expect(200);
    let frame = ws.next_json();
    assert_eq!(frame["Type"], 4);
    let data = &frame["Data"];
    assert_eq!(data["Operation"], "EndpointExecution");
    assert_eq!(
        data["EndpointAddress"],
        "http://localhost:29123/cloud/upload_object"
    );
    assert_eq!(data["HttpMethod"], "POST");
    assert_eq!(data["Origin"], "my-integration");
    assert_eq!(data["Data"], "optional payload string");
    // notify publishes what it was given, not also a frame about itself.
    ws.set_timeout(Duration::from_millis(300));
    assert!(matches!(ws.read_frame(), Frame::Timeout));

    agent
        .post("/management/notify", json!({"operation": 7}))
        .token(&token)
        .send()
        .expect_error("DEFAULT");
    agent
        .post("/management/notify", json!({"operation": 2}))
        .send()
        .expect(401);
}
