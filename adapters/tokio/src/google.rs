//! Google ID tokens: RS256 signature, issuer, audience and expiry, against a configured JWKS.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use click_core::ports::{IdTokenVerifier, IdentityClaims};

use crate::config::GoogleSettings;

pub struct GoogleVerifier {
    settings: GoogleSettings,
}

#[derive(Deserialize)]
struct GoogleClaims {
    sub: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    email_verified: EmailVerified,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
}

/// Google has sent `email_verified` both as a boolean and as a string.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum EmailVerified {
    Bool(bool),
    Text(String),
    #[default]
    Missing,
}

impl GoogleVerifier {
    pub fn new(settings: GoogleSettings) -> GoogleVerifier {
        GoogleVerifier { settings }
    }

    /// Read on every check, so a rotated key file needs no restart.
    fn keys(&self) -> Result<JwkSet, &'static str> {
        let path = self
            .settings
            .jwks_file
            .as_ref()
            .ok_or("Google sign-in is not configured on this agent.")?;
        let text = std::fs::read_to_string(path).map_err(|e| {
            tracing::error!("cannot read google.jwks_file {}: {e}", path.display());
            "Google sign-in keys are unavailable."
        })?;
        serde_json::from_str(&text).map_err(|_| "Google sign-in keys are unavailable.")
    }
}

impl IdTokenVerifier for GoogleVerifier {
    fn verify_google(&self, id_token: &str) -> Result<IdentityClaims, &'static str> {
        const INVALID: &str = "The Google ID token is invalid or expired.";
        if self.settings.client_ids.is_empty() {
            return Err("Google sign-in is not configured on this agent.");
        }
        let keys = self.keys()?;
        let header = decode_header(id_token).map_err(|_| INVALID)?;
        if header.alg != Algorithm::RS256 {
            return Err(INVALID);
        }
        let jwk = match &header.kid {
            Some(kid) => keys.find(kid),
            None if keys.keys.len() == 1 => keys.keys.first(),
            None => None,
        }
        .ok_or(INVALID)?;
        let key = DecodingKey::from_jwk(jwk).map_err(|_| INVALID)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&self.settings.client_ids);
        validation.set_issuer(&self.settings.issuers);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = decode::<GoogleClaims>(id_token, &key, &validation)
            .map_err(|_| INVALID)?
            .claims;
        let email_verified = match claims.email_verified {
            EmailVerified::Bool(b) => b,
            EmailVerified::Text(s) => s.eq_ignore_ascii_case("true"),
            EmailVerified::Missing => false,
        };
        Ok(IdentityClaims {
            subject: claims.sub,
            email: claims.email,
            email_verified,
            given_name: claims.given_name,
            family_name: claims.family_name,
        })
    }
}
