//! Stored sessions: a token is good while its session row exists, so logout revokes at once.

use alloc::borrow::Cow;
use alloc::string::String;
use serde::{Deserialize, Serialize};

use super::Caller;
use super::jwt::Claims;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::model::User;
use crate::ports::{Clock, Ports, RngExt, Store, TokenSigner};
use crate::store::keys::{SESSIONS, USER_SESSIONS, USERS};
use crate::store::{Batch, scan_all};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub user_id: String,
    pub account_id: String,
    pub created_ms: u64,
    pub expires_ms: u64,
}

const INVALID: &str = "The token is missing, invalid, expired or revoked.";

fn user_session_key(user_id: &str, session_id: &str) -> String {
    alloc::format!("{user_id}/{session_id}")
}

/// The agent's sessions: opened by a login, checked on every call, revoked by a logout, a
/// password change or a user's removal.
pub struct Sessions<'a, P: Ports> {
    ports: &'a P,
    ttl_secs: u64,
}

impl<'a, P: Ports> Sessions<'a, P> {
    /// Sessions over the host's ports; new ones last `ttl_secs`.
    pub fn new(ports: &'a P, ttl_secs: u64) -> Sessions<'a, P> {
        Sessions { ports, ttl_secs }
    }

    /// Opens a session for `user` in `batch` and returns its signed token.
    pub fn open(&self, batch: &mut Batch, user: &User) -> String {
        let now = self.ports.clock().now_ms();
        let session_id = self.ports.rng().uuid();
        let expires_ms = now + self.ttl_secs * 1000;
        let session = Session {
            user_id: user.id.clone(),
            account_id: user.account_id.clone(),
            created_ms: now,
            expires_ms,
        };
        SESSIONS.put(batch, &session_id, &session);
        USER_SESSIONS.put_str(batch, &user_session_key(&user.id, &session_id), "");
        self.ports.signer().sign(&Claims {
            sub: user.id.clone(),
            acc: user.account_id.clone(),
            typ: user.user_type,
            sid: session_id,
            iat: now / 1000,
            exp: expires_ms / 1000,
        })
    }

    /// Opens a session for a user who proved who they are, in one transaction with `batch`
    /// (which may create or link the user), dropping the user's expired sessions.
    pub fn sign_in(&self, mut batch: Batch, user: &User) -> ApiResult<String> {
        self.revoke_expired(&mut batch, &user.id)?;
        let token = self.open(&mut batch, user);
        crate::store::table::commit(
            self.ports.store(),
            &batch,
            (ErrorCode::Session, "The login session is no longer valid."),
        )?;
        Ok(token)
    }

    /// Checks a token: signature, expiry, and that its session still exists.
    pub fn authenticate(&self, token: &str) -> ApiResult<Caller> {
        if super::api_token::is_api_token(token) {
            let now = self.ports.clock().now_ms();
            return super::api_token::authenticate(self.ports.store(), token, now);
        }
        let claims = self
            .ports
            .signer()
            .verify(token)
            .ok_or(ApiError::Unauthorized(INVALID))?;
        let now = self.ports.clock().now_ms();
        if claims.exp * 1000 <= now {
            return Err(ApiError::Unauthorized(INVALID));
        }
        // Every authenticated request reads its session: borrow from the stored bytes.
        #[derive(Deserialize)]
        struct Check<'a> {
            #[serde(borrow)]
            user_id: Cow<'a, str>,
            expires_ms: u64,
        }
        let row = self
            .ports
            .store()
            .get(&SESSIONS.key(&claims.sid))?
            .ok_or(ApiError::Unauthorized(INVALID))?;
        let session: Check<'_> =
            serde_json::from_slice(row.as_ref()).map_err(|_| ApiError::Internal)?;
        if session.expires_ms <= now || session.user_id != claims.sub {
            return Err(ApiError::Unauthorized(INVALID));
        }
        Ok(Caller {
            user_id: claims.sub,
            account_id: claims.acc,
            user_type: claims.typ,
            session_id: claims.sid,
        })
    }

    /// Revokes the session behind `token`, if it names one. Expired tokens can be revoked too.
    pub fn revoke_token(&self, token: &str) -> ApiResult<()> {
        let Some(claims) = self.ports.signer().verify(token) else {
            return Ok(());
        };
        let mut batch = Batch::new();
        SESSIONS.delete(&mut batch, &claims.sid);
        USER_SESSIONS.delete(&mut batch, &user_session_key(&claims.sub, &claims.sid));
        self.ports
            .store()
            .commit(&batch)
            .map_err(|_| ApiError::Internal)
    }

    /// Adds to `batch` the deletion of every session of `user_id` except `keep`.
    pub fn revoke_all(
        &self,
        batch: &mut Batch,
        user_id: &str,
        keep: Option<&str>,
    ) -> ApiResult<()> {
        self.prune_sessions(batch, user_id, |sid, _| Some(sid) != keep)
    }

    /// Adds to `batch` the deletion of the user's expired sessions, so that they do not pile up.
    pub fn revoke_expired(&self, batch: &mut Batch, user_id: &str) -> ApiResult<()> {
        let now = self.ports.clock().now_ms();
        self.prune_sessions(batch, user_id, |_, session| {
            session.is_none_or(|s| s.expires_ms <= now)
        })
    }

    fn prune_sessions(
        &self,
        batch: &mut Batch,
        user_id: &str,
        doomed: impl Fn(&str, Option<&Session>) -> bool,
    ) -> ApiResult<()> {
        let store = self.ports.store();
        let prefix = USER_SESSIONS.key(&alloc::format!("{user_id}/"));
        scan_all(store, &prefix, false, |key, _| {
            let sid = core::str::from_utf8(&key[prefix.len()..]).unwrap_or("");
            let session: Option<Session> = SESSIONS.get(store, sid)?;
            if doomed(sid, session.as_ref()) {
                SESSIONS.delete(batch, sid);
                batch.delete(key.to_vec());
            }
            Ok(true)
        })?;
        Ok(())
    }
}

/// The user behind a caller; a deleted user's tokens stop working.
pub fn user_of(store: &impl Store, caller: &Caller) -> ApiResult<User> {
    USERS
        .get(store, &caller.user_id)?
        .ok_or(ApiError::Unauthorized(INVALID))
}
