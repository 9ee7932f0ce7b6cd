//! The configurations (`setup_*`, `get_*`, `update_*`, `delete_*` of Okta, Entra ID and
//! SAML): one of each per account, admins only, the client secret sealed and never returned.

use alloc::format;
use alloc::string::String;
use serde::{Deserialize, Serialize};

use super::{ensure_plan, idp_error};
use crate::agent::Ctx;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::{max_len, required};
use crate::model::User;
use crate::ports::{IdTokenVerifier, Ports, RngExt};
use crate::sso::config::{self, Kind, SsoConfig, check_provider_url};
use crate::store::Batch;
use crate::store::keys::SSO_CONFIGS;
use crate::store::table::commit;

/// What the API shows instead of a secret.
const HIDDEN: &str = "********";

/// `OktaSSO` and `EntraIDSSO` as sent (either casing: the body's keys arrive camelCased).
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct OidcInput {
    id: String,
    client_id: String,
    client_secret: String,
    #[serde(rename = "openIdURL", alias = "openIdUrl")]
    open_id_url: String,
    active: Option<bool>,
}

/// `SamlSSO` as sent (`SPEntityId` and `IdPSSOURL` arrive as `sPEntityId`, `idPSSOURL`).
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SamlInput {
    id: String,
    certificate: String,
    #[serde(rename = "sPEntityId", alias = "spEntityId")]
    sp_entity_id: String,
    #[serde(rename = "idPSSOURL", alias = "idpSsoUrl")]
    idp_sso_url: String,
    active: Option<bool>,
}

/// `OktaSSO` / `EntraIDSSO` as answered: the secret hidden.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub(crate) struct OidcDto<'a> {
    #[serde(rename = "Id")]
    id: &'a str,
    #[serde(rename = "AccountId")]
    account_id: &'a str,
    #[serde(rename = "ClientId")]
    client_id: &'a str,
    #[serde(rename = "ClientSecret")]
    client_secret: &'static str,
    #[serde(rename = "OpenIdURL")]
    open_id_url: &'a str,
    #[serde(rename = "Active")]
    active: bool,
}

/// `SamlSSO` as answered (a certificate is public).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub(crate) struct SamlDto<'a> {
    #[serde(rename = "Id")]
    id: &'a str,
    #[serde(rename = "AccountId")]
    account_id: &'a str,
    #[serde(rename = "Certificate")]
    certificate: &'a str,
    #[serde(rename = "SPEntityId")]
    sp_entity_id: &'a str,
    #[serde(rename = "IdPSSOURL")]
    idp_sso_url: &'a str,
    #[serde(rename = "Active")]
    active: bool,
}

fn render(config: Option<&SsoConfig>) -> Response {
    match config {
        None => Response::json(&serde_json::Value::Null),
        Some(c) if c.kind == Kind::Saml => Response::json(&SamlDto {
            id: &c.id,
            account_id: &c.account_id,
            certificate: &c.certificate,
            sp_entity_id: &c.sp_entity_id,
            idp_sso_url: &c.idp_sso_url,
            active: c.active,
        }),
        Some(c) => Response::json(&OidcDto {
            id: &c.id,
            account_id: &c.account_id,
            client_id: &c.client_id,
            client_secret: HIDDEN,
            open_id_url: &c.open_id_url,
            active: c.active,
        }),
    }
}

/// The caller (an admin: the routes' policy) of an account whose plan has SSO.
fn admin<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<User> {
    ensure_plan(cx)?;
    cx.user()
}

