//! Cloud Accounts (`cloud.md`): add, list, share and delete the providers an account uses.

use alloc::string::String;
use alloc::vec::Vec;
use serde::Deserialize;

use crate::agent::{Ctx, required_query};
use crate::cloud::account::{self, AccountRef, CloudAccount, CloudAccountDto};
use crate::cloud::storage_error;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::{max_len, null_as_default, required};
use crate::ports::{ObjectStorage, Ports, RngExt};
use crate::store::Batch;
use crate::store::keys::CLOUD_ACCOUNTS;
use crate::store::table::{commit, save};

pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let rows = account::visible(cx.store(), caller)?;
    let dtos: Vec<CloudAccountDto<'_>> = rows.iter().map(CloudAccountDto::new).collect();
    Ok(Response::json(&dtos))
}

pub async fn get<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let id = required_query(cx.req, "id")?;
    let row = account::find(cx.store(), cx.caller()?, &id)?;
    Ok(Response::json(&CloudAccountDto::new(&row)))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct InsertInput {
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    shared: bool,
    #[serde(flatten)]
    credentials: AccountRef,
}

pub async fn insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let input: InsertInput = cx.body()?;
    let name = required("name", &input.name)?;
    max_len("name", name, 100)?;
    let c = &input.credentials;
    max_len("region", &c.region, 100)?;
    max_len("endpoint", &c.endpoint, 500)?;
    max_len("serviceUrl", &c.service_url, 500)?;
    max_len("accessKey", &c.access_key, 500)?;
    max_len("secretKey", &c.secret_key, 500)?;
    max_len("credentialsData", &c.credentials_data, 20_000)?;
    let target = c.inline_target()?;
    // Credentials are checked against the provider before anything is saved.
    cx.ports()
        .objects()
        .list_buckets(&target, false)
        .await
        .map_err(|e| storage_error(target.cloud_type, e))?;
    let ports = cx.ports();
    let row = CloudAccount {
        id: ports.rng().uuid(),
        account_id: caller.account_id.clone(),
        user_id: caller.user_id.clone(),
        cloud_type: target.cloud_type,
        name: String::from(name),
        region: target.region.clone(),
        endpoint: String::from(c.endpoint.trim()),
        service_url: String::from(c.service_url.trim()),
        access_key: target.access_key.clone(),
        sealed_secret_key: ports.secrets().seal(&target.secret_key, ports.rng()),
        sealed_credentials_data: ports.secrets().seal(&target.credentials_data, ports.rng()),
        shared: input.shared,
        authorization_revoked: false,
        create_ms: cx.now_ms(),
    };
    let mut batch = Batch::new();
    account::insert(&mut batch, &row);
    save(cx.store(), &batch)?;
    Ok(Response::json(&CloudAccountDto::new(&row)))
}

/// The cloud account named by `id`, if the caller may change it.
fn managed<P: Ports>(cx: &Ctx<'_, P>, id: &str) -> ApiResult<CloudAccount> {
    let caller = cx.caller()?;
    let row = account::find(cx.store(), caller, id)?;
    let user = cx.user()?;
    if !row.manageable_by(&user) {
        return Err(ApiError::access(
            "Only the user who added a cloud account (or an admin, once it is shared) can \
             change it.",
        ));
    }
    Ok(row)
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schemars(rename = "ManageShareRequest"))]
pub(crate) struct ShareInput {
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    shared: bool,
}

pub async fn manage_share<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: ShareInput = cx.body()?;
    let mut row = managed(cx, required("id", &input.id)?)?;
    row.shared = input.shared;
    let mut batch = Batch::new();
    batch.require_present(CLOUD_ACCOUNTS.key(&row.id));
    CLOUD_ACCOUNTS.put(&mut batch, &row.id, &row);
    commit(
        cx.store(),
        &batch,
        (
            ErrorCode::NotFound,
            "The cloud account was deleted meanwhile.",
        ),
    )?;
    Ok(Response::ok())
}

pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let id = required_query(cx.req, "id")?;
    let row = managed(cx, &id)?;
    account::remove(cx.store(), &row)?;
    Ok(Response::json(&true))
}
