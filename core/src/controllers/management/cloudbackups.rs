//! Cloud Backups (`management.md`): folders of this agent uploaded one way to a bucket or
//! prefix, as `CloudBackupModel`. Stored and run as upload-only synced folders
//! (`drives::backup`); the host runs what is stored ([`DriveHost::apply`]).

use alloc::string::String;
use alloc::vec::Vec;

use super::configs::{caller, host_available, in_account, managed, remove, save};
use crate::agent::Ctx;
use crate::drives::backup::{BackupView, new_backup};
use crate::drives::drive::{BACKUPS, DriveAccount, DriveInput, Scope};
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::ports::{DriveHost, Ports, RngExt};

pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let backups = BACKUPS.of_account(cx.store(), &caller.account_id)?;
    let views: Vec<BackupView<'_>> = backups.iter().map(BackupView::from).collect();
    Ok(Response::json(&views))
}

pub async fn insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    host_available(cx, &BACKUPS)?;
    let caller = caller(cx)?;
    let input: DriveInput = cx.body()?;
    let account_id = input.account_id().ok_or_else(|| {
        ApiError::invalid("'account.id' (the backup's cloud account) is required.")
    })?;
    let id = cx.ports().rng().uuid();
    let mut b = new_backup(id, &caller.account_id, &caller.user_id, cx.now_ms());
    b.account = DriveAccount {
        id: String::from(account_id),
        cloud_type: 0,
    };
    input.apply(&mut b, Scope::Backup, cx.config())?;
    save(cx, &caller, &BACKUPS, &mut b, None)?;
    Ok(Response::json(&BackupView::from(&b)))
}

pub async fn update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let before = managed(cx, &caller, &BACKUPS)?;
    let input: DriveInput = cx.body()?;
    let mut b = before.clone();
    if let Some(id) = input.account_id() {
        b.account.id = String::from(id);
    }
    input.apply(&mut b, Scope::Backup, cx.config())?;
    save(cx, &caller, &BACKUPS, &mut b, Some(&before))?;
    Ok(Response::json(&BackupView::from(&b)))
}

/// Stops the backup and forgets it; what it uploaded stays in the bucket.
pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let b = managed(cx, &caller, &BACKUPS)?;
    remove(cx, &BACKUPS, &b)?;
    Ok(Response::ok())
}

pub async fn open<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let b = in_account(cx, &caller, &BACKUPS)?;
    cx.ports()
        .drives()
        .open(&b.local_path)
        .map_err(|why| ApiError::invalid(alloc::format!("The folder cannot be shown: {why}.")))?;
    Ok(Response::ok())
}
