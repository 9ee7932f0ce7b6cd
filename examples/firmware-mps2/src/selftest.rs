//! The self-test: the request path end to end, as a client would drive it, on connections
//! served by a pool of connection tasks, as the networked build serves its sockets.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use click_embassy::http::{Outcome, serve};
use click_embassy::mem::Scripted;
use click_embassy::ws;
use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;

use crate::firmware::{BoardAgent, CONNECTIONS, EVENTS, REQUEST_BUFFER};

/// What a connection wrote, once its script ended.
static DONE: Signal<CriticalSectionRawMutex, Vec<u8>> = Signal::new();
static WS_UPGRADED: Signal<CriticalSectionRawMutex, ()> = Signal::new();
static WS_GO: Signal<CriticalSectionRawMutex, ()> = Signal::new();
static WS_DONE: Signal<CriticalSectionRawMutex, Vec<u8>> = Signal::new();
/// The largest frame a WebSocket client sends (control frames only).
const CLIENT_FRAME: usize = 256;

/// One connection, as a networked firmware runs it: HTTP/1.1 requests until the client is
/// done; after a WebSocket upgrade, the pushed frames until shutdown (here: until the test
/// says so), then a close with 1000.
async fn connection(agent: &'static BoardAgent, input: &'static [u8], websocket: bool) -> Vec<u8> {
    let mut buf = [0u8; REQUEST_BUFFER];
    // A WebSocket client keeps its connection open; the others are done once they have sent
    // their requests.
    let mut socket = if websocket {
        Scripted::held_open(input, 64)
    } else {
        Scripted::new(input, 64)
    };
    let outcome = serve(agent, &mut socket, &mut buf, |_| EVENTS.subscriber().ok()).await;
    if let Ok(Outcome::WebSocket(channel, Some(subscriber))) = outcome {
        if websocket {
            WS_UPGRADED.signal(());
        }
        let _ = ws::stream(
            &mut socket,
            subscriber,
            channel,
            &mut buf[..CLIENT_FRAME],
            WS_GO.wait(),
        )
        .await;
    }
    socket.output
}

#[embassy_executor::task(pool_size = CONNECTIONS)]
async fn connection_task(agent: &'static BoardAgent, input: &'static [u8], websocket: bool) {
    let output = connection(agent, input, websocket).await;
    if websocket {
        WS_DONE.signal(output);
    } else {
        DONE.signal(output);
    }
}

fn open(spawner: Spawner, agent: &'static BoardAgent, request: String, websocket: bool) {
    // The script must outlive the task; a self-test leaks its few requests.
    let input: &'static [u8] = Box::leak(request.into_bytes().into_boxed_slice());
    spawner.spawn(connection_task(agent, input, websocket).expect("a free connection slot"));
}

/// Status and body of a one-request connection.
async fn exchange(spawner: Spawner, agent: &'static BoardAgent, request: String) -> (u16, String) {
    open(spawner, agent, request, false);
    let out = String::from_utf8(DONE.wait().await).unwrap_or_default();
    let status = out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, String::from(body))
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn check(passed: &mut bool, step: &str, ok: bool, detail: &str) {
    let verdict = if ok { "ok  " } else { "FAIL" };
    hprintln!("{} {}{}", verdict, step, detail);
    *passed &= ok;
}

const EMAIL: &str = "owner@device.local";
const PASSWORD: &str = "device password";

pub async fn run(spawner: Spawner, agent: &'static BoardAgent) -> bool {
    let mut passed = true;
    let size = core::mem::size_of_val(&connection(agent, b"", false));
    hprintln!(
        "size: connection future {} bytes, request buffer included",
        size
    );

    let signup = format!(r#"{{"name":"Device Owner","email":"{EMAIL}","password":"{PASSWORD}"}}"#);
    let (status, _) = exchange(spawner, agent, post("/authentication/signup", &signup)).await;
    check(
        &mut passed,
        "sign-up",
        status == 200,
        &format!(" ({status})"),
    );

    let code = agent
        .ports
        .outbox
        .messages()
        .last()
        .map(|m| m.token.clone())
        .unwrap_or_default();
    let confirm = format!(r#"{{"email":"{EMAIL}","token":"{code}"}}"#);
    let (status, body) = exchange(
        spawner,
        agent,
        post("/authentication/confirm_signup", &confirm),
    )
    .await;
    check(
        &mut passed,
        "confirm with the outbox's code",
        status == 200 && body == "true",
        &format!(" ({status})"),
    );

    let login = format!(r#"{{"username":"{EMAIL}","password":"{PASSWORD}","type":16}}"#);
    let (status, body) = exchange(spawner, agent, post("/authentication/login", &login)).await;
    let token = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["jwtToken"].as_str().map(String::from))
        .unwrap_or_default();
    check(
        &mut passed,
        "login",
        status == 200 && !token.is_empty(),
        &format!(" ({status})"),
    );

    let user = format!(
        "GET /authentication/user?token={token} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    );
    let (status, body) = exchange(spawner, agent, user).await;
    check(
        &mut passed,
        "authenticated call",
        status == 200 && body.contains(EMAIL),
        &format!(" ({status})"),
    );
    let (status, _) = exchange(
        spawner,
        agent,
        String::from(
            "GET /authentication/user HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
    )
    .await;
    check(
        &mut passed,
        "no token, no answer",
        status == 401,
        &format!(" ({status})"),
    );

    // A WebSocket: upgraded on one connection, a change made on another, the frame pushed.
    let upgrade = format!(
        "GET /notification?token={token} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    open(spawner, agent, upgrade, true);
    WS_UPGRADED.wait().await;
    let forgot = format!(r#"{{"username":"{EMAIL}"}}"#);
    let (status, _) = exchange(
        spawner,
        agent,
        post("/authentication/forgot_password", &forgot),
    )
    .await;
    check(
        &mut passed,
        "a change on another connection",
        status == 200,
        &format!(" ({status})"),
    );
    WS_GO.signal(());
    let out = WS_DONE.wait().await;
    let upgraded = out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n");
    let head_end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(out.len(), |i| i + 4);
    let frames = &out[head_end..];
    let text = frames.first() == Some(&0x81)
        && frames
            .windows(b"EndpointExecution".len())
            .any(|w| w == b"EndpointExecution");
    let closed = frames.ends_with(&[0x88, 2, 0x03, 0xe8]);
    check(&mut passed, "WebSocket upgrade (101)", upgraded, "");
    check(
        &mut passed,
        "AppNotification frame pushed",
        text,
        &format!(" ({} bytes of frames)", frames.len()),
    );
    check(&mut passed, "close 1000", closed, "");
    hprintln!("self-test {}", if passed { "passed" } else { "FAILED" });
    passed
}
