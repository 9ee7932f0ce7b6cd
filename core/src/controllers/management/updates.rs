//! App Updates (`check_update`, `update`): the host's signed releases.

use serde::Serialize;

use crate::agent::Ctx;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::ports::{Ports, UpdateError, Updater};

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckResponse {
    is_update_required: bool,
    current_version: alloc::string::String,
    new_version: alloc::string::String,
}

fn refused(e: UpdateError) -> ApiError {
    match e {
        UpdateError::Unsupported => ApiError::invalid("This agent does not update itself."),
        UpdateError::NotConfigured => ApiError::invalid(
            "No update feed is configured (set `feed_url` under [update] in the agent's \
             configuration).",
        ),
        UpdateError::Unreachable(why) => {
            ApiError::invalid(alloc::format!("The update feed cannot be read: {why}"))
        }
        UpdateError::Refused(why) => ApiError::new(
            ErrorCode::Security,
            alloc::format!("The update was refused: {why}"),
        ),
        UpdateError::Failed(why) => ApiError::new(
            ErrorCode::InternalError,
            alloc::format!("The update could not be put in place (the agent is unchanged): {why}"),
        ),
    }
}

/// Replacing the program is an administrator's decision (in `--compat` mode without a
/// token, the documented local caller's).
fn ensure_admin<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<()> {
    if cx.caller.is_some() && !cx.user()?.is_admin() {
        return Err(ApiError::access(
            "Only an administrator may update the agent.",
        ));
    }
    Ok(())
}

pub async fn check_update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let check = cx.ports().updates().check().await.map_err(refused)?;
    Ok(Response::json(&CheckResponse {
        is_update_required: check.newest.is_some(),
        new_version: check.newest.unwrap_or_else(|| check.current.clone()),
        current_version: check.current,
    }))
}

pub async fn update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    ensure_admin(cx)?;
    cx.ports().updates().apply().await.map_err(refused)?;
    Ok(super::exit(cx))
}
