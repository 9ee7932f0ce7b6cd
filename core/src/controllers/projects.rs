//! Projects (`projects.md`): projects of an account and the shared cloud drives assigned to
//! them.

use super::shared;
use crate::agent::Ctx;
use crate::directory::entities::PROJECTS;
use crate::directory::relations::{GROUP_PROJECT, PROJECT_DRIVE, Side, USER_PROJECT};
use crate::error::ApiResult;
use crate::http::Response;
use crate::ports::Ports;

pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::list(cx, &PROJECTS, Side::Project, &shared::as_stored)
}

pub async fn get_all_with_details<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let related = [
        (&USER_PROJECT, "users"),
        (&GROUP_PROJECT, "userGroups"),
        (&PROJECT_DRIVE, "sharedCloudDrives"),
    ];
    shared::list_with_details(cx, &PROJECTS, Side::Project, &related, &shared::as_stored)
}

pub async fn insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::insert(cx, &PROJECTS)
}

pub async fn update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::update(cx, &PROJECTS)
}

pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::delete(cx, &PROJECTS, Side::Project)
}

pub async fn get_assigned_sharedclouddrives<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(cx, &PROJECT_DRIVE, Side::Project, &["projectId"], "name")
}

pub async fn get_assigned_projects<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(
        cx,
        &PROJECT_DRIVE,
        Side::SharedCloudDrive,
        &["sharedCloudDriveId"],
        "name",
    )
}

pub async fn assign_sharedclouddrive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assign(cx, &PROJECT_DRIVE)
}

pub async fn unassign_sharedclouddrive<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::unassign(cx, &PROJECT_DRIVE)
}
