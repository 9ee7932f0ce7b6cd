//! This app's implementations of the core's ports: what any host of the core provides.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use async_tungstenite::tungstenite::Utf8Bytes;
use tokio::sync::{Notify, mpsc};

use crate::click::{
    Batch, Channel, Clock, CommitError, Entry, Event, EventSink, Hs256, Mail, MailError, Mailer,
    NoDrives, NoForwarding, NoGoogle, NoLocalFiles, NoObjectStorage, NoShareMounts, NoTransfers,
    NoUpdates, Op, PasswordHasher, Ports, Rng, SecretBox, Store, StoreError, counter_added,
    first_failed_check, outbox_file_name, outbox_text, prefix_end,
};

/// Locks a mutex even if a thread panicked while holding it: every critical section here
/// leaves its data whole (no step of it can panic halfway through a change).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `Store`: an ordered map in memory. One lock covers a whole batch, so its checks and
/// writes happen as one step and concurrent writers see either all of a batch or none of it.
/// Nothing outlives the process.
#[derive(Default)]
pub struct MapStore {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MapStore {
    /// Up to `limit` entries of `range` (in either direction) while their keys start with
    /// `prefix`.
    fn collect<'a>(
        range: impl Iterator<Item = (&'a Vec<u8>, &'a Vec<u8>)>,
        prefix: &[u8],
        limit: usize,
    ) -> Vec<Entry> {
        range
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl Store for MapStore {
    type Value = Vec<u8>;

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(lock(&self.map).get(key).cloned())
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        // A cursor before the prefix must not end the scan early: start at the later of both.
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let map = lock(&self.map);
        let range = map.range::<[u8], _>((start, Bound::Unbounded));
        Ok(Self::collect(range, prefix, limit))
    }

    fn scan_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        // Start below both the cursor and the first key after the prefix's range.
        let top = prefix_end(prefix);
        let end = match (before, top.as_deref()) {
            (Some(before), Some(top)) => Bound::Excluded(before.min(top)),
            (Some(before), None) => Bound::Excluded(before),
            (None, Some(top)) => Bound::Excluded(top),
            (None, None) => Bound::Unbounded,
        };
        let map = lock(&self.map);
        let range = map.range::<[u8], _>((Bound::Unbounded, end)).rev();
        Ok(Self::collect(range, prefix, limit))
    }

    fn commit(&self, batch: &Batch) -> Result<(), CommitError> {
        let mut map = lock(&self.map);
        // The core's own reading of each check (and of counters), under our lock.
        if let Some(i) = first_failed_check(batch, |k| Ok(map.get(k)))? {
            return Err(CommitError::Conflict(i));
        }
        // In memory no write can fail, so once the checks hold the whole batch applies.
        for op in &batch.ops {
            match op {
                Op::Put(k, v) => {
                    map.insert(k.clone(), v.clone());
                }
                Op::Delete(k) => {
                    map.remove(k);
                }
                Op::Add(k, delta) => {
                    let next = counter_added(map.get(k).map(Vec::as_slice), *delta);
                    map.insert(k.clone(), next);
                }
            }
        }
        Ok(())
    }
}

/// Wall-clock time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        unix_ms()
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The operating system's CSPRNG: keys, tokens, codes and salts come from here.
pub struct OsRng;

impl Rng for OsRng {
    fn fill(&self, buf: &mut [u8]) {
        // Without randomness no key or token would be safe: stop rather than go on.
        getrandom::fill(buf).expect("the OS random source failed");
    }
}

/// 32 random bytes, for the keys this app generates at start.
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    OsRng.fill(&mut key);
    key
}

/// argon2id with the crate's defaults (19 MiB, 2 passes).
pub struct Argon2Hasher;

/// Runs a slow hash without stalling the other tasks of a tokio worker thread.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &str) -> String {
        blocking(|| {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .expect("argon2 with its default parameters")
        })
    }

    fn verify(&self, password: &str, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        blocking(|| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    }
}

/// Keeps the last messages in memory instead of delivering them; the core serves them on
/// `GET /management/outbox`. With a directory, each message is also written there as an
/// `.eml` file, named so that they sort as sent (scripts and the black-box tests read the
/// codes from them, as from click-agent's outbox).
pub struct MemoryMailer {
    kept: Mutex<VecDeque<Mail>>,
    capacity: usize,
    copies: Option<PathBuf>,
    sent: AtomicU64,
}

