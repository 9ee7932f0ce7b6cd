//! Cloud accounts connected over OAuth (Dropbox, Box, OneDrive, Google Drive): the
//! authorization a user started, kept until the provider's redirect comes back with a code:
//! single-use, expiring, and bound to the user who started it.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use super::cloud_type;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ports::Store;
use crate::store::Batch;
use crate::store::expiring::Expiring;
use crate::store::keys::{OAUTH_STATES, OAUTH_STATES_BY_EXPIRY};
use crate::store::table::commit;

/// The providers connected over OAuth, by `CloudType`.
pub const PROVIDERS: [u32; 4] = [
    cloud_type::DROPBOX,
    cloud_type::BOX,
    cloud_type::ONEDRIVE,
    cloud_type::GOOGLE_DRIVE,
];

/// A connection in progress.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Authorization {
    /// The OAuth `state`.
    pub state: String,
    /// Who started it; only they may finish it.
    pub user_id: String,
    /// Their account, which the cloud account will belong to.
    pub account_id: String,
    /// The provider (`CloudType`).
    pub cloud_type: u32,
    /// The new cloud account's name (`cloudName`).
    pub cloud_name: String,
    /// Whether it will be shared with the account.
    pub shared: bool,
    /// The redirect URL the request named.
    pub redirect_url: String,
    /// The PKCE verifier.
    pub code_verifier: String,
    /// When it stops being accepted (Unix ms).
    pub expires_ms: u64,
}

const AUTHORIZATIONS: Expiring = Expiring::new(OAUTH_STATES, OAUTH_STATES_BY_EXPIRY);

const UNKNOWN: &str =
    "This authorization is unknown, expired or already used: generate a new authorization URL.";

/// Keeps `authorization` until it is taken or expires; clears some expired ones first.
pub fn save(store: &impl Store, authorization: &Authorization, now_ms: u64) -> ApiResult<()> {
    AUTHORIZATIONS.purge(store, now_ms, 16, |_, _| Ok(()))?;
    let mut batch = Batch::new();
    let a = authorization;
    AUTHORIZATIONS.put(&mut batch, &a.state, a.expires_ms, a);
    commit(
        store,
        &batch,
        (ErrorCode::DbInsert, "The authorization could not be saved."),
    )
}

/// Takes the authorization `state` for good, if `user_id` started it.
pub fn take(
    store: &impl Store,
    state: &str,
    user_id: &str,
    now_ms: u64,
) -> ApiResult<Authorization> {
    let taken: Authorization = AUTHORIZATIONS.take(
        store,
        state,
        now_ms,
        |a: &Authorization| a.expires_ms,
        |_, _| Ok(()),
        (ErrorCode::Auth, UNKNOWN),
    )?;
    if taken.user_id != user_id {
        return Err(ApiError::new(ErrorCode::Auth, UNKNOWN));
    }
    Ok(taken)
}
