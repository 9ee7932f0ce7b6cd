//! SSO (`sso.md`): an account's identity provider configurations, and signing in and
//! importing users through them. One file per concern: the configurations, sign-in, import.

pub(crate) mod import;
pub(crate) mod setup;
pub(crate) mod sign_in;

pub use import::{get_user_usergroups, sso_url_import_user};
pub use setup::{
    delete_entra_id, delete_okta, delete_saml, get_entra_id, get_okta, get_saml, setup_entra_id,
    setup_okta, setup_saml, update_entra_id, update_okta, update_saml,
};
pub use sign_in::{authenticate, saml_acs, sso_url};

use alloc::format;
use alloc::string::String;

use serde::{Deserialize, Serialize};

use crate::agent::Ctx;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::json::{max_len, required};
use crate::ports::{IdTokenVerifier, IdpError, OidcStart, Ports, RngExt, SamlRequest, hex};
use crate::sso::config::{self, SsoConfig};
use crate::sso::login::{self, PendingLogin, Purpose, SamlRequestSent};

/// Every SSO route first: the plan must include single sign-on.
fn ensure_plan<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<()> {
    if cx.config().plan.sso {
        return Ok(());
    }
    Err(ApiError::access(
        "The plan does not include single sign-on (set `sso = true` under [plan] in the \
         agent's configuration).",
    ))
}

/// What an identity provider's failure means to the client; `doing` says what was tried.
fn idp_error(doing: &str, e: IdpError) -> ApiError {
    match e {
        IdpError::Unsupported => ApiError::invalid(
            "This agent cannot reach identity providers (single sign-on needs the desktop agent).",
        ),
        IdpError::Unreachable(why) => ApiError::invalid(format!("{doing}: {why}")),
        IdpError::Invalid(why) => ApiError::invalid(format!("{doing}: {why}")),
        IdpError::Refused(why) => ApiError::new(ErrorCode::Auth, format!("{doing}: {why}")),
    }
}

/// `{CallbackUrl, Username}` of `sso_url` and `sso_url_import_user` (either casing).
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct UrlRequest {
    callback_url: String,
    username: String,
}

/// `SSOUrlResponse`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub(crate) struct UrlResponse {
    #[serde(rename = "Identifier")]
    identifier: String,
    #[serde(rename = "Url")]
    url: String,
}

/// A callback URL of a sign-in started by `cx`: the browser is sent there with a code that
/// signs someone in, so it must be on this machine, the agent itself or an allowlisted origin
/// (a provider's registered redirect URIs do not cover SAML answers, which come back here).
fn trusted_callback<'a, P: Ports>(cx: &Ctx<'_, P>, value: &'a str) -> ApiResult<&'a str> {
    let url = callback_url(value)?;
    if !crate::security::trusted_return_url(url, cx.req.header_str("host"), cx.config()) {
        return Err(ApiError::new(
            ErrorCode::Security,
            "'CallbackUrl' must be on this machine (loopback), the agent itself, or an origin \
             of `allowed_origins`: the sign-in's code is sent there.",
        ));
    }
    Ok(url)
}

/// A callback URL: where the provider sends the browser back with the answer.
fn callback_url(value: &str) -> ApiResult<&str> {
    crate::json::absolute_url("CallbackUrl", value)
}

/// How many expired sign-ins each new one clears away.
const PURGE_PER_SIGN_IN: usize = 16;

/// Starts a sign-in of `config` for `purpose` and answers with where to send the browser.
async fn start<P: Ports>(
    cx: &Ctx<'_, P>,
    config: &SsoConfig,
    callback: &str,
    purpose: Purpose,
) -> ApiResult<UrlResponse> {
    let now = cx.now_ms();
    login::purge_expired(cx.store(), now, PURGE_PER_SIGN_IN)?;
    let expires = now + cx.config().sso.login_ttl_secs * 1000;
    let directory = matches!(purpose, Purpose::Import { .. });
    let mut pending = PendingLogin::new(cx.ports().rng(), config, callback, purpose, expires);
    let url = match config.kind.flavor() {
        Some(_) => {
            let client = config.oidc_client(cx.ports().secrets())?;
            let request = OidcStart {
                redirect_url: callback,
                state: &pending.id,
                nonce: &pending.nonce,
                code_verifier: &pending.code_verifier,
                directory,
            };
            let doing = format!("{} could not start a sign-in", config.kind.label());
            cx.ports()
                .id_tokens()
                .oidc_authorization_url(&client, &request)
                .await
                .map_err(|e| idp_error(&doing, e))?
        }
        None => {
            let sent = SamlRequestSent {
                // An XML ID must not start with a digit.
                request_id: format!("_{}", hex(&cx.ports().rng().bytes::<16>())),
                acs_url: acs_url(cx)?,
            };
            let request = SamlRequest {
                idp_sso_url: &config.idp_sso_url,
                sp_entity_id: &config.sp_entity_id,
                acs_url: &sent.acs_url,
                request_id: &sent.request_id,
                relay_state: &pending.id,
                now_secs: now / 1000,
            };
            let url = cx
                .ports()
                .id_tokens()
                .saml_request_url(&request)
                .map_err(|e| idp_error("SAML could not start a sign-in", e))?;
            pending.saml = Some(sent);
            url
        }
    };
    login::save(cx.store(), &pending)?;
    Ok(UrlResponse {
        identifier: pending.id,
        url,
    })
}

