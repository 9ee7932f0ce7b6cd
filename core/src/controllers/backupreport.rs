//! BackupReport (`backupreport.md`): a backup's summary and sync health, from its journal's
//! counters.

use super::reports::{activity, distribution, file_states, subject, trends, with_id};
use crate::agent::Ctx;
use crate::drives::activity::ORIGIN_SYNC;
use crate::drives::drive::BACKUPS;
use crate::drives::report;
use crate::error::ApiResult;
use crate::http::Response;
use crate::ports::Ports;

pub async fn summary<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &BACKUPS, "backupId")?;
    Ok(Response::json(&report::backup_summary(
        &s.config, s.root, &s.tally,
    )))
}

pub async fn sync_health<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &BACKUPS, "backupId")?;
    Ok(Response::json(&report::backup_health(
        &s.config,
        s.root,
        &s.tally,
        s.activity.uploads,
    )))
}

pub async fn file_states_report<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &BACKUPS, "backupId")?;
    let body = file_states(cx, &s)?;
    Ok(Response::json(&with_id("BackupId", &s.config.id, &body)?))
}

pub async fn file_distribution<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &BACKUPS, "backupId")?;
    let body = distribution(cx, &s)?;
    Ok(Response::json(&with_id("BackupId", &s.config.id, &body)?))
}

/// The summary, the sync health and the file distribution in one answer.
pub async fn dashboard<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &BACKUPS, "backupId")?;
    let distribution = with_id("BackupId", &s.config.id, &distribution(cx, &s)?)?;
    Ok(Response::json(&serde_json::json!({
        "Summary": report::backup_summary(&s.config, s.root, &s.tally),
        "SyncHealth": report::backup_health(&s.config, s.root, &s.tally, s.activity.uploads),
        "FileDistribution": distribution,
    })))
}

pub async fn transfer_activity<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &BACKUPS, "backupId")?;
    Ok(Response::json(&activity(
        cx,
        &s,
        "BackupId",
        ORIGIN_SYNC,
        None,
    )?))
}

pub async fn historical_trends<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &BACKUPS, "backupId")?;
    Ok(Response::json(&trends(cx, &s, "BackupId")?))
}
