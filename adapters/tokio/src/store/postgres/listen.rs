//! Keeps an agent's read cache true to what other agents commit: every commit notifies the
//! channel [`CHANNEL`] (in its transaction, so the notice goes out only if it lands), and
//! each agent listens on a connection of its own and drops its cache at each notice from
//! another. While that connection is down, notices could be missed: the cache is bypassed
//! until it is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use click_core::store::StoreError;
use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, Config, NoTls};

use crate::thread_cache::ThreadCache;

/// The notification channel of commits.
pub const CHANNEL: &str = "click_kv";

/// Point reads, trusted only while notices are being received.
pub(super) struct ReadCache {
    entries: ThreadCache<Option<Arc<[u8]>>>,
    live: AtomicBool,
}

impl ReadCache {
    pub fn new(capacity: usize) -> ReadCache {
        ReadCache {
            entries: ThreadCache::new(capacity),
            live: AtomicBool::new(false),
        }
    }

    /// The value at `key`: from the cache while it is live, else read by `read` (and kept).
    pub fn get(
        &self,
        key: &[u8],
        read: impl FnOnce() -> Result<Option<Arc<[u8]>>, StoreError>,
    ) -> Result<Option<Arc<[u8]>>, StoreError> {
        if !self.live.load(Ordering::Acquire) {
            return read();
        }
        if let Some(hit) = self.entries.get(key) {
            return Ok(hit);
        }
        let generation = self.entries.generation();
        let value = read()?;
        self.entries.insert(key, value.clone(), generation);
        Ok(value)
    }

    pub fn live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub fn invalidate(&self) {
        self.entries.invalidate_all();
    }

    fn set_live(&self, live: bool) {
        // Dropped either way: entries read before a lost connection may have missed notices,
        // and none kept while it was down can be trusted once it is back.
        self.entries.invalidate_all();
        self.live.store(live, Ordering::Release);
    }
}

/// Listens until the task is aborted, reconnecting after a second when the connection drops.
/// `own` is this agent's notice payload, whose commits already dropped the cache.
pub(super) async fn run(config: Config, cache: Arc<ReadCache>, own: String) {
    loop {
        if let Err(e) = listen(&config, &cache, &own).await {
            tracing::warn!("store: not hearing other agents' commits ({e}); reading through");
        }
        cache.set_live(false);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen(config: &Config, cache: &ReadCache, own: &str) -> Result<(), String> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(|e| e.to_string())?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let statement = format!("LISTEN {CHANNEL}");
    let listening = client.batch_execute(&statement);
    tokio::pin!(listening);
    // Polling the messages is what carries the connection, LISTEN included.
    loop {
        tokio::select! {
            r = &mut listening => {
                r.map_err(|e| e.to_string())?;
                break;
            }
            m = messages.next() => heard(m, cache, own)?,
        }
    }
    cache.set_live(true);
    loop {
        heard(messages.next().await, cache, own)?;
    }
}

/// Drops the cache at another agent's commit; an error when the connection is gone.
fn heard(
    message: Option<Result<AsyncMessage, tokio_postgres::Error>>,
    cache: &ReadCache,
    own: &str,
) -> Result<(), String> {
    match message {
        None => Err("the connection closed".into()),
        Some(Err(e)) => Err(e.to_string()),
        Some(Ok(AsyncMessage::Notification(n))) => {
            if n.payload() != own {
                cache.invalidate();
            }
            Ok(())
        }
        Some(Ok(_)) => Ok(()),
    }
}
