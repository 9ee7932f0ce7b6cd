//! Connecting Dropbox, Box, OneDrive and Google Drive accounts over OAuth 2.0 with the
//! `oauth2` crate: the authorization URL (code flow, PKCE S256, `state`) and the code
//! exchange, then the provider's own "who am I" call to name the account. Client ids and
//! secrets come from `[oauth.<provider>]`; every endpoint is configurable (how the tests reach
//! their local stand-ins).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use click_core::cloud::account::Authorization;
use click_core::cloud::cloud_type;
use click_core::ports::{OAuthGrant, OAuthRedeem, OAuthStart, StorageError};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenResponse, TokenUrl,
};
use serde_json::Value;

use crate::config::{OAuthApp, OAuthSettings};
use crate::http_client::{NoRedirects, error_chain};

/// A provider's endpoints and what its authorization requests need.
struct Provider {
    /// Its `[oauth.<key>]` section.
    key: &'static str,
    auth_url: &'static str,
    token_url: &'static str,
    /// The base of its API, where the account is asked who it is.
    api_url: &'static str,
    /// Where file bytes go up (and, for Dropbox, come down), where that is another host.
    content_url: &'static str,
    scopes: &'static [&'static str],
    /// Parameters that get a refresh token (offline access).
    extra: &'static [(&'static str, &'static str)],
}

fn provider(cloud_type: u32) -> Result<Provider, StorageError> {
    Ok(match cloud_type {
        cloud_type::DROPBOX => Provider {
            key: "dropbox",
            auth_url: "https://www.dropbox.com/oauth2/authorize",
            token_url: "https://api.dropboxapi.com/oauth2/token",
            api_url: "https://api.dropboxapi.com",
            content_url: "https://content.dropboxapi.com",
            scopes: &[
                "account_info.read",
                "files.metadata.read",
                "files.content.read",
                "files.content.write",
            ],
            extra: &[("token_access_type", "offline")],
        },
        cloud_type::BOX => Provider {
            key: "box",
            auth_url: "https://account.box.com/api/oauth2/authorize",
            token_url: "https://api.box.com/oauth2/token",
            api_url: "https://api.box.com",
            content_url: "https://upload.box.com/api",
            scopes: &[],
            extra: &[],
        },
        cloud_type::ONEDRIVE => Provider {
            key: "onedrive",
            auth_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
            token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            api_url: "https://graph.microsoft.com",
            content_url: "",
            scopes: &["offline_access", "Files.ReadWrite.All", "User.Read"],
            extra: &[],
        },
        cloud_type::GOOGLE_DRIVE => Provider {
            key: "googledrive",
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
            token_url: "https://oauth2.googleapis.com/token",
            api_url: "https://www.googleapis.com",
            content_url: "",
            scopes: &["https://www.googleapis.com/auth/drive"],
            extra: &[("access_type", "offline"), ("prompt", "consent")],
        },
        _ => return Err(StorageError::Unsupported),
    })
}

/// The OAuth apps the agent is registered as, and the access tokens of connected accounts.
pub struct OAuthApps {
    settings: OAuthSettings,
    http: NoRedirects,
    /// Access tokens by cloud account (its client cache key), until shortly before they expire.
    tokens: Mutex<HashMap<String, (String, Instant)>>,
    /// The providers' upload sessions in progress.
    pub uploads: super::upload_session::Sessions,
    /// Box's uploads in progress (their progress holds more).
    pub box_uploads: super::boxcom::Uploads,
    /// Refresh tokens providers replaced (Box does at each refresh), by client cache key: the
    /// newest wins over the one a call was given.
    rotated: Mutex<HashMap<String, String>>,
    /// One refresh at a time per account: a rotating provider takes each refresh token once.
    refreshing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Where what is learnt of an account's authorization is recorded (the store).
    record: OnceLock<RecordAuthorization>,
}

