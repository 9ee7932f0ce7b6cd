//! Who may do what on the built-in S3 server: a signature made with a key this agent issued
//! (SigV4, checked by `s3s` against the secret we open here), and on every operation the
//! key's reach: its account's buckets, all or the ones it names, read or write as its
//! permission says. Unsigned requests may only read buckets made public.

use std::sync::Arc;

use click_core::ports::Ports;
use click_core::storage::buckets;
use click_core::storage::keys::{self, StorageKey};
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::{S3Result, s3_error};

use crate::server::App;

/// Checks signatures and reach against the keys in the agent's store.
pub struct Keys {
    pub app: Arc<App>,
}

impl Keys {
    /// The key an access key names, if it exists.
    pub fn key(&self, access_key: &str) -> S3Result<StorageKey> {
        keys::by_access_key(&self.app.agent.ports.store, access_key)
            .map_err(|e| s3_error!(InternalError, "{e:?}"))?
            .ok_or_else(|| s3_error!(InvalidAccessKeyId))
    }
}

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        let key = self.key(access_key)?;
        let secret = self
            .app
            .agent
            .ports
            .secrets()
            .open(&key.sealed_secret)
            .ok_or_else(|| s3_error!(InternalError, "the key's secret does not open"))?;
        Ok(SecretKey::from(secret))
    }
}

/// Whether operation `name` only reads.
fn reads_only(name: &str) -> bool {
    ["Get", "Head", "List"].iter().any(|p| name.starts_with(p))
}

impl Keys {
    /// An unsigned request: only reads of a bucket made public (`isPublic`).
    fn anonymous(&self, bucket: Option<&str>, op: &str) -> S3Result<()> {
        let store = &self.app.agent.ports.store;
        let public = bucket
            .and_then(|b| buckets::get(store, b).ok().flatten())
            .is_some_and(|b| b.is_public);
        if public && reads_only(op) {
            Ok(())
        } else {
            Err(s3_error!(AccessDenied, "Requests must be signed."))
        }
    }
}

#[async_trait::async_trait]
impl S3Access for Keys {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let op = cx.s3_op().name();
        let Some(credentials) = cx.credentials() else {
            return self.anonymous(cx.s3_path().get_bucket_name(), op);
        };
        let key = self.key(&credentials.access_key)?;
        let allowed = if reads_only(op) {
            key.permission.reads()
        } else {
            key.permission.writes()
        };
        if !allowed {
            return Err(s3_error!(AccessDenied, "This key may not {op}."));
        }
        // Listing buckets shows only those the key reaches (the backend filters).
        let Some(bucket) = cx.s3_path().get_bucket_name() else {
            return Ok(());
        };
        if !key.reaches(bucket) {
            return Err(s3_error!(AccessDenied, "This key does not reach {bucket}."));
        }
        Ok(())
    }
}
