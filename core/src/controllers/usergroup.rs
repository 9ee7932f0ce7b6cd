//! UserGroup (`usergroup.md`): groups of an account and their members.

use alloc::format;
use serde::Deserialize;

use super::shared;
use crate::agent::Ctx;
use crate::directory::entities::{self, USER_GROUPS};
use crate::directory::relations::{Assignment, GROUP_DRIVE, GROUP_MEMBERS, GROUP_PROJECT, Side};
use crate::directory::users;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::ports::{Ports, RngExt};
use crate::store::Batch;
use crate::store::table::commit;

pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::list(cx, &USER_GROUPS, Side::UserGroup, &shared::as_stored)
}

pub async fn get_all_with_details<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let related = [
        (&GROUP_MEMBERS, "users"),
        (&GROUP_PROJECT, "projects"),
        (&GROUP_DRIVE, "sharedCloudDrives"),
    ];
    shared::list_with_details(
        cx,
        &USER_GROUPS,
        Side::UserGroup,
        &related,
        &shared::as_stored,
    )
}

pub async fn insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::insert(cx, &USER_GROUPS)
}

pub async fn update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::update(cx, &USER_GROUPS)
}

pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::delete(cx, &USER_GROUPS, Side::UserGroup)
}

pub async fn get_assigned_users<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(
        cx,
        &GROUP_MEMBERS,
        Side::UserGroup,
        &["userGroupId"],
        "username",
    )
}

pub async fn get_assigned_usergroups<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(cx, &GROUP_MEMBERS, Side::User, &["userId"], "name")
}

pub async fn assign_users<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assign(cx, &GROUP_MEMBERS)
}

pub async fn unassign_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::unassign(cx, &GROUP_MEMBERS)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportedUser {
    username: alloc::string::String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct GroupRef {
    #[serde(default)]
    id: alloc::string::String,
    #[serde(default)]
    name: alloc::string::String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relation {
    user: ImportedUser,
    user_groups: alloc::vec::Vec<GroupRef>,
}

/// Maps existing users (by username) to groups (by id, or by name), all in one transaction;
/// pairs that exist already are left as they are.
pub async fn import_users<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    let items: alloc::vec::Vec<Relation> = cx.body()?;
    let store = cx.store();
    let mut batch = Batch::new();
    for item in &items {
        let user = users::find_by_username(store, &item.user.username)?
            .filter(|u| u.account_id == caller.account_id)
            .ok_or_else(|| {
                ApiError::not_found(&format!("The user '{}'", item.user.username.trim()))
            })?;
        for group in &item.user_groups {
            let group_id = if group.id.trim().is_empty() {
                entities::find_by_name(store, &USER_GROUPS, &caller.account_id, &group.name)?
                    .ok_or_else(|| {
                        ApiError::not_found(&format!("The user group '{}'", group.name.trim()))
                    })?
                    .id
            } else {
                group.id.clone()
            };
            let pair = Assignment {
                left: user.id.clone(),
                right: group_id,
                ..Assignment::default()
            };
            GROUP_MEMBERS.assign(store, &mut batch, &caller.account_id, &pair, || {
                cx.ports().rng().uuid()
            })?;
        }
    }
    commit(
        store,
        &batch,
        (
            crate::error::ErrorCode::DbUpdate,
            "Another request changed these groups at the same time; try again.",
        ),
    )?;
    Ok(Response::ok())
}
