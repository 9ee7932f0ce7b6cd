use alloc::string::String;
use serde::{Deserialize, Serialize};

/// An account: what a sign-up creates, and what users, groups, projects and cloud accounts
/// belong to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Account {
    /// Its id.
    pub id: String,
    /// The name given at sign-up.
    pub name: String,
    /// The user who signed up (the owner, a `DesktopAdmin`).
    pub owner_id: String,
    /// `AccountSubscriptionType`: one of [`subscription`](super::subscription).
    pub subscription_type: u32,
    /// When it was created (Unix ms).
    pub create_date_ms: u64,
}
