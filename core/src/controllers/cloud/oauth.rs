//! OAuth Authorization (`cloud.md`): connecting a Dropbox, Box, OneDrive or Google Drive
//! account. `generate_*_authorization_url` starts a code flow (PKCE, a single-use `state`
//! bound to the caller); `*_authorization_callback` redeems the code and stores the cloud
//! account, its refresh token sealed.

use alloc::format;
use alloc::string::String;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::agent::Ctx;
use crate::cloud::account::{self, CloudAccount, CloudAccountDto};
use crate::cloud::oauth::{self, Authorization};
use crate::cloud::{cloud_type, storage_error};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::{absolute_url, max_len, required};
use crate::ports::{OAuthRedeem, OAuthStart, ObjectStorage, Ports, RngExt};
use crate::store::Batch;
use crate::store::table::save;

/// How long a user has to approve the connection at the provider.
const AUTHORIZATION_TTL_MS: u64 = 10 * 60 * 1000;

/// `redirectURL` (either casing), `cloudName`, `shared`.
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct StartInput {
    #[serde(rename = "redirectURL", alias = "redirectUrl")]
    redirect_url: String,
    cloud_name: String,
    shared: bool,
}

/// `code`, `state`, `error`, `errorDescription`, `redirectURL`.
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CallbackInput {
    code: String,
    state: String,
    error: String,
    error_description: String,
    #[serde(rename = "redirectURL", alias = "redirectUrl")]
    redirect_url: String,
}

async fn generate<P: Ports>(cx: &Ctx<'_, P>, provider: u32) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let input: StartInput = cx.body()?;
    let redirect = absolute_url("redirectURL", &input.redirect_url)?;
    let name = input.cloud_name.trim();
    max_len("cloudName", name, 100)?;
    let rng = cx.ports().rng();
    let authorization = Authorization {
        state: URL_SAFE_NO_PAD.encode(rng.bytes::<32>()),
        user_id: caller.user_id.clone(),
        account_id: caller.account_id.clone(),
        cloud_type: provider,
        cloud_name: String::from(name),
        shared: input.shared,
        redirect_url: String::from(redirect),
        code_verifier: URL_SAFE_NO_PAD.encode(rng.bytes::<32>()),
        expires_ms: cx.now_ms() + AUTHORIZATION_TTL_MS,
    };
    let request = OAuthStart {
        cloud_type: provider,
        redirect_url: redirect,
        state: &authorization.state,
        code_verifier: &authorization.code_verifier,
    };
    let url = cx
        .ports()
        .objects()
        .oauth_authorization_url(&request)
        .map_err(|e| storage_error(provider, e))?;
    oauth::save(cx.store(), &authorization, cx.now_ms())?;
    Ok(Response::json(&url))
}

async fn callback<P: Ports>(cx: &Ctx<'_, P>, provider: u32) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let input: CallbackInput = cx.body()?;
    let state = required("state", &input.state)?;
    let taken = oauth::take(cx.store(), state, &caller.user_id, cx.now_ms())?;
    let label = cloud_type::name(provider);
    if taken.cloud_type != provider {
        return Err(ApiError::new(
            ErrorCode::Auth,
            format!("This authorization was started for another provider, not {label}."),
        ));
    }
    if !input.error.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::Auth,
            format!(
                "{label} did not connect the account: {} {}",
                input.error.trim(),
                input.error_description.trim()
            ),
        ));
    }
    if taken.redirect_url != input.redirect_url.trim() {
        return Err(ApiError::new(
            ErrorCode::Auth,
            "'redirectURL' is not the one the authorization was started with.",
        ));
    }
    let code = required("code", &input.code)?;
    max_len("code", code, 4096)?;
    let redeem = OAuthRedeem {
        cloud_type: provider,
        code,
        redirect_url: &taken.redirect_url,
        code_verifier: &taken.code_verifier,
    };
    let grant = cx
        .ports()
        .objects()
        .oauth_redeem(&redeem)
        .await
        .map_err(|e| storage_error(provider, e))?;
    let ports = cx.ports();
    let name = match taken.cloud_name.is_empty() {
        true => format!("{label} {}", grant.account_name),
        false => taken.cloud_name.clone(),
    };
    let row = CloudAccount {
        id: ports.rng().uuid(),
        account_id: taken.account_id.clone(),
        user_id: taken.user_id.clone(),
        cloud_type: provider,
        name,
        region: String::new(),
        endpoint: String::new(),
        service_url: String::new(),
        access_key: grant.account_name.clone(),
        sealed_secret_key: ports.secrets().seal(&grant.refresh_token, ports.rng()),
        sealed_credentials_data: String::new(),
        shared: taken.shared,
        authorization_revoked: false,
        create_ms: cx.now_ms(),
    };
    let mut batch = Batch::new();
    account::insert(&mut batch, &row);
    save(cx.store(), &batch)?;
    Ok(Response::json(&CloudAccountDto::new(&row)))
}

pub async fn generate_dropbox<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    generate(cx, cloud_type::DROPBOX).await
}

pub async fn dropbox_callback<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    callback(cx, cloud_type::DROPBOX).await
}

pub async fn generate_box<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    generate(cx, cloud_type::BOX).await
}

pub async fn box_callback<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    callback(cx, cloud_type::BOX).await
}

pub async fn generate_onedrive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    generate(cx, cloud_type::ONEDRIVE).await
}

pub async fn onedrive_callback<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    callback(cx, cloud_type::ONEDRIVE).await
}

pub async fn generate_googledrive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    generate(cx, cloud_type::GOOGLE_DRIVE).await
}

pub async fn googledrive_callback<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    callback(cx, cloud_type::GOOGLE_DRIVE).await
}
