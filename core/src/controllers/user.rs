//! User (`user.md`): the account's users, MFA settings and what the plan has left.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::agent::{Ctx, required_query};
use crate::auth::{reset, totp};
use crate::directory::relations::{GROUP_MEMBERS, RelationKind, Side, USER_DRIVE, USER_PROJECT};
use crate::directory::users::{self, Filter};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{Request, Response};
use crate::json::{self, max_len, required};
use crate::mail;
use crate::model::{Credentials, User, UserDto, UserStatus, UserType, auth_provider};
use crate::paging::{Page, PageQuery, number_param};
use crate::ports::{MailPurpose, Ports, RngExt};
use crate::store::Batch;
use crate::store::keys::{CREDENTIALS, USERS};
use crate::store::table::{CounterDeltas, commit_with_retry, save};

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct SetMfaRequest {
    enabled: bool,
    #[serde(default)]
    user_code: String,
}

pub async fn generate_mfa_token<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let user = cx.user()?;
    let mut credentials = Credentials::load(cx.store(), &user.id)?;
    let secret = totp::base32_encode(&cx.ports().rng().bytes::<20>());
    credentials.mfa_pending_secret = Some(secret.clone());
    let mut batch = Batch::new();
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    save(cx.store(), &batch)?;
    Ok(Response::json(&secret))
}

/// Enabling needs a code from the secret of `generate_mfa_token`. Disabling needs a code from
/// the secret in force, so that a stolen token alone cannot turn MFA off.
pub async fn set_mfa<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: SetMfaRequest = cx.body()?;
    let mut user = cx.user()?;
    let mut credentials = Credentials::load(cx.store(), &user.id)?;
    let secret = match (body.enabled, user.mfa) {
        (true, _) => credentials.mfa_pending_secret.clone().ok_or_else(|| {
            ApiError::invalid(
                "Call /user/generate_mfa_token first, then confirm with a code from it.",
            )
        })?,
        (false, true) => credentials.mfa_secret.clone().unwrap_or_default(),
        (false, false) => return Ok(Response::ok()),
    };
    let key = totp::base32_decode(&secret).unwrap_or_default();
    let now_secs = cx.now_ms() / 1000;
    let step = totp::verify(&key, &body.user_code, now_secs, credentials.mfa_last_step).ok_or(
        ApiError::new(ErrorCode::Totp, "The MFA code is wrong or has expired."),
    )?;
    credentials.mfa_last_step = step;
    user.mfa = body.enabled;
    if body.enabled {
        credentials.mfa_secret = Some(secret);
        credentials.mfa_pending_secret = None;
    } else {
        credentials.mfa_secret = None;
    }
    let mut batch = Batch::new();
    USERS.put(&mut batch, &user.id, &user);
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    save(cx.store(), &batch)?;
    Ok(Response::ok())
}

// ---------------------------------------------------------------- account users

/// `UserWithDetailsDTO`: the user with what is assigned to it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserWithDetails<'a> {
    #[serde(flatten)]
    user: UserDto<'a>,
    user_groups: Vec<serde_json::Value>,
    projects: Vec<serde_json::Value>,
    shared_cloud_drives: Vec<serde_json::Value>,
}

fn filter(req: &Request<'_>) -> ApiResult<Filter> {
    let all = Filter::everyone();
    Ok(Filter {
        status: number_param(req, "userStatus", all.status, 1, all.status)?,
        user_type: number_param(req, "userType", all.user_type, 1, all.user_type)?,
        username: req
            .query_param("username")
            .map(|u| u.trim().to_lowercase())
            .filter(|u| !u.is_empty()),
    })
}

fn list<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Page<User>> {
    let caller = cx.user()?;
    let query = PageQuery::from_request(cx.req, &users::SORT_FIELDS)?;
    users::page(cx.store(), &caller.account_id, &query, &filter(cx.req)?)
}

pub async fn get_all_users<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let page = list(cx)?;
    Ok(Response::json(&page.map(UserDto::from)))
}

pub async fn get_all_users_with_details<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let page = list(cx)?;
    let store = cx.store();
    let mut data = Vec::with_capacity(page.data.len());
    for u in &page.data {
        let related = |r: &RelationKind| r.related(store, &u.account_id, Side::User, &u.id);
        data.push(UserWithDetails {
            user: UserDto::from(u),
            user_groups: related(&GROUP_MEMBERS)?,
            projects: related(&USER_PROJECT)?,
            shared_cloud_drives: related(&USER_DRIVE)?,
        });
    }
    Ok(Response::json(&Page {
        data,
        total: page.total,
        options: page.options,
    }))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct InsertUserRequest {
    #[serde(default)]
    firstname: String,
    #[serde(default)]
    lastname: String,
    username: String,
    email: String,
    user_type: u32,
}