/// Records what a refresh learnt of the authorization of the account of a client cache key:
/// a replaced refresh token (kept for the next start), a refusal, or that it works.
pub type RecordAuthorization = Box<dyn Fn(&str, Authorization<'_>) + Send + Sync>;

/// 429 answers waited out before a call gives up.
const RATE_LIMIT_RETRIES: u32 = 3;
/// The longest `Retry-After` honoured; longer ones fail the call with the provider's reason.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A cloud account connected over OAuth, as its calls need it.
pub struct Connected {
    pub cloud_type: u32,
    pub refresh_token: String,
    /// Its clients' cache key (access tokens are cached under it).
    pub cache_key: String,
    pub http: reqwest::Client,
    /// What its provider's refusals mean.
    pub refusal: Refusal,
}

/// What a refused call means (the kind of failure the core reports, in the provider's
/// words), from the answer's status and body.
pub type Refusal = fn(u16, &str) -> StorageError;

impl Connected {
    pub fn new(
        target: &click_core::ports::CloudTarget,
        cloud_type: u32,
        http: reqwest::Client,
        refusal: Refusal,
    ) -> Connected {
        Connected {
            cloud_type,
            refresh_token: target.secret_key.clone(),
            cache_key: target.cache_key.clone(),
            http,
            refusal,
        }
    }

    /// The failure a refused answer means.
    pub async fn refused(&self, response: reqwest::Response) -> StorageError {
        let status = response.status().as_u16();
        (self.refusal)(status, &response.text().await.unwrap_or_default())
    }
}

/// An access token is fetched again this long before the provider said it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// A URL of the configuration, or the provider's default.
fn or_default<'a>(configured: &'a str, default: &'a str) -> &'a str {
    if configured.trim().is_empty() {
        default
    } else {
        configured.trim()
    }
}

fn invalid(e: impl std::fmt::Display) -> StorageError {
    StorageError::Invalid(e.to_string())
}

impl OAuthApps {
    pub fn new(settings: OAuthSettings, http: NoRedirects) -> OAuthApps {
        OAuthApps {
            settings,
            http,
            tokens: Mutex::new(HashMap::new()),
            uploads: Default::default(),
            box_uploads: Default::default(),
            rotated: Mutex::default(),
            refreshing: Mutex::default(),
            record: OnceLock::new(),
        }
    }

    /// Sets where what refreshes learn is recorded (once, at start).
    pub fn record_authorizations(&self, record: RecordAuthorization) {
        let _ = self.record.set(record);
    }

    fn learnt(&self, cache_key: &str, what: Authorization<'_>) {
        if let Some(record) = self.record.get() {
            record(cache_key, what);
        }
    }

    /// Sends the request `build` makes with the account's access token: again with a fresh
    /// token after a 401, and again after each 429 once its `Retry-After` has passed. Any
    /// other answer is the caller's to read, refusals included.
    pub async fn send(
        &self,
        account: &Connected,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, StorageError> {
        let label = cloud_type::name(account.cloud_type);
        let (mut refused, mut limited) = (None::<String>, 0);
        loop {
            let token = self
                .access_token(
                    account.cloud_type,
                    &account.refresh_token,
                    &account.cache_key,
                    refused.as_deref(),
                )
                .await?;
            let response = build(&token)
                .send()
                .await
                .map_err(super::transport_failed)?;
            match response.status().as_u16() {
                401 if refused.is_none() => refused = Some(token),
                429 if limited < RATE_LIMIT_RETRIES => {
                    let wait = retry_after(&response);
                    if wait > MAX_RETRY_AFTER {
                        return Err(StorageError::Failed(format!(
                            "{label} limits the rate: retry after {} s",
                            wait.as_secs()
                        )));
                    }
                    limited += 1;
                    tokio::time::sleep(wait).await;
                }
                _ => return Ok(response),
            }
        }
    }

    /// Sends the call `build` makes (with the account's client and access token, as [`send`]
    /// does); an answer other than a success or a redirect is the failure it means.
    ///
    /// [`send`]: OAuthApps::send
    pub async fn call(
        &self,
        account: &Connected,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, StorageError> {
        let response = self
            .send(account, |token| build(&account.http, token))
            .await?;
        let status = response.status();
        if status.is_success() || status.is_redirection() {
            return Ok(response);
        }
        Err(account.refused(response).await)
    }

    /// [`call`](OAuthApps::call), and the answer's JSON.
    pub async fn json(
        &self,
        account: &Connected,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<Value, StorageError> {
        let response = self.call(account, build).await?;
        let bytes = response.bytes().await.map_err(super::transport_failed)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            StorageError::Failed(format!("{}: {e}", cloud_type::name(account.cloud_type)))
        })
    }

    /// POSTs `body` as JSON with [`json`](OAuthApps::json); the answer's JSON.
    pub async fn post_json(
        &self,
        account: &Connected,
        url: &str,
        body: &Value,
    ) -> Result<Value, StorageError> {
        let body = body.to_string();
        self.json(account, |http, token| {
            http.post(url)
                .bearer_auth(token)
                .header("Content-Type", "application/json")
                .body(body.clone())
        })
        .await
    }

    /// The base of the provider's API (configured, or its own).
    pub fn api_url(&self, cloud_type: u32) -> String {
        self.url(cloud_type, |app| &app.api_url, |p| p.api_url)
    }

    /// The base of the provider's content host (configured, or its own).
    pub fn content_url(&self, cloud_type: u32) -> String {
        self.url(cloud_type, |app| &app.content_url, |p| p.content_url)
    }

    fn url(
        &self,
        cloud_type: u32,
        configured: impl Fn(&OAuthApp) -> &String,
        default: impl Fn(&Provider) -> &'static str,
    ) -> String {
        let Ok(p) = provider(cloud_type) else {
            return String::new();
        };
        or_default(configured(self.app(p.key)), default(&p))
            .trim_end_matches('/')
            .to_string()
    }

    /// An access token for the account whose refresh token is `refresh_token`: the cached one
    /// while it is good and is not the one the provider just `refused`, else a new one.
    pub async fn access_token(
        &self,
        cloud_type: u32,
        refresh_token: &str,
        cache_key: &str,
        refused: Option<&str>,
    ) -> Result<String, StorageError> {
        let usable = || {
            self.cached(cache_key)
                .filter(|t| Some(t.as_str()) != refused)
        };
        if let Some(token) = usable() {
            return Ok(token);
        }
        let gate = lock(&self.refreshing)
            .entry(cache_key.to_string())
            .or_default()
            .clone();
        let _one_at_a_time = gate.lock().await;
        // Another call refreshed while this one waited: its token is the fresh one.
        if let Some(token) = usable() {
            return Ok(token);
        }
        let refresh_token = lock(&self.rotated)
            .get(cache_key)
            .cloned()
            .unwrap_or_else(|| refresh_token.to_string());
        // Redirects play no part in a refresh; any absolute URL satisfies the client.
        let (_, _, client) = self.client(cloud_type, "http://127.0.0.1/")?;
        let label = cloud_type::name(cloud_type);
        // On a task of its own: the crate's future is not Sync, and readers of streamed
        // bodies (which may refresh a token) must be.
        let http = self.http.clone();
        let refresh = RefreshToken::new(refresh_token.clone());
        let exchange = tokio::spawn(async move {
            client
                .exchange_refresh_token(&refresh)
                .request_async(&http)
                .await
        });
        let tokens = exchange
            .await
            .map_err(|e| StorageError::Failed(e.to_string()))?
            .map_err(|e| match e {
                oauth2::RequestTokenError::ServerResponse(r) => {
                    self.learnt(cache_key, Authorization::Revoked);
                    StorageError::Denied(format!(
                        "{label} no longer accepts this account's authorization ({}): connect \
                         the account again",
                        r.error()
                    ))
                }
                other => StorageError::Failed(format!(
                    "{label}'s token endpoint: {}",
                    error_chain(&other)
                )),
            })?;
        match tokens.refresh_token().map(|t| t.secret().clone()) {
            Some(new) if new != refresh_token => {
                lock(&self.rotated).insert(cache_key.to_string(), new.clone());
                let rotated = Authorization::Rotated {
                    old: &refresh_token,
                    new: &new,
                };
                self.learnt(cache_key, rotated);
            }
            _ => self.learnt(cache_key, Authorization::Working),
        }
        let token = tokens.access_token().secret().clone();
        let lifetime = tokens.expires_in().unwrap_or(Duration::from_secs(3600));
        let until = Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN);
        let mut cache = lock(&self.tokens);
        cache.retain(|_, (_, u)| *u > Instant::now());
        cache.insert(cache_key.to_string(), (token.clone(), until));
        Ok(token)
    }

    /// The access token cached for `cache_key`, while it is good.
    fn cached(&self, cache_key: &str) -> Option<String> {
        let tokens = lock(&self.tokens);
        tokens
            .get(cache_key)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(token, _)| token.clone())
    }

    fn app(&self, key: &str) -> &OAuthApp {
        match key {
            "dropbox" => &self.settings.dropbox,
            "box" => &self.settings.r#box,
            "onedrive" => &self.settings.onedrive,
            _ => &self.settings.googledrive,
        }
    }

    /// The provider, its configured app, and the client for `redirect_url`.
    fn client(
        &self,
        cloud_type: u32,
        redirect_url: &str,
    ) -> Result<(Provider, &OAuthApp, ConfiguredClient), StorageError> {
        let p = provider(cloud_type)?;
        let app = self.app(p.key);
        for (name, value) in [
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
        ] {
            if value.trim().is_empty() {
                return Err(StorageError::Invalid(format!(
                    "[oauth.{}] {name} is not set in the agent's configuration: register the \
                     agent as an app at {} and set it",
                    p.key,
                    cloud_type::name(cloud_type)
                )));
            }
        }
        let client = BasicClient::new(ClientId::new(app.client_id.trim().into()))
            .set_client_secret(ClientSecret::new(app.client_secret.trim().into()))
            .set_auth_uri(
                AuthUrl::new(or_default(&app.auth_url, p.auth_url).into()).map_err(invalid)?,
            )
            .set_token_uri(
                TokenUrl::new(or_default(&app.token_url, p.token_url).into()).map_err(invalid)?,
            )
            .set_redirect_uri(RedirectUrl::new(redirect_url.into()).map_err(invalid)?);
        Ok((p, app, client))
    }

    pub fn authorization_url(&self, start: &OAuthStart<'_>) -> Result<String, StorageError> {
        let (p, _, client) = self.client(start.cloud_type, start.redirect_url)?;
        let verifier = PkceCodeVerifier::new(start.code_verifier.to_string());
        let state = start.state.to_string();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier));
        for scope in p.scopes {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        for (name, value) in p.extra {
            request = request.add_extra_param(*name, *value);
        }
        Ok(request.url().0.to_string())
    }

    pub async fn redeem(&self, redeem: &OAuthRedeem<'_>) -> Result<OAuthGrant, StorageError> {
        let (p, app, client) = self.client(redeem.cloud_type, redeem.redirect_url)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(redeem.code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(redeem.code_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                StorageError::Denied(format!("the code exchange failed: {}", error_chain(&e)))
            })?;
        let refresh_token = tokens
            .refresh_token()
            .map(|t| t.secret().clone())
            .ok_or_else(|| {
                StorageError::Denied(
                    "the provider gave no refresh token (offline access was not granted)".into(),
                )
            })?;
        let api = or_default(&app.api_url, p.api_url)
            .trim_end_matches('/')
            .to_string();
        let (account_id, account_name) = self
            .who(redeem.cloud_type, &api, tokens.access_token().secret())
            .await?;
        Ok(OAuthGrant {
            refresh_token,
            account_id,
            account_name,
        })
    }

    /// The provider's id and name of the account the access token belongs to.
    async fn who(
        &self,
        cloud_type: u32,
        api: &str,
        access_token: &str,
    ) -> Result<(String, String), StorageError> {
        let http = self.http.client();
        let request = match cloud_type {
            // Dropbox's RPC endpoints are POSTs without a body.
            cloud_type::DROPBOX => http.post(format!("{api}/2/users/get_current_account")),
            cloud_type::BOX => http.get(format!("{api}/2.0/users/me")),
            cloud_type::ONEDRIVE => http.get(format!("{api}/v1.0/me")),
            _ => http.get(format!("{api}/drive/v3/about?fields=user")),
        };
        let response = request
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| StorageError::Failed(error_chain(&e)))?;
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(StorageError::Denied(format!(
                "the account could not be read ({status}): {body}"
            )));
        }
        let text = |v: &Value| v.as_str().unwrap_or("").to_string();
        let (id, name) = match cloud_type {
            cloud_type::DROPBOX => (text(&body["account_id"]), text(&body["email"])),
            cloud_type::BOX => (text(&body["id"]), text(&body["login"])),
            cloud_type::ONEDRIVE => (text(&body["id"]), text(&body["userPrincipalName"])),
            _ => (
                text(&body["user"]["permissionId"]),
                text(&body["user"]["emailAddress"]),
            ),
        };
        if id.is_empty() {
            return Err(StorageError::Failed(format!(
                "the provider named no account: {body}"
            )));
        }
        Ok((id, name))
    }
}

/// Refuses a request body over what `provider` takes in one request (a part over it needs a
/// smaller chunk size).
pub(super) fn within_single_upload(
    provider: &str,
    len: usize,
    max: usize,
) -> Result<(), StorageError> {
    if len > max {
        return Err(StorageError::Invalid(format!(
            "{provider} takes at most {} MiB in one request; use a smaller chunk size",
            max >> 20
        )));
    }
    Ok(())
}

/// Unix ms of a provider's ISO 8601 time field.
pub(super) fn time_ms(value: &serde_json::Value) -> Option<u64> {
    value.as_str().and_then(click_core::time::parse_iso8601)
}

/// How long an answer asks to wait (`Retry-After` in seconds; 1 s when it does not say).
pub(super) fn retry_after(response: &reqwest::Response) -> Duration {
    let secs = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1);
    Duration::from_secs(secs)
}

/// The `oauth2` client with its authorization, token and redirect URLs set.
type ConfiguredClient = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
