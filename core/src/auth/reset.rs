//! Emailed single-use tokens that set a password: password resets and the activation of
//! invited users. Only their SHA-256 is stored, so a copy of the store cannot redeem them.

use alloc::string::String;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::User;
use crate::ports::{MailPurpose, Rng, RngExt, Store, hex};
use crate::store::Batch;
use crate::store::keys::RESET_TOKENS;

/// What a token resets, until when.
#[derive(Serialize, Deserialize)]
pub struct ResetToken {
    pub user_id: String,
    /// [`MailPurpose::as_str`] of the mail that carried it.
    pub purpose: String,
    pub expires_ms: u64,
}

impl ResetToken {
    /// Whether it came with an invitation (and so also activates a pending user).
    pub fn activates(&self) -> bool {
        self.purpose == MailPurpose::UserActivation.as_str()
    }
}

fn key(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Adds a new token for `user` to `batch` and returns it, to be mailed.
pub fn issue(
    rng: &impl Rng,
    batch: &mut Batch,
    user: &User,
    purpose: MailPurpose,
    expires_ms: u64,
) -> String {
    let token = rng.token(32);
    let row = ResetToken {
        user_id: user.id.clone(),
        purpose: String::from(purpose.as_str()),
        expires_ms,
    };
    RESET_TOKENS.put(batch, &key(&token), &row);
    token
}

/// The live token `token` names, if any; redeeming it is [`consume`] in the same batch.
pub fn find(
    store: &impl Store,
    token: &str,
    now_ms: u64,
) -> crate::error::ApiResult<Option<ResetToken>> {
    Ok(RESET_TOKENS
        .get::<ResetToken>(store, &key(token))?
        .filter(|r| r.expires_ms > now_ms))
}

/// Makes `batch` use the token up: it commits only if the token was still there.
pub fn consume(batch: &mut Batch, token: &str) {
    let key = key(token);
    batch.require_present(RESET_TOKENS.key(&key));
    RESET_TOKENS.delete(batch, &key);
}