impl MemoryMailer {
    /// Keeps up to `capacity` messages; `copies` is where `.eml` copies go, if anywhere.
    pub fn new(capacity: usize, copies: Option<PathBuf>) -> MemoryMailer {
        MemoryMailer {
            kept: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity: capacity.max(1),
            copies,
            sent: AtomicU64::new(0),
        }
    }

    fn write_copy(&self, mail: &Mail) -> std::io::Result<()> {
        let Some(dir) = &self.copies else {
            return Ok(());
        };
        // A counter for the nonce keeps messages of one millisecond in the order sent.
        let n = self.sent.fetch_add(1, Ordering::Relaxed) as u32;
        let name = outbox_file_name(mail.purpose, unix_ms(), &n.to_be_bytes());
        std::fs::create_dir_all(dir)?;
        // A small local file: quick enough to write on the request's own thread.
        std::fs::write(dir.join(name), outbox_text(mail))
    }
}

impl Mailer for MemoryMailer {
    fn send(&self, mail: Mail) -> Result<(), MailError> {
        self.write_copy(&mail).map_err(|_| MailError)?;
        let mut kept = lock(&self.kept);
        if kept.len() == self.capacity {
            kept.pop_front();
        }
        kept.push_back(mail);
        Ok(())
    }

    fn kept(&self) -> Option<Vec<Mail>> {
        Some(lock(&self.kept).iter().cloned().collect())
    }
}

/// The `EventSink`: fans each frame out to the WebSocket clients of its channel, each with a
/// bounded queue. Publishing never waits: a client whose queue is full is dropped.
pub struct Hub {
    clients: Mutex<Vec<Client>>,
    queue_frames: usize,
}

struct Client {
    channel: Channel,
    frames: mpsc::Sender<Utf8Bytes>,
    dropped: Arc<Notify>,
}

/// What one WebSocket connection reads: its frames, and a signal that the hub dropped it.
pub struct Subscription {
    /// The frames to push, in order.
    pub frames: mpsc::Receiver<Utf8Bytes>,
    /// Fired when the client fell too far behind; its connection should end.
    pub dropped: Arc<Notify>,
}

impl Hub {
    /// A hub whose clients may fall `queue_frames` frames behind.
    pub fn new(queue_frames: usize) -> Hub {
        Hub {
            clients: Mutex::new(Vec::new()),
            queue_frames: queue_frames.max(1),
        }
    }

    /// Starts receiving the frames of `channel`.
    pub fn subscribe(&self, channel: Channel) -> Subscription {
        let (tx, rx) = mpsc::channel(self.queue_frames);
        let dropped = Arc::new(Notify::new());
        lock(&self.clients).push(Client {
            channel,
            frames: tx,
            dropped: dropped.clone(),
        });
        Subscription {
            frames: rx,
            dropped,
        }
    }
}

