//! Projects (`projects.md`): projects of an account. Shared cloud drive assignments come with
//! the SharedCloudDrive controller.

use super::shared;
use crate::agent::Ctx;
use crate::directory::entities::PROJECTS;
use crate::directory::relations::{GROUP_PROJECT, Side, USER_PROJECT};
use crate::error::ApiResult;
use crate::http::Response;
use crate::ports::Ports;

pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::list(cx, &PROJECTS, Side::Project)
}

pub async fn get_all_with_details<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let related = [(&USER_PROJECT, "users"), (&GROUP_PROJECT, "userGroups")];
    shared::list_with_details(
        cx,
        &PROJECTS,
        Side::Project,
        &related,
        &["sharedCloudDrives"],
    )
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
