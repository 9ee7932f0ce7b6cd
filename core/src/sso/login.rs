//! Sign-ins waiting for an identity provider's answer. Each holds the single-use values of
//! one authorization request (`state` is its id; `nonce`; the PKCE verifier), expires, and is
//! taken (deleted in the same commit that reads it) exactly once.

use alloc::format;
use alloc::string::String;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::config::{Kind, SsoConfig};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ports::{Rng, RngExt, Store};
use crate::store::Batch;
use crate::store::expiring::Expiring;
use crate::store::keys::{
    SSO_IMPORTS, SSO_LOGINS, SSO_LOGINS_BY_EXPIRY, SSO_SEEN, SSO_SEEN_BY_EXPIRY,
};
use crate::store::table::{commit, decode_row};

/// What a sign-in is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// A user signs in (`sso_url`, then `authenticate`).
    SignIn,
    /// An administrator reads the provider's directory (`sso_url_import_user`, then
    /// `get_user_usergroups`).
    Import {
        /// The administrator.
        user_id: String,
    },
}

/// One authorization request in flight.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingLogin {
    /// Its id, sent as the OAuth `state` (and the SAML `RelayState`) and returned as
    /// `Identifier`.
    pub id: String,
    /// The account signed into.
    pub account_id: String,
    /// The provider's kind.
    pub kind: Kind,
    /// The configuration it started with (a replaced configuration voids it).
    pub config_id: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier (its S256 challenge went to the provider).
    pub code_verifier: String,
    /// Where the provider sends the browser back.
    pub callback_url: String,
    /// Sign-in or import.
    pub purpose: Purpose,
    /// When it stops being accepted (Unix ms).
    pub expires_ms: u64,
    /// SAML: the AuthnRequest's `ID` and the assertion consumer URL it named.
    #[serde(default)]
    pub saml: Option<SamlRequestSent>,
    /// SAML: the verified answer the provider posted, waiting for `authenticate` to redeem
    /// its code.
    #[serde(default)]
    pub answer: Option<Answer>,
}

/// What a SAML sign-in asked its provider.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SamlRequestSent {
    /// The AuthnRequest's `ID`.
    pub request_id: String,
    /// Where the answer must be posted (`Destination`, `Recipient`).
    pub acs_url: String,
}

/// A verified SAML answer, redeemable once with the code the browser was sent back with.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Answer {
    /// SHA-256 (hex) of the code.
    pub code_hash: String,
    /// Who the assertion named.
    pub subject: String,
    /// Their sign-in name.
    pub username: String,
    /// Their email address.
    pub email: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub family_name: String,
    /// Their groups.
    pub groups: alloc::vec::Vec<String>,
}

impl Answer {
    /// The identity the answer carried.
    pub fn identity(&self) -> crate::ports::SsoIdentity {
        crate::ports::SsoIdentity {
            subject: self.subject.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            groups: self.groups.clone(),
            access_token: String::new(),
        }
    }
}

/// SHA-256 (hex) of a code handed to the browser: the store never holds the code itself.
pub fn code_hash(code: &str) -> String {
    crate::ports::hex(&Sha256::digest(code.as_bytes()))
}

impl PendingLogin {
    /// A new sign-in of `config` with fresh random values.
    pub fn new(
        rng: &impl Rng,
        config: &SsoConfig,
        callback_url: &str,
        purpose: Purpose,
        expires_ms: u64,
    ) -> PendingLogin {
        PendingLogin {
            id: random_token(rng),
            account_id: config.account_id.clone(),
            kind: config.kind,
            config_id: config.id.clone(),
            nonce: random_token(rng),
            code_verifier: random_token(rng),
            callback_url: String::from(callback_url),
            purpose,
            expires_ms,
            saml: None,
            answer: None,
        }
    }

    /// A fresh single-use code for the browser's callback.
    pub fn new_code(rng: &impl Rng) -> String {
        random_token(rng)
    }
}

/// 32 random bytes, base64url: 43 characters, as PKCE wants its verifier.
fn random_token(rng: &impl Rng) -> String {
    URL_SAFE_NO_PAD.encode(rng.bytes::<32>())
}

/// Where an administrator's import finds its sign-in: by who asked and the callback URL.
fn import_key(user_id: &str, callback_url: &str) -> String {
    let hash = Sha256::digest(callback_url.as_bytes());
    format!("{user_id}/{}", crate::ports::hex(&hash))
}

/// The pending sign-ins, and the SAML assertions seen (a replay cache whose rows hold
/// nothing).
const LOGINS: Expiring = Expiring::new(SSO_LOGINS, SSO_LOGINS_BY_EXPIRY);
const SEEN: Expiring = Expiring::new(SSO_SEEN, SSO_SEEN_BY_EXPIRY);

/// Keeps `login` until it is taken or expires. An import replaces the same administrator's
/// earlier one for the same callback URL.
pub fn save(store: &impl Store, login: &PendingLogin) -> ApiResult<()> {
    let mut batch = Batch::new();
    keep(&mut batch, login);
    commit(
        store,
        &batch,
        (ErrorCode::DbInsert, "The sign-in could not be saved."),
    )
}

