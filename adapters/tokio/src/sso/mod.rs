//! Third-party identities: Google ID tokens (`google.rs`) and the accounts' single sign-on
//! providers, behind the core's one `IdTokenVerifier` port.

mod certificate;
mod directory;
mod oidc;
mod saml;
mod xmldsig;

use std::time::Duration;

use click_core::ports::{
    CertificateInfo, DirectoryUser, IdTokenVerifier, IdentityClaims, IdpError, IdpFlavor,
    OidcClient, OidcRedeem, OidcStart, SamlAssertion, SamlExpect, SamlRequest, SsoIdentity,
};

use crate::config::SsoSettings;
use crate::google::{GoogleVerifier, check_https_or_loopback};

/// The desktop's identity port: Google, and OpenID Connect providers.
pub struct Identities {
    google: GoogleVerifier,
    oidc: oidc::Providers,
    http: crate::http_client::NoRedirects,
    graph_url: String,
}

impl Identities {
    pub fn new(google: GoogleVerifier, sso: &SsoSettings) -> Result<Identities, String> {
        check_https_or_loopback("sso.graph_url", &sso.graph_url)?;
        let http =
            crate::http_client::NoRedirects::new(Duration::from_secs(sso.timeout_secs.max(1)))?;
        Ok(Identities {
            google,
            oidc: oidc::Providers::new(http.clone()),
            http,
            graph_url: sso.graph_url.clone(),
        })
    }
}

impl IdTokenVerifier for Identities {
    fn verify_google(&self, id_token: &str) -> Result<IdentityClaims, &'static str> {
        self.google.verify_google(id_token)
    }

    async fn check_oidc(&self, client: &OidcClient) -> Result<(), IdpError> {
        self.oidc.check(client).await
    }

    async fn oidc_authorization_url(
        &self,
        client: &OidcClient,
        start: &OidcStart<'_>,
    ) -> Result<String, IdpError> {
        self.oidc.authorization_url(client, start).await
    }

    async fn oidc_redeem(
        &self,
        client: &OidcClient,
        redeem: &OidcRedeem<'_>,
    ) -> Result<SsoIdentity, IdpError> {
        self.oidc.redeem(client, redeem).await
    }

    async fn oidc_directory(
        &self,
        client: &OidcClient,
        access_token: &str,
    ) -> Result<Vec<DirectoryUser>, IdpError> {
        let http = self.http.client();
        match client.flavor {
            IdpFlavor::Okta => directory::okta(http, &client.discovery_url, access_token).await,
            IdpFlavor::EntraId => directory::graph(http, &self.graph_url, access_token).await,
        }
    }

    fn check_certificate(&self, certificate: &str) -> Result<CertificateInfo, IdpError> {
        certificate::check(certificate)
    }

    fn saml_request_url(&self, request: &SamlRequest<'_>) -> Result<String, IdpError> {
        saml::request_url(request)
    }

    fn saml_verify(
        &self,
        certificate: &str,
        response: &str,
        expect: &SamlExpect<'_>,
    ) -> Result<SamlAssertion, IdpError> {
        saml::verify(certificate, response, expect)
    }
}
