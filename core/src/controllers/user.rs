//! User: the MFA endpoints (`user.md`). The rest of the controller comes with accounts.

use alloc::string::String;
use serde::Deserialize;

use crate::agent::Ctx;
use crate::auth::totp;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::model::tables::USERS;
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
    let mut user = cx.agent.caller_user(cx.caller()?)?;
    let secret = totp::base32_encode(&cx.ports().rng().bytes::<20>());
    user.mfa_pending_secret = Some(secret.clone());
    let mut batch = Batch::new();
    USERS.put(&mut batch, &user.id, &user);
    save(cx.store(), &batch)?;
    Ok(Response::json(&secret))
}

/// Enabling needs a code from the secret of `generate_mfa_token`. Disabling needs a code from
/// the secret in force, so that a stolen token alone cannot turn MFA off.
pub async fn set_mfa<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: SetMfaRequest = cx.body()?;
    let mut user = cx.agent.caller_user(cx.caller()?)?;
    let secret = match (body.enabled, user.mfa) {
        (true, _) => user.mfa_pending_secret.clone().ok_or_else(|| {
            ApiError::invalid(
                "Call /user/generate_mfa_token first, then confirm with a code from it.",
            )
        })?,
        (false, true) => user.mfa_secret.clone().unwrap_or_default(),
        (false, false) => return Ok(Response::ok()),
    };
    let key = totp::base32_decode(&secret).unwrap_or_default();
    let now_secs = cx.now_ms() / 1000;
    let step = totp::verify(&key, &body.user_code, now_secs, user.mfa_last_step).ok_or(
        ApiError::new(ErrorCode::Totp, "The MFA code is wrong or has expired."),
    )?;
    user.mfa_last_step = step;
    if body.enabled {
        user.mfa = true;
        user.mfa_secret = Some(secret);
        user.mfa_pending_secret = None;
    } else {
        user.mfa = false;
        user.mfa_secret = None;
    }
    let mut batch = Batch::new();
    USERS.put(&mut batch, &user.id, &user);
    save(cx.store(), &batch)?;
    Ok(Response::ok())
}
