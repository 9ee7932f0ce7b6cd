//! Users of an account: rows, the indexes that serve sorted pages, and per-account counts.
//!
//! Every write goes through [`insert`], [`update`] or [`remove`], so indexes and counts never
//! drift from the rows. Keys:
//! - `idx/account-user-created/<account>/<create ms, 16 hex><user id>`: `CreateDate` order;
//! - `idx/account-user-name/<account>/<lower-case username>\u{1}<user id>`: `Username` order;
//! - `count/account-users/<account>` and `count/account-users/<account>/type/<UserType>`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::config::PlanLimits;
use crate::error::{ApiError, ApiResult};
use crate::model::{User, UserStatus, UserType};
use crate::paging::{Page, PageQuery};
use crate::ports::Store;
use crate::store::Batch;
use crate::store::keys::{
    CREDENTIALS, GOOGLE_IDS, USER_COUNTS, USERNAMES, USERS, USERS_BY_CREATED, USERS_BY_NAME,
};
use crate::store::table::{CounterDeltas, Table, counter};
use crate::store::{index_page, scan_all};

/// Sort fields of `get_all_users`; the first is the default.
pub(crate) const SORT_FIELDS: [&str; 7] = [
    "CreateDate",
    "Username",
    "Firstname",
    "Lastname",
    "Email",
    "UserType",
    "Status",
];

pub(crate) fn username_key(username: &str) -> String {
    username.trim().to_lowercase()
}

fn created_key(user: &User) -> String {
    format!(
        "{}/{:016x}{}",
        user.account_id, user.create_date_ms, user.id
    )
}

fn name_key(user: &User) -> String {
    format!(
        "{}/{}\u{1}{}",
        user.account_id,
        username_key(&user.username),
        user.id
    )
}

pub(crate) fn count_key(account_id: &str, user_type: Option<u32>) -> Vec<u8> {
    match user_type {
        None => USER_COUNTS.key(account_id),
        Some(t) => USER_COUNTS.key(&format!("{account_id}/type/{t}")),
    }
}

fn count(deltas: &mut CounterDeltas, user: &User, delta: i64) {
    deltas.add(count_key(&user.account_id, None), delta);
    deltas.add(count_key(&user.account_id, Some(user.user_type)), delta);
}

/// A new user: its row, indexes and counts, and its username, which must be free.
pub fn insert(batch: &mut Batch, deltas: &mut CounterDeltas, user: &User) {
    let name = username_key(&user.username);
    batch.require_absent(USERNAMES.key(&name));
    USERNAMES.put_str(batch, &name, &user.id);
    USERS.put(batch, &user.id, user);
    USERS_BY_CREATED.put_str(batch, &created_key(user), "");
    USERS_BY_NAME.put_str(batch, &name_key(user), "");
    count(deltas, user, 1);
}

/// A changed user: moves what its changes move.
pub fn update(batch: &mut Batch, deltas: &mut CounterDeltas, old: &User, new: &User) {
    let (old_name, new_name) = (username_key(&old.username), username_key(&new.username));
    if old_name != new_name {
        batch.require_absent(USERNAMES.key(&new_name));
        USERNAMES.delete(batch, &old_name);
        USERNAMES.put_str(batch, &new_name, &new.id);
        USERS_BY_NAME.delete(batch, &name_key(old));
        USERS_BY_NAME.put_str(batch, &name_key(new), "");
    }
    if old.user_type != new.user_type {
        count(deltas, old, -1);
        count(deltas, new, 1);
    }
    USERS.put(batch, &new.id, new);
}

/// A deleted user: row, secrets, indexes, counts, memberships and permissions. Sessions are
/// the caller's to revoke.
pub fn remove(
    store: &impl Store,
    batch: &mut Batch,
    deltas: &mut CounterDeltas,
    user: &User,
) -> ApiResult<()> {
    USERS.delete(batch, &user.id);
    CREDENTIALS.delete(batch, &user.id);
    super::relations::remove_all_for(store, batch, super::relations::Side::User, &user.id)?;
    for token in crate::auth::api_token::of_user(store, &user.id)? {
        crate::auth::api_token::delete(batch, &token);
    }
    USERNAMES.delete(batch, &username_key(&user.username));
    USERS_BY_CREATED.delete(batch, &created_key(user));
    USERS_BY_NAME.delete(batch, &name_key(user));
    // A Google-linked user has an identity index pointing at it.
    if user.auth_provider == crate::model::auth_provider::GOOGLE {
        scan_all(store, GOOGLE_IDS.prefix(), false, |key, value| {
            if value == user.id.as_bytes() {
                batch.delete(key.to_vec());
            }
            Ok(true)
        })?;
    }
    count(deltas, user, -1);
    Ok(())
}

/// Refuses `n` more users of `user_type` beyond what `plan` allows, now and (through a check
/// in `batch`) at commit, when concurrent inserts may have used up the plan meanwhile.
pub(crate) fn reserve_seats(
    store: &impl Store,
    plan: &PlanLimits,
    batch: &mut Batch,
    account_id: &str,
    (user_type, n): (u32, u64),
) -> ApiResult<()> {
    let (limit, name) = match user_type {
        UserType::DESKTOP_ADMIN => (plan.admin_users, "admin"),
        UserType::DESKTOP_CREATIVE_USER => (plan.creative_users, "creative"),
        _ => (plan.standard_users, "standard"),
    };
    let used = total(store, account_id, Some(user_type))?;
    if used.saturating_add(n) > limit {
        let left = limit.saturating_sub(used);
        return Err(ApiError::invalid(format!(
            "The plan allows {limit} {name} users; {left} are left."
        )));
    }
    // At commit the count, before this batch adds to it, must still leave room for all `n`.
    batch.require_below(count_key(account_id, Some(user_type)), limit + 1 - n);
    Ok(())
}

