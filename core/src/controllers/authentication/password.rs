//! Passwords: forgotten (an emailed reset token), changed by their user, or set from a reset
//! or activation token (`resetToken`, an extension: see README.md "Differences").

use alloc::string::String;
use serde::Deserialize;

use super::validate_password;
use crate::agent::Ctx;
use crate::auth::{Caller, reset};
use crate::directory::users;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::mail;
use crate::model::{Credentials, User, UserStatus};
use crate::ports::{MailPurpose, PasswordHasher, Ports};
use crate::store::Batch;
use crate::store::keys::{CREDENTIALS, USERS};
use crate::store::table::{commit, save};

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsernameRequest {
    username: String,
}

/// Either the documented authenticated form, or the reset-token extension.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResetPasswordRequest {
    password: String,
    current_password: Option<String>,
    reset_token: Option<String>,
}

pub async fn forgot_password<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: UsernameRequest = cx.body()?;
    // The answer is the same whether or not the username matched (no account enumeration).
    if let Some(user) = users::find_by_username(cx.store(), &body.username)?
        && user.status == UserStatus::ACTIVE
        && Credentials::load(cx.store(), &user.id)?
            .password_hash
            .is_some()
    {
        let ttl = cx.config().reset_token_ttl_secs;
        let mut batch = Batch::new();
        let (rng, expires_ms) = (cx.ports().rng(), cx.now_ms() + ttl * 1000);
        let purpose = MailPurpose::PasswordReset;
        let token = reset::issue(rng, &mut batch, &user, purpose, expires_ms);
        save(cx.store(), &batch)?;
        mail::password_reset(cx.ports().mailer(), &user, &token, ttl / 60);
    }
    Ok(Response::ok())
}

pub async fn reset_password<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: ResetPasswordRequest = cx.body()?;
    validate_password(cx, &body.password)?;
    match (&cx.caller, &body.reset_token) {
        (Some(caller), _) => change_password(cx, caller, &body),
        (None, Some(token)) => redeem_reset_token(cx, token.trim(), &body.password),
        (None, None) => Err(ApiError::Unauthorized(
            "A token is required, or a 'resetToken' from a password-reset or activation email.",
        )),
    }
}

fn change_password<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &Caller,
    body: &ResetPasswordRequest,
) -> ApiResult<Response> {
    let user = cx.user()?;
    let mut credentials = Credentials::load(cx.store(), &user.id)?;
    let hasher = cx.ports().hasher();
    let current_ok = match (&credentials.password_hash, &body.current_password) {
        (Some(hash), Some(current)) => hasher.verify(current, hash),
        // A Google-only user sets a first password without one.
        (None, _) => true,
        (Some(_), None) => false,
    };
    if !current_ok {
        return Err(ApiError::new(
            ErrorCode::Auth,
            "'currentPassword' is not the current password.",
        ));
    }
    credentials.password_hash = Some(hasher.hash(&body.password));
    let mut batch = Batch::new();
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    // Other sessions may belong to whoever knew the old password.
    cx.agent
        .sessions()
        .revoke_all(&mut batch, &user.id, Some(&caller.session_id))?;
    save(cx.store(), &batch)?;
    Ok(Response::ok())
}

fn redeem_reset_token<P: Ports>(
    cx: &Ctx<'_, P>,
    token: &str,
    password: &str,
) -> ApiResult<Response> {
    const BAD: &str = "The reset token is invalid, used or expired.";
    let store = cx.store();
    let row =
        reset::find(store, token, cx.now_ms())?.ok_or(ApiError::new(ErrorCode::Token, BAD))?;
    let mut user: User = USERS
        .get(store, &row.user_id)?
        .ok_or(ApiError::new(ErrorCode::Token, BAD))?;
    let mut credentials = Credentials::load(store, &user.id)?;
    credentials.password_hash = Some(cx.ports().hasher().hash(password));
    if row.activates() && user.status == UserStatus::PENDING {
        user.status = UserStatus::ACTIVE;
    }
    let mut batch = Batch::new();
    reset::consume(&mut batch, token);
    USERS.put(&mut batch, &user.id, &user);
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    cx.agent.sessions().revoke_all(&mut batch, &user.id, None)?;
    commit(store, &batch, (ErrorCode::Token, BAD))?;
    Ok(Response::ok())
}
