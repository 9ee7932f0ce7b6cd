//! Single sign-on: an account's identity provider configurations (Okta and Entra ID over
//! OpenID Connect, SAML 2.0), the sign-ins waiting for a provider's answer, and who a
//! provider's user is in the directory.
//!
//! The protocols themselves (discovery, token exchange, signature checks, directory APIs) are
//! the host's, through the SSO methods of [`IdTokenVerifier`](crate::ports::IdTokenVerifier);
//! the core keeps every single-use value (`state`, `nonce`, PKCE verifier) and decides who
//! signs in.

pub mod config;
pub mod identity;
pub mod login;

pub use config::{Kind, SsoConfig};
