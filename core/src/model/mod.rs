//! Stored rows and the documented enums. Rows are internal (snake_case JSON in the store);
//! wire shapes live next to the controllers that return them.

pub mod account;
pub mod user;

pub use account::Account;
pub use user::{Credentials, User, UserStatus, UserType};

use crate::store::table::Table;

pub mod tables {
    use super::Table;

    pub const ACCOUNTS: Table = Table::new("account/");
    pub const USERS: Table = Table::new("user/");
    /// User id -> `Credentials`.
    pub const CREDENTIALS: Table = Table::new("credentials/");
    /// Lower-cased username -> user id. Usernames are unique across the agent.
    pub const USERNAMES: Table = Table::new("idx/username/");
    /// Google `sub` -> user id.
    pub const GOOGLE_IDS: Table = Table::new("idx/google/");
    pub const SESSIONS: Table = Table::new("session/");
    /// Lower-cased email -> pending sign-up confirmation.
    pub const SIGNUP_CODES: Table = Table::new("signup/");
    pub const MFA_CHALLENGES: Table = Table::new("mfa/");
    /// SHA-256 of an emailed reset or activation token -> what it resets.
    pub const RESET_TOKENS: Table = Table::new("reset/");
    /// Agent-wide singletons (the user loaded by the Start command).
    pub const AGENT: Table = Table::new("agent/");
}

/// `AuthProvider` of `GET /authentication/user`.
pub mod auth_provider {
    pub const AWS_COGNITO: u32 = 0;
    pub const GOOGLE: u32 = 1;
}

/// `AccountSubscriptionType`.
pub mod subscription {
    pub const MONTHLY: u32 = 1;
    pub const YEARLY: u32 = 2;
}
