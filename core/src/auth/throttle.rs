//! Password guessing is slowed down: after a few failed logins a user's next attempt has to
//! wait, twice as long after each further failure, up to a cap. A successful login clears it.
//! Failures are counted for existing users only, so that unknown names cannot fill the store.

use alloc::format;
use serde::{Deserialize, Serialize};

use crate::config::CoreConfig;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ports::Store;
use crate::store::Batch;
use crate::store::keys::LOGIN_FAILURES;
use crate::store::table::save;

#[derive(Serialize, Deserialize, Default)]
struct Failures {
    count: u32,
    last_ms: u64,
}

/// How long after the last failure the next attempt must wait.
fn wait_ms(count: u32, config: &CoreConfig) -> u64 {
    if count < config.login_free_attempts {
        return 0;
    }
    let doublings = (count - config.login_free_attempts).min(20);
    (1000u64 << doublings).min(config.login_max_backoff_secs * 1000)
}

/// Refuses an attempt that comes too soon after failures, without looking at the password.
pub fn check(store: &impl Store, config: &CoreConfig, user_id: &str, now_ms: u64) -> ApiResult<()> {
    let Some(f) = LOGIN_FAILURES.get::<Failures>(store, user_id)? else {
        return Ok(());
    };
    let ready = f.last_ms + wait_ms(f.count, config);
    if now_ms < ready {
        let secs = (ready - now_ms).div_ceil(1000);
        return Err(ApiError::new(
            ErrorCode::Security,
            format!("Too many failed logins for this user; try again in {secs} s."),
        ));
    }
    Ok(())
}

/// Counts a failure. Concurrent failures may count once: the wait still grows.
pub fn record_failure(store: &impl Store, user_id: &str, now_ms: u64) -> ApiResult<()> {
    let f: Failures = LOGIN_FAILURES.get(store, user_id)?.unwrap_or_default();
    let mut batch = Batch::new();
    LOGIN_FAILURES.put(
        &mut batch,
        user_id,
        &Failures {
            count: f.count.saturating_add(1),
            last_ms: now_ms,
        },
    );
    save(store, &batch)
}

pub fn clear(batch: &mut Batch, user_id: &str) {
    LOGIN_FAILURES.delete(batch, user_id);
}
