//! FastrSettings (`fastr_settings.md`): a user's transfer settings for each of their cloud
//! accounts, managed by the user, or by an admin through the `*_for_user` routes.
//!
//! Where the Click page and the Web API's differ, the Click page wins: `get_all` lists the
//! caller's own records (admins included), a missing record is `null`, refusals are 499.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::agent::{Ctx, required_query};
use crate::cloud::CloudAccount;
use crate::directory::users;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::required;
use crate::ports::{Ports, RngExt};
use crate::store::Batch;
use crate::store::keys::CLOUD_ACCOUNTS;
use crate::store::table::{commit, commit_with_retry};
use crate::transfers::settings::{self, FastrSettings, FileExistsAction};

/// A request's record; what it leaves out keeps its value (or the default, for a new one).
/// `UserId` is read by `insert_for_user` only; `AccountId` always comes from the token.
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SettingsInput {
    id: Option<String>,
    user_id: Option<String>,
    cloud_account_id: Option<String>,
    max_upload_bytes_per_second: Option<i64>,
    max_download_bytes_per_second: Option<i64>,
    max_server_to_server_bytes_per_second: Option<i64>,
    verify_checksum: Option<bool>,
    file_exists_action: Option<i64>,
    active: Option<bool>,
    /// Documented; the settings always belong to the caller's account, so it is unused.
    #[allow(dead_code)]
    account_id: Option<String>,
}

impl SettingsInput {
    /// Sets on `row` what the request gives.
    fn apply(&self, row: &mut FastrSettings) -> ApiResult<()> {
        let caps = [
            (
                "MaxUploadBytesPerSecond",
                self.max_upload_bytes_per_second,
                &mut row.max_upload_bytes_per_second,
            ),
            (
                "MaxDownloadBytesPerSecond",
                self.max_download_bytes_per_second,
                &mut row.max_download_bytes_per_second,
            ),
            (
                "MaxServerToServerBytesPerSecond",
                self.max_server_to_server_bytes_per_second,
                &mut row.max_server_to_server_bytes_per_second,
            ),
        ];
        for (field, given, cap) in caps {
            if let Some(n) = given {
                *cap = u64::try_from(n).map_err(|_| {
                    ApiError::invalid(alloc::format!(
                        "'{field}' must be 0 (no cap) or a number of bytes per second."
                    ))
                })?;
            }
        }
        if let Some(n) = self.file_exists_action {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            row.file_exists_action = FileExistsAction::try_from(n).map_err(ApiError::invalid)?;
        }
        row.verify_checksum = self.verify_checksum.unwrap_or(row.verify_checksum);
        row.active = self.active.unwrap_or(row.active);
        Ok(())
    }
}

/// The wire shape (`web-api/fastr_settings.md`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct SettingsDto<'a> {
    id: &'a str,
    cloud_account_id: &'a str,
    user_id: &'a str,
    account_id: &'a str,
    max_upload_bytes_per_second: u64,
    max_download_bytes_per_second: u64,
    max_server_to_server_bytes_per_second: u64,
    verify_checksum: bool,
    file_exists_action: u32,
    active: bool,
}

impl<'a> From<&'a FastrSettings> for SettingsDto<'a> {
    fn from(s: &'a FastrSettings) -> SettingsDto<'a> {
        SettingsDto {
            id: &s.id,
            cloud_account_id: &s.cloud_account_id,
            user_id: &s.user_id,
            account_id: &s.account_id,
            max_upload_bytes_per_second: s.max_upload_bytes_per_second,
            max_download_bytes_per_second: s.max_download_bytes_per_second,
            max_server_to_server_bytes_per_second: s.max_server_to_server_bytes_per_second,
            verify_checksum: s.verify_checksum,
            file_exists_action: s.file_exists_action.into(),
            active: s.active,
        }
    }
}

/// `DTOResDesktopObject<FastrSettings>`: the records and how many.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub(crate) struct SettingsList<'a> {
    data: Vec<SettingsDto<'a>>,
    total: usize,
}

fn list<P: Ports>(cx: &Ctx<'_, P>, account_id: &str, user_id: &str) -> ApiResult<Response> {
    let rows = settings::of_user(cx.store(), account_id, user_id)?;
    Ok(Response::json(&SettingsList {
        data: rows.iter().map(SettingsDto::from).collect(),
        total: rows.len(),
    }))
}

pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    list(cx, &caller.account_id, &caller.user_id)
}

pub async fn get_all_for_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let user = users::in_account(cx.store(), &caller.account_id, cx.param("userId"))?;
    list(cx, &caller.account_id, &user.id)
}

