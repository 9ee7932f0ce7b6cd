//! Who is calling: tokens, sessions, passwords, TOTP.

pub mod api_token;
pub mod jwt;
pub(crate) mod reset;
pub(crate) mod session;
pub(crate) mod throttle;
pub(crate) mod totp;

use alloc::borrow::Cow;
use alloc::string::String;

use crate::http::Request;

/// How a route decides who may call it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthPolicy {
    /// No token (sign-up, login, `agent_status`).
    Public,
    /// A valid token, always.
    User,
    /// A valid token of the account's owner or an admin (`DesktopAdmin`, `AccountAdmin`);
    /// other users get 499 `ACCESS`.
    Admin,
    /// Documented as open (`/management/*`, the WebSockets): a token is required in secure
    /// mode; in `--compat` mode a token is used when given.
    Local,
    /// A token is used when given (`reset_password`, which also takes an emailed reset token).
    Optional,
    /// No token, and state-changing requests from any Origin: the SAML assertion consumer,
    /// where an identity provider's page posts the browser's answer across sites. The answer's
    /// signature and its binding to a pending sign-in protect it, not the Origin.
    CrossSite,
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub user_id: String,
    pub account_id: String,
    /// The user's type when the token was issued; no route reads it yet.
    #[allow(dead_code)]
    pub user_type: u32,
    pub session_id: String,
}

/// The token of a request: `Authorization: Bearer` first, then the documented `?token=`.
pub(crate) fn request_token<'a>(req: &Request<'a>) -> Option<Cow<'a, str>> {
    if let Some(auth) = req.header_str("authorization") {
        let (scheme, token) = auth.split_once(' ').unwrap_or((auth, ""));
        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
            return Some(Cow::Borrowed(token.trim()));
        }
    }
    req.query_param("token").filter(|t| !t.is_empty())
}
