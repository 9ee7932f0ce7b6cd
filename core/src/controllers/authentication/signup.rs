//! Signing up: a new account whose owner confirms the emailed 4-digit code.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use super::{EMAIL_TAKEN, NAME_MAX, validate_password};
use crate::agent::Ctx;
use crate::directory::accounts::{self, Owner};
use crate::directory::users;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::{self, max_len, required};
use crate::mail;
use crate::model::{Credentials, User, UserStatus};
use crate::ports::{PasswordHasher, Ports, RngExt};
use crate::store::Batch;
use crate::store::keys::{CREDENTIALS, SIGNUP_CODES, USERS};
use crate::store::table::{commit, save};

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignupRequest {
    name: String,
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfirmSignupRequest {
    email: String,
    token: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmailRequest {
    email: String,
}

/// A sign-up waiting for its code.
#[derive(Serialize, Deserialize)]
struct PendingSignup {
    user_id: String,
    code: String,
    expires_ms: u64,
    attempts: u32,
}

fn split_name(name: &str) -> (String, String) {
    match name.trim().split_once(' ') {
        Some((first, last)) => (String::from(first), String::from(last.trim())),
        None => (String::from(name.trim()), String::new()),
    }
}

pub async fn signup<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: SignupRequest = cx.body()?;
    let name = required("name", &body.name)?;
    max_len("name", name, NAME_MAX)?;
    let email = json::email(&body.email)?;
    validate_password(cx, &body.password)?;
    let (first_name, last_name) = split_name(name);
    let owner = Owner {
        account_name: name,
        email: &email,
        first_name,
        last_name,
    };
    let (account, user) = accounts::new_owner(cx.ports().rng(), cx.now_ms(), owner);
    let credentials = Credentials {
        password_hash: Some(cx.ports().hasher().hash(&body.password)),
        ..Credentials::default()
    };
    let code = cx.ports().rng().digits(4);
    let pending = PendingSignup {
        user_id: user.id.clone(),
        code: code.clone(),
        expires_ms: cx.now_ms() + cx.config().signup_code_ttl_secs * 1000,
        attempts: 0,
    };
    let mut batch = Batch::new();
    accounts::insert(&mut batch, &account, &user);
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    SIGNUP_CODES.put(&mut batch, &users::username_key(&email), &pending);
    commit(cx.store(), &batch, EMAIL_TAKEN)?;
    mail::signup_code(cx.ports().mailer(), &email, &code);
    Ok(Response::ok())
}

pub async fn confirm_signup<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: ConfirmSignupRequest = cx.body()?;
    const WRONG: &str = "The confirmation code is wrong or has expired.";
    let key = users::username_key(&body.email);
    let store = cx.store();
    let pending: PendingSignup = SIGNUP_CODES
        .get(store, &key)?
        .filter(|p: &PendingSignup| p.expires_ms > cx.now_ms())
        .ok_or(ApiError::new(ErrorCode::Token, WRONG))?;
    let mut batch = Batch::new();
    batch.require_present(SIGNUP_CODES.key(&key));
    if body.token.trim() != pending.code {
        let attempts = pending.attempts + 1;
        if attempts >= cx.config().signup_code_max_attempts {
            // Four digits must not be guessable: too many misses void the code.
            SIGNUP_CODES.delete(&mut batch, &key);
        } else {
            SIGNUP_CODES.put(
                &mut batch,
                &key,
                &PendingSignup {
                    attempts,
                    ..pending
                },
            );
        }
        commit(store, &batch, (ErrorCode::Token, WRONG))?;
        return Err(ApiError::new(ErrorCode::Token, WRONG));
    }
    let mut user: User = USERS
        .get(store, &pending.user_id)?
        .ok_or(ApiError::new(ErrorCode::Token, WRONG))?;
    user.status = UserStatus::ACTIVE;
    SIGNUP_CODES.delete(&mut batch, &key);
    USERS.put(&mut batch, &user.id, &user);
    commit(store, &batch, (ErrorCode::Token, WRONG))?;
    Ok(Response::json(&true))
}

pub async fn resend_confirmation_email<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: EmailRequest = cx.body()?;
    let key = users::username_key(&body.email);
    if let Some(user) = users::find_by_username(cx.store(), &body.email)?
        && user.status == UserStatus::PENDING
        && user.owner
    {
        let code = cx.ports().rng().digits(4);
        let pending = PendingSignup {
            user_id: user.id.clone(),
            code: code.clone(),
            expires_ms: cx.now_ms() + cx.config().signup_code_ttl_secs * 1000,
            attempts: 0,
        };
        let mut batch = Batch::new();
        SIGNUP_CODES.put(&mut batch, &key, &pending);
        save(cx.store(), &batch)?;
        mail::signup_code(cx.ports().mailer(), &user.email, &code);
    }
    Ok(Response::ok())
}
