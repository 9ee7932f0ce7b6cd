//! SMB / NFS Mounts (`management.md`): shares of a server mounted at a local folder, as
//! `SMBClientModel` and `NFSClientModel`. A share is mounted before it is stored, so a server
//! that cannot be reached or refuses the sign-in is a 499 and changes nothing
//! (`share_mounts`; the host mounts through [`ShareMounts`]).

use alloc::vec::Vec;

use super::configs::{caller, may_change};
use crate::agent::Ctx;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::fleet::{self, Local};
use crate::http::Response;
use crate::ports::{Ports, RngExt, ShareMounts, ShareProtocol};
use crate::share_mounts::{
    self, MAX_SHARES, ShareConfig, ShareInput, ShareView, check_path_free, mount_error,
};
use crate::store::Batch;
use crate::store::table::{commit, commit_with_retry};

const TAKEN: &str = "Another share of this account already has this name.";

pub async fn smb_get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    get_all(cx, ShareProtocol::Smb)
}
pub async fn smb_insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    insert(cx, ShareProtocol::Smb).await
}
pub async fn smb_update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    update(cx, ShareProtocol::Smb).await
}
pub async fn smb_delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    delete(cx, ShareProtocol::Smb).await
}
pub async fn nfs_get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    get_all(cx, ShareProtocol::Nfs)
}
pub async fn nfs_insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    insert(cx, ShareProtocol::Nfs).await
}
pub async fn nfs_update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    update(cx, ShareProtocol::Nfs).await
}
pub async fn nfs_delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    delete(cx, ShareProtocol::Nfs).await
}

fn get_all<P: Ports>(cx: &Ctx<'_, P>, protocol: ShareProtocol) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let shares = share_mounts::of_account(cx.store(), &caller.account_id, protocol)?;
    let host = cx.ports().shares();
    let views: Vec<ShareView<'_>> = shares
        .iter()
        .map(|s| ShareView::new(s, host.state(&s.id)))
        .collect();
    Ok(Response::json(&views))
}

async fn insert<P: Ports>(cx: &Ctx<'_, P>, protocol: ShareProtocol) -> ApiResult<Response> {
    if !cx.ports().shares().available() {
        return Err(ApiError::invalid(
            "This agent's host cannot mount network shares.",
        ));
    }
    let caller = caller(cx)?;
    let input: ShareInput = cx.body()?;
    let id = cx.ports().rng().uuid();
    let mut s = ShareConfig::new(
        protocol,
        id,
        &caller.account_id,
        &caller.user_id,
        cx.now_ms(),
    );
    input.apply(&mut s, cx.config(), cx.ports().secrets(), cx.ports().rng())?;
    if share_mounts::all(cx.store())?.len() >= MAX_SHARES {
        return Err(ApiError::invalid(alloc::format!(
            "This agent already mounts {MAX_SHARES} shares, the most it keeps."
        )));
    }
    save(cx, &s, None).await?;
    Ok(view(cx, &s))
}

async fn update<P: Ports>(cx: &Ctx<'_, P>, protocol: ShareProtocol) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let before = managed(cx, &caller, protocol)?;
    let input: ShareInput = cx.body()?;
    let mut s = before.clone();
    input.apply(&mut s, cx.config(), cx.ports().secrets(), cx.ports().rng())?;
    save(cx, &s, Some(&before)).await?;
    Ok(view(cx, &s))
}

/// A change to shares in progress: the host's own mounting waits until it is dropped.
struct Changing<'a, S: ShareMounts>(&'a S);

impl<'a, S: ShareMounts> Changing<'a, S> {
    async fn begin(host: &'a S) -> Changing<'a, S> {
        host.hold().await;
        Changing(host)
    }
}

impl<S: ShareMounts> Drop for Changing<'_, S> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Unmounts the share and forgets it; the server's files stay as they are.
async fn delete<P: Ports>(cx: &Ctx<'_, P>, protocol: ShareProtocol) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let _changing = Changing::begin(cx.ports().shares()).await;
    let s = managed(cx, &caller, protocol)?;
    mounted_here(cx, &s.id)?;
    let mut batch = Batch::new();
    share_mounts::remove(&mut batch, &s);
    commit(
        cx.store(),
        &batch,
        (ErrorCode::NotFound, "The share was deleted meanwhile."),
    )?;
    cx.ports().shares().unmount(&s.id);
    Ok(Response::ok())
}

/// Mounts `s` as it now is (or unmounts it when inactive), then stores it; when storing
/// fails, the mount goes back to what `before` had.
async fn save<P: Ports>(
    cx: &Ctx<'_, P>,
    s: &ShareConfig,
    before: Option<&ShareConfig>,
) -> ApiResult<()> {
    let _changing = Changing::begin(cx.ports().shares()).await;
    mounted_here(cx, &s.id)?;
    check_path_free(cx.store(), s)?;
    apply_mount(cx, s).await?;
    let stored = commit_with_retry(cx.store(), (ErrorCode::Duplicate, TAKEN), |batch| {
        share_mounts::put(batch, s, before);
        Ok(())
    });
    if stored.is_ok() {
        fleet::claim(cx.store(), Local::Share, &s.id, &cx.config().agent_id)?;
    } else {
        match before {
            Some(old) => {
                let _ = apply_mount(cx, old).await;
            }
            None => cx.ports().shares().unmount(&s.id),
        }
    }
    stored
}

/// Among agents sharing a store, a share is mounted by one of them (the one that mounted it
/// first): changes to it go through that one, which alone can unmount it.
fn mounted_here<P: Ports>(cx: &Ctx<'_, P>, id: &str) -> ApiResult<()> {
    if fleet::runs_here(cx.store(), Local::Share, id, &cx.config().agent_id)? {
        return Ok(());
    }
    Err(ApiError::invalid(
        "This share is mounted by another agent sharing this agent's store: change it through that agent.",
    ))
}

async fn apply_mount<P: Ports>(cx: &Ctx<'_, P>, s: &ShareConfig) -> ApiResult<()> {
    let host = cx.ports().shares();
    if !s.active {
        host.unmount(&s.id);
        return Ok(());
    }
    let mount = s.mount(cx.ports().secrets()).map_err(mount_error)?;
    host.mount(&mount).await.map_err(mount_error)?;
    Ok(())
}

fn view<P: Ports>(cx: &Ctx<'_, P>, s: &ShareConfig) -> Response {
    Response::json(&ShareView::new(s, cx.ports().shares().state(&s.id)))
}

/// `{id}`, a share of `protocol` in the caller's account the caller may change.
fn managed<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &Caller,
    protocol: ShareProtocol,
) -> ApiResult<ShareConfig> {
    let noun = match protocol {
        ShareProtocol::Smb => "SMB client",
        ShareProtocol::Nfs => "NFS client",
    };
    let s = share_mounts::get(cx.store(), cx.param("id"))?
        .filter(|s| s.owner_account_id == caller.account_id && s.protocol == protocol)
        .ok_or_else(|| ApiError::not_found(&alloc::format!("The {noun}")))?;
    may_change(cx, caller, &s.owner_user_id, noun)?;
    Ok(s)
}
