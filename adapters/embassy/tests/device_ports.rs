//! The device ports and the WebSocket push loop, on the host.

use click_core::events::{Channel, Event};
use click_core::ports::{EventSink, Mail, MailPurpose, Mailer, PasswordHasher, Rng};
use click_embassy::mem::Scripted;
use click_embassy::ports::{ChannelEvents, EventChannel, Pbkdf2Hasher, RamOutbox};
use click_embassy::ws;
use embassy_futures::block_on;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;

struct CountingRng(std::sync::atomic::AtomicU8);

impl Rng for CountingRng {
    fn fill(&self, buf: &mut [u8]) {
        for b in buf {
            *b = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

#[test]
fn pbkdf2_hashes_verify_and_are_salted() {
    let hasher = Pbkdf2Hasher {
        rng: CountingRng(0.into()),
        iterations: 1000,
    };
    let stored = hasher.hash("correct horse");
    assert!(stored.starts_with("$pbkdf2-sha256$i=1000$"), "{stored}");
    assert!(hasher.verify("correct horse", &stored));
    assert!(!hasher.verify("wrong horse", &stored));
    assert!(!hasher.verify("correct horse", "$argon2id$v=19$garbage"));
    assert_ne!(hasher.hash("correct horse"), stored, "salted");
}

#[test]
fn hashes_stored_before_the_pbkdf2_crate_still_verify() {
    // Made by the hand-written PBKDF2 this adapter had before (and equal to Python's
    // hashlib.pbkdf2_hmac("sha256", ...) for the same salts): the stored format and its
    // parameters are unchanged, so devices keep their users' passwords.
    let hasher = Pbkdf2Hasher {
        rng: CountingRng(0.into()),
        iterations: 4096,
    };
    for (password, stored) in [
        (
            "correct horse",
            "$pbkdf2-sha256$i=1000$AAECAwQFBgcICQoLDA0ODw$yRTMTwbMbo9G0VfjobWqerzuuxe7BETNTErBbKKumGQ",
        ),
        (
            "p\u{e4}ssw\u{f6}rd 1",
            "$pbkdf2-sha256$i=100000$ZGVmZ2hpamtsbW5vcHFycw$Z0W9rbg9/jM+lIwmQb9A38BuwJAIy4yx1WdO/evBIwc",
        ),
    ] {
        assert!(hasher.verify(password, stored), "{stored}");
        assert!(!hasher.verify("correct horse!", stored));
    }
    // A new hash has the same shape, with this hasher's iterations.
    let fresh = hasher.hash("correct horse");
    assert!(
        fresh.starts_with("$pbkdf2-sha256$i=4096$AAECAwQFBgcICQoLDA0ODw$"),
        "{fresh}"
    );
}

#[test]
fn the_outbox_keeps_the_last_messages() {
    let outbox = RamOutbox::new(2);
    for i in 0..3 {
        let mail = Mail {
            to: format!("{i}@x"),
            subject: "s".into(),
            body: "b".into(),
            purpose: MailPurpose::SignupConfirmation,
            token: format!("{i}"),
        };
        outbox.send(mail).unwrap();
    }
    let tokens: Vec<String> = outbox.messages().into_iter().map(|m| m.token).collect();
    assert_eq!(tokens, ["1", "2"]);
}

fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [9u8, 8, 7, 6];
    let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

fn event(channel: Channel, frame: &str) -> Event {
    Event {
        seq: 1,
        channel,
        frame: frame.into(),
    }
}

#[test]
fn frames_of_the_channel_then_a_clean_close() {
    let events: EventChannel<NoopRawMutex, 8, 2> = EventChannel::new();
    let sink = ChannelEvents { channel: &events };
    let subscriber = events.subscriber().unwrap();
    sink.publish(event(Channel::Notification, r#"{"Type":4}"#));
    sink.publish(event(Channel::StateChange, r#"{"State":2}"#));
    let mut input = masked(ws::OP_PING, b"hi");
    input.extend(masked(ws::OP_CLOSE, &1000u16.to_be_bytes()));
    let mut pipe = Scripted::new(&input, 3);
    let mut buf = [0u8; 64];
    block_on(ws::stream(
        &mut pipe,
        subscriber,
        Channel::Notification,
        &mut buf,
        core::future::pending(),
    ))
    .unwrap();
    let mut expected = vec![0x81, 10];
    expected.extend_from_slice(br#"{"Type":4}"#);
    expected.extend_from_slice(&[0x8a, 2, b'h', b'i']);
    expected.extend_from_slice(&[0x88, 2, 0x03, 0xe8]);
    assert_eq!(pipe.output, expected);
}

#[test]
fn a_client_that_falls_behind_is_closed() {
    let events: EventChannel<NoopRawMutex, 2, 2> = EventChannel::new();
    let subscriber = events.subscriber().unwrap();
    let sink = ChannelEvents { channel: &events };
    for i in 0..5 {
        sink.publish(event(Channel::Notification, &format!("{i}")));
    }
    let mut pipe = Scripted::new(b"", 3);
    let mut buf = [0u8; 16];
    block_on(ws::stream(
        &mut pipe,
        subscriber,
        Channel::Notification,
        &mut buf,
        core::future::pending(),
    ))
    .unwrap();
    assert_eq!(
        pipe.output,
        [0x88, 2, 0x03, 0xf0],
        "closed with 1008, nothing else"
    );
}

#[test]
fn a_shutdown_sends_what_is_queued_then_closes_with_1000() {
    let events: EventChannel<NoopRawMutex, 8, 2> = EventChannel::new();
    let subscriber = events.subscriber().unwrap();
    let sink = ChannelEvents { channel: &events };
    sink.publish(event(Channel::Notification, "bye"));
    let mut pipe = Scripted::new(b"", 3);
    let mut buf = [0u8; 16];
    block_on(ws::stream(
        &mut pipe,
        subscriber,
        Channel::Notification,
        &mut buf,
        core::future::ready(()),
    ))
    .unwrap();
    assert_eq!(
        pipe.output,
        [0x81, 3, b'b', b'y', b'e', 0x88, 2, 0x03, 0xe8]
    );
}