pub async fn get_by_cloud_account<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let cloud_account_id = cx.param("cloudAccountId");
    let row = settings::for_pair(
        cx.store(),
        &caller.account_id,
        &caller.user_id,
        cloud_account_id,
    )?;
    Ok(Response::json(&row.as_ref().map(SettingsDto::from)))
}

pub async fn insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    upsert(cx, &caller.account_id, &caller.user_id, cx.body()?)
}

pub async fn insert_for_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let input: SettingsInput = cx.body()?;
    let user_id = required("UserId", input.user_id.as_deref().unwrap_or(""))?;
    let user = users::in_account(cx.store(), &caller.account_id, user_id)?;
    upsert(cx, &caller.account_id, &user.id, input)
}

/// Creates the user's record for the body's cloud account, or updates the one they have.
fn upsert<P: Ports>(
    cx: &Ctx<'_, P>,
    account_id: &str,
    user_id: &str,
    input: SettingsInput,
) -> ApiResult<Response> {
    let cloud_id = required(
        "CloudAccountId",
        input.cloud_account_id.as_deref().unwrap_or(""),
    )?;
    // Only a cloud account the user can transfer with has settings to follow.
    let cloud = CLOUD_ACCOUNTS
        .get::<CloudAccount>(cx.store(), cloud_id)?
        .filter(|a| a.usable_by(account_id, user_id))
        .ok_or_else(|| ApiError::not_found("The cloud account"))?;
    let fresh_id = cx.ports().rng().uuid();
    let mut saved = None;
    let conflict = (
        ErrorCode::DbUpdate,
        "The FastrSettings record kept changing; try again.",
    );
    commit_with_retry(cx.store(), conflict, |batch| {
        let existing = settings::for_pair(cx.store(), account_id, user_id, &cloud.id)?;
        let mut row = existing.clone().unwrap_or_else(|| FastrSettings {
            id: fresh_id.clone(),
            account_id: account_id.into(),
            user_id: user_id.into(),
            cloud_account_id: cloud.id.clone(),
            max_upload_bytes_per_second: 0,
            max_download_bytes_per_second: 0,
            max_server_to_server_bytes_per_second: 0,
            verify_checksum: false,
            file_exists_action: FileExistsAction::default(),
            active: true,
        });
        input.apply(&mut row)?;
        match existing {
            Some(_) => settings::replace(batch, &row),
            None => settings::put(batch, &row),
        }
        saved = Some(row);
        Ok(())
    })?;
    let row = saved.ok_or(ApiError::Internal)?;
    Ok(Response::json(&SettingsDto::from(&row)))
}

/// Record `id` of the caller's account; on the self routes it must be the caller's own.
fn record<P: Ports>(cx: &Ctx<'_, P>, id: &str, own_only: bool) -> ApiResult<FastrSettings> {
    let caller = cx.caller()?;
    let row = settings::in_account(cx.store(), &caller.account_id, id)?;
    if own_only && row.user_id != caller.user_id {
        return Err(ApiError::access(
            "This FastrSettings record is another user's; an admin changes it with the \
             *_for_user routes.",
        ));
    }
    Ok(row)
}

fn update_record<P: Ports>(cx: &Ctx<'_, P>, own_only: bool) -> ApiResult<Response> {
    let input: SettingsInput = cx.body()?;
    let id = required("Id", input.id.as_deref().unwrap_or(""))?;
    let mut row = record(cx, id, own_only)?;
    input.apply(&mut row)?;
    let conflict = (
        ErrorCode::NotFound,
        "The FastrSettings record was deleted meanwhile.",
    );
    let mut batch = Batch::new();
    settings::replace(&mut batch, &row);
    commit(cx.store(), &batch, conflict)?;
    Ok(Response::json(&SettingsDto::from(&row)))
}

pub async fn update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    update_record(cx, true)
}

pub async fn update_for_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    update_record(cx, false)
}

fn delete_record<P: Ports>(cx: &Ctx<'_, P>, own_only: bool) -> ApiResult<Response> {
    let id = required_query(cx.req, "id")?;
    let row = record(cx, &id, own_only)?;
    let conflict = (
        ErrorCode::NotFound,
        "The FastrSettings record was deleted meanwhile.",
    );
    let mut batch = Batch::new();
    settings::delete(&mut batch, &row);
    commit(cx.store(), &batch, conflict)?;
    Ok(Response::ok())
}

pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    delete_record(cx, true)
}

pub async fn delete_for_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    delete_record(cx, false)
}
