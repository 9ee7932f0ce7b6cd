//! What the drive and backup report controllers share: the configuration a report is about,
//! found by its path parameter in the caller's account, the moment the host reports, and
//! the reports whose shape is the same for both but for the name of the id field.

use alloc::string::String;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::agent::Ctx;
use crate::drives::activity;
use crate::drives::contents;
use crate::drives::drive::{CloudDrive, Configs};
use crate::drives::history;
use crate::drives::report;
use crate::drives::state::Flags;
use crate::drives::tally::{STATES, Tally};
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, number_param};
use crate::ports::{DriveActivity, DriveHost, Ports};

/// What tells the drive reports from the backup reports.
pub(super) struct Reported {
    /// Where the configurations are.
    pub configs: &'static Configs,
    /// The path parameter naming one (`driveId`).
    pub param: &'static str,
    /// The id field of the answers (`DriveId`).
    pub id_name: &'static str,
    /// `TransferHistoryOrigin` of its history.
    pub origin: u8,
    /// Whether its transfer activity is filtered by `direction` (drives: 0 both, 1 uploads,
    /// 2 downloads, as documented).
    pub directions: bool,
}

/// What a report reads: the configuration, the flags of its status row, its counters and
/// what the host says it is doing.
pub(super) struct Subject {
    pub config: CloudDrive,
    pub root: Flags,
    pub tally: Tally,
    pub activity: DriveActivity,
}

/// The drive or backup the path names: a 404 (problem body) for an id this agent does not
/// have, as `clouddrive/sync` documents; a 499 `NOT_FOUND` for another account's.
pub(super) fn subject<P: Ports>(cx: &Ctx<'_, P>, of: &Reported) -> ApiResult<Subject> {
    let caller = cx.caller_or_signed_in()?;
    let kind = of.configs;
    let config = kind
        .get(cx.store(), cx.param(of.param))?
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

/// `body`'s fields after `{id_name: id}`, as the report pages nest them.
fn with_id(id_name: &str, id: &str, body: &impl Serialize) -> ApiResult<Value> {
    let mut out = Map::new();
    out.insert(String::from(id_name), Value::from(id));
    match serde_json::to_value(body).map_err(|_| ApiError::Internal)? {
        Value::Object(fields) => out.extend(fields),
        _ => return Err(ApiError::Internal),
    }
    Ok(Value::Object(out))
}

/// The page of file states the query asks for (`state`, `page`, `pageSize`, as documented).
pub(super) fn file_states<P: Ports>(cx: &Ctx<'_, P>, of: &Reported) -> ApiResult<Response> {
    let s = subject(cx, of)?;
    let state = number_param(cx.req, "state", 0, 0, Flags::ERROR.0)?;
    if state != 0 && !STATES.iter().any(|(f, _, _)| f.0 == state) {
        return Err(ApiError::invalid(
            "'state' must be 0 (every state) or one FileState value: 1, 2, 4, ... 256.",
        ));
    }
    let page = number_param(cx.req, "page", 1, 1, u32::MAX)?;
    let page_size = number_param(cx.req, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)?;
    let body = contents::file_states(cx.store(), &s.config.id, &s.tally, state, page, page_size)?;
    Ok(Response::json(&with_id(of.id_name, &s.config.id, &body)?))
}

/// The distribution the query asks for (`topFiles`, `topDirectories`, as documented).
fn distribution<P: Ports>(cx: &Ctx<'_, P>, of: &Reported, s: &Subject) -> ApiResult<Value> {
    let top_files = number_param(cx.req, "topFiles", 20, 0, MAX_PAGE_SIZE)?;
    let top_dirs = number_param(cx.req, "topDirectories", 20, 0, MAX_PAGE_SIZE)?;
    let body = contents::distribution(
        cx.store(),
        &s.config.id,
        top_files as usize,
        top_dirs as usize,
    )?;
    with_id(of.id_name, &s.config.id, &body)
}

pub(super) fn file_distribution<P: Ports>(cx: &Ctx<'_, P>, of: &Reported) -> ApiResult<Response> {
    let s = subject(cx, of)?;
    Ok(Response::json(&distribution(cx, of, &s)?))
}

/// The summary, the sync health and the file distribution of `s` in one answer.
pub(super) fn dashboard<P: Ports>(
    cx: &Ctx<'_, P>,
    of: &Reported,
    s: &Subject,
    summary: impl Serialize,
    health: impl Serialize,
) -> ApiResult<Response> {
    Ok(Response::json(&serde_json::json!({
        "Summary": summary,
        "SyncHealth": health,
        "FileDistribution": distribution(cx, of, s)?,
    })))
}

/// The transfer-activity report: the history, newest first, of the query's `direction`
/// (where it has one) and `status`, paged.
pub(super) fn transfer_activity<P: Ports>(cx: &Ctx<'_, P>, of: &Reported) -> ApiResult<Response> {
    let s = subject(cx, of)?;
    let direction = if of.directions {
        Some(number_param(cx.req, "direction", 0, 0, 2)? as u8)
    } else {
        None
    };
    let status = number_param(cx.req, "status", 0, 0, 255)?;
    let page = number_param(cx.req, "page", 1, 1, u32::MAX)?;
    let page_size = number_param(cx.req, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)?;
    let store = cx.store();
    let d = &s.config;
    let (entries, total) = history::page(
        store,
        &d.id,
        direction.unwrap_or(0),
        status,
        page,
        page_size,
    )?;
    let owner =
        crate::directory::users::in_account(store, &d.owner_account_id, &d.owner_user_id).ok();
    let cloud = crate::cloud::account::in_account(store, &d.owner_account_id, &d.account.id).ok();
    let user = owner
        .as_ref()
        .map_or(("", ""), |u| (u.email.as_str(), u.username.as_str()));
    let context = activity::Context {
        config: d,
        origin: of.origin,
        user,
        cloud_account_name: cloud.as_ref().map_or("", |c| c.name.as_str()),
    };
    let body = activity::ActivityPage {
        direction: direction.map(|d| match d {
            history::UPLOAD => "Upload",
            history::DOWNLOAD => "Download",
            _ => "All",
        }),
        data: entries
            .into_iter()
            .map(|e| activity::detail(&context, e))
            .collect(),
        total,
        page,
        page_size,
    };
    Ok(Response::json(&with_id(of.id_name, &d.id, &body)?))
}

/// The historical-trends report over the query's `days` (default 30).
pub(super) fn historical_trends<P: Ports>(cx: &Ctx<'_, P>, of: &Reported) -> ApiResult<Response> {
    let s = subject(cx, of)?;
    let days = number_param(cx.req, "days", 30, 1, cx.config().history_days.max(1))?;
    let (per_day, total) = history::trend(cx.store(), &s.config.id, days, cx.now_ms())?;
    let body = activity::trends(per_day, total);
    Ok(Response::json(&with_id(of.id_name, &s.config.id, &body)?))
}
