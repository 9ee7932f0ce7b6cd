//! Stored rows and the documented enums. Rows are internal (snake_case JSON in the store);
//! wire shapes live next to the controllers that return them, or here when several
//! controllers and the directory return them (`UserDto`).

mod account;
mod user;

pub use account::Account;
pub(crate) use user::{Credentials, UserDto};
pub use user::{User, UserStatus, UserType};

/// `AuthProvider` of `GET /authentication/user`.
pub mod auth_provider {
    /// A password (the documented Cognito sign-in; the agent checks it itself).
    pub const AWS_COGNITO: u32 = 0;
    /// A Google ID token.
    pub const GOOGLE: u32 = 1;
    /// Single sign-on through Microsoft Entra ID (OpenID Connect).
    pub const ENTRA_ID: u32 = 2;
    /// Single sign-on through Okta (OpenID Connect).
    pub const OKTA: u32 = 4;
    /// Single sign-on through a SAML 2.0 identity provider.
    pub const SAML: u32 = 8;
}

/// `AccountSubscriptionType`.
pub mod subscription {
    /// Billed monthly (what a sign-up starts with).
    pub const MONTHLY: u32 = 1;
    /// Billed yearly.
    pub const YEARLY: u32 = 2;
}
