//! An account's SSO configurations: at most one of each [`Kind`], the client secret sealed.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ports::{IdpFlavor, OidcClient, Store};
use crate::secrets::SecretBox;
use crate::store::keys::SSO_CONFIGS;
use crate::store::scan_all;
use crate::store::table::decode_row;

/// Which identity provider a configuration names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Okta, over OpenID Connect.
    Okta,
    /// Microsoft Entra ID (Azure AD), over OpenID Connect.
    EntraId,
    /// Any SAML 2.0 identity provider.
    Saml,
}

impl Kind {
    /// In the order a sign-in prefers them when an account has several active.
    pub const ALL: [Kind; 3] = [Kind::Okta, Kind::EntraId, Kind::Saml];

    /// Its part of the store key.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Okta => "okta",
            Kind::EntraId => "entraid",
            Kind::Saml => "saml",
        }
    }

    /// Its name for people.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Okta => "Okta",
            Kind::EntraId => "Entra ID",
            Kind::Saml => "SAML",
        }
    }

    /// The `authProvider` of users who sign in through it.
    pub fn auth_provider(self) -> u32 {
        use crate::model::auth_provider::{ENTRA_ID, OKTA, SAML};
        match self {
            Kind::Okta => OKTA,
            Kind::EntraId => ENTRA_ID,
            Kind::Saml => SAML,
        }
    }

    /// The kind whose users have this `authProvider`.
    pub fn of_auth_provider(provider: u32) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.auth_provider() == provider)
    }

    /// Its OpenID Connect flavour (`None` for SAML).
    pub fn flavor(self) -> Option<IdpFlavor> {
        match self {
            Kind::Okta => Some(IdpFlavor::Okta),
            Kind::EntraId => Some(IdpFlavor::EntraId),
            Kind::Saml => None,
        }
    }
}

/// A stored configuration. OpenID Connect kinds use the client fields, SAML the others.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SsoConfig {
    /// Its id (`Id`).
    pub id: String,
    /// The account it signs users into.
    pub account_id: String,
    /// Which provider.
    pub kind: Kind,
    /// `ClientId`.
    #[serde(default)]
    pub client_id: String,
    /// `ClientSecret`, sealed with the host's secrets key.
    #[serde(default)]
    pub sealed_client_secret: String,
    /// `OpenIdURL`: the provider's discovery document.
    #[serde(default)]
    pub open_id_url: String,
    /// `Certificate`: the SAML identity provider's signing certificate (PEM).
    #[serde(default)]
    pub certificate: String,
    /// `SPEntityId`: this agent's entity id at the SAML identity provider.
    #[serde(default)]
    pub sp_entity_id: String,
    /// `IdPSSOURL`: the SAML identity provider's single sign-on service.
    #[serde(default)]
    pub idp_sso_url: String,
    /// Whether sign-ins may use it.
    pub active: bool,
}

impl SsoConfig {
    /// An active configuration of `kind` with nothing set yet.
    pub fn new(id: String, account_id: &str, kind: Kind) -> SsoConfig {
        SsoConfig {
            id,
            account_id: String::from(account_id),
            kind,
            client_id: String::new(),
            sealed_client_secret: String::new(),
            open_id_url: String::new(),
            certificate: String::new(),
            sp_entity_id: String::new(),
            idp_sso_url: String::new(),
            active: true,
        }
    }

    /// The store key of the `kind` configuration of an account.
    pub fn key(account_id: &str, kind: Kind) -> String {
        format!("{account_id}/{}", kind.slug())
    }

    /// Its OpenID Connect client, the secret opened (OpenID Connect kinds only).
    pub fn oidc_client(&self, secrets: &SecretBox) -> ApiResult<OidcClient> {
        let flavor = self.kind.flavor().ok_or(ApiError::Internal)?;
        let client_secret = secrets.open(&self.sealed_client_secret).ok_or_else(|| {
            ApiError::invalid(format!(
                "This account's {} client secret cannot be decrypted (was the agent's secrets \
                 key replaced?); set it again with the update route.",
                self.kind.label()
            ))
        })?;
        Ok(OidcClient {
            flavor,
            discovery_url: self.open_id_url.clone(),
            client_id: self.client_id.clone(),
            client_secret,
        })
    }
}

/// The account's configuration of `kind`, if any.
pub fn of_account(
    store: &impl Store,
    account_id: &str,
    kind: Kind,
) -> ApiResult<Option<SsoConfig>> {
    SSO_CONFIGS.get(store, &SsoConfig::key(account_id, kind))
}

/// The account's active configuration a sign-in uses: the only one, or the first of
/// [`Kind::ALL`] when several are active.
pub fn active_of_account(store: &impl Store, account_id: &str) -> ApiResult<Option<SsoConfig>> {
    for kind in Kind::ALL {
        if let Some(config) = of_account(store, account_id, kind)?.filter(|c| c.active) {
            return Ok(Some(config));
        }
    }
    Ok(None)
}

/// The ids of the accounts that have an active configuration (few: one row per kind).
pub fn accounts_with_active(store: &impl Store) -> ApiResult<Vec<String>> {
    let mut accounts: Vec<String> = Vec::new();
    scan_all(store, SSO_CONFIGS.prefix(), false, |_, value| {
        let config: SsoConfig = decode_row(value)?;
        if config.active && accounts.last() != Some(&config.account_id) {
            accounts.push(config.account_id);
        }
        Ok(true)
    })?;
    Ok(accounts)
}

/// Checks a URL an identity provider is reached at: HTTPS, or plain HTTP on this machine's
/// loopback (a provider run locally, as in tests).
pub fn check_provider_url(field: &str, url: &str) -> ApiResult<()> {
    crate::json::max_len(field, url, 2048)?;
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| {
            url.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    let https = url.strip_prefix("https://").is_some_and(|rest| {
        rest.split(['/', '?', '#'])
            .next()
            .is_some_and(|host| !host.is_empty())
    });
    if !(https || loopback) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid(format!(
            "'{field}' must be an https:// URL (plain http:// only on this machine's loopback)."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_urls_are_https_or_loopback() {
        for ok in [
            "https://tenant.okta.com/.well-known/openid-configuration",
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]:1/",
        ] {
            assert!(check_provider_url("OpenIdURL", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://tenant.okta.com/x",
            "http://127.0.0.1.evil.com/x",
            "http://localhost.evil.com/",
            "ftp://x",
            "https://",
            "https://a b",
            "",
        ] {
            assert!(check_provider_url("OpenIdURL", bad).is_err(), "{bad}");
        }
    }
}
