//! BackupReport (`backupreport.md`): a backup's reports, from its journal's counters and
//! history (`reports.rs` has what the drive reports share).

use super::reports::{self, Reported, Subject, subject};
use crate::agent::Ctx;
use crate::drives::activity::ORIGIN_SYNC;
use crate::drives::drive::BACKUPS;
use crate::drives::report;
use crate::error::ApiResult;
use crate::http::Response;
use crate::ports::Ports;

const BACKUP: Reported = Reported {
    configs: &BACKUPS,
    param: "backupId",
    id_name: "BackupId",
    origin: ORIGIN_SYNC,
    directions: false,
};

fn health(s: &Subject) -> report::BackupHealth<'_> {
    report::backup_health(&s.config, s.root, &s.tally, s.activity.uploads)
}

pub async fn summary<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &BACKUP)?;
    Ok(Response::json(&report::backup_summary(
        &s.config, s.root, &s.tally,
    )))
}

pub async fn sync_health<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &BACKUP)?;
    Ok(Response::json(&health(&s)))
}

pub async fn transfer_activity<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    reports::transfer_activity(cx, &BACKUP)
}

pub async fn historical_trends<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    reports::historical_trends(cx, &BACKUP)
}

pub async fn file_states<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    reports::file_states(cx, &BACKUP)
}

pub async fn file_distribution<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    reports::file_distribution(cx, &BACKUP)
}

pub async fn dashboard<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let s = subject(cx, &BACKUP)?;
    let summary = report::backup_summary(&s.config, s.root, &s.tally);
    reports::dashboard(cx, &BACKUP, &s, summary, health(&s))
}
