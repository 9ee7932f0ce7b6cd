//! ApiToken (`apitoken.md`): long-lived tokens of the signed-in user.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::agent::{Ctx, required_query};
use crate::auth::api_token::{self, ApiToken, PREFIX};
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::json::{max_len, required};
use crate::ports::{Ports, RngExt};
use crate::store::Batch;
use crate::store::table::save;
use crate::time::{iso8601, parse_iso8601};

/// How listings show a token: its first characters, then an ellipsis. The whole value is only
/// in the answer to `insert`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiTokenDto<'a> {
    id: &'a str,
    title: &'a str,
    token: String,
    expiration_date: Option<String>,
    create_date: String,
}

impl<'a> ApiTokenDto<'a> {
    fn new(t: &'a ApiToken, token: String) -> ApiTokenDto<'a> {
        ApiTokenDto {
            id: &t.id,
            title: &t.title,
            token,
            expiration_date: t.expires_ms.map(iso8601),
            create_date: iso8601(t.create_ms),
        }
    }
}

pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let tokens = api_token::of_user(cx.store(), &caller.user_id)?;
    let dtos: Vec<ApiTokenDto<'_>> = tokens
        .iter()
        .map(|t| ApiTokenDto::new(t, alloc::format!("{}…", t.shown)))
        .collect();
    Ok(Response::json(&dtos))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct InsertRequest {
    title: String,
    expiration_date: Option<String>,
}

pub async fn insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let body: InsertRequest = cx.body()?;
    let title = required("title", &body.title)?;
    max_len("title", title, 100)?;
    let now = cx.now_ms();
    let expires_ms = match body.expiration_date.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(date) => {
            let ms = parse_iso8601(date).ok_or_else(|| {
                ApiError::invalid(
                    "'expirationDate' must be an ISO 8601 date, such as 2027-01-01T00:00:00Z.",
                )
            })?;
            if ms <= now {
                return Err(ApiError::invalid("'expirationDate' must be in the future."));
            }
            Some(ms)
        }
    };
    let value = alloc::format!("{PREFIX}{}", cx.ports().rng().token(32));
    let token = ApiToken {
        id: cx.ports().rng().uuid(),
        user_id: caller.user_id.clone(),
        account_id: caller.account_id.clone(),
        title: String::from(title),
        shown: String::from(&value[..PREFIX.len() + 6]),
        hash: api_token::hash(&value),
        expires_ms,
        create_ms: now,
    };
    let mut batch = Batch::new();
    api_token::put(&mut batch, &token);
    save(cx.store(), &batch)?;
    Ok(Response::json(&ApiTokenDto::new(&token, value)))
}

pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let id = required_query(cx.req, "id")?;
    let token: ApiToken = crate::store::keys::API_TOKENS
        .get(cx.store(), id.trim())?
        .filter(|t: &ApiToken| t.user_id == caller.user_id)
        .ok_or_else(|| ApiError::not_found("The API token"))?;
    let mut batch = Batch::new();
    api_token::delete(&mut batch, &token);
    save(cx.store(), &batch)?;
    Ok(Response::ok())
}
