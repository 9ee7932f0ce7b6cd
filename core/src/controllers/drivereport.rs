//! DriveReport (`drivereport.md`): a drive's summary and sync health, from its journal's
//! counters and what the host says it is doing.

use super::reports::{activity, distribution, file_states, subject, trends, with_id};
use crate::agent::Ctx;
use crate::drives::activity::ORIGIN_DRIVE;
use crate::drives::drive::DRIVES;
use crate::drives::report;
use crate::error::ApiResult;
use crate::http::Response;
use crate::paging::number_param;
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

pub async fn file_states_report<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &DRIVES, "driveId")?;
    let body = file_states(cx, &s)?;
    Ok(Response::json(&with_id("DriveId", &s.config.id, &body)?))
}

pub async fn file_distribution<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &DRIVES, "driveId")?;
    let body = distribution(cx, &s)?;
    Ok(Response::json(&with_id("DriveId", &s.config.id, &body)?))
}

/// The summary, the sync health and the file distribution in one answer.
pub async fn dashboard<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &DRIVES, "driveId")?;
    let distribution = with_id("DriveId", &s.config.id, &distribution(cx, &s)?)?;
    Ok(Response::json(&serde_json::json!({
        "Summary": report::drive_summary(&s.config, s.root, &s.tally, s.activity.cache_bytes),
        "SyncHealth": report::drive_health(&s.config, s.root, &s.tally, (s.activity.uploads, s.activity.downloads)),
        "FileDistribution": distribution,
    })))
}

/// `direction`: 0 both, 1 uploads, 2 downloads (as documented).
pub async fn transfer_activity<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &DRIVES, "driveId")?;
    let direction = number_param(cx.req, "direction", 0, 0, 2)? as u8;
    Ok(Response::json(&activity(
        cx,
        &s,
        "DriveId",
        ORIGIN_DRIVE,
        Some(direction),
    )?))
}

pub async fn historical_trends<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &DRIVES, "driveId")?;
    Ok(Response::json(&trends(cx, &s, "DriveId")?))
}
