//! UsersPermission (`userspermission.md`): users and user groups on projects and on shared
//! cloud drives.

use super::shared;
use crate::agent::Ctx;
use crate::directory::relations::{
    GROUP_DRIVE, GROUP_PROJECT, GROUPS_OF_DRIVE_ID, Side, USER_DRIVE, USER_PROJECT,
};
use crate::error::ApiResult;
use crate::http::Response;
use crate::ports::Ports;

pub async fn add_user_project<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assign(cx, &USER_PROJECT)
}

pub async fn edit_user_project<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::set_permissions(cx, &USER_PROJECT)
}

pub async fn delete_user_project<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::unassign(cx, &USER_PROJECT)
}

pub async fn users_of_project<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(cx, &USER_PROJECT, Side::Project, &["projectId"], "username")
}

pub async fn projects_of_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(cx, &USER_PROJECT, Side::User, &["userId"], "name")
}

pub async fn add_group_project<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assign(cx, &GROUP_PROJECT)
}

pub async fn edit_group_project<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::set_permissions(cx, &GROUP_PROJECT)
}

pub async fn delete_group_project<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::unassign(cx, &GROUP_PROJECT)
}

pub async fn groups_of_project<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(cx, &GROUP_PROJECT, Side::Project, &["projectId"], "name")
}

pub async fn projects_of_group<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(
        cx,
        &GROUP_PROJECT,
        Side::UserGroup,
        &["userGroupId"],
        "name",
    )
}

pub async fn add_user_drive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assign(cx, &USER_DRIVE)
}

pub async fn edit_user_drive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::set_permissions(cx, &USER_DRIVE)
}

pub async fn delete_user_drive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::unassign(cx, &USER_DRIVE)
}

pub async fn users_of_drive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(
        cx,
        &USER_DRIVE,
        Side::SharedCloudDrive,
        &["sharedCloudDriveId"],
        "username",
    )
}

pub async fn drives_of_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(cx, &USER_DRIVE, Side::User, &["userId"], "name")
}

pub async fn add_group_drive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assign(cx, &GROUP_DRIVE)
}

pub async fn edit_group_drive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::set_permissions(cx, &GROUP_DRIVE)
}

pub async fn delete_group_drive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::unassign(cx, &GROUP_DRIVE)
}

pub async fn groups_of_drive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(
        cx,
        &GROUP_DRIVE,
        Side::SharedCloudDrive,
        GROUPS_OF_DRIVE_ID,
        "name",
    )
}

pub async fn drives_of_group<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(cx, &GROUP_DRIVE, Side::UserGroup, &["userGroupId"], "name")
}
