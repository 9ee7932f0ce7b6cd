//! SharedCloudDrive (`sharedclouddrive.md`): drives backed by a bucket of a cloud account,
//! shared with users, user groups and projects.

use alloc::string::String;
use serde_json::{Map, Value};

use super::shared;
use crate::agent::Ctx;
use crate::auth::Caller;
use crate::cloud::account;
use crate::directory::drives::{self, cloud_account_of};
use crate::directory::entities::{Entity, SHARED_CLOUD_DRIVES};
use crate::directory::relations::{GROUP_DRIVE, PROJECT_DRIVE, Side, USER_DRIVE};
use crate::error::ApiResult;
use crate::http::Response;
use crate::ports::{Ports, Store};
use crate::store::Batch;

/// Drives with their `cloudAccount` (see [`drives::to_wire`]).
fn render<'a, P: Ports>(cx: &'a Ctx<'_, P>) -> impl Fn(&Caller, Entity) -> ApiResult<Value> + 'a {
    |caller, drive| drives::to_wire(cx.store(), caller, drive)
}

pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::list(
        cx,
        &SHARED_CLOUD_DRIVES,
        Side::SharedCloudDrive,
        &render(cx),
    )
}

pub async fn get_all_with_details<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let related = [
        (&USER_DRIVE, "users"),
        (&GROUP_DRIVE, "userGroups"),
        (&PROJECT_DRIVE, "projects"),
    ];
    shared::list_with_details(
        cx,
        &SHARED_CLOUD_DRIVES,
        Side::SharedCloudDrive,
        &related,
        &render(cx),
    )
}

/// A drive may only be backed by a cloud account the caller can see in its own account.
fn check_cloud_account<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<()> {
    let body: Map<String, Value> = cx.body()?;
    if let Some(id) = cloud_account_of(&body) {
        account::find(cx.store(), cx.caller()?, id)?;
    }
    Ok(())
}

/// A drive's commit holds on to its cloud account (see `account::pin_for_drive`), so that the
/// cloud account is not deleted under a drive being written.
fn pin_cloud_account(store: &impl Store, drive: &Entity, batch: &mut Batch) -> ApiResult<()> {
    match cloud_account_of(&drive.extra) {
        Some(id) => account::pin_for_drive(store, id, batch),
        None => Ok(()),
    }
}

pub async fn insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    check_cloud_account(cx)?;
    let guard = |drive: &Entity, batch: &mut Batch| pin_cloud_account(cx.store(), drive, batch);
    shared::insert_guarded(cx, &SHARED_CLOUD_DRIVES, &guard, &render(cx))
}

pub async fn update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    check_cloud_account(cx)?;
    let guard = |drive: &Entity, batch: &mut Batch| pin_cloud_account(cx.store(), drive, batch);
    shared::update_guarded(cx, &SHARED_CLOUD_DRIVES, &guard, &render(cx))
}

pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::delete(cx, &SHARED_CLOUD_DRIVES, Side::SharedCloudDrive)
}
