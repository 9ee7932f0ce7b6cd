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
