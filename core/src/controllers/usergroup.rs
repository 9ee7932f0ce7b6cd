//! UserGroup (`usergroup.md`): groups of an account and their members.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Deserialize;

use super::shared;
use crate::agent::Ctx;
use crate::directory::entities::{self, USER_GROUPS};
use crate::directory::relations::{Assignment, GROUP_DRIVE, GROUP_MEMBERS, GROUP_PROJECT, Side};
use crate::directory::users;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::ports::{Ports, RngExt};
use crate::store::Batch;
use crate::store::table::commit;

pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::list(cx, &USER_GROUPS, Side::UserGroup, &shared::as_stored)
}

pub async fn get_all_with_details<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let related = [
        (&GROUP_MEMBERS, "users"),
        (&GROUP_PROJECT, "projects"),
        (&GROUP_DRIVE, "sharedCloudDrives"),
    ];
    shared::list_with_details(
        cx,
        &USER_GROUPS,
        Side::UserGroup,
        &related,
        &shared::as_stored,
    )
}

pub async fn insert<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::insert(cx, &USER_GROUPS)
}

pub async fn update<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::update(cx, &USER_GROUPS)
}

pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::delete(cx, &USER_GROUPS, Side::UserGroup)
}

pub async fn get_assigned_users<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(
        cx,
        &GROUP_MEMBERS,
        Side::UserGroup,
        &["userGroupId"],
        "username",
    )
}

pub async fn get_assigned_usergroups<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assigned(cx, &GROUP_MEMBERS, Side::User, &["userId"], "name")
}

pub async fn assign_users<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::assign(cx, &GROUP_MEMBERS)
}

pub async fn unassign_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    shared::unassign(cx, &GROUP_MEMBERS)
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
struct ImportedUser {
    username: String,
    #[cfg(feature = "sso")]
    #[serde(default)]
    email: String,
    #[cfg(feature = "sso")]
    #[serde(default, alias = "firstname")]
    first_name: String,
    #[cfg(feature = "sso")]
    #[serde(default, alias = "lastname")]
    last_name: String,
    /// An SSO provider's users (from `/sso/get_user_usergroups`) are created when missing.
    #[cfg(feature = "sso")]
    #[serde(default)]
    auth_provider: u32,
}

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schemars(rename = "UserGroupRef"))]
struct GroupRef {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schemars(rename = "UserUserGroupRelation"))]
pub(crate) struct Relation {
    user: ImportedUser,
    user_groups: Vec<GroupRef>,
}

/// Maps users (by username) to groups (by id, or by name), all in one transaction; pairs
/// that exist already are left as they are. With SSO, users of the account's identity
/// provider that are not here yet, and groups named (without an id) that are not here yet,
/// are created first, in one transaction of their own: a rerun finds them.
pub async fn import_users<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    let items: Vec<Relation> = cx.body()?;
    #[cfg(feature = "sso")]
    provider_users::create_missing(cx, &caller, &items)?;
    let store = cx.store();
    let mut batch = Batch::new();
    for item in &items {
        let user = users::find_by_username(store, &item.user.username)?
            .filter(|u| u.account_id == caller.account_id)
            .ok_or_else(|| {
                ApiError::not_found(&format!("The user '{}'", item.user.username.trim()))
            })?;
        for group in &item.user_groups {
            let group_id = if group.id.trim().is_empty() {
                entities::find_by_name(store, &USER_GROUPS, &caller.account_id, &group.name)?
                    .ok_or_else(|| {
                        ApiError::not_found(&format!("The user group '{}'", group.name.trim()))
                    })?
                    .id
            } else {
                group.id.clone()
            };
            let pair = Assignment {
                left: user.id.clone(),
                right: group_id,
                ..Assignment::default()
            };
            GROUP_MEMBERS.assign(store, &mut batch, &caller.account_id, &pair, || {
                cx.ports().rng().uuid()
            })?;
        }
    }
    commit(
        store,
        &batch,
        (
            crate::error::ErrorCode::DbUpdate,
            "Another request changed these groups at the same time; try again.",
        ),
    )?;
    Ok(Response::ok())
}