/// A configuration built from `input` over `base` (a new one, or the stored one); an empty
/// or hidden secret keeps the stored one.
fn oidc_config<P: Ports>(
    cx: &Ctx<'_, P>,
    input: OidcInput,
    base: SsoConfig,
) -> ApiResult<SsoConfig> {
    let client_id = required("ClientId", &input.client_id)?;
    max_len("ClientId", client_id, 256)?;
    let url = required("OpenIdURL", &input.open_id_url)?;
    check_provider_url("OpenIdURL", url)?;
    let secret = input.client_secret.trim();
    max_len("ClientSecret", secret, 1024)?;
    let sealed = if secret.is_empty() || secret == HIDDEN {
        if base.sealed_client_secret.is_empty() {
            return Err(ApiError::invalid("'ClientSecret' is required."));
        }
        base.sealed_client_secret.clone()
    } else {
        cx.ports().secrets().seal(secret, cx.ports().rng())
    };
    Ok(SsoConfig {
        client_id: String::from(client_id),
        sealed_client_secret: sealed,
        open_id_url: String::from(url),
        active: input.active.unwrap_or(base.active),
        ..base
    })
}

/// Fetches the provider's discovery document: a configuration that cannot sign anyone in
/// is refused before it is saved.
async fn check_discovery<P: Ports>(cx: &Ctx<'_, P>, config: &SsoConfig) -> ApiResult<()> {
    let client = config.oidc_client(cx.ports().secrets())?;
    let doing = format!("The {} OpenIdURL cannot be used", config.kind.label());
    cx.ports()
        .id_tokens()
        .check_oidc(&client)
        .await
        .map_err(|e| idp_error(&doing, e))
}

fn saml_config<P: Ports>(
    cx: &Ctx<'_, P>,
    input: SamlInput,
    base: SsoConfig,
) -> ApiResult<SsoConfig> {
    let certificate = required("Certificate", &input.certificate)?;
    max_len("Certificate", certificate, 16 * 1024)?;
    cx.ports()
        .id_tokens()
        .check_certificate(certificate)
        .map_err(|e| idp_error("'Certificate' cannot be used", e))?;
    let entity = required("SPEntityId", &input.sp_entity_id)?;
    max_len("SPEntityId", entity, 1024)?;
    let url = required("IdPSSOURL", &input.idp_sso_url)?;
    check_provider_url("IdPSSOURL", url)?;
    Ok(SsoConfig {
        certificate: String::from(certificate),
        sp_entity_id: String::from(entity),
        idp_sso_url: String::from(url),
        active: input.active.unwrap_or(base.active),
        ..base
    })
}

fn fresh<P: Ports>(cx: &Ctx<'_, P>, account_id: &str, kind: Kind) -> SsoConfig {
    SsoConfig::new(cx.ports().rng().uuid(), account_id, kind)
}

/// The account's configuration of `kind`, which an update or delete needs.
fn existing<P: Ports>(cx: &Ctx<'_, P>, account_id: &str, kind: Kind) -> ApiResult<SsoConfig> {
    config::of_account(cx.store(), account_id, kind)?
        .ok_or_else(|| ApiError::not_found(&format!("The {} configuration", kind.label())))
}

/// Saves `config`: a new one only where none is, a changed one only over the one it read.
fn save<P: Ports>(cx: &Ctx<'_, P>, config: &SsoConfig, old: Option<&SsoConfig>) -> ApiResult<()> {
    let key = SsoConfig::key(&config.account_id, config.kind);
    let mut batch = Batch::new();
    let conflict = match old {
        None => {
            batch.require_absent(SSO_CONFIGS.key(&key));
            (
                ErrorCode::Duplicate,
                "The account has this kind of SSO configuration already; update it.",
            )
        }
        Some(old) => {
            let bytes = serde_json::to_vec(old).map_err(|_| ApiError::Internal)?;
            batch.require_value(SSO_CONFIGS.key(&key), Some(bytes));
            (
                ErrorCode::DbUpdate,
                "The SSO configuration was changed or deleted meanwhile; read it again.",
            )
        }
    };
    SSO_CONFIGS.put(&mut batch, &key, config);
    commit(cx.store(), &batch, conflict)
}

