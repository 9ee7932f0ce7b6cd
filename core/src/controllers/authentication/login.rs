//! Logging in and out, with a TOTP challenge for users who turned MFA on.

use alloc::format;
use alloc::string::String;
use serde::{Deserialize, Serialize};

use super::{LoginResponse, ensure_active, finish_login};
use crate::agent::Ctx;
use crate::auth::{throttle, totp};
use crate::directory::users;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::model::{Credentials, User, UserType};
use crate::ports::{PasswordHasher, Ports, RngExt};
use crate::store::Batch;
use crate::store::keys::{CREDENTIALS, MFA_CHALLENGES, USERS};
use crate::store::table::{commit, save};

const BAD_CREDENTIALS: &str = "The username or password is incorrect.";

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
    #[serde(default, rename = "type")]
    user_type: Option<u32>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct MfaRespondRequest {
    user_code: String,
    session: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogoutRequest {
    jwt_token: String,
}

/// A login waiting for its TOTP code.
#[derive(Serialize, Deserialize)]
struct MfaChallenge {
    user_id: String,
    expires_ms: u64,
    attempts: u32,
}

pub async fn login<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: LoginRequest = cx.body()?;
    if let Some(t) = body.user_type.filter(|&t| t != 0 && !UserType::is_valid(t)) {
        return Err(ApiError::invalid(format!("'type' {t} is not a UserType.")));
    }
    let user = users::find_by_username(cx.store(), &body.username)?;
    let hasher = cx.ports().hasher();
    let Some(user) = user else {
        // Same work as a real check, so timing does not tell which usernames exist.
        hasher.verify(&body.password, DUMMY_HASH);
        return Err(ApiError::Unauthorized(BAD_CREDENTIALS));
    };
    throttle::check(cx.store(), cx.config(), &user.id, cx.now_ms())?;
    let password_ok = match Credentials::load(cx.store(), &user.id)?.password_hash {
        Some(h) => hasher.verify(&body.password, &h),
        None => false,
    };
    if !password_ok {
        throttle::record_failure(cx.store(), &user.id, cx.now_ms())?;
        return Err(ApiError::Unauthorized(BAD_CREDENTIALS));
    }
    if body
        .user_type
        .is_some_and(|t| t != 0 && t != user.user_type)
    {
        return Err(ApiError::Unauthorized(
            "The user is not of the requested type.",
        ));
    }
    ensure_active(&user)?;
    let mut batch = Batch::new();
    throttle::clear(&mut batch, &user.id);
    if user.mfa {
        let session = cx.ports().rng().token(32);
        let challenge = MfaChallenge {
            user_id: user.id.clone(),
            expires_ms: cx.now_ms() + cx.config().mfa_session_ttl_secs * 1000,
            attempts: 0,
        };
        MFA_CHALLENGES.put(&mut batch, &session, &challenge);
        save(cx.store(), &batch)?;
        return Ok(Response::json(&LoginResponse {
            jwt_token: String::new(),
            challenge: 1,
            session,
        }));
    }
    let token = finish_login(cx, batch, &user)?;
    Ok(Response::json(&LoginResponse {
        jwt_token: token,
        challenge: 0,
        session: String::new(),
    }))
}

/// An argon2id hash of a random password, verified against when the username is unknown.
/// Hosts whose hasher is not argon2 simply fail to verify it, which is what is wanted.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7kF6zHkzsKmyCQF9N8BFHsNJNQmX6V29d1rSU8uKlIo";

pub async fn mfa_respond<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: MfaRespondRequest = cx.body()?;
    const STALE: &str = "The MFA session is invalid or has expired; log in again.";
    let store = cx.store();
    let challenge: MfaChallenge = MFA_CHALLENGES
        .get(store, &body.session)?
        .filter(|c: &MfaChallenge| c.expires_ms > cx.now_ms())
        .ok_or(ApiError::new(ErrorCode::Session, STALE))?;
    let user: User = USERS
        .get(store, &challenge.user_id)?
        .ok_or(ApiError::new(ErrorCode::Session, STALE))?;
    let mut credentials = Credentials::load(store, &user.id)?;
    let secret = credentials
        .mfa_secret
        .as_deref()
        .and_then(totp::base32_decode)
        .unwrap_or_default();
    let step = totp::verify(
        &secret,
        &body.user_code,
        cx.now_ms() / 1000,
        credentials.mfa_last_step,
    );
    let mut batch = Batch::new();
    // Consuming the challenge in the same transaction makes it single-use under races.
    batch.require_present(MFA_CHALLENGES.key(&body.session));
    let Some(step) = step else {
        let attempts = challenge.attempts + 1;
        if attempts >= cx.config().mfa_max_attempts {
            MFA_CHALLENGES.delete(&mut batch, &body.session);
        } else {
            MFA_CHALLENGES.put(
                &mut batch,
                &body.session,
                &MfaChallenge {
                    attempts,
                    ..challenge
                },
            );
        }
        commit(store, &batch, (ErrorCode::Session, STALE))?;
        return Err(ApiError::new(
            ErrorCode::Totp,
            "The MFA code is wrong or has expired.",
        ));
    };
    MFA_CHALLENGES.delete(&mut batch, &body.session);
    credentials.mfa_last_step = step;
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    let token = finish_login(cx, batch, &user)?;
    Ok(Response::json(&LoginResponse {
        jwt_token: token,
        challenge: 0,
        session: String::new(),
    }))
}

pub async fn logout<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: LogoutRequest = cx.body()?;
    cx.agent.sessions().revoke_token(body.jwt_token.trim())?;
    Ok(Response::ok())
}