/// The agent's assertion consumer service, as the browser reaches the agent.
fn acs_url<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<String> {
    let host = cx.req.header_str("host").unwrap_or("").trim();
    if host.is_empty() {
        return Err(ApiError::invalid(
            "A Host header is required: the identity provider posts back to this agent at it.",
        ));
    }
    Ok(format!("http://{host}/sso/saml_acs"))
}

/// The configuration a taken sign-in started with, if it is still the same and active.
fn config_of(cx: &Ctx<'_, impl Ports>, pending: &PendingLogin) -> ApiResult<SsoConfig> {
    config::of_account(cx.store(), &pending.account_id, pending.kind)?
        .filter(|c| c.id == pending.config_id && c.active)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Auth,
                format!(
                    "The {} configuration this sign-in started with was changed or turned off \
                     meanwhile: start again.",
                    pending.kind.label()
                ),
            )
        })
}

/// Who a taken sign-in's answer names: for SAML, the verified answer the code redeems; for
/// OpenID Connect, the ID token the provider gives for the code, verified.
async fn redeem<P: Ports>(
    cx: &Ctx<'_, P>,
    config: &SsoConfig,
    pending: &PendingLogin,
    code: &str,
) -> ApiResult<crate::ports::SsoIdentity> {
    let code = required("AuthorizationCode", code)?;
    max_len("AuthorizationCode", code, 4096)?;
    let identity = match (&pending.answer, config.kind.flavor()) {
        (Some(answer), _) if login::code_hash(code) == answer.code_hash => answer.identity(),
        (_, None) => {
            return Err(ApiError::new(
                ErrorCode::Auth,
                "This code is not the one the SAML answer was given.",
            ));
        }
        (_, Some(_)) => oidc_redeem(cx, config, pending, code).await?,
    };
    if identity.subject.is_empty() || identity.username.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::Auth,
            "The identity provider's answer names no user (no subject or username).",
        ));
    }
    Ok(identity)
}

async fn oidc_redeem<P: Ports>(
    cx: &Ctx<'_, P>,
    config: &SsoConfig,
    pending: &PendingLogin,
    code: &str,
) -> ApiResult<crate::ports::SsoIdentity> {
    let client = config.oidc_client(cx.ports().secrets())?;
    let request = crate::ports::OidcRedeem {
        code,
        redirect_url: &pending.callback_url,
        code_verifier: &pending.code_verifier,
        nonce: &pending.nonce,
    };
    let doing = format!("{} refused the sign-in", config.kind.label());
    cx.ports()
        .id_tokens()
        .oidc_redeem(&client, &request)
        .await
        .map_err(|e| idp_error(&doing, e))
}

/// The callback URL of an answer must be the one the sign-in started with.
fn same_callback(pending: &PendingLogin, given: &str) -> ApiResult<()> {
    if pending.callback_url != given.trim() {
        return Err(ApiError::new(
            ErrorCode::Auth,
            "'CallbackUrl' is not the one this sign-in started with.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::callback_url;

    #[test]
    fn callback_urls_are_absolute_http_urls() {
        assert!(callback_url("http://127.0.0.1:9/cb").is_ok());
        assert!(callback_url("HTTPS://app.example.com/cb?x=1").is_ok());
        for bad in [
            "",
            "http://",
            "javascript:alert(1)",
            "httpé://x",
            "ftp://x",
            "http://a b",
        ] {
            assert!(callback_url(bad).is_err(), "{bad}");
        }
    }
}