async fn setup_oidc<P: Ports>(cx: &Ctx<'_, P>, kind: Kind) -> ApiResult<Response> {
    let caller = admin(cx)?;
    if config::of_account(cx.store(), &caller.account_id, kind)?.is_some() {
        return Err(ApiError::new(
            ErrorCode::Duplicate,
            format!(
                "The account has an {} configuration already; update it.",
                kind.label()
            ),
        ));
    }
    let config = oidc_config(cx, cx.body()?, fresh(cx, &caller.account_id, kind))?;
    check_discovery(cx, &config).await?;
    save(cx, &config, None)?;
    Ok(render(Some(&config)))
}

async fn update_oidc<P: Ports>(cx: &Ctx<'_, P>, kind: Kind) -> ApiResult<Response> {
    let caller = admin(cx)?;
    let input: OidcInput = cx.body()?;
    let old = existing(cx, &caller.account_id, kind)?;
    same_id(&input.id, &old)?;
    let config = oidc_config(cx, input, old.clone())?;
    check_discovery(cx, &config).await?;
    save(cx, &config, Some(&old))?;
    Ok(render(Some(&config)))
}

/// An update names the configuration it changes (or none: the account has one of a kind).
fn same_id(given: &str, old: &SsoConfig) -> ApiResult<()> {
    if !given.trim().is_empty() && given.trim() != old.id {
        return Err(ApiError::not_found(&format!(
            "The {} configuration '{}'",
            old.kind.label(),
            given.trim()
        )));
    }
    Ok(())
}

fn get_kind<P: Ports>(cx: &Ctx<'_, P>, kind: Kind) -> ApiResult<Response> {
    let caller = admin(cx)?;
    Ok(render(
        config::of_account(cx.store(), &caller.account_id, kind)?.as_ref(),
    ))
}

fn delete_kind<P: Ports>(cx: &Ctx<'_, P>, kind: Kind) -> ApiResult<Response> {
    let caller = admin(cx)?;
    let old = existing(cx, &caller.account_id, kind)?;
    let mut batch = Batch::new();
    let key = SsoConfig::key(&old.account_id, kind);
    batch.require_present(SSO_CONFIGS.key(&key));
    SSO_CONFIGS.delete(&mut batch, &key);
    commit(
        cx.store(),
        &batch,
        (
            ErrorCode::NotFound,
            "The SSO configuration was deleted meanwhile.",
        ),
    )?;
    Ok(Response::ok())
}

pub async fn setup_okta<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    setup_oidc(cx, Kind::Okta).await
}

pub async fn get_okta<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    get_kind(cx, Kind::Okta)
}

pub async fn update_okta<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    update_oidc(cx, Kind::Okta).await
}

pub async fn delete_okta<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    delete_kind(cx, Kind::Okta)
}

pub async fn setup_entra_id<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    setup_oidc(cx, Kind::EntraId).await
}

pub async fn get_entra_id<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    get_kind(cx, Kind::EntraId)
}

pub async fn update_entra_id<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    update_oidc(cx, Kind::EntraId).await
}

pub async fn delete_entra_id<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    delete_kind(cx, Kind::EntraId)
}

pub async fn setup_saml<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = admin(cx)?;
    if config::of_account(cx.store(), &caller.account_id, Kind::Saml)?.is_some() {
        return Err(ApiError::new(
            ErrorCode::Duplicate,
            "The account has a SAML configuration already; update it.",
        ));
    }
    let config = saml_config(cx, cx.body()?, fresh(cx, &caller.account_id, Kind::Saml))?;
    save(cx, &config, None)?;
    Ok(render(Some(&config)))
}

pub async fn get_saml<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    get_kind(cx, Kind::Saml)
}

pub async fn update_saml<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = admin(cx)?;
    let input: SamlInput = cx.body()?;
    let old = existing(cx, &caller.account_id, Kind::Saml)?;
    same_id(&input.id, &old)?;
    let config = saml_config(cx, input, old.clone())?;
    save(cx, &config, Some(&old))?;
    Ok(render(Some(&config)))
}

pub async fn delete_saml<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    delete_kind(cx, Kind::Saml)
}
