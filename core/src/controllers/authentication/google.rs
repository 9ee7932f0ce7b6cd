//! Google sign-in: ID tokens verified by the host's [`IdTokenVerifier`] port.

use alloc::string::String;
use serde::Deserialize;

use super::{EMAIL_TAKEN, ensure_active, finish_login};
use crate::agent::Ctx;
use crate::directory::accounts::{self, Owner};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json;
use crate::model::{User, UserStatus, auth_provider};
use crate::ports::{IdTokenVerifier, IdentityClaims, Ports};
use crate::store::Batch;
use crate::store::keys::{GOOGLE_IDS, USERS};

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoogleRequest {
    id_token: String,
}

fn verify_google<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<IdentityClaims> {
    let body: GoogleRequest = cx.body()?;
    cx.ports()
        .id_tokens()
        .verify_google(body.id_token.trim())
        .map_err(ApiError::Unauthorized)
}

pub async fn google_signup<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let id = verify_google(cx)?;
    if !id.email_verified {
        return Err(ApiError::new(
            ErrorCode::InvalidEmail,
            "Google has not verified this email address.",
        ));
    }
    let email = json::email(&id.email)?;
    let owner = Owner {
        account_name: &email,
        email: &email,
        first_name: id.given_name.clone(),
        last_name: id.family_name.clone(),
    };
    let (account, mut user) = accounts::new_owner(cx.ports().rng(), cx.now_ms(), owner);
    user.status = UserStatus::ACTIVE;
    user.auth_provider = auth_provider::GOOGLE;
    let mut batch = Batch::new();
    accounts::insert(&mut batch, &account, &user);
    batch.require_absent(GOOGLE_IDS.key(&id.subject));
    GOOGLE_IDS.put_str(&mut batch, &id.subject, &user.id);
    let token = finish_login(cx, batch, &user).map_err(|e| match e {
        ApiError::Validation {
            code: ErrorCode::Session,
            ..
        } => ApiError::new(EMAIL_TAKEN.0, EMAIL_TAKEN.1),
        other => other,
    })?;
    Ok(Response::json(&token))
}

pub async fn google_login<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let id = verify_google(cx)?;
    let store = cx.store();
    let user: Option<User> = match GOOGLE_IDS.get_str(store, &id.subject)? {
        Some(user_id) => USERS.get(store, &user_id)?,
        None => None,
    };
    let user = user.ok_or(ApiError::Unauthorized(
        "No account is linked to this Google identity; sign up first.",
    ))?;
    ensure_active(&user)?;
    let token = finish_login(cx, Batch::new(), &user)?;
    Ok(Response::json(&token))
}
