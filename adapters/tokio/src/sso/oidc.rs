//! OpenID Connect with the `openidconnect` crate: discovery (cached), the authorization URL
//! with PKCE, `state` and `nonce`, and the code exchange with the ID token checked against
//! the provider's keys (signature with an asymmetric algorithm, issuer, audience, expiry,
//! nonce).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use click_core::ports::{IdpError, IdpFlavor, OidcClient, OidcRedeem, OidcStart, SsoIdentity};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;

use crate::http_client::{NoRedirects, error_chain};

/// The suffix of a discovery document's URL (OpenID Connect Discovery 1.0, section 4).
const WELL_KNOWN: &str = "/.well-known/openid-configuration";
/// How long a provider's discovery document and keys are reused.
const METADATA_TTL: Duration = Duration::from_secs(300);
/// ID tokens signed otherwise (`none`, or HMAC with the client secret) are refused.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// The issuer a discovery URL names (the URL without its well-known suffix; an issuer URL
/// itself is taken too).
fn issuer_of(discovery_url: &str) -> Result<IssuerUrl, IdpError> {
    let issuer = discovery_url
        .trim()
        .strip_suffix(WELL_KNOWN)
        .unwrap_or(discovery_url.trim());
    IssuerUrl::new(issuer.to_string())
        .map_err(|e| IdpError::Invalid(format!("'{discovery_url}' is not a URL: {e}")))
}

/// A client made from discovery: its authorization endpoint set, its token endpoint if the
/// provider names one.
type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

struct Cached {
    metadata: Arc<CoreProviderMetadata>,
    fetched: Instant,
}

/// OpenID Connect providers, their metadata cached per discovery URL.
pub struct Providers {
    http: NoRedirects,
    cache: Mutex<HashMap<String, Cached>>,
}

impl Providers {
    pub fn new(http: NoRedirects) -> Providers {
        Providers {
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The provider's metadata and keys: cached, or fetched when `fresh` or stale.
    async fn metadata(
        &self,
        url: &str,
        fresh: bool,
    ) -> Result<Arc<CoreProviderMetadata>, IdpError> {
        if !fresh {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = cache
                .get(url)
                .filter(|c| c.fetched.elapsed() < METADATA_TTL)
            {
                return Ok(c.metadata.clone());
            }
        }
        let issuer = issuer_of(url)?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                IdpError::Unreachable(format!("its discovery document: {}", error_chain(&e)))
            })?;
        let metadata = Arc::new(metadata);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, c| c.fetched.elapsed() < METADATA_TTL);
        cache.insert(
            url.to_string(),
            Cached {
                metadata: metadata.clone(),
                fetched: Instant::now(),
            },
        );
        Ok(metadata)
    }

    fn client(metadata: &CoreProviderMetadata, c: &OidcClient) -> Client {
        CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(c.client_id.clone()),
            Some(ClientSecret::new(c.client_secret.clone())),
        )
    }

    /// The client of `c` (metadata cached) that sends the browser back to `redirect_url`.
    async fn client_to(&self, c: &OidcClient, redirect_url: &str) -> Result<Client, IdpError> {
        let metadata = self.metadata(&c.discovery_url, false).await?;
        let redirect = RedirectUrl::new(redirect_url.to_string())
            .map_err(|e| IdpError::Invalid(format!("the callback URL: {e}")))?;
        Ok(Self::client(&metadata, c).set_redirect_uri(redirect))
    }

    /// Discovery works and names what a code flow needs.
    pub async fn check(&self, c: &OidcClient) -> Result<(), IdpError> {
        let metadata = self.metadata(&c.discovery_url, true).await?;
        if metadata.token_endpoint().is_none() {
            return Err(IdpError::Invalid(
                "its discovery document names no token endpoint".into(),
            ));
        }
        if metadata.jwks().keys().is_empty() {
            return Err(IdpError::Invalid(
                "its key set (jwks_uri) has no keys to check ID tokens with".into(),
            ));
        }
        Ok(())
    }

    pub async fn authorization_url(
        &self,
        c: &OidcClient,
        start: &OidcStart<'_>,
    ) -> Result<String, IdpError> {
        let client = self.client_to(c, start.redirect_url).await?;
        let (state, nonce) = (start.state.to_string(), start.nonce.to_string());
        let verifier = PkceCodeVerifier::new(start.code_verifier.to_string());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in scopes(c.flavor, start.directory) {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        Ok(request.url().0.to_string())
    }

    pub async fn redeem(
        &self,
        c: &OidcClient,
        redeem: &OidcRedeem<'_>,
    ) -> Result<SsoIdentity, IdpError> {
        let client = self.client_to(c, redeem.redirect_url).await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(redeem.code.to_string()))
            .map_err(|e| IdpError::Invalid(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(redeem.code_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                IdpError::Refused(format!("the code exchange failed: {}", error_chain(&e)))
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| IdpError::Refused("the token response has no ID token".into()))?;
        let nonce = Nonce::new(redeem.nonce.to_string());
        let checked = match verify(&client, id_token, &nonce) {
            // Keys rotate: an unknown key is looked up once more in a fresh key set.
            Err(e) if e.contains("ignature") => {
                let fresh = self.metadata(&c.discovery_url, true).await?;
                verify(&Self::client(&fresh, c), id_token, &nonce)
            }
            other => other,
        };
        let claims = checked.map_err(IdpError::Refused)?;
        Ok(identity(
            c.flavor,
            claims,
            id_token,
            tokens.access_token().secret(),
        ))
    }
}

/// What an authorization request asks for. Okta names groups in ID tokens for the `groups`
/// scope; Entra ID always does when the app registration asks for group claims. An import
/// also asks for reading the directory.
fn scopes(flavor: IdpFlavor, directory: bool) -> Vec<&'static str> {
    let mut out = vec!["email", "profile"];
    match (flavor, directory) {
        (IdpFlavor::Okta, false) => out.push("groups"),
        (IdpFlavor::Okta, true) => out.extend(["groups", "okta.users.read", "okta.groups.read"]),
        (IdpFlavor::EntraId, false) => {}
        (IdpFlavor::EntraId, true) => out.extend([
            "https://graph.microsoft.com/User.Read.All",
            "https://graph.microsoft.com/GroupMember.Read.All",
        ]),
    }
    out
}

