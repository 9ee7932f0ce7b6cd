//! Ports for a device without an operating system: a PBKDF2-SHA256 password hasher, an outbox
//! in RAM, and WebSocket events through an embassy-sync channel. The store (`MemStore`, or
//! flash), the clock and the random source come from the board.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use click_core::events::Event;
use click_core::ports::{Clock, EventSink, Mail, MailError, Mailer, PasswordHasher, Rng};
use click_core::sync::SpinLock;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::pubsub::PubSubChannel;
use pbkdf2::pbkdf2_hmac_array;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// PBKDF2-HMAC-SHA256 (RFC 8018), stored as `$pbkdf2-sha256$i=<n>$<salt>$<hash>` (PHC, base64
/// without padding). argon2's memory cost does not fit a microcontroller; this does.
pub struct Pbkdf2Hasher<R: Rng> {
    /// Where salts come from.
    pub rng: R,
    /// PBKDF2 iterations for new hashes (a stored hash names its own): the cost of a login.
    pub iterations: u32,
}

/// The one 32-byte block a stored hash holds.
fn derive(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    pbkdf2_hmac_array::<Sha256, 32>(password.as_bytes(), salt, iterations)
}

impl<R: Rng> PasswordHasher for Pbkdf2Hasher<R> {
    fn hash(&self, password: &str) -> String {
        let mut salt = [0u8; 16];
        self.rng.fill(&mut salt);
        let hash = derive(password, &salt, self.iterations);
        alloc::format!(
            "$pbkdf2-sha256$i={}${}${}",
            self.iterations,
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(hash)
        )
    }

    fn verify(&self, password: &str, stored: &str) -> bool {
        let mut parts = stored.split('$').skip(1);
        let (Some("pbkdf2-sha256"), Some(i), Some(salt), Some(hash)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let (Some(iterations), Ok(salt), Ok(hash)) = (
            i.strip_prefix("i=").and_then(|n| n.parse::<u32>().ok()),
            STANDARD_NO_PAD.decode(salt),
            STANDARD_NO_PAD.decode(hash),
        ) else {
            return false;
        };
        let computed = derive(password, &salt, iterations);
        // Unequal lengths compare unequal.
        hash.as_slice().ct_eq(&computed).into()
    }
}

/// Wall-clock time from embassy-time's monotonic clock and the Unix time it started at
/// (which a device learns from its RTC or NTP).
pub struct EmbassyClock {
    /// The Unix time (ms) at embassy-time's zero.
    pub unix_ms_at_zero: u64,
}

impl EmbassyClock {
    /// A clock that reads `unix_ms_now` right now.
    pub fn set(unix_ms_now: u64) -> EmbassyClock {
        EmbassyClock {
            unix_ms_at_zero: unix_ms_now.saturating_sub(embassy_time::Instant::now().as_millis()),
        }
    }
}

impl Clock for EmbassyClock {
    fn now_ms(&self) -> u64 {
        self.unix_ms_at_zero + embassy_time::Instant::now().as_millis()
    }
}

/// The last `capacity` messages, in RAM (a device has no mail server).
pub struct RamOutbox {
    capacity: usize,
    messages: SpinLock<VecDeque<Mail>>,
}

impl RamOutbox {
    /// An empty outbox keeping the last `capacity` messages (at least one).
    pub fn new(capacity: usize) -> RamOutbox {
        RamOutbox {
            capacity: capacity.max(1),
            messages: SpinLock::new(VecDeque::new()),
        }
    }

    /// Oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        self.messages.lock().iter().cloned().collect()
    }
}

impl Mailer for RamOutbox {
    fn send(&self, mail: Mail) -> Result<(), MailError> {
        let mut messages = self.messages.lock();
        if messages.len() == self.capacity {
            messages.pop_front();
        }
        messages.push_back(mail);
        Ok(())
    }

    fn kept(&self) -> Option<Vec<Mail>> {
        Some(self.messages())
    }
}

/// Events for the WebSocket connections: a bounded channel where a subscriber that falls
/// `CAP` frames behind learns it lagged and is closed, and publishing never waits.
pub type EventChannel<M, const CAP: usize, const SUBS: usize> =
    PubSubChannel<M, Arc<Event>, CAP, SUBS, 1>;

/// The core's [`EventSink`]: publishes each event to an [`EventChannel`] without waiting.
pub struct ChannelEvents<'a, M: RawMutex, const CAP: usize, const SUBS: usize> {
    /// The channel the WebSocket connections subscribe to.
    pub channel: &'a EventChannel<M, CAP, SUBS>,
}

impl<M: RawMutex, const CAP: usize, const SUBS: usize> EventSink
    for ChannelEvents<'_, M, CAP, SUBS>
{
    fn publish(&self, event: Event) {
        self.channel
            .immediate_publisher()
            .publish_immediate(Arc::new(event));
    }
}
