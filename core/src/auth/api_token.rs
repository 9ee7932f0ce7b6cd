//! API tokens: long-lived credentials accepted wherever a login token is, until they expire or
//! are deleted. The value is shown once, on creation; the store keeps its SHA-256 only.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ports::{Store, hex};
use crate::store::Batch;
use crate::store::keys::{API_TOKENS, API_TOKENS_BY_HASH, API_TOKENS_BY_USER};
use crate::store::table::indexed_rows;

/// Every API token starts with this, so the agent knows it is not a JWT.
pub const PREFIX: &str = "click_";

/// A stored API token (the `apitoken/` table): whose it is and how to recognise it, never
/// its value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiToken {
    /// The token's id (what `apitoken/delete` names).
    pub id: String,
    /// The user it signs in as.
    pub user_id: String,
    /// That user's account.
    pub account_id: String,
    /// The caller's name for it.
    pub title: String,
    /// The first characters of the value, to tell tokens apart in listings.
    pub shown: String,
    /// [`hash`] of the value: what a presented token is looked up by.
    pub hash: String,
    /// `None`: never expires.
    pub expires_ms: Option<u64>,
    /// When it was created (Unix ms); listings are in this order.
    pub create_ms: u64,
}

/// The SHA-256 of a token's value, hex-encoded: all the store keeps of it.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub(crate) fn is_api_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// Adds a new token to `batch`.
pub fn put(batch: &mut Batch, token: &ApiToken) {
    API_TOKENS.put(batch, &token.id, token);
    API_TOKENS_BY_HASH.put_str(batch, &token.hash, &token.id);
    API_TOKENS_BY_USER.put_str(batch, &format!("{}/{}", token.user_id, token.id), "");
}

pub(crate) fn delete(batch: &mut Batch, token: &ApiToken) {
    API_TOKENS.delete(batch, &token.id);
    API_TOKENS_BY_HASH.delete(batch, &token.hash);
    API_TOKENS_BY_USER.delete(batch, &format!("{}/{}", token.user_id, token.id));
}

/// The user's tokens, oldest first.
pub(crate) fn of_user(store: &impl Store, user_id: &str) -> ApiResult<Vec<ApiToken>> {
    let mut out: Vec<ApiToken> = indexed_rows(
        store,
        &API_TOKENS_BY_USER.key(&format!("{user_id}/")),
        API_TOKENS,
    )?;
    out.sort_by_key(|t| t.create_ms);
    Ok(out)
}

/// The caller an API token stands for, if it is known and not expired.
pub(crate) fn authenticate(store: &impl Store, token: &str, now_ms: u64) -> ApiResult<Caller> {
    const INVALID: &str = "The API token is invalid, expired or deleted.";
    let id = API_TOKENS_BY_HASH
        .get_str(store, &hash(token))?
        .ok_or(ApiError::Unauthorized(INVALID))?;
    let row: ApiToken = API_TOKENS
        .get(store, &id)?
        .ok_or(ApiError::Unauthorized(INVALID))?;
    if row.expires_ms.is_some_and(|e| e <= now_ms) {
        return Err(ApiError::Unauthorized(INVALID));
    }
    let user: crate::model::User = crate::store::keys::USERS
        .get(store, &row.user_id)?
        .ok_or(ApiError::Unauthorized(INVALID))?;
    if user.status != crate::model::UserStatus::ACTIVE {
        return Err(ApiError::Unauthorized(INVALID));
    }
    Ok(Caller {
        user_id: user.id,
        account_id: user.account_id,
        user_type: user.user_type,
        session_id: format!("apitoken:{}", row.id),
    })
}
