//! What the Cloud Drives and Cloud Backups routes share: a configuration of the caller's
//! account found by `{id}`, who may change it, storing it with its cloud account and folders
//! checked, and deleting it. Both kinds are `CloudDrive`s in tables of their own
//! ([`Configs`]); the host runs what is stored ([`DriveHost::apply`]).

use alloc::borrow::Cow;
use alloc::format;

use crate::agent::Ctx;
use crate::auth::Caller;
use crate::cloud::account;
use crate::drives::drive::{self, CloudDrive, Configs, MAX_DRIVES};
use crate::drives::journal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ports::{DriveHost, Ports};
use crate::store::Batch;
use crate::store::table::commit_with_retry;

/// The caller: the token's user, or (compat mode, no token) the one Start signed in.
pub(super) fn caller<'a, P: Ports>(cx: &'a Ctx<'_, P>) -> ApiResult<Cow<'a, Caller>> {
    cx.caller_or_signed_in()
}

/// `{id}` of the caller's account; a 499 `NOT_FOUND` if there is none.
pub(super) fn in_account<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &Caller,
    kind: &Configs,
) -> ApiResult<CloudDrive> {
    kind.get(cx.store(), cx.param("id"))?
        .filter(|d| d.owner_account_id == caller.account_id)
        .ok_or_else(|| ApiError::not_found(&format!("The {}", kind.noun)))
}

/// `{id}`, if the caller may change it: the user who added it, or an admin.
pub(super) fn managed<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &Caller,
    kind: &Configs,
) -> ApiResult<CloudDrive> {
    let d = in_account(cx, caller, kind)?;
    may_change(cx, caller, &d.owner_user_id, kind.noun)?;
    Ok(d)
}

/// Whether the caller may change a configuration `owner_user_id` added: they did, or they are
/// an admin.
pub(super) fn may_change<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &Caller,
    owner_user_id: &str,
    noun: &str,
) -> ApiResult<()> {
    if owner_user_id != caller.user_id
        && !crate::auth::session::user_of(cx.store(), caller)?.is_admin()
    {
        return Err(ApiError::access(format!(
            "Only the user who added this {noun}, or an admin, can change it."
        )));
    }
    Ok(())
}

/// Whether this host runs drives and backups at all.
pub(super) fn host_available<P: Ports>(cx: &Ctx<'_, P>, kind: &Configs) -> ApiResult<()> {
    if cx.ports().drives().available() {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "This agent's host cannot run a {}.",
            kind.noun
        )))
    }
}

/// Stores `d` (new when `before` is `None`), checking its cloud account and that no other
/// drive or backup uses its folders, then has the host run it.
pub(super) fn save<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &Caller,
    kind: &Configs,
    d: &mut CloudDrive,
    before: Option<&CloudDrive>,
) -> ApiResult<()> {
    let cloud = if d.shared_drive {
        account::in_account(cx.store(), &caller.account_id, &d.account.id)?
    } else {
        account::find(cx.store(), caller, &d.account.id)?
    };
    d.account.cloud_type = cloud.cloud_type;
    commit_with_retry(cx.store(), (ErrorCode::Duplicate, kind.taken), |batch| {
        if before.is_none() && kind.all(cx.store())?.len() >= MAX_DRIVES {
            return Err(ApiError::invalid(format!(
                "This agent already has {MAX_DRIVES} of them, the most it keeps of each kind."
            )));
        }
        drive::check_paths_free(&drive::drives_and_backups(cx.store())?, d)?;
        account::pin_for_drive(cx.store(), &cloud.id, batch)?;
        kind.put(batch, d, before);
        Ok(())
    })?;
    cx.ports().drives().apply(&d.id);
    Ok(())
}

/// Deletes `d`'s row and journal and has the host stop it (the bucket is left as it is).
pub(super) fn remove<P: Ports>(cx: &Ctx<'_, P>, kind: &Configs, d: &CloudDrive) -> ApiResult<()> {
    let mut batch = Batch::new();
    kind.remove(&mut batch, d);
    crate::store::table::commit(cx.store(), &batch, (ErrorCode::NotFound, kind.gone))?;
    journal::forget_drive(cx.store(), &d.id)?;
    cx.ports().drives().remove(&d.id, &d.permanent_local_path);
    Ok(())
}