impl EventSink for Hub {
    fn publish(&self, event: Event) {
        // Serialized once by the core, shared by every client.
        let frame = Utf8Bytes::from(event.frame);
        lock(&self.clients).retain(|client| {
            if client.channel != event.channel {
                return !client.frames.is_closed();
            }
            match client.frames.try_send(frame.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // `notify_one` keeps the signal even if the connection is mid-write.
                    client.dropped.notify_one();
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }
}

/// Messages `/management/outbox` shows.
const MAIL_KEPT: usize = 32;

/// Every port this app hands the core. What it does without (Google sign-in, log forwarding,
/// cloud storage, transfers) is refused by the core's `No*` stand-ins.
pub struct EmbedPorts {
    /// The database.
    pub store: MapStore,
    /// Session tokens, signed with a key made at start (sessions die with the process anyway).
    pub signer: Hs256,
    /// Mail, kept in memory.
    pub mailer: MemoryMailer,
    /// Events for the WebSocket clients.
    pub hub: Hub,
    /// Seals cloud secrets; this build has no Cloud routes, but the port is required.
    pub secrets: SecretBox,
}

impl EmbedPorts {
    /// Fresh ports: an empty store, new keys; mail copies in `outbox` if given.
    pub fn new(ws_queue_frames: usize, outbox: Option<PathBuf>) -> EmbedPorts {
        EmbedPorts {
            store: MapStore::default(),
            signer: Hs256::new(&random_key()),
            mailer: MemoryMailer::new(MAIL_KEPT, outbox),
            hub: Hub::new(ws_queue_frames),
            secrets: SecretBox::new(&random_key()),
        }
    }
}

impl Ports for EmbedPorts {
    type Store = MapStore;
    type Clock = SystemClock;
    type Rng = OsRng;
    type Signer = Hs256;
    type Hasher = Argon2Hasher;
    type Mailer = MemoryMailer;
    type Events = Hub;
    type IdTokens = NoGoogle;
    type Logs = NoForwarding;
    type Objects = NoObjectStorage;
    type Transfers = NoTransfers;
    type Drives = NoDrives;
    type Files = NoLocalFiles;
    type Updates = NoUpdates;
    type Shares = NoShareMounts;

    fn store(&self) -> &MapStore {
        &self.store
    }
    fn clock(&self) -> &SystemClock {
        &SystemClock
    }
    fn rng(&self) -> &OsRng {
        &OsRng
    }
    fn signer(&self) -> &Hs256 {
        &self.signer
    }
    fn hasher(&self) -> &Argon2Hasher {
        &Argon2Hasher
    }
    fn mailer(&self) -> &MemoryMailer {
        &self.mailer
    }
    fn events(&self) -> &Hub {
        &self.hub
    }
    fn id_tokens(&self) -> &NoGoogle {
        &NoGoogle
    }
    fn logs(&self) -> &NoForwarding {
        &NoForwarding
    }
    fn objects(&self) -> &NoObjectStorage {
        &NoObjectStorage
    }
    fn transfers(&self) -> &NoTransfers {
        &NoTransfers
    }
    fn drives(&self) -> &NoDrives {
        &NoDrives
    }
    fn files(&self) -> &NoLocalFiles {
        &NoLocalFiles
    }
    fn updates(&self) -> &NoUpdates {
        &NoUpdates
    }
    fn shares(&self) -> &NoShareMounts {
        &NoShareMounts
    }
    fn secrets(&self) -> &SecretBox {
        &self.secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: &MapStore, keys: &[&str]) {
        let mut b = Batch::new();
        for k in keys {
            b.put(k.as_bytes().to_vec(), k.as_bytes().to_vec());
        }
        store.commit(&b).unwrap();
    }

    fn keys(entries: &[Entry]) -> Vec<&str> {
        entries
            .iter()
            .map(|(k, _)| std::str::from_utf8(k).unwrap())
            .collect()
    }

    #[test]
    fn scans_stay_inside_the_prefix_in_both_directions() {
        let s = MapStore::default();
        put(&s, &["a", "b/1", "b/2", "b/3", "b0", "c"]);
        assert_eq!(
            keys(&s.scan(b"b/", None, 10).unwrap()),
            ["b/1", "b/2", "b/3"]
        );
        assert_eq!(keys(&s.scan(b"b/", Some(b"b/1"), 1).unwrap()), ["b/2"]);
        assert_eq!(keys(&s.scan(b"b/", Some(b"a"), 10).unwrap()).len(), 3);
        assert_eq!(keys(&s.scan_rev(b"b/", None, 2).unwrap()), ["b/3", "b/2"]);
        assert_eq!(keys(&s.scan_rev(b"b/", Some(b"b/2"), 10).unwrap()), ["b/1"]);
        assert!(s.scan(b"d", None, 10).unwrap().is_empty());
        assert!(s.scan_rev(b"", None, 0).unwrap().is_empty());
        assert_eq!(s.scan_rev(b"", None, 10).unwrap().len(), 6);
    }

    #[test]
    fn a_batch_whose_check_fails_writes_nothing() {
        let s = MapStore::default();
        put(&s, &["taken"]);
        let mut b = Batch::new();
        b.put(b"new".to_vec(), b"x".to_vec())
            .require_absent(b"free".to_vec())
            .require_absent(b"taken".to_vec());
        assert_eq!(s.commit(&b), Err(CommitError::Conflict(1)));
        assert_eq!(s.get(b"new").unwrap(), None);

        let mut cas = Batch::new();
        cas.require_value(b"v".to_vec(), None)
            .put(b"v".to_vec(), b"1".to_vec());
        s.commit(&cas).unwrap();
        assert_eq!(s.commit(&cas), Err(CommitError::Conflict(0)), "moved on");
    }

    #[test]
    fn counters_add_under_the_lock_and_limits_hold() {
        let s = Arc::new(MapStore::default());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        let mut b = Batch::new();
                        b.require_below(b"n".to_vec(), 500).add(b"n".to_vec(), 1);
                        let _ = s.commit(&b);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(s.get(b"n").unwrap().as_deref(), Some(&b"500"[..]));
        let mut down = Batch::new();
        down.add(b"n".to_vec(), -1000);
        s.commit(&down).unwrap();
        assert_eq!(
            s.get(b"n").unwrap().as_deref(),
            Some(&b"0"[..]),
            "never below 0"
        );
    }
}
