//! What the drive and backup report controllers share: the configuration a report is about,
//! found by its path parameter in the caller's account, and the moment the host reports.

use crate::agent::Ctx;
use crate::drives::drive::{CloudDrive, Configs};
use crate::drives::report;
use crate::drives::state::Flags;
use crate::drives::tally::Tally;
use crate::error::{ApiError, ApiResult};
use crate::ports::{DriveActivity, DriveHost, Ports};

/// What a report reads: the configuration, the flags of its status row, its counters and
/// what the host says it is doing.
pub(super) struct Subject {
    pub config: CloudDrive,
    pub root: Flags,
    pub tally: Tally,
    pub activity: DriveActivity,
}

/// The drive or backup named by path parameter `param`: a 404 (problem body) for an id this
/// agent does not have, as `clouddrive/sync` documents; a 499 `NOT_FOUND` for another
/// account's.
pub(super) fn subject<P: Ports>(
    cx: &Ctx<'_, P>,
    kind: &Configs,
    param: &str,
) -> ApiResult<Subject> {
    let caller = cx.caller_or_signed_in()?;
    let config = kind
        .get(cx.store(), cx.param(param))?
        .ok_or_else(|| ApiError::Missing(alloc::format!("No {} has this id.", kind.noun).into()))?;
    if config.owner_account_id != caller.account_id {
        return Err(ApiError::not_found(&alloc::format!("The {}", kind.noun)));
    }
    let (root, tally) = report::inputs(cx.store(), &config.id)?;
    let activity = cx.ports().drives().activity(&config.id);
    Ok(Subject {
        config,
        root,
        tally,
        activity,
    })
}
