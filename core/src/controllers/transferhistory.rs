//! TransferHistory (`transferhistory.md`): how transfers ended (client uploads and downloads,
//! cloud-to-cloud transfers, sync cycles) and each file drives and backups moved, as
//! `TransferHistoryDetail`, joined with the user's and the cloud accounts' names. Admins see
//! the account's records, other users their own; a record is deleted by the user it belongs
//! to (`web-api/transferhistory.md`), and deleting one never touches what it moved.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::agent::{Ctx, required_query};
use crate::auth::Caller;
use crate::cloud::CloudAccount;
use crate::directory::users;
use crate::drives::activity::{self, ORIGIN_DRIVE, ORIGIN_SYNC};
use crate::drives::drive::{BACKUPS, Configs, DRIVES};
use crate::drives::history as drive_history;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::model::User;
use crate::paging::{PageQuery, number_param};
use crate::ports::Ports;
use crate::transfers::history::{self, Detail, Names, Record};

/// The `sortfield` values, the documented default first.
pub(crate) const SORTABLE: &[&str] = &[
    "StartDate",
    "EndDate",
    "TotalSize",
    "TransferredSize",
    "AverageSpeed",
    "TransferStatus",
    "Origin",
    "Direction",
    "Name",
];

fn compare(field: &str, a: &Record, b: &Record) -> Ordering {
    match field {
        "EndDate" => a.end_ms.cmp(&b.end_ms),
        "TotalSize" => a.total_size.cmp(&b.total_size),
        "TransferredSize" => a.transferred_size.cmp(&b.transferred_size),
        "AverageSpeed" => a.average_speed().total_cmp(&b.average_speed()),
        "TransferStatus" => a.status.cmp(&b.status),
        "Origin" => a.origin.cmp(&b.origin),
        "Direction" => a.direction.cmp(&b.direction),
        "Name" => a.name.cmp(&b.name),
        _ => a.start_ms.cmp(&b.start_ms),
    }
    .then_with(|| a.start_ms.cmp(&b.start_ms))
    .then_with(|| a.id.cmp(&b.id))
}

/// The drives and backups of the account whose files count as the caller's.
fn drive_configs<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &Caller,
    admin: bool,
) -> ApiResult<Vec<(crate::drives::drive::CloudDrive, u8)>> {
    let mut out = Vec::new();
    for (configs, origin) in [(&DRIVES, ORIGIN_DRIVE), (&BACKUPS, ORIGIN_SYNC)] {
        for d in configs.of_account(cx.store(), &caller.account_id)? {
            if admin || d.owner_user_id == caller.user_id {
                out.push((d, origin));
            }
        }
    }
    Ok(out)
}

/// Every record the caller sees that passes the query's filters.
fn records<P: Ports>(cx: &Ctx<'_, P>, caller: &Caller, admin: bool) -> ApiResult<Vec<Record>> {
    let origin = number_param(cx.req, "origin", 0, 0, 31)?;
    let status = number_param(cx.req, "status", 0, 0, 255)?;
    let direction = number_param(cx.req, "direction", 0, 0, 2)?;
    let store = cx.store();
    let mut out = history::of_account(store, &caller.account_id)?;
    out.retain(|r| admin || r.user_id == caller.user_id);
    for (config, drive_origin) in drive_configs(cx, caller, admin)? {
        let of = activity::Context {
            config: &config,
            origin: drive_origin,
            user: ("", ""),
            cloud_account_name: "",
        };
        let entries = drive_history::all(store, &config.id)?;
        out.extend(entries.into_iter().map(|s| activity::record(&of, s)));
    }
    out.retain(|r| r.matches(origin, status, direction));
    Ok(out)
}

/// The users and cloud accounts a page names, read once each.
#[derive(Default)]
pub(crate) struct Joined {
    users: BTreeMap<String, Option<User>>,
    clouds: BTreeMap<String, Option<CloudAccount>>,
}

impl Joined {
    fn read(store: &impl crate::ports::Store, account_id: &str, page: &[Record]) -> Joined {
        let mut j = Joined::default();
        for r in page {
            j.users
                .entry(r.user_id.clone())
                .or_insert_with(|| users::in_account(store, account_id, &r.user_id).ok());
            for side in [&r.source, &r.destination] {
                if !side.cloud_account_id.is_empty() {
                    j.clouds
                        .entry(side.cloud_account_id.clone())
                        .or_insert_with(|| {
                            crate::cloud::account::in_account(
                                store,
                                account_id,
                                &side.cloud_account_id,
                            )
                            .ok()
                        });
                }
            }
        }
        j
    }

    fn names(&self, r: &Record) -> Names<'_> {
        let user = self.users.get(&r.user_id).and_then(Option::as_ref);
        let cloud = |id: &str| {
            self.clouds
                .get(id)
                .and_then(Option::as_ref)
                .map_or("", |c| c.name.as_str())
        };
        Names {
            user: user.map_or(("", ""), |u| (u.email.as_str(), u.username.as_str())),
            clouds: (
                cloud(&r.source.cloud_account_id),
                cloud(&r.destination.cloud_account_id),
            ),
        }
    }
}

/// The records the caller sees, filtered by `origin`, `status` and `direction` (flags, 0:
/// any), sorted and paged.
pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let query = PageQuery::from_request(cx.req, SORTABLE)?;
    let admin = cx.user()?.is_admin();
    let all = records(cx, caller, admin)?;
    let page = query.paginate(all, |a, b| compare(&query.sort_field, a, b));
    let joined = Joined::read(cx.store(), &caller.account_id, &page.data);
    let page = page.map_into(|r| {
        let names = joined.names(&r);
        Detail::new(r, names)
    });
    Ok(Response::json(&page))
}

/// The configuration (drive or backup) a drive history entry belongs to.
fn drive_of(store: &impl crate::ports::Store, id: &str) -> ApiResult<Option<(String, String)>> {
    let configs: [&Configs; 2] = [&DRIVES, &BACKUPS];
    for configs in configs {
        if let Some(d) = configs.get(store, id)? {
            return Ok(Some((d.owner_account_id, d.owner_user_id)));
        }
    }
    Ok(None)
}

/// Only the user a record belongs to deletes it; what the caller does not see (another
/// account's, another user's for a member) does not exist.
fn may_delete(caller: &Caller, admin: bool, owner: Option<(String, String)>) -> ApiResult<()> {
    match owner {
        Some((account, _)) if account != caller.account_id => Err(not_found()),
        Some((_, user)) if user != caller.user_id && !admin => Err(not_found()),
        Some((_, user)) if user != caller.user_id => Err(ApiError::Forbidden(
            "Only the user a transfer-history record belongs to can delete it.",
        )),
        Some(_) => Ok(()),
        None => Err(not_found()),
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("The transfer-history record")
}

/// Deletes record `id` (never what it moved).
pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let id = required_query(cx.req, "id")?;
    let id = id.trim();
    let store = cx.store();
    let admin = cx.user()?.is_admin();
    if let Some(r) = history::get(store, id)? {
        may_delete(
            caller,
            admin,
            Some((r.account_id.clone(), r.user_id.clone())),
        )?;
        history::delete(store, &r)?;
    } else if let Some((drive_id, entry)) = drive_history::find(store, id)? {
        may_delete(caller, admin, drive_of(store, &drive_id)?)?;
        drive_history::remove(store, &drive_id, &entry)?;
    } else {
        return Err(not_found());
    }
    Ok(Response::ok())
}
