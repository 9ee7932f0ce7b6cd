//! Google ID tokens: RS256 signature, issuer, audience and expiry, against a JWKS read from a
//! file or fetched from a URL (Google's own by default) and cached as its `Cache-Control` says.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use click_core::ports::{IdTokenVerifier, IdentityClaims};

use crate::config::GoogleSettings;
use crate::http_client::SharedClient;

pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_JWKS_BYTES: usize = 1024 * 1024;
const UNAVAILABLE: &str = "Google sign-in keys are unavailable.";
const NOT_CONFIGURED: &str = "Google sign-in is not configured on this agent.";

pub struct GoogleVerifier {
    settings: GoogleSettings,
    source: KeySource,
}

enum KeySource {
    None,
    /// Read on every check, so a rotated key file needs no restart.
    File(std::path::PathBuf),
    Url {
        url: String,
        http: SharedClient,
        cached: Mutex<Option<Cached>>,
    },
}

struct Cached {
    keys: Arc<JwkSet>,
    fetched: Instant,
    max_age: Duration,
}

/// URLs the agent fetches keys or identities from (the setting `key`) must be HTTPS; plain
/// HTTP only to a loopback address (tests, local proxies).
pub fn check_https_or_loopback(key: &str, url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{key} must be an https:// URL: {url}"))?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let name = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    if matches!(name, "localhost" | "127.0.0.1" | "[::1]") {
        Ok(())
    } else {
        Err(format!(
            "{key} over plain http is only allowed to a loopback host: {url}"
        ))
    }
}

/// `max-age` of a `Cache-Control` value, bounded to a minute .. a day; an hour when absent.
fn max_age(cache_control: Option<&str>) -> Duration {
    let secs = cache_control
        .and_then(|v| {
            v.split(',')
                .filter_map(|d| d.trim().strip_prefix("max-age="))
                .find_map(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(3600);
    Duration::from_secs(secs.clamp(60, 86_400))
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
    /// A file wins over a URL; with client ids but neither, Google's published keys are used.
    pub fn new(settings: GoogleSettings, http: SharedClient) -> Result<GoogleVerifier, String> {
        let source = match (&settings.jwks_file, &settings.jwks_url) {
            _ if settings.client_ids.is_empty() => KeySource::None,
            (Some(path), _) => KeySource::File(path.clone()),
            (None, url) => {
                let url = url.clone().unwrap_or_else(|| GOOGLE_JWKS_URL.to_string());
                check_https_or_loopback("google.jwks_url", &url)?;
                KeySource::Url {
                    url,
                    http,
                    cached: Mutex::new(None),
                }
            }
        };
        Ok(GoogleVerifier { settings, source })
    }

    /// The key set, and whether it may be refetched when a key id is missing from it.
    fn keys(&self, refresh: bool) -> Result<Arc<JwkSet>, &'static str> {
        match &self.source {
            KeySource::None => Err(NOT_CONFIGURED),
            KeySource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    tracing::error!("cannot read google.jwks_file {}: {e}", path.display());
                    UNAVAILABLE
                })?;
                serde_json::from_str(&text)
                    .map(Arc::new)
                    .map_err(|_| UNAVAILABLE)
            }
            KeySource::Url { url, http, cached } => {
                let mut cached = cached.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(c) = cached.as_ref() {
                    let age = c.fetched.elapsed();
                    // A token signed by an unknown key may follow a rotation: refetch, but not
                    // more often than configured, whatever clients send.
                    let min_refetch = Duration::from_secs(self.settings.jwks_min_refetch_secs);
                    if age < c.max_age && !(refresh && age >= min_refetch) {
                        return Ok(c.keys.clone());
                    }
                }
                match crate::ports::wait_for(fetch(http, url)) {
                    Ok(fresh) => Ok(cached.insert(fresh).keys.clone()),
                    Err(e) => {
                        tracing::error!("cannot fetch google.jwks_url {url}: {e}");
                        // Stale keys beat none while Google is unreachable.
                        cached.as_ref().map(|c| c.keys.clone()).ok_or(UNAVAILABLE)
                    }
                }
            }
        }
    }
}

async fn fetch(http: &SharedClient, url: &str) -> Result<Cached, String> {
    let mut response = http
        .get()?
        .get(url)
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.to_string())?;
    let max_age = max_age(
        response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
    );
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!("the key set is over {MAX_JWKS_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let keys: JwkSet = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    Ok(Cached {
        keys: Arc::new(keys),
        fetched: Instant::now(),
        max_age,
    })
}

impl IdTokenVerifier for GoogleVerifier {
    fn verify_google(&self, id_token: &str) -> Result<IdentityClaims, &'static str> {
        const INVALID: &str = "The Google ID token is invalid or expired.";
        let header = decode_header(id_token).map_err(|_| INVALID)?;
        if header.alg != Algorithm::RS256 {
            return Err(INVALID);
        }
        let find = |keys: &JwkSet| {
            match &header.kid {
                Some(kid) => keys.find(kid),
                None if keys.keys.len() == 1 => keys.keys.first(),
                None => None,
            }
            .and_then(|jwk| DecodingKey::from_jwk(jwk).ok())
        };
        let key = match find(&*self.keys(false)?) {
            Some(key) => key,
            // Google rotates keys: an unknown key id may be a new one.
            None => find(&*self.keys(true)?).ok_or(INVALID)?,
        };
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
