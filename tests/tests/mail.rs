//! Mail: the outbox by default, SMTP when configured (a minimal SMTP server in this test
//! stands in for the relay; it speaks the protocol over a real socket).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use click_blackbox::{Agent, Options, PASSWORD, json, signup_and_login};

#[test]
fn outbox_messages_carry_purpose_and_token_headers() {
    if click_blackbox::desktop_only("the desktop outbox format (From, Date, file modes)") {
        return;
    }
    let agent = Agent::start();
    agent
        .post(
            "/authentication/signup",
            json!({"name": "Out Box", "email": "box@example.com", "password": PASSWORD}),
        )
        .send()
        .expect(200);
    let mails = agent.outbox();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert!(m.file.ends_with(".eml"), "{}", m.file);
    assert_eq!(m.purpose, "signup-confirmation");
    assert!(m.to.contains("box@example.com"));
    assert!(m.token.chars().all(|c| c.is_ascii_digit()) && m.token.len() == 4);
    assert!(click_blackbox::mail::header(&m.raw, "From").is_some());
    assert!(click_blackbox::mail::header(&m.raw, "Date").is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = agent.data_dir.join("outbox").join(&m.file);
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "outbox messages hold secrets");
    }
}

/// Accepts one SMTP session and returns the DATA it received.
fn smtp_server() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut lines = BufReader::new(stream);
        out.write_all(b"220 test.local ESMTP\r\n").unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-test.local\r\n250 8BITMIME\r\n",
                "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
                "DATA" => {
                    out.write_all(b"354 go ahead\r\n").unwrap();
                    let mut data = String::new();
                    loop {
                        let mut l = String::new();
                        lines.read_line(&mut l).unwrap();
                        if l == ".\r\n" {
                            break;
                        }
                        data.push_str(&l);
                    }
                    tx.send(data).unwrap();
                    b"250 queued\r\n"
                }
                "QUIT" => {
                    out.write_all(b"221 bye\r\n").unwrap();
                    return;
                }
                _ => b"502 not implemented\r\n",
            };
            out.write_all(reply).unwrap();
        }
    });
    (port, rx)
}

#[test]
fn smtp_delivers_when_configured() {
    if click_blackbox::desktop_only("SMTP") {
        return;
    }
    let (port, received) = smtp_server();
    let agent = Agent::start_with(Options {
        config: format!(
            "[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\nfrom = \"Click <click@test.local>\"\n"
        ),
        ..Options::default()
    });
    agent
        .post(
            "/authentication/signup",
            json!({"name": "Smtp", "email": "smtp@example.com", "password": PASSWORD}),
        )
        .send()
        .expect(200);
    let data = received
        .recv_timeout(Duration::from_secs(20))
        .expect("a message over SMTP");
    assert_eq!(
        click_blackbox::mail::header(&data, "X-Click-Purpose").as_deref(),
        Some("signup-confirmation")
    );
    let code = click_blackbox::mail::header(&data, "X-Click-Token").unwrap();
    assert!(data.contains(&format!("Your confirmation code is {code}")));
    assert!(
        agent.outbox().is_empty(),
        "delivered, so nothing in the outbox"
    );
    agent
        .post(
            "/authentication/confirm_signup",
            json!({"email": "smtp@example.com", "token": code}),
        )
        .send()
        .expect(200);
}

#[test]
fn undeliverable_mail_is_kept_in_the_outbox() {
    if click_blackbox::desktop_only("SMTP") {
        return;
    }
    // A port where nothing listens.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agent = Agent::start_with(Options {
        config: format!("[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\n"),
        ..Options::default()
    });
    agent
        .post(
            "/authentication/signup",
            json!({"name": "Lost", "email": "lost@example.com", "password": PASSWORD}),
        )
        .send()
        .expect(200);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while agent.outbox().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the message was neither sent nor kept"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(agent.outbox()[0].purpose, "signup-confirmation");
}

#[test]
fn a_device_keeps_its_mail_for_the_owner() {
    let agent = Agent::start();
    let owner = signup_and_login(&agent, "owner@example.com");
    let r = agent.get("/management/outbox").token(&owner).send();
    if !click_blackbox::device_target() && !click_blackbox::embed_target() {
        // The desktop delivers mail (SMTP, or .eml files): there is no outbox to read. The
        // devices and the embed example keep it instead.
        r.expect(404);
        return;
    }
    let (_, member) = click_blackbox::member(&agent, &owner, "member@example.com", 64);
    agent
        .post(
            "/authentication/forgot_password",
            json!({"username": "member@example.com"}),
        )
        .send()
        .expect(200);
    let stranger = signup_and_login(&agent, "stranger@example.com");
    let read = |token: &str| -> Vec<(String, String)> {
        let all = agent
            .get("/management/outbox")
            .token(token)
            .send()
            .expect(200)
            .json();
        all.as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["to"].as_str().unwrap().to_string(),
                    m["purpose"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pair = |to: &str, purpose: &str| (to.to_string(), purpose.to_string());
    assert_eq!(
        read(&owner),
        [
            pair("owner@example.com", "signup-confirmation"),
            pair("member@example.com", "user-activation"),
            pair("member@example.com", "password-reset"),
        ]
    );
    assert_eq!(
        read(&member),
        [
            pair("member@example.com", "user-activation"),
            pair("member@example.com", "password-reset"),
        ]
    );
    assert_eq!(
        read(&stranger),
        [pair("stranger@example.com", "signup-confirmation")]
    );
    agent.get("/management/outbox").send().expect(401);
}
