//! The caller's own profile, account name and subscription.

use alloc::borrow::Cow;
use alloc::string::String;
use serde::{Deserialize, Serialize};

use super::NAME_MAX;
use crate::agent::Ctx;
use crate::auth::request_token;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::json::{max_len, required};
use crate::model::{Account, subscription};
use crate::ports::{Ports, Store};
use crate::store::Batch;
use crate::store::keys::{ACCOUNTS, USERS};
use crate::store::table::{decode_row, save};

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateUserRequest {
    account_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateSubscriptionRequest {
    subscription_type: u32,
}

/// The profile of `GET /authentication/user`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct Profile<'a> {
    account_name: &'a str,
    account_id: &'a str,
    user_id: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    username: &'a str,
    user_type: u32,
    jwt_token: &'a str,
    owner: bool,
    migration: bool,
    subscription_type: u32,
    mfa: bool,
    auth_provider: u32,
}

/// The caller's profile; `jwtToken` echoes the token the request carried.
fn profile_response<P: Ports>(cx: &Ctx<'_, P>, user_id: &str) -> ApiResult<Response> {
    // Every authenticated client polls this: read the rows in place instead of copying them.
    #[derive(Deserialize)]
    struct UserRow<'a> {
        #[serde(borrow)]
        account_id: Cow<'a, str>,
        #[serde(borrow)]
        firstname: Cow<'a, str>,
        #[serde(borrow)]
        lastname: Cow<'a, str>,
        #[serde(borrow)]
        username: Cow<'a, str>,
        user_type: u32,
        owner: bool,
        mfa: bool,
        auth_provider: u32,
    }
    #[derive(Deserialize)]
    struct AccountRow<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
        subscription_type: u32,
    }
    let store = cx.store();
    let user_bytes = store
        .get(&USERS.key(user_id))?
        .ok_or(ApiError::Unauthorized(
            "The user of this token no longer exists.",
        ))?;
    let user: UserRow<'_> = decode_row(user_bytes.as_ref())?;
    let account_bytes = store
        .get(&ACCOUNTS.key(&user.account_id))?
        .ok_or(ApiError::Internal)?;
    let account: AccountRow<'_> = decode_row(account_bytes.as_ref())?;
    let token = request_token(cx.req).unwrap_or_default();
    Ok(Response::json(&Profile {
        account_name: &account.name,
        account_id: &user.account_id,
        user_id,
        first_name: &user.firstname,
        last_name: &user.lastname,
        username: &user.username,
        user_type: user.user_type,
        jwt_token: &token,
        owner: user.owner,
        migration: false,
        subscription_type: account.subscription_type,
        mfa: user.mfa,
        auth_provider: user.auth_provider,
    }))
}

pub async fn get_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    profile_response(cx, &cx.caller()?.user_id)
}

pub async fn update_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: UpdateUserRequest = cx.body()?;
    let mut user = cx.user()?;
    let mut batch = Batch::new();
    if let Some(first) = &body.first_name {
        max_len("firstName", first, NAME_MAX)?;
        user.firstname = String::from(first.trim());
    }
    if let Some(last) = &body.last_name {
        max_len("lastName", last, NAME_MAX)?;
        user.lastname = String::from(last.trim());
    }
    if let Some(name) = &body.account_name {
        let name = required("accountName", name)?;
        max_len("accountName", name, NAME_MAX)?;
        let mut account: Account = ACCOUNTS
            .get(cx.store(), &user.account_id)?
            .ok_or(ApiError::Internal)?;
        if account.name != name {
            if !user.owner {
                return Err(ApiError::access(
                    "Only the account owner can rename the account.",
                ));
            }
            account.name = String::from(name);
            ACCOUNTS.put(&mut batch, &account.id, &account);
        }
    }
    USERS.put(&mut batch, &user.id, &user);
    save(cx.store(), &batch)?;
    profile_response(cx, &user.id)
}

pub async fn update_subscription<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: UpdateSubscriptionRequest = cx.body()?;
    if !matches!(
        body.subscription_type,
        subscription::MONTHLY | subscription::YEARLY
    ) {
        return Err(ApiError::invalid(
            "'subscriptionType' must be Monthly (1) or Yearly (2).",
        ));
    }
    let user = cx.user()?;
    if !user.owner {
        return Err(ApiError::access(
            "Only the account owner can change the subscription.",
        ));
    }
    let mut account: Account = ACCOUNTS
        .get(cx.store(), &user.account_id)?
        .ok_or(ApiError::Internal)?;
    account.subscription_type = body.subscription_type;
    let mut batch = Batch::new();
    ACCOUNTS.put(&mut batch, &account.id, &account);
    save(cx.store(), &batch)?;
    Ok(Response::ok())
}
