//! Bandwidth caps (FastrSettings' `Max...BytesPerSecond`): one token bucket per user, cloud
//! account and kind of transfer, shared by every job of that user through that account. Jobs
//! read their caps again at each progress report, so a changed cap holds within one
//! progress interval (and a tick), for the jobs already running too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use click_core::transfers::settings::FastrSettings;
use tokio::time::Instant;

/// Which cap of a FastrSettings record applies.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum Kind {
    Upload,
    Download,
    ServerToServer,
}

impl Kind {
    /// The cap `settings` set for this kind (0: none).
    pub fn cap(self, settings: &FastrSettings) -> u64 {
        match self {
            Kind::Upload => settings.max_upload_bytes_per_second,
            Kind::Download => settings.max_download_bytes_per_second,
            Kind::ServerToServer => settings.max_server_to_server_bytes_per_second,
        }
    }
}

/// A token bucket: a caller takes what it is about to move once the bucket holds that much,
/// checking again at least every [`TICK`], so that a new rate holds for the callers already
/// waiting. Bytes per second; 0 lets everything through.
#[derive(Default)]
pub(crate) struct Limiter {
    rate: AtomicU64,
    bucket: Mutex<Bucket>,
}

/// The longest a waiting caller sleeps before it looks at the rate again.
const TICK: Duration = Duration::from_millis(100);

struct Bucket {
    /// Bytes that may go now.
    available: f64,
    at: Instant,
}

impl Default for Bucket {
    fn default() -> Bucket {
        Bucket {
            available: 0.0,
            at: Instant::now(),
        }
    }
}

impl Limiter {
    pub fn set_rate(&self, bytes_per_second: u64) {
        self.rate.store(bytes_per_second, Ordering::Relaxed);
    }

    /// Returns once the rate allows `bytes` more to move.
    pub async fn take(&self, bytes: u64) {
        loop {
            let rate = self.rate.load(Ordering::Relaxed);
            if rate == 0 || bytes == 0 {
                return;
            }
            let wait = {
                let mut b = self.bucket.lock().expect("limiter");
                let now = Instant::now();
                let rate = rate as f64;
                // At most a second's worth (or one piece) builds up: an idle moment is no
                // licence to burst.
                let most = rate.max(bytes as f64);
                b.available =
                    (b.available + now.duration_since(b.at).as_secs_f64() * rate).min(most);
                b.at = now;
                if b.available >= bytes as f64 {
                    b.available -= bytes as f64;
                    None
                } else {
                    let short = bytes as f64 - b.available;
                    Some(Duration::from_secs_f64(short / rate).min(TICK))
                }
            };
            match wait {
                None => return,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}

/// The limiters of this agent, by user, cloud account and kind.
#[derive(Default)]
pub(crate) struct Limits {
    by_owner: Mutex<HashMap<(String, String, Kind), Arc<Limiter>>>,
}

impl Limits {
    pub fn of(&self, user_id: &str, cloud_account_id: &str, kind: Kind) -> Arc<Limiter> {
        let key = (user_id.to_string(), cloud_account_id.to_string(), kind);
        let mut map = self.by_owner.lock().expect("limits");
        map.entry(key).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elapsed(since: Instant) -> f64 {
        since.elapsed().as_secs_f64()
    }

    /// 2 MB at 4 MB/s take half a second; no cap takes no time; a new rate holds for a
    /// caller already waiting.
    #[tokio::test(start_paused = true)]
    async fn a_cap_paces_what_goes_through() {
        let limiter = Arc::new(Limiter::default());
        let started = Instant::now();
        limiter.take(2_000_000).await;
        assert_eq!(elapsed(started), 0.0);
        limiter.set_rate(4_000_000);
        let started = Instant::now();
        for _ in 0..4 {
            limiter.take(500_000).await;
        }
        let took = elapsed(started);
        assert!((0.45..0.55).contains(&took), "{took}");

        // 4 MB at 1 MB/s would take 4 s; raised to 8 MB/s after 1 s, they take about 1.4 s.
        limiter.set_rate(1_000_000);
        let started = Instant::now();
        let raise = {
            let limiter = limiter.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                limiter.set_rate(8_000_000);
            }
        };
        tokio::join!(limiter.take(4_000_000), raise);
        let took = elapsed(started);
        assert!((1.3..1.6).contains(&took), "{took}");
    }
}
