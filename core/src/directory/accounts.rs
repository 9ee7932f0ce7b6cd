//! Accounts: a sign-up creates one, whose first user is its owner and a `DesktopAdmin`.

use alloc::string::String;

use super::users;
use crate::model::{Account, User, UserStatus, UserType, auth_provider, subscription};
use crate::ports::{Rng, RngExt};
use crate::store::Batch;
use crate::store::keys::ACCOUNTS;
use crate::store::table::CounterDeltas;

/// Who signs up: the account's name and its owner's.
pub struct Owner<'a> {
    pub account_name: &'a str,
    pub email: &'a str,
    pub first_name: String,
    pub last_name: String,
}

/// A new account and its owner, Pending until the sign-up is confirmed.
pub fn new_owner(rng: &impl Rng, now_ms: u64, owner: Owner<'_>) -> (Account, User) {
    let user_id = rng.uuid();
    let account = Account {
        id: rng.uuid(),
        name: String::from(owner.account_name),
        owner_id: user_id.clone(),
        subscription_type: subscription::MONTHLY,
        create_date_ms: now_ms,
    };
    let user = User {
        id: user_id,
        account_id: account.id.clone(),
        firstname: owner.first_name,
        lastname: owner.last_name,
        username: String::from(owner.email),
        email: String::from(owner.email),
        user_type: UserType::DESKTOP_ADMIN,
        status: UserStatus::PENDING,
        owner: true,
        auth_provider: auth_provider::AWS_COGNITO,
        create_date_ms: now_ms,
        mfa: false,
    };
    (account, user)
}

/// Adds the account and its owner to `batch`; the username must still be free at commit.
pub fn insert(batch: &mut Batch, account: &Account, owner: &User) {
    ACCOUNTS.put(batch, &account.id, account);
    let mut deltas = CounterDeltas::default();
    users::insert(batch, &mut deltas, owner);
    deltas.apply(batch);
}