const USERNAME_TAKEN: (ErrorCode, &str) = (
    ErrorCode::Duplicate,
    "A user with this username already exists.",
);
const DESKTOP_TYPES: [u32; 3] = [
    UserType::DESKTOP_ADMIN,
    UserType::DESKTOP_CREATIVE_USER,
    UserType::DESKTOP_STANDARD_USER,
];

fn check_user_type(user_type: u32) -> ApiResult<()> {
    if !DESKTOP_TYPES.contains(&user_type) {
        return Err(ApiError::invalid(
            "'userType' must be DesktopAdmin (16), DesktopCreativeUser (32) or DesktopStandardUser (64).",
        ));
    }
    Ok(())
}

/// Refuses a user of `user_type` beyond what the plan allows.
fn check_plan<P: Ports>(
    cx: &Ctx<'_, P>,
    batch: &mut Batch,
    account_id: &str,
    user_type: u32,
) -> ApiResult<()> {
    users::reserve_seats(
        cx.store(),
        &cx.config().plan,
        batch,
        account_id,
        (user_type, 1),
    )
}

fn names(firstname: &str, lastname: &str) -> ApiResult<()> {
    max_len("firstname", firstname, 50)?;
    max_len("lastname", lastname, 50)
}

/// The token an invited user sets a first password with, added to `batch`.
fn activation_token<P: Ports>(cx: &Ctx<'_, P>, batch: &mut Batch, user: &User) -> String {
    let expires_ms = cx.now_ms() + cx.config().activation_token_ttl_secs * 1000;
    let purpose = MailPurpose::UserActivation;
    reset::issue(cx.ports().rng(), batch, user, purpose, expires_ms)
}

pub async fn insert_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    let body: InsertUserRequest = cx.body()?;
    names(&body.firstname, &body.lastname)?;
    let username = required("username", &body.username)?;
    max_len("username", username, 50)?;
    let email = json::email(&body.email)?;
    check_user_type(body.user_type)?;
    let user = User {
        id: cx.ports().rng().uuid(),
        account_id: caller.account_id.clone(),
        firstname: String::from(body.firstname.trim()),
        lastname: String::from(body.lastname.trim()),
        username: String::from(username),
        email,
        user_type: body.user_type,
        status: UserStatus::PENDING,
        owner: false,
        auth_provider: auth_provider::AWS_COGNITO,
        create_date_ms: cx.now_ms(),
        mfa: false,
    };
    let mut token = String::new();
    commit_with_retry(cx.store(), USERNAME_TAKEN, |batch| {
        check_plan(cx, batch, &user.account_id, user.user_type)?;
        let mut deltas = CounterDeltas::default();
        users::insert(batch, &mut deltas, &user);
        token = activation_token(cx, batch, &user);
        deltas.apply(batch);
        Ok(())
    })?;
    mail::activation(cx.ports().mailer(), &user, &token);
    Ok(Response::json(&UserDto::from(&user)))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct EditUserRequest {
    id: String,
    firstname: Option<String>,
    lastname: Option<String>,
    username: Option<String>,
    email: Option<String>,
    user_type: Option<u32>,
    status: Option<u32>,
}

/// Applies the fields an edit gives; the others keep their values.
fn edited(old: &User, body: &EditUserRequest) -> ApiResult<User> {
    let mut user = old.clone();
    if let Some(f) = &body.firstname {
        user.firstname = String::from(f.trim());
    }
    if let Some(l) = &body.lastname {
        user.lastname = String::from(l.trim());
    }
    names(&user.firstname, &user.lastname)?;
    if let Some(u) = &body.username {
        let u = required("username", u)?;
        max_len("username", u, 50)?;
        user.username = String::from(u);
    }
    if let Some(e) = &body.email {
        user.email = json::email(e)?;
    }
    if let Some(t) = body.user_type {
        check_user_type(t)?;
        user.user_type = t;
    }
    if let Some(s) = body.status.filter(|&s| s != old.status) {
        match (old.status, s) {
            (UserStatus::ACTIVE, UserStatus::INACTIVE)
            | (UserStatus::INACTIVE, UserStatus::ACTIVE) => user.status = s,
            (UserStatus::PENDING, UserStatus::ACTIVE) => {
                return Err(ApiError::invalid(
                    "A pending user becomes active by following the activation email.",
                ));
            }
            (UserStatus::PENDING, UserStatus::INACTIVE) => user.status = s,
            _ => {
                return Err(ApiError::invalid(
                    "'status' must be Active (1) or Inactive (2).",
                ));
            }
        }
    }
    if old.owner && (user.user_type != old.user_type || user.status != old.status) {
        return Err(ApiError::access(
            "The account owner stays an active DesktopAdmin.",
        ));
    }
    Ok(user)
}