/// What an import creates: the users an SSO provider vouches for, and groups named without an
/// id (builds without SSO import existing users and groups only).
#[cfg(feature = "sso")]
mod provider_users {
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::Relation;
    use crate::agent::Ctx;
    use crate::directory::entities::{self, USER_GROUPS};
    use crate::directory::users;
    use crate::error::{ApiError, ApiResult};
    use crate::model::User;
    use crate::ports::{Ports, RngExt};
    use crate::store::Batch;
    use crate::store::table::{CounterDeltas, commit};

    /// Creates the items' missing SSO users and named groups (see [`import_users`](super::import_users)).
    pub(super) fn create_missing<P: Ports>(
        cx: &Ctx<'_, P>,
        caller: &User,
        items: &[Relation],
    ) -> ApiResult<()> {
        let store = cx.store();
        let mut batch = Batch::new();
        let mut deltas = CounterDeltas::default();
        let mut new_groups: Vec<String> = Vec::new();
        for group in items.iter().flat_map(|i| &i.user_groups) {
            let name = group.name.trim();
            let missing = group.id.trim().is_empty()
                && !new_groups.iter().any(|n| n.eq_ignore_ascii_case(name))
                && entities::find_by_name(store, &USER_GROUPS, &caller.account_id, name)?.is_none();
            if missing {
                let input = entities::EntityInput {
                    name: Some(String::from(name)),
                    ..Default::default()
                };
                let group = entities::build(&USER_GROUPS, caller, cx.ports().rng().uuid(), &input)?;
                entities::stage_insert(&mut batch, &mut deltas, &USER_GROUPS, &group);
                new_groups.push(group.name);
            }
        }
        let new_users = sso_users(cx, caller, items)?;
        if new_groups.is_empty() && new_users.is_empty() {
            return Ok(());
        }
        deltas.apply(&mut batch);
        crate::sso::identity::add_users(store, &mut batch, &cx.config().plan, &new_users)?;
        commit(
            store,
            &batch,
            (
                crate::error::ErrorCode::Duplicate,
                "Another request added one of these users or groups at the same time; try again.",
            ),
        )
    }

    /// The users of `items` that are not here and sign in through one of the account's active
    /// SSO configurations (their `authProvider`), ready to add.
    fn sso_users<P: Ports>(
        cx: &Ctx<'_, P>,
        caller: &User,
        items: &[Relation],
    ) -> ApiResult<Vec<User>> {
        use crate::model::UserStatus;
        use crate::sso::config::{self, Kind};
        use crate::sso::identity::{Profile, imported_user};
        let store = cx.store();
        let mut out: Vec<User> = Vec::new();
        for item in items {
            let u = &item.user;
            let Some(kind) = Kind::of_auth_provider(u.auth_provider) else {
                continue;
            };
            let taken = |name: &str| out.iter().any(|n| n.username.eq_ignore_ascii_case(name));
            if taken(u.username.trim()) || users::find_by_username(store, &u.username)?.is_some() {
                continue;
            }
            let Some(config) =
                config::of_account(store, &caller.account_id, kind)?.filter(|c| c.active)
            else {
                return Err(ApiError::invalid(format!(
                    "'{}' signs in through {}, which this account has no active configuration of.",
                    u.username.trim(),
                    kind.label()
                )));
            };
            let profile = Profile {
                username: &u.username,
                email: &u.email,
                first_name: &u.first_name,
                last_name: &u.last_name,
            };
            let rng = cx.ports().rng();
            out.push(imported_user(
                rng,
                cx.now_ms(),
                &config,
                &profile,
                UserStatus::ACTIVE,
            )?);
        }
        Ok(out)
    }
}
