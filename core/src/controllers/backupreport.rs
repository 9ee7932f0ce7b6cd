//! BackupReport (`backupreport.md`): a backup's summary and sync health, from its journal's
//! counters.

use super::reports::subject;
use crate::agent::Ctx;
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