/// The user with this username (in any account: usernames are unique agent-wide).
pub(crate) fn find_by_username(store: &impl Store, username: &str) -> ApiResult<Option<User>> {
    match USERNAMES.get_str(store, &username_key(username))? {
        Some(id) => USERS.get(store, &id),
        None => Ok(None),
    }
}

/// A user of this account, or NOT_FOUND (another account's users do not exist from here).
pub(crate) fn in_account(store: &impl Store, account_id: &str, user_id: &str) -> ApiResult<User> {
    match USERS.get::<User>(store, user_id.trim())? {
        Some(u) if u.account_id == account_id => Ok(u),
        _ => Err(ApiError::not_found("The user")),
    }
}

pub(crate) fn total(
    store: &impl Store,
    account_id: &str,
    user_type: Option<u32>,
) -> ApiResult<u64> {
    counter(store, &count_key(account_id, user_type))
}

/// What `get_all_users` filters on.
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    /// `UserStatus` flags.
    pub status: u32,
    /// `UserType` flags.
    pub user_type: u32,
    /// Lower-cased substring of the username.
    pub username: Option<String>,
}

impl Filter {
    pub fn everyone() -> Filter {
        Filter {
            status: UserStatus::ACTIVE | UserStatus::INACTIVE | UserStatus::PENDING,
            user_type: UserType::ALL,
            username: None,
        }
    }

    fn is_everyone(&self) -> bool {
        let all = Filter::everyone();
        self.status & all.status == all.status
            && self.user_type & all.user_type == all.user_type
            && self.username.is_none()
    }

    fn matches(&self, user: &User) -> bool {
        self.status & user.status != 0
            && self.user_type & user.user_type != 0
            && self
                .username
                .as_deref()
                .is_none_or(|n| user.username.to_lowercase().contains(n))
    }
}

/// The user id at the end of an index key (ids are 36-character UUIDs).
fn id_of(key: &[u8]) -> &str {
    core::str::from_utf8(&key[key.len().saturating_sub(36)..]).unwrap_or("")
}

/// Visits the account's users in an index's order until `f` says stop.
fn walk(
    store: &impl Store,
    index: Table,
    account_id: &str,
    descending: bool,
    mut f: impl FnMut(User) -> bool,
) -> ApiResult<()> {
    let prefix = index.key(&format!("{account_id}/"));
    scan_all(store, &prefix, descending, |key, _| {
        Ok(match USERS.get::<User>(store, id_of(key))? {
            Some(user) => f(user),
            None => true,
        })
    })
}

fn compare(field: &str, a: &User, b: &User) -> core::cmp::Ordering {
    let lower = |s: &str| s.to_lowercase();
    let primary = match field {
        "Firstname" => lower(&a.firstname).cmp(&lower(&b.firstname)),
        "Lastname" => lower(&a.lastname).cmp(&lower(&b.lastname)),
        "Email" => lower(&a.email).cmp(&lower(&b.email)),
        "UserType" => a.user_type.cmp(&b.user_type),
        "Status" => a.status.cmp(&b.status),
        "Username" => lower(&a.username).cmp(&lower(&b.username)),
        _ => a.create_date_ms.cmp(&b.create_date_ms),
    };
    primary.then_with(|| a.id.cmp(&b.id))
}

/// One page of the account's users. Unfiltered pages in `CreateDate` or `Username` order
/// read only the page (plus the rows skipped to reach it) and a counter; filters or other
/// orders read the account's users.
pub(crate) fn page(
    store: &impl Store,
    account_id: &str,
    query: &PageQuery,
    filter: &Filter,
) -> ApiResult<Page<User>> {
    let index = match query.sort_field.as_str() {
        "CreateDate" => Some(USERS_BY_CREATED),
        "Username" => Some(USERS_BY_NAME),
        _ => None,
    };
    match index {
        Some(index) if filter.is_everyone() => {
            let (skip, take) = (query.offset(), query.page_size as usize);
            let prefix = index.key(&format!("{account_id}/"));
            let mut data = Vec::with_capacity(take);
            for (key, _) in index_page(store, &prefix, query.descending, skip, take)? {
                if let Some(user) = USERS.get::<User>(store, id_of(&key))? {
                    data.push(user);
                }
            }
            Ok(Page {
                data,
                total: total(store, account_id, None)?,
                options: query.options(),
            })
        }
        Some(index) => {
            let (skip, take) = (query.offset(), query.page_size as usize);
            let (mut data, mut matched) = (Vec::with_capacity(take), 0usize);
            walk(store, index, account_id, query.descending, |user| {
                if filter.matches(&user) {
                    if matched >= skip && data.len() < take {
                        data.push(user);
                    }
                    matched += 1;
                }
                true
            })?;
            Ok(Page {
                data,
                total: matched as u64,
                options: query.options(),
            })
        }
        None => {
            let mut all = Vec::new();
            walk(store, USERS_BY_CREATED, account_id, false, |user| {
                if filter.matches(&user) {
                    all.push(user);
                }
                true
            })?;
            let field = query.sort_field.clone();
            Ok(query.paginate(all, |a, b| compare(&field, a, b)))
        }
    }
}
