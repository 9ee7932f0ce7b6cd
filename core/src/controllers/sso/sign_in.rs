//! Signing in (`sso_url`, then `authenticate`): the provider a username belongs to, the
//! authorization request, and the agent's token for the verified identity.

use alloc::string::String;
use serde::Deserialize;

use super::{UrlRequest, callback_url, config_of, ensure_plan, redeem, same_callback, start};
use crate::agent::Ctx;
use crate::directory::users;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::{max_len, required};
use crate::model::Account;
use crate::ports::Ports;
use crate::sso::config::{self, SsoConfig};
use crate::sso::identity::{self, Resolve};
use crate::sso::login::{self, Purpose};
use crate::store::keys::{ACCOUNTS, USERS};

/// The domain of an email-like username, lower-cased.
fn domain_of(username: &str) -> Option<String> {
    let (_, domain) = username.trim().rsplit_once('@')?;
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

/// The account a username signs into: its user's account; else the one account with SSO
/// whose owner's email has the username's domain; else the agent's only account with SSO.
fn account_for<P: Ports>(cx: &Ctx<'_, P>, username: &str) -> ApiResult<Option<String>> {
    let store = cx.store();
    if let Some(user) = users::find_by_username(store, username)? {
        return Ok(Some(user.account_id));
    }
    let candidates = config::accounts_with_active(store)?;
    if let Some(domain) = domain_of(username) {
        let mut same_domain = candidates.iter().filter_map(|account_id| {
            let account: Account = ACCOUNTS.get(store, account_id).ok()??;
            let owner: crate::model::User = USERS.get(store, &account.owner_id).ok()??;
            (domain_of(&owner.username).as_deref() == Some(domain.as_str())).then_some(account_id)
        });
        if let (Some(one), None) = (same_domain.next(), same_domain.next()) {
            return Ok(Some(one.clone()));
        }
    }
    Ok(match candidates.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    })
}

pub async fn sso_url<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    ensure_plan(cx)?;
    let body: UrlRequest = cx.body()?;
    let callback = callback_url(&body.callback_url)?;
    let username = required("Username", &body.username)?;
    max_len("Username", username, 256)?;
    let config: Option<SsoConfig> = match account_for(cx, username)? {
        Some(account_id) => config::active_of_account(cx.store(), &account_id)?,
        None => None,
    };
    let config = config.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            alloc::format!("No single sign-on is configured for '{username}'."),
        )
    })?;
    let answer = start(cx, &config, callback, Purpose::SignIn).await?;
    Ok(Response::json(&answer))
}

/// `authenticate`'s body (either casing).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AuthenticateRequest {
    identifier: String,
    authorization_code: String,
    callback_url: String,
}

pub async fn authenticate<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    ensure_plan(cx)?;
    let body: AuthenticateRequest = cx.body()?;
    let identifier = required("Identifier", &body.identifier)?;
    max_len("Identifier", identifier, 128)?;
    let pending = login::take(cx.store(), identifier, cx.now_ms())?;
    if pending.purpose != Purpose::SignIn {
        return Err(ApiError::new(
            ErrorCode::Auth,
            "This identifier belongs to an import, not a sign-in.",
        ));
    }
    same_callback(&pending, &body.callback_url)?;
    let config = config_of(cx, &pending)?;
    let identity = redeem(cx, &config, &pending, &body.authorization_code).await?;
    let resolve = Resolve {
        rng: cx.ports().rng(),
        now_ms: cx.now_ms(),
        settings: &cx.config().sso,
        plan: &cx.config().plan,
    };
    let (user, batch) = identity::sign_in(cx.store(), &config, &identity, &resolve)?;
    let token = cx.agent.sessions().sign_in(batch, &user)?;
    Ok(Response::json(&token))
}
