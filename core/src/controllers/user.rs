//! User: the MFA endpoints (`user.md`). The rest of the controller comes with accounts.

use alloc::string::String;
use serde::Deserialize;

use crate::agent::Ctx;
use crate::auth::totp;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::model::Credentials;
use crate::model::tables::{CREDENTIALS, USERS};
use crate::ports::{Ports, RngExt};
use crate::store::Batch;
use crate::store::table::save;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetMfaRequest {
    enabled: bool,
    #[serde(default)]
    user_code: String,
}

pub async fn generate_mfa_token<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let user = cx.agent.caller_user(cx.caller()?)?;
    let mut credentials = Credentials::load(cx.store(), &user.id)?;
    let secret = totp::base32_encode(&cx.ports().rng().bytes::<20>());
    credentials.mfa_pending_secret = Some(secret.clone());
    let mut batch = Batch::new();
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    save(cx.store(), &batch)?;
    Ok(Response::json(&secret))
}

/// Enabling needs a code from the secret of `generate_mfa_token`. Disabling needs a code from
/// the secret in force, so that a stolen token alone cannot turn MFA off.
pub async fn set_mfa<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: SetMfaRequest = cx.body()?;
    let mut user = cx.agent.caller_user(cx.caller()?)?;
    let mut credentials = Credentials::load(cx.store(), &user.id)?;
    let secret = match (body.enabled, user.mfa) {
        (true, _) => credentials.mfa_pending_secret.clone().ok_or_else(|| {
            ApiError::invalid(
                "Call /user/generate_mfa_token first, then confirm with a code from it.",
            )
        })?,
        (false, true) => credentials.mfa_secret.clone().unwrap_or_default(),
        (false, false) => return Ok(Response::ok()),
    };
    let key = totp::base32_decode(&secret).unwrap_or_default();
    let now_secs = cx.now_ms() / 1000;
    let step = totp::verify(&key, &body.user_code, now_secs, credentials.mfa_last_step).ok_or(
        ApiError::new(ErrorCode::Totp, "The MFA code is wrong or has expired."),
    )?;
    credentials.mfa_last_step = step;
    user.mfa = body.enabled;
    if body.enabled {
        credentials.mfa_secret = Some(secret);
        credentials.mfa_pending_secret = None;
    } else {
        credentials.mfa_secret = None;
    }
    let mut batch = Batch::new();
    USERS.put(&mut batch, &user.id, &user);
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    save(cx.store(), &batch)?;
    Ok(Response::ok())
}