pub async fn edit_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    let body: EditUserRequest = cx.body()?;
    let mut saved = None;
    commit_with_retry(cx.store(), USERNAME_TAKEN, |batch| {
        let old = users::in_account(cx.store(), &caller.account_id, &body.id)?;
        let new = edited(&old, &body)?;
        if new.user_type != old.user_type {
            check_plan(cx, batch, &new.account_id, new.user_type)?;
        }
        let mut deltas = CounterDeltas::default();
        users::update(batch, &mut deltas, &old, &new);
        if new.status == UserStatus::INACTIVE && old.status != UserStatus::INACTIVE {
            // Deactivation takes effect at once.
            cx.agent.sessions().revoke_all(batch, &new.id, None)?;
        }
        deltas.apply(batch);
        saved = Some(new);
        Ok(())
    })?;
    let user = saved.ok_or(ApiError::Internal)?;
    Ok(Response::json(&UserDto::from(&user)))
}

pub async fn delete_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    let id = required_query(cx.req, "id")?;
    commit_with_retry(cx.store(), USERNAME_TAKEN, |batch| {
        let user = users::in_account(cx.store(), &caller.account_id, &id)?;
        if user.owner {
            return Err(ApiError::access("The account owner cannot be deleted."));
        }
        let mut deltas = CounterDeltas::default();
        users::remove(cx.store(), batch, &mut deltas, &user)?;
        cx.agent.sessions().revoke_all(batch, &user.id, None)?;
        deltas.apply(batch);
        Ok(())
    })?;
    Ok(Response::ok())
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserRef {
    #[serde(default)]
    id: String,
    #[serde(default)]
    username: String,
}

pub async fn resend_user_email<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    let body: UserRef = cx.body()?;
    let user = if !body.id.trim().is_empty() {
        users::in_account(cx.store(), &caller.account_id, &body.id)?
    } else {
        let username = required("username", &body.username)?;
        users::find_by_username(cx.store(), username)?
            .filter(|u| u.account_id == caller.account_id)
            .ok_or_else(|| ApiError::not_found("The user"))?
    };
    if user.status != UserStatus::PENDING || user.owner {
        return Err(ApiError::invalid(
            "Only pending users are sent an activation email.",
        ));
    }
    let mut batch = Batch::new();
    let token = activation_token(cx, &mut batch, &user);
    save(cx.store(), &batch)?;
    mail::activation(cx.ports().mailer(), &user, &token);
    Ok(Response::ok())
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct PackageInquiry {
    admin_users: u64,
    creative_users: u64,
    standard_users: u64,
    storage: u64,
    connections: u64,
    projects: u64,
    teams: u64,
    drives: u64,
    syncs: u64,
    logs: bool,
    sso: bool,
}

/// What is left of the plan. Storage, connections, projects, teams, drives and syncs count
/// the records of their controllers; an account has none of those yet.
pub async fn package_inquiry<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.user()?;
    let plan = &cx.config().plan;
    let left = |limit: u64, user_type: u32| -> ApiResult<u64> {
        Ok(limit.saturating_sub(users::total(
            cx.store(),
            &caller.account_id,
            Some(user_type),
        )?))
    };
    Ok(Response::json(&PackageInquiry {
        admin_users: left(plan.admin_users, UserType::DESKTOP_ADMIN)?,
        creative_users: left(plan.creative_users, UserType::DESKTOP_CREATIVE_USER)?,
        standard_users: left(plan.standard_users, UserType::DESKTOP_STANDARD_USER)?,
        storage: plan.storage_gb,
        connections: plan.connections,
        projects: plan.projects,
        teams: plan.teams,
        drives: plan.drives,
        syncs: plan.syncs,
        logs: plan.logs,
        sso: plan.sso,
    }))
}
