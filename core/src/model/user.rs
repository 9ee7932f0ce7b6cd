//! Users, their credentials and the documented user enums.

use crate::time::iso8601;
use alloc::string::String;
use serde::{Deserialize, Serialize};

/// `UserType` flags (web-api `authentication.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserType;

impl UserType {
    /// `ProviderAdmin`.
    pub const PROVIDER_ADMIN: u32 = 1;
    /// `ResellerAdmin`.
    pub const RESELLER_ADMIN: u32 = 2;
    /// `AccountAdmin`: an admin of the account (as `DesktopAdmin`).
    pub const ACCOUNT_ADMIN: u32 = 4;
    /// `AccountUser`.
    pub const ACCOUNT_USER: u32 = 8;
    /// `DesktopAdmin`: an admin of the account; an account's owner is one.
    pub const DESKTOP_ADMIN: u32 = 16;
    /// `DesktopCreativeUser`.
    pub const DESKTOP_CREATIVE_USER: u32 = 32;
    /// `DesktopStandardUser`.
    pub const DESKTOP_STANDARD_USER: u32 = 64;
    /// Every flag at once (a filter that matches any user).
    pub const ALL: u32 = 127;

    /// A single documented flag.
    pub fn is_valid(t: u32) -> bool {
        t != 0 && t & Self::ALL == t && t.is_power_of_two()
    }
}

/// `UserStatus` flags of `/user/get_all_users`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserStatus;

impl UserStatus {
    /// May sign in.
    pub const ACTIVE: u32 = 1;
    /// Turned off by an admin: may not sign in.
    pub const INACTIVE: u32 = 2;
    /// Not confirmed yet: a sign-up waiting for its emailed code, or an invited user who has
    /// not set a password.
    pub const PENDING: u32 = 4;
}

/// A user's profile as stored (its secrets are kept apart).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: String,
    /// The one account it belongs to.
    pub account_id: String,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// What it signs in with; unique across the agent, compared without case.
    pub username: String,
    /// Where its mail goes.
    pub email: String,
    /// One [`UserType`] flag.
    pub user_type: u32,
    /// One [`UserStatus`] flag.
    pub status: u32,
    /// Whether it owns the account (its first user).
    pub owner: bool,
    /// `AuthProvider`: one of [`auth_provider`](super::auth_provider).
    pub auth_provider: u32,
    /// When it was created (Unix ms).
    pub create_date_ms: u64,
    /// Whether it signs in with a TOTP code as well.
    pub mfa: bool,
}

/// A user's secrets, kept apart from the profile: reading or listing users never parses them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Credentials {
    /// argon2id PHC string; `None` for users who sign in through Google only.
    pub password_hash: Option<String>,
    /// Base32 TOTP secret in force.
    pub mfa_secret: Option<String>,
    /// Secret from `generate_mfa_token` waiting for `set_mfa` to confirm it.
    pub mfa_pending_secret: Option<String>,
    /// Last TOTP step accepted, so a code cannot be used twice.
    pub mfa_last_step: u64,
}

impl Credentials {
    pub fn load(
        store: &impl crate::store::Store,
        user_id: &str,
    ) -> crate::error::ApiResult<Credentials> {
        Ok(crate::store::keys::CREDENTIALS
            .get(store, user_id)?
            .unwrap_or_default())
    }
}

impl User {
    /// Whether it may call the admin routes: the owner, `DesktopAdmin`s and `AccountAdmin`s.
    pub fn is_admin(&self) -> bool {
        self.owner || self.user_type & (UserType::DESKTOP_ADMIN | UserType::ACCOUNT_ADMIN) != 0
    }
}

/// A user on the wire, as the User routes return it (`user.md`) and listings inline it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserDto<'a> {
    id: &'a str,
    firstname: &'a str,
    lastname: &'a str,
    username: &'a str,
    email: &'a str,
    user_type: u32,
    status: u32,
    owner: bool,
    mfa: bool,
    create_date: String,
}

impl<'a> From<&'a User> for UserDto<'a> {
    fn from(u: &'a User) -> UserDto<'a> {
        UserDto {
            id: &u.id,
            firstname: &u.firstname,
            lastname: &u.lastname,
            username: &u.username,
            email: &u.email,
            user_type: u.user_type,
            status: u.status,
            owner: u.owner,
            mfa: u.mfa,
            create_date: iso8601(u.create_date_ms),
        }
    }
}
