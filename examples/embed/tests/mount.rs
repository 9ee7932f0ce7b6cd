//! The app started in-process: its own routes answer, the core answers under `/click/`, and
//! nothing else reaches the core.

use std::net::SocketAddr;
use std::sync::Arc;

use click_example_embed::click::{Channel, Header, Mailer, Method, Request};
use click_example_embed::config::Settings;
use click_example_embed::{Host, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start() -> (Arc<Host>, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let host = Arc::new(Host::new(Settings::default()));
    tokio::spawn(serve(listener, host.clone()));
    (host, addr)
}

/// One request on its own connection: the status and the body.
async fn call(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a response head");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers() {
    let (_host, addr) = start().await;
    assert_eq!(
        call(addr, "GET", "/health", "").await,
        (200, r#"{"status":"ok"}"#.into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mount_answers_what_the_core_answers() {
    let (host, addr) = start().await;
    let host_header = addr.to_string();
    let headers = [Header {
        name: "Host",
        value: host_header.as_bytes(),
    }];
    let direct = host
        .agent()
        .handle(&Request {
            method: Method::Get,
            path: "/management/agent_status",
            query: "",
            headers: &headers,
            body: b"",
        })
        .await;
    let (status, body) = call(addr, "GET", "/click/management/agent_status", "").await;
    assert_eq!(
        (status, body.as_bytes()),
        (direct.status, direct.body.as_slice())
    );
    assert_eq!(body, "0", "Created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_outside_the_mount_never_reach_the_core() {
    let (host, addr) = start().await;
    let mut events = host.agent().ports.hub.subscribe(Channel::Notification);
    let signup = r#"{"name":"Jane Doe","email":"jane@example.com","password":"long enough"}"#;
    for path in [
        "/authentication/signup",
        "/clickauthentication/signup",
        "/clicks/authentication/signup",
        "/health/../click/authentication/signup",
    ] {
        let (status, body) = call(addr, "POST", path, signup).await;
        assert_eq!((status, body.as_str()), (404, "not found\n"), "{path}");
    }
    // The core raises an event for every call that changes state, and mails a sign-up code.
    assert!(
        events.frames.try_recv().is_err(),
        "no call reached the core"
    );
    let mails = || host.agent().ports.mailer.kept().map(|m| m.len());
    assert_eq!(mails(), Some(0), "no sign-up code was sent");

    assert_eq!(
        call(addr, "POST", "/click/authentication/signup", signup)
            .await
            .0,
        200
    );
    assert!(
        events.frames.try_recv().is_ok(),
        "the call under /click/ did"
    );
    assert_eq!(mails(), Some(1));
}
