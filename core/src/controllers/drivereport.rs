//! DriveReport (`drivereport.md`): a drive's reports, from its journal's counters and history
//! and what the host says it is doing (`reports.rs` has what the backup reports share).

use super::reports::{self, Reported, Subject, subject};
use crate::agent::Ctx;
use crate::drives::activity::ORIGIN_DRIVE;
use crate::drives::drive::DRIVES;
use crate::drives::report;
use crate::error::ApiResult;
use crate::http::Response;
use crate::ports::Ports;

const DRIVE: Reported = Reported {
    configs: &DRIVES,
    param: "driveId",
    id_name: "DriveId",
    origin: ORIGIN_DRIVE,
    directions: true,
};

fn summary_of(s: &Subject) -> report::DriveSummary<'_> {
    report::drive_summary(&s.config, s.root, &s.tally, s.activity.cache_bytes)
}

fn health(s: &Subject) -> report::DriveHealth<'_> {
    let moving = (s.activity.uploads, s.activity.downloads);
    report::drive_health(&s.config, s.root, &s.tally, moving)
}

pub async fn summary<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &DRIVE)?;
    Ok(Response::json(&summary_of(&s)))
}

pub async fn sync_health<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &DRIVE)?;
    Ok(Response::json(&health(&s)))
}

pub async fn transfer_activity<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    reports::transfer_activity(cx, &DRIVE)
}

pub async fn historical_trends<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    reports::historical_trends(cx, &DRIVE)
}

pub async fn file_states<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    reports::file_states(cx, &DRIVE)
}

pub async fn file_distribution<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    reports::file_distribution(cx, &DRIVE)
}

pub async fn dashboard<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &DRIVE)?;
    reports::dashboard(cx, &DRIVE, &s, summary_of(&s), health(&s))
}
