//! Who an identity provider's user is here: the user it signed in as before (by the
//! provider's subject), else the account's user with the same username, else (when the agent
//! allows it) a new user of the configuration's account.

use alloc::format;
use alloc::string::String;

use super::config::SsoConfig;
use crate::config::{PlanLimits, SsoSettings};
use crate::directory::users;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::model::{User, UserStatus, UserType};
use crate::ports::{Rng, RngExt, SsoIdentity, Store};
use crate::store::Batch;
use crate::store::keys::{SSO_SUBJECTS, USERS};
use crate::store::table::CounterDeltas;

/// What resolving a sign-in needs besides the store.
pub struct Resolve<'a, R: Rng> {
    /// Ids of new users.
    pub rng: &'a R,
    /// Now (Unix ms).
    pub now_ms: u64,
    /// Whether new users are created.
    pub settings: &'a SsoSettings,
    /// The account's limits.
    pub plan: &'a PlanLimits,
}

/// Who the profile of a new or imported user is.
pub struct Profile<'a> {
    /// The sign-in name.
    pub username: &'a str,
    /// The email address (the username when the provider gives none).
    pub email: &'a str,
    /// First name.
    pub first_name: &'a str,
    /// Last name.
    pub last_name: &'a str,
}

impl<'a> From<&'a SsoIdentity> for Profile<'a> {
    fn from(id: &'a SsoIdentity) -> Profile<'a> {
        Profile {
            username: &id.username,
            email: &id.email,
            first_name: &id.given_name,
            last_name: &id.family_name,
        }
    }
}

fn subject_key(config: &SsoConfig, subject: &str) -> String {
    format!("{}/{subject}", config.id)
}

/// The user `identity` signs in as, and the batch (to commit with the new session) that
/// links, activates or creates it.
pub fn sign_in<R: Rng>(
    store: &impl Store,
    config: &SsoConfig,
    identity: &SsoIdentity,
    resolve: &Resolve<'_, R>,
) -> ApiResult<(User, Batch)> {
    let mut batch = Batch::new();
    let linked: Option<User> =
        match SSO_SUBJECTS.get_str(store, &subject_key(config, &identity.subject))? {
            // An id whose user was deleted is stale, not an error: the username decides again.
            Some(user_id) => USERS.get(store, &user_id)?,
            None => None,
        };
    let mut user = match linked {
        Some(user) => user,
        None => match users::find_by_username(store, identity.username.trim())? {
            Some(user) => user,
            None => new_user(store, &mut batch, config, &Profile::from(identity), resolve)?,
        },
    };
    if user.account_id != config.account_id {
        return Err(ApiError::new(
            ErrorCode::Auth,
            format!(
                "The user '{}' belongs to another account; its identity provider cannot sign \
                 it in here.",
                user.username
            ),
        ));
    }
    SSO_SUBJECTS.put_str(
        &mut batch,
        &subject_key(config, &identity.subject),
        &user.id,
    );
    match user.status {
        UserStatus::ACTIVE => {}
        // An invited or imported user proves who they are through the provider.
        UserStatus::PENDING => {
            let old = user.clone();
            user.status = UserStatus::ACTIVE;
            users::update(&mut batch, &mut CounterDeltas::default(), &old, &user);
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::InactiveUser,
                "This account is inactive.",
            ));
        }
    }
    Ok((user, batch))
}

fn new_user<R: Rng>(
    store: &impl Store,
    batch: &mut Batch,
    config: &SsoConfig,
    profile: &Profile<'_>,
    resolve: &Resolve<'_, R>,
) -> ApiResult<User> {
    if !resolve.settings.create_users {
        return Err(ApiError::new(
            ErrorCode::Auth,
            format!(
                "There is no user '{}' here, and the agent does not create users on their \
                 first sign-in ([sso] create_users): an administrator must import or add it.",
                profile.username.trim()
            ),
        ));
    }
    let user = imported_user(
        resolve.rng,
        resolve.now_ms,
        config,
        profile,
        UserStatus::ACTIVE,
    )?;
    add_users(store, batch, resolve.plan, core::slice::from_ref(&user))?;
    Ok(user)
}

/// A standard user of `config`'s account who signs in through it (`authProvider` set).
pub fn imported_user(
    rng: &impl Rng,
    now_ms: u64,
    config: &SsoConfig,
    profile: &Profile<'_>,
    status: u32,
) -> ApiResult<User> {
    let username = crate::json::required("username", profile.username)?;
    crate::json::max_len("username", username, 256)?;
    let email = if profile.email.trim().is_empty() {
        username
    } else {
        profile.email.trim()
    };
    let (first, last) = (profile.first_name.trim(), profile.last_name.trim());
    crate::json::max_len("firstName", first, 50)?;
    crate::json::max_len("lastName", last, 50)?;
    Ok(User {
        id: rng.uuid(),
        account_id: config.account_id.clone(),
        firstname: String::from(first),
        lastname: String::from(last),
        username: String::from(username),
        email: String::from(email),
        user_type: UserType::DESKTOP_STANDARD_USER,
        status,
        owner: false,
        auth_provider: config.kind.auth_provider(),
        create_date_ms: now_ms,
        mfa: false,
    })
}

/// Adds `new_users` (standard users of one account) to `batch`, within the plan's seats.
pub fn add_users(
    store: &impl Store,
    batch: &mut Batch,
    plan: &PlanLimits,
    new_users: &[User],
) -> ApiResult<()> {
    let Some(first) = new_users.first() else {
        return Ok(());
    };
    let seats = (UserType::DESKTOP_STANDARD_USER, new_users.len() as u64);
    users::reserve_seats(store, plan, batch, &first.account_id, seats)?;
    let mut deltas = CounterDeltas::default();
    for user in new_users {
        users::insert(batch, &mut deltas, user);
    }
    deltas.apply(batch);
    Ok(())
}
