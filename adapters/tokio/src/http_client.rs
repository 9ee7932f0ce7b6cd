//! The agent's outgoing HTTP: one reqwest client for the cloud providers, Google's keys and
//! the log collectors, so one connection pool and one set of root certificates serve them all.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Built on first use: an agent that never calls out keeps the client's certificates and
/// connection pool out of memory. Clones share the one client.
#[derive(Clone, Default)]
pub struct SharedClient(Arc<OnceLock<reqwest::Client>>);

impl SharedClient {
    /// The client. Requests get the providers' generous timeout; a caller that must give up
    /// sooner sets its own with `RequestBuilder::timeout`.
    pub fn get(&self) -> Result<reqwest::Client, String> {
        if let Some(c) = self.0.get() {
            return Ok(c.clone());
        }
        // reqwest is built without a TLS crypto provider (`rustls-no-provider`): ring is the
        // agent's. A second install attempt fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        Ok(self.0.get_or_init(|| client).clone())
    }
}

/// A client for OAuth and OpenID Connect endpoints (the `oauth2` and `openidconnect` crates
/// call through it): redirects are never followed, so a token endpoint that redirects is
/// refused rather than trusted with a code or a secret.
#[derive(Clone)]
pub struct NoRedirects {
    client: reqwest::Client,
}

/// Why a request through [`NoRedirects`] failed, with its causes.
#[derive(Debug)]
pub struct RequestError(String);

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RequestError {}

impl NoRedirects {
    pub fn new(timeout: Duration) -> Result<NoRedirects, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        Ok(NoRedirects { client })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for NoRedirects {
    type Error = RequestError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, RequestError>>
                + Send
                + 'c,
        >,
    >;

    /// One request of the crates'. The future owns what it needs: the crates' futures are
    /// generic over the client, and a borrowed one would not be `Send` for every lifetime.
    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        let client = self.client.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| RequestError(error_chain(&e)))?;
            let mut out = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                out = out.header(name, value);
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|e| RequestError(error_chain(&e)))?;
            out.body(bytes.to_vec())
                .map_err(|e| RequestError(e.to_string()))
        })
    }
}

/// An error with its sources, for messages people read.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
