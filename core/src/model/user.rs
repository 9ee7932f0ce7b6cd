//! Users, their credentials and the documented user enums.

use crate::time::iso8601;
use alloc::string::String;
use serde::{Deserialize, Serialize};

/// `UserType` flags (web-api `authentication.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserType;

impl UserType {
    pub const PROVIDER_ADMIN: u32 = 1;
    pub const RESELLER_ADMIN: u32 = 2;
    pub const ACCOUNT_ADMIN: u32 = 4;
    pub const ACCOUNT_USER: u32 = 8;
    pub const DESKTOP_ADMIN: u32 = 16;
    pub const DESKTOP_CREATIVE_USER: u32 = 32;
    pub const DESKTOP_STANDARD_USER: u32 = 64;
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
    pub const ACTIVE: u32 = 1;
    pub const INACTIVE: u32 = 2;
    pub const PENDING: u32 = 4;
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub firstname: String,
    pub lastname: String,
    pub username: String,
    pub email: String,
    pub user_type: u32,
    pub status: u32,
    pub owner: bool,
    pub auth_provider: u32,
    pub create_date_ms: u64,
    pub mfa: bool,
}

/// A user's secrets, kept apart from the profile: reading or listing users never parses them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Credentials {
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
    pub fn is_admin(&self) -> bool {
        self.owner || self.user_type & (UserType::DESKTOP_ADMIN | UserType::ACCOUNT_ADMIN) != 0
    }
}

/// A user on the wire, as the User routes return it (`user.md`) and listings inline it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDto<'a> {
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
