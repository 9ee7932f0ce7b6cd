//! The embassy request path on the host, over an in-memory stream: the same core, the same
//! answers as the desktop agent, byte for byte on the wire.

use click_core::testing::TestAgent;
use click_embassy::http::{Outcome, serve};
use click_embassy::mem::Scripted;
use click_embassy::ws;
use embassy_futures::block_on;

fn run(t: &TestAgent, input: &[u8], buf_len: usize) -> (Outcome<()>, String) {
    // A few bytes at a time, as a network would deliver them.
    let mut pipe = Scripted::new(input, 7);
    let mut buf = vec![0u8; buf_len];
    let outcome = block_on(serve(&t.agent, &mut pipe, &mut buf, |_| ())).unwrap();
    (outcome, String::from_utf8(pipe.output).unwrap())
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn keep_alive_pipelined_requests_through_the_core() {
    let t = TestAgent::new();
    let token = t.signup_and_login("dev@example.com");
    let mut input = post(
        "/authentication/forgot_password",
        r#"{"username":"dev@example.com"}"#,
    );
    input.push_str(&format!(
        "GET /authentication/user?token={token} HTTP/1.1\r\nHost: localhost\r\n\r\n"
    ));
    input.push_str(
        "GET /management/agent_status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    let (outcome, out) = run(&t, input.as_bytes(), 2048);
    assert!(matches!(outcome, Outcome::Closed), "{outcome:?}");
    assert_eq!(out.matches("HTTP/1.1 ").count(), 3, "{out}");
    assert_eq!(out.matches("HTTP/1.1 200 OK\r\n").count(), 3, "{out}");
    assert!(out.contains("\"username\":\"dev@example.com\""), "{out}");
    assert!(out.ends_with("connection: close\r\n\r\n0"), "{out}");
}

#[test]
fn the_same_rules_as_the_desktop() {
    let t = TestAgent::new();
    let (_, out) = run(
        &t,
        b"GET /authentication/user HTTP/1.1\r\nHost: localhost\r\n\r\n",
        1024,
    );
    assert!(out.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{out}");
    let (_, out) = run(
        &t,
        b"GET /management/agent_status HTTP/1.1\r\nHost: evil.example\r\n\r\n",
        1024,
    );
    assert!(out.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{out}");
    let (_, out) = run(&t, post("/authentication/login", "{").as_bytes(), 1024);
    assert!(
        out.starts_with("HTTP/1.1 499 Client Error\r\n") && out.contains("error-code: DEFAULT"),
        "{out}"
    );
}

#[test]
fn bounded_buffers() {
    let t = TestAgent::new();
    let big = post("/authentication/login", &"x".repeat(600));
    let (outcome, out) = run(&t, big.as_bytes(), 512);
    assert!(matches!(outcome, Outcome::Closed), "{outcome:?}");
    assert!(out.starts_with("HTTP/1.1 413 "), "{out}");
    let long_head = format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nX-Filler: {}\r\n\r\n",
        "y".repeat(600)
    );
    let (_, out) = run(&t, long_head.as_bytes(), 512);
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    let many: String = (0..40).map(|i| format!("X-{i}: 1\r\n")).collect();
    let (_, out) = run(
        &t,
        format!("GET / HTTP/1.1\r\nHost: localhost\r\n{many}\r\n").as_bytes(),
        2048,
    );
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    let (_, out) = run(&t, b"NOT HTTP AT ALL\r\n\r\n", 512);
    assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
    let chunked = "POST /authentication/login HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let (_, out) = run(&t, chunked.as_bytes(), 512);
    assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
}

#[test]
fn websocket_upgrade_then_frames() {
    let t = TestAgent::new();
    let token = t.signup_and_login("ws@example.com");
    let upgrade = format!(
        "GET /notification?token={token} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let (outcome, out) = run(&t, upgrade.as_bytes(), 1024);
    assert!(
        matches!(
            outcome,
            Outcome::WebSocket(click_core::events::Channel::Notification, ())
        ),
        "{outcome:?}"
    );
    assert!(
        out.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{out}"
    );
    assert!(
        out.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{out}"
    );

    // Server frames: the three length encodings.
    for (len, head) in [(5usize, 2usize), (300, 4), (70_000, 10)] {
        let mut pipe = Scripted::new(b"", 7);
        block_on(ws::write_frame(&mut pipe, ws::OP_TEXT, &vec![b'a'; len])).unwrap();
        assert_eq!((pipe.output[0], pipe.output.len()), (0x81, head + len));
    }
    // A masked client close frame with code 1000, unmasked in place.
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x88, 0x82, 1, 2, 3, 4, 0x03 ^ mask[0], 0xe8 ^ mask[1]];
    let parsed = ws::parse(&mut frame, 64).unwrap().unwrap();
    assert_eq!((parsed.opcode, parsed.len), (ws::OP_CLOSE, 8));
    assert_eq!(&frame[parsed.payload], &1000u16.to_be_bytes());
    assert_eq!(
        ws::parse(&mut [0x81, 0x05, b'h'], 64),
        Err(ws::ParseError::Unmasked)
    );
    assert_eq!(
        ws::parse(&mut [0x81, 0xfe, 0x10, 0x00], 64),
        Err(ws::ParseError::TooBig)
    );
    assert_eq!(ws::parse(&mut [0x81, 0x85, 1, 2], 64), Ok(None));
}
