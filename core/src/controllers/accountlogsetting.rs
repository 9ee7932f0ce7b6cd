//! AccountLogSetting (`accountlogsetting.md`): where an account's audit events are forwarded.

use alloc::format;
use alloc::string::String;
use serde::Deserialize;
use serde_json::Value;

use crate::agent::Ctx;
use crate::audit::setting::{self, AccountLogSetting};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::{max_len, required};
use crate::ports::{Ports, RngExt};
use crate::store::Batch;
use crate::store::keys::LOG_SETTINGS;
use crate::store::table::commit;

const SPLUNK: u32 = 1;

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct SettingInput {
    #[serde(default)]
    id: String,
    token: String,
    server_address: String,
    /// A string in the docs; a number is taken too.
    service_port: Value,
    #[serde(default = "yes")]
    active: bool,
    provider: u32,
}

fn yes() -> bool {
    true
}

fn validate(input: SettingInput, id: String) -> ApiResult<AccountLogSetting> {
    let token = required("token", &input.token)?;
    max_len("token", token, 100)?;
    let address = required("serverAddress", &input.server_address)?;
    max_len("serverAddress", address, 100)?;
    let port = match &input.service_port {
        Value::String(s) => String::from(s.trim()),
        Value::Number(n) => format!("{n}"),
        _ => String::new(),
    };
    max_len("servicePort", &port, 10)?;
    if !port.parse::<u16>().is_ok_and(|p| p > 0) {
        return Err(ApiError::invalid(
            "'servicePort' must be a port number from 1 to 65535.",
        ));
    }
    if input.provider != SPLUNK {
        return Err(ApiError::invalid(
            "'provider' must be Splunk (1); no other provider is supported.",
        ));
    }
    Ok(AccountLogSetting {
        id,
        token: String::from(token),
        server_address: String::from(address),
        service_port: port,
        active: input.active,
        provider: input.provider,
    })
}

fn current<P: Ports>(cx: &Ctx<'_, P>, account_id: &str) -> ApiResult<AccountLogSetting> {
    setting::of_account(cx.store(), account_id)?
        .ok_or_else(|| ApiError::not_found("The account log setting"))
}

pub async fn setup<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    let setting = validate(cx.body()?, cx.ports().rng().uuid())?;
    let mut batch = Batch::new();
    batch.require_absent(LOG_SETTINGS.key(&caller.account_id));
    LOG_SETTINGS.put(&mut batch, &caller.account_id, &setting);
    commit(
        cx.store(),
        &batch,
        (
            ErrorCode::Duplicate,
            "The account has a log setting already; update it.",
        ),
    )?;
    Ok(Response::json(&setting))
}

pub async fn get<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    Ok(Response::json(&current(cx, &caller.account_id)?))
}

pub async fn update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    let input: SettingInput = cx.body()?;
    let existing = current(cx, &caller.account_id)?;
    if !input.id.trim().is_empty() && input.id.trim() != existing.id {
        return Err(ApiError::not_found("The account log setting"));
    }
    let setting = validate(input, existing.id)?;
    let mut batch = Batch::new();
    batch.require_present(LOG_SETTINGS.key(&caller.account_id));
    LOG_SETTINGS.put(&mut batch, &caller.account_id, &setting);
    commit(
        cx.store(),
        &batch,
        (
            ErrorCode::NotFound,
            "The account log setting was deleted meanwhile.",
        ),
    )?;
    Ok(Response::json(&setting))
}

pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    current(cx, &caller.account_id)?;
    let mut batch = Batch::new();
    batch.require_present(LOG_SETTINGS.key(&caller.account_id));
    LOG_SETTINGS.delete(&mut batch, &caller.account_id);
    commit(
        cx.store(),
        &batch,
        (
            ErrorCode::NotFound,
            "The account log setting was not found.",
        ),
    )?;
    Ok(Response::ok())
}
