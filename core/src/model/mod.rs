//! Stored rows and the documented enums. Rows are internal (snake_case JSON in the store);
//! wire shapes live next to the controllers that return them, or here when several
//! controllers and the directory return them ([`UserDto`]).

pub mod account;
pub mod user;

pub use account::Account;
pub use user::{Credentials, User, UserDto, UserStatus, UserType};

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
