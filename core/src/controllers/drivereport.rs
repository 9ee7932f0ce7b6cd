//! DriveReport (`drivereport.md`): a drive's summary and sync health, from its journal's
//! counters and what the host says it is doing.

use super::reports::subject;
use crate::agent::Ctx;
use crate::drives::drive::DRIVES;
use crate::drives::report;
use crate::error::ApiResult;
use crate::http::Response;
use crate::ports::Ports;

pub async fn summary<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &DRIVES, "driveId")?;
    Ok(Response::json(&report::drive_summary(
        &s.config,
        s.root,
        &s.tally,
        s.activity.cache_bytes,
    )))
}

pub async fn sync_health<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &DRIVES, "driveId")?;
    let moving = (s.activity.uploads, s.activity.downloads);
    Ok(Response::json(&report::drive_health(
        &s.config, s.root, &s.tally, moving,
    )))
}
