//! Cloud Drives (`management.md`): the drives of this agent, their configuration, and the
//! shared cloud drives assigned to the signed-in user turned into local drives.
//!
//! Drives belong to the account of the user who added them; without a token (compat mode)
//! the user the Start command signed in acts. The host runs what is stored
//! ([`DriveHost::apply`]).

use alloc::string::String;
use alloc::vec::Vec;
use serde_json::Value;

use super::configs::{caller, host_available, in_account, managed, remove, save};
use crate::agent::Ctx;
use crate::auth::Caller;
use crate::cloud::account;
use crate::directory::entities::{Entity, SHARED_CLOUD_DRIVES};
use crate::directory::relations::{self, Side};
use crate::drives::drive::{
    self, CloudDrive, DRIVES, DriveAccount, DriveInput, READ, READ_WRITE, Scope,
};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::ports::{DriveHost, Ports, RngExt};

fn query_path<'a, P: Ports>(cx: &'a Ctx<'_, P>) -> Option<alloc::borrow::Cow<'a, str>> {
    cx.req.query_param("path").filter(|p| !p.trim().is_empty())
}

/// The drive of the caller's account owning `path`, with the path relative to it.
pub(super) fn owning<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &Caller,
    path: &str,
) -> ApiResult<Option<(CloudDrive, String)>> {
    let drives = DRIVES.of_account(cx.store(), &caller.account_id)?;
    Ok(drive::owning(&drives, path.trim())?.map(|(d, rel)| (d.clone(), rel)))
}

pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let drives = match query_path(cx) {
        Some(path) => owning(cx, &caller, &path)?
            .map(|(d, _)| d)
            .into_iter()
            .collect(),
        None => DRIVES.of_account(cx.store(), &caller.account_id)?,
    };
    Ok(Response::json(&drives))
}

pub async fn exist<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let owned = match query_path(cx) {
        Some(path) => owning(cx, &caller, &path)?.is_some(),
        None => false,
    };
    Ok(Response::json(if owned { "1" } else { "0" }))
}

pub async fn insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    host_available(cx, &DRIVES)?;
    let caller = caller(cx)?;
    let input: DriveInput = cx.body()?;
    let account_id = input.account_id().ok_or_else(|| {
        ApiError::invalid("'account.id' (the drive's cloud account) is required.")
    })?;
    let id = cx.ports().rng().uuid();
    let mut d = drive::new_drive(id, &caller.account_id, &caller.user_id, cx.now_ms());
    d.account = DriveAccount {
        id: String::from(account_id),
        cloud_type: 0,
    };
    input.apply(&mut d, Scope::All, cx.config())?;
    mirror_fits(cx, &d).await?;
    save(cx, &caller, &DRIVES, &mut d, None)?;
    Ok(Response::json(&d))
}

/// Checked before the drive is stored, on the account it will use.
async fn mirror_fits<P: Ports>(cx: &Ctx<'_, P>, d: &CloudDrive) -> ApiResult<()> {
    if d.sync_type != drive::MIRROR {
        return Ok(());
    }
    let target = account::in_account(cx.store(), &d.owner_account_id, &d.account.id)?
        .target(cx.ports().secrets())?;
    drive::check_mirror_fits(cx.ports().objects(), &target, d).await
}

async fn change<P: Ports>(cx: &Ctx<'_, P>, scope: Scope) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let before = managed(cx, &caller, &DRIVES)?;
    let input: DriveInput = cx.body()?;
    let mut d = before.clone();
    if scope == Scope::All
        && let Some(id) = input.account_id()
    {
        d.account.id = String::from(id);
    }
    input.apply(&mut d, scope, cx.config())?;
    mirror_fits(cx, &d).await?;
    save(cx, &caller, &DRIVES, &mut d, Some(&before))?;
    Ok(Response::json(&d))
}

pub async fn update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    change(cx, Scope::All).await
}

pub async fn change_cache<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    change(cx, Scope::CacheOnly).await
}

pub async fn open<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let d = in_account(cx, &caller, &DRIVES)?;
    cx.ports()
        .drives()
        .open(&d.local_path)
        .map_err(|why| ApiError::invalid(alloc::format!("The folder cannot be shown: {why}.")))?;
    Ok(Response::ok())
}

pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let d = managed(cx, &caller, &DRIVES)?;
    remove(cx, &DRIVES, &d)?;
    Ok(Response::ok())
}

pub async fn sync<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = caller(cx)?;
    // The page documents a 404 for an unknown id here.
    let d = in_account(cx, &caller, &DRIVES)
        .map_err(|_| ApiError::Missing("No cloud drive has this id.".into()))?;
    // The documented rule: a drive with a prefix syncs from it, whatever `path` says.
    let rel = match query_path(cx) {
        Some(p) if d.prefix.is_empty() => String::from(p.trim().trim_matches('/')),
        _ => String::new(),
    };
    if rel.split('/').any(|n| n == "." || n == "..") {
        return Err(ApiError::new(
            ErrorCode::Security,
            "'path' must not name '.' or '..'.",
        ));
    }
    cx.ports().drives().sync(&d.id, &rel);
    Ok(Response::ok())
}

/// What a local drive made from shared cloud drive `shared` looks like for the caller.
fn from_shared(d: &mut CloudDrive, shared: &Entity, permission: u32) -> ApiResult<DriveInput> {
    let text = |name: &str| shared.extra.get(name).and_then(Value::as_str).unwrap_or("");
    d.shared_drive = true;
    d.shared_drive_id = shared.id.clone();
    d.account.id = String::from(text("cloudAccountId"));
    let mut fields = serde_json::Map::new();
    for name in [
        "storageName",
        "prefix",
        "objectsPerFolder",
        "allowDelete",
        "localCacheEncrypted",
        "cloudObjectsEncrypted",
        "driveType",
        "syncType",
    ] {
        if let Some(v) = shared.extra.get(name) {
            fields.insert(String::from(name), v.clone());
        }
    }
    fields.insert("name".into(), Value::from(shared.name.as_str()));
    fields.insert("active".into(), Value::from(shared.active));
    let permission = if permission >= u32::from(READ_WRITE) {
        READ_WRITE
    } else {
        READ
    };
    fields.insert("permissionType".into(), Value::from(permission));
    // A LocalPath shared drive needs a folder the user picks: it is mounted as a
    // VirtualDrive here until the user changes it.
    if fields.get("driveType").and_then(Value::as_u64) == Some(2) && d.local_path.is_empty() {
        fields.insert("driveType".into(), Value::from(1));
    }
    serde_json::from_value(Value::Object(fields)).map_err(|_| ApiError::Internal)
}

/// Sync Shared Drive: the caller's local drives made from shared cloud drives are made to
/// match the shared cloud drives assigned to the caller (directly, through groups and through
/// projects): new ones added, changed ones updated, unassigned ones removed.
pub async fn sync_shared<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    host_available(cx, &DRIVES)?;
    let caller = caller(cx)?;
    let store = cx.store();
    let assigned = relations::visible_to(
        store,
        &caller.account_id,
        &caller.user_id,
        Side::SharedCloudDrive,
    )?;
    let mine: Vec<CloudDrive> = DRIVES
        .of_account(store, &caller.account_id)?
        .into_iter()
        .filter(|d| d.shared_drive)
        .collect();
    for id in &assigned {
        let Some(shared) = SHARED_CLOUD_DRIVES.table.get::<Entity>(store, id)? else {
            continue;
        };
        let permission =
            relations::drive_permission(store, &caller.account_id, &caller.user_id, id)?;
        let existing = mine.iter().find(|d| d.shared_drive_id == *id);
        let mut d = match existing {
            Some(d) => d.clone(),
            None => drive::new_drive(
                cx.ports().rng().uuid(),
                &caller.account_id,
                &caller.user_id,
                cx.now_ms(),
            ),
        };
        let input = from_shared(&mut d, &shared, permission)?;
        input.apply(&mut d, Scope::All, cx.config())?;
        if existing != Some(&d) {
            save(cx, &caller, &DRIVES, &mut d, existing)?;
        }
    }
    for d in mine
        .iter()
        .filter(|d| !assigned.contains(&d.shared_drive_id))
    {
        if d.owner_user_id == caller.user_id {
            remove(cx, &DRIVES, d)?;
        }
    }
    Ok(Response::ok())
}