/// The standard claims we read, after the crate checked the token.
struct Checked {
    subject: String,
    email: String,
    preferred_username: String,
    given_name: String,
    family_name: String,
}

fn verify(client: &Client, id_token: &CoreIdToken, nonce: &Nonce) -> Result<Checked, String> {
    let verifier = client.id_token_verifier().set_allowed_algs(ALLOWED_ALGS);
    let claims = id_token
        .claims(&verifier, nonce)
        .map_err(|e| format!("the ID token was refused: {}", error_chain(&e)))?;
    Ok(Checked {
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()).unwrap_or_default(),
        preferred_username: (claims.preferred_username())
            .map(|u| u.to_string())
            .unwrap_or_default(),
        given_name: (claims.given_name())
            .and_then(|c| c.get(None))
            .map(|v| v.to_string())
            .unwrap_or_default(),
        family_name: (claims.family_name())
            .and_then(|c| c.get(None))
            .map(|v| v.to_string())
            .unwrap_or_default(),
    })
}

/// Claims beyond the standard ones, read from the payload of the token the crate verified.
#[derive(Deserialize, Default)]
struct GroupClaims {
    #[serde(default)]
    groups: Vec<String>,
}

fn identity(
    flavor: IdpFlavor,
    checked: Checked,
    id_token: &CoreIdToken,
    access_token: &str,
) -> SsoIdentity {
    let text = id_token.to_string();
    let payload = text.split('.').nth(1).unwrap_or("");
    let extra: GroupClaims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    // Entra ID's `email` is optional and unverified; its sign-in name is the UPN.
    let username = match flavor {
        IdpFlavor::EntraId if !checked.preferred_username.is_empty() => {
            checked.preferred_username.clone()
        }
        _ if !checked.email.is_empty() => checked.email.clone(),
        _ => checked.preferred_username.clone(),
    };
    SsoIdentity {
        subject: checked.subject,
        username,
        email: checked.email,
        given_name: checked.given_name,
        family_name: checked.family_name,
        groups: extra.groups,
        access_token: access_token.to_string(),
    }
}