/// Puts `login` and its indexes in `batch`.
fn keep(batch: &mut Batch, login: &PendingLogin) {
    LOGINS.put(batch, &login.id, login.expires_ms, login);
    if let Purpose::Import { user_id } = &login.purpose {
        SSO_IMPORTS.put_str(batch, &import_key(user_id, &login.callback_url), &login.id);
    }
}

const UNKNOWN: &str = "This sign-in is unknown, expired or already used: start again from the \
                       SSO URL.";

/// Takes the sign-in `id` for good: it is deleted in the commit that checks it is still
/// there, so two callers racing with the same `state` cannot both have it.
pub fn take(store: &impl Store, id: &str, now_ms: u64) -> ApiResult<PendingLogin> {
    LOGINS.take(
        store,
        id,
        now_ms,
        |login: &PendingLogin| login.expires_ms,
        |login, batch| forget_import(store, batch, login),
        (ErrorCode::Auth, UNKNOWN),
    )
}

/// Takes the import that `user_id` started with `callback_url`.
pub fn take_import(
    store: &impl Store,
    user_id: &str,
    callback_url: &str,
    now_ms: u64,
) -> ApiResult<PendingLogin> {
    let id = SSO_IMPORTS
        .get_str(store, &import_key(user_id, callback_url.trim()))?
        .ok_or_else(|| ApiError::new(ErrorCode::Auth, UNKNOWN))?;
    take(store, &id, now_ms)
}

/// Deletes an import's index, unless a newer import of the same administrator and callback
/// took it over.
fn forget_import(store: &impl Store, batch: &mut Batch, login: &PendingLogin) -> ApiResult<()> {
    if let Purpose::Import { user_id } = &login.purpose {
        let key = import_key(user_id, &login.callback_url);
        if SSO_IMPORTS.get_str(store, &key)?.as_deref() == Some(login.id.as_str()) {
            SSO_IMPORTS.delete(batch, &key);
        }
    }
    Ok(())
}

/// Keeps the verified SAML answer of a taken sign-in until `authenticate` redeems it, and
/// remembers the assertion's id until `assertion_expires_ms`, in one commit: an assertion
/// seen before is a replay and is refused.
pub fn answered(
    store: &impl Store,
    login: &PendingLogin,
    assertion_id: &str,
    assertion_expires_ms: u64,
) -> ApiResult<()> {
    let mut batch = Batch::new();
    batch.require_absent(SEEN.key(assertion_id));
    SEEN.put(&mut batch, assertion_id, assertion_expires_ms, &());
    keep(&mut batch, login);
    commit(
        store,
        &batch,
        (
            ErrorCode::Auth,
            "This SAML assertion was used already (a replay): sign in again.",
        ),
    )
}

/// Deletes up to `max` sign-ins and `max` remembered SAML assertions that expired, oldest
/// first (every new sign-in calls this).
pub fn purge_expired(store: &impl Store, now_ms: u64, max: usize) -> ApiResult<()> {
    LOGINS.purge(store, now_ms, max, |bytes, batch| {
        let login: PendingLogin = decode_row(bytes)?;
        forget_import(store, batch, &login)
    })?;
    SEEN.purge(store, now_ms, max, |_, _| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestPorts;

    fn config() -> SsoConfig {
        SsoConfig::new("c1".into(), "a1", Kind::Okta)
    }

    #[test]
    fn a_sign_in_is_taken_once_and_not_after_it_expired() {
        let ports = TestPorts::default();
        let store = &ports.store;
        let login = PendingLogin::new(&ports.rng, &config(), "http://cb", Purpose::SignIn, 1000);
        assert_eq!(login.id.len(), 43);
        assert_ne!(login.id, login.nonce);
        save(store, &login).unwrap();
        assert_eq!(take(store, &login.id, 999).unwrap().nonce, login.nonce);
        assert!(take(store, &login.id, 999).is_err(), "single use");

        let late = PendingLogin::new(&ports.rng, &config(), "http://cb", Purpose::SignIn, 1000);
        save(store, &late).unwrap();
        assert!(take(store, &late.id, 1000).is_err(), "expired");
        assert!(
            take(store, &late.id, 10).is_err(),
            "an expired take still consumed it"
        );
    }

    #[test]
    fn imports_are_found_by_admin_and_callback_and_expired_ones_are_purged() {
        let ports = TestPorts::default();
        let store = &ports.store;
        let purpose = Purpose::Import {
            user_id: "u1".into(),
        };
        let login = PendingLogin::new(&ports.rng, &config(), "http://cb", purpose.clone(), 50);
        save(store, &login).unwrap();
        assert!(take_import(store, "u2", "http://cb", 10).is_err());
        assert!(take_import(store, "u1", "http://other", 10).is_err());
        assert_eq!(
            take_import(store, "u1", "http://cb", 10).unwrap().id,
            login.id
        );

        for expires in [5, 6, 500] {
            let l = PendingLogin::new(&ports.rng, &config(), "http://cb", purpose.clone(), expires);
            save(store, &l).unwrap();
        }
        purge_expired(store, 100, 16).unwrap();
        let left = store.scan(SSO_LOGINS.prefix(), None, 10).unwrap();
        assert_eq!(left.len(), 1, "only the unexpired one is left");
        let left = store.scan(SSO_IMPORTS.prefix(), None, 10).unwrap();
        assert_eq!(left.len(), 1);
    }
}
