//! Signing in (`sso_url`, then `authenticate`): the provider a username belongs to, the
//! authorization request, and the agent's token for the verified identity.

use alloc::string::String;
use serde::Deserialize;

use super::{
    UrlRequest, config_of, ensure_plan, idp_error, redeem, same_callback, start, trusted_callback,
};
use crate::agent::Ctx;
use crate::directory::users;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::{max_len, required};
use crate::model::Account;
use crate::ports::{IdTokenVerifier, Ports, SamlExpect};
use crate::sso::config::{self, SsoConfig};
use crate::sso::identity::{self, Resolve};
use crate::sso::login::{self, Answer, PendingLogin, Purpose};
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
    let callback = trusted_callback(cx, &body.callback_url)?;
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
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AuthenticateRequest {
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

/// The assertion consumer service (`/sso/saml_acs`, an extension): the identity provider's
/// page posts the browser's `SAMLResponse` and `RelayState` here. The answer is checked, bound
/// to its pending sign-in, and the browser goes on to the sign-in's callback URL with a
/// single-use `code` and the `state`, which `authenticate` (or `get_user_usergroups`) takes
/// as an OpenID Connect code.
pub async fn saml_acs<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    ensure_plan(cx)?;
    let form = core::str::from_utf8(cx.req.body)
        .map_err(|_| ApiError::invalid("The form is not UTF-8."))?;
    let field = |name: &str| {
        crate::http::query_pairs(form)
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (response, relay_state) = (field("SAMLResponse"), field("RelayState"));
    required("SAMLResponse", &response)?;
    let mut pending = login::take(
        cx.store(),
        required("RelayState", &relay_state)?,
        cx.now_ms(),
    )?;
    let sent = pending
        .saml
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::Auth, "This RelayState names no SAML sign-in."))?;
    let config = config_of(cx, &pending)?;
    let now = cx.now_ms();
    let expect = SamlExpect {
        sp_entity_id: &config.sp_entity_id,
        acs_url: &sent.acs_url,
        request_id: &sent.request_id,
        now_secs: now / 1000,
    };
    let assertion = cx
        .ports()
        .id_tokens()
        .saml_verify(&config.certificate, &response, &expect)
        .map_err(|e| idp_error("The SAML answer was refused", e))?;
    let code = PendingLogin::new_code(cx.ports().rng());
    let id = &assertion.identity;
    pending.answer = Some(Answer {
        code_hash: login::code_hash(&code),
        subject: id.subject.clone(),
        username: id.username.clone(),
        email: id.email.clone(),
        given_name: id.given_name.clone(),
        family_name: id.family_name.clone(),
        groups: id.groups.clone(),
    });
    pending.expires_ms = now + ANSWER_TTL_MS;
    login::answered(
        cx.store(),
        &pending,
        &assertion.id,
        assertion.expires_secs * 1000,
    )?;
    // Code and state are base64url: nothing in them needs escaping in a query.
    let sep = if pending.callback_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = alloc::format!(
        "{}{sep}code={code}&state={}",
        pending.callback_url,
        pending.id
    );
    Ok(Response::empty(303).with_header("location", location))
}

/// How long the browser has, from the SAML answer, to hand its code to `authenticate`.
const ANSWER_TTL_MS: u64 = 120_000;
