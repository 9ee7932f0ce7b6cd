//! The desktop's [`ObjectStorage`]: cloud providers over HTTPS (or HTTP for local servers).

mod azure;
mod boxcom;
mod dropbox;
pub mod etag;
mod folder_walk;
mod googledrive;
pub mod oauth;
mod onedrive;
mod s3;
pub mod sigv4;
mod upload_session;

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::try_join_all;

use click_core::cloud::cloud_type;
use click_core::ports::{
    BucketInfo, CloudTarget, OAuthGrant, OAuthRedeem, OAuthStart, ObjectInfo, ObjectPage,
    ObjectStorage, Presign, PushAction, PushState, StorageError,
};

use crate::http_client::SharedClient;

pub use azure::Azure;
pub use s3::S3;
pub(crate) use s3::complete_presigned;

/// The wait before retry `attempt` (from 1): 400 ms, 1.6 s, 6.4 s, then 8 s each.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << (2 * attempt.min(5))).min(8000))
}

/// An object as a transfer plans it: its key, size and version (ETag), so that a transfer
/// resumed later reads the same bytes or fails, never mixes two versions.
#[derive(Clone, Debug)]
pub struct Stored {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    /// `Last-Modified` (Unix ms), when the answer gave it.
    pub modified_ms: Option<u64>,
    /// The MD5 of the whole content (hex) where the provider keeps one apart from the ETag
    /// (Azure's `Content-MD5`).
    pub content_md5: Option<String>,
}

/// `Content-MD5` (base64) of an MD5 given in hex.
pub(crate) fn content_md5_header(md5_hex: &str) -> Option<String> {
    use base64::Engine;
    let raw = click_core::ports::unhex::<16>(md5_hex)?;
    Some(base64::engine::general_purpose::STANDARD.encode(raw))
}

/// An MD5 in hex, from a `Content-MD5` (base64) value.
pub(crate) fn md5_hex_of(content_md5: &str) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(content_md5.trim())
        .ok()?;
    (raw.len() == 16).then(|| click_core::ports::hex(&raw))
}

/// What a write requires of the object it replaces (a conditional write): a write whose
/// condition fails changes nothing and fails with a clear message.
#[derive(Clone, Copy, Debug, Default)]
pub enum Precondition<'a> {
    /// Whatever is there.
    #[default]
    Any,
    /// Nothing may be there (`If-None-Match: *`).
    Absent,
    /// Exactly this version (`If-Match: <ETag>`).
    Matches(&'a str),
}

impl<'a> Precondition<'a> {
    /// The header that states it, if any.
    pub(crate) fn header(self) -> Option<(&'static str, &'a str)> {
        match self {
            Precondition::Any => None,
            Precondition::Absent => Some(("if-none-match", "*")),
            Precondition::Matches(etag) => Some(("if-match", etag)),
        }
    }
}

/// A request that got no answer (connection, TLS, a broken body). The URL is left out of the
/// message: a presigned or SAS one carries credentials.
pub(crate) fn transport_failed(e: reqwest::Error) -> StorageError {
    StorageError::Failed(e.without_url().to_string())
}

/// An ETag in its quoted HTTP form: Azure's listings give it bare, headers quoted.
pub(crate) fn quoted_etag(etag: &str) -> String {
    let bare = etag.trim().trim_start_matches("W/").trim_matches('"');
    format!("\"{bare}\"")
}

/// The ETag a write's answer gives, quoted.
pub(crate) fn etag_of(resp: &reqwest::Response) -> Option<String> {
    let etag = resp.headers().get(reqwest::header::ETAG)?.to_str().ok()?;
    Some(quoted_etag(etag))
}

/// What a HEAD answer says of `key`.
pub(crate) fn stored_from(resp: &reqwest::Response, key: &str) -> Result<Stored, StorageError> {
    let header =
        |name: reqwest::header::HeaderName| resp.headers().get(name).and_then(|v| v.to_str().ok());
    let size = header(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StorageError::Failed("the provider gave no object size".into()))?;
    Ok(Stored {
        key: key.to_string(),
        size,
        etag: etag_of(resp),
        modified_ms: header(reqwest::header::LAST_MODIFIED)
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64),
        content_md5: header(reqwest::header::HeaderName::from_static("content-md5"))
            .and_then(md5_hex_of),
    })
}

/// `k=v&...`, strictly percent-encoded.
pub(crate) fn query_string(query: &[(&str, &str)]) -> String {
    query
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                sigv4::encode(k, sigv4::STRICT),
                sigv4::encode(v, sigv4::STRICT)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Sends the request `build` makes (built and signed afresh each time) up to `attempts`
/// times: transport errors and provider failures (5xx, throttling) are retried after a
/// backoff; other refusals return at once, as the kind of failure the core reports.
pub(crate) async fn send_retrying(
    attempts: u32,
    mut build: impl FnMut() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, StorageError> {
    let mut last = StorageError::Failed("no attempt made".into());
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        match build().send().await {
            Ok(resp) if resp.status().is_success() => return Ok(resp),
            Ok(resp) => {
                let status = resp.status().as_u16();
                last = s3::error_of(status, &resp.text().await.unwrap_or_default());
                if !matches!(last, StorageError::Failed(_)) {
                    return Err(last);
                }
            }
            Err(e) => last = transport_failed(e),
        }
        tracing::debug!(attempt, "provider request failed, may retry: {last:?}");
    }
    Err(last)
}

/// The boundary of the multipart bodies the agent sends (its parts never contain it: JSON
/// metadata, and file bytes, which it follows only once, at the end).
pub(crate) const MULTIPART_BOUNDARY: &str = "click-agent-upload-boundary-7f3c9a1e";

/// A multipart body (`multipart/related` or `multipart/form-data`, [`MULTIPART_BOUNDARY`]):
/// each part's headers (lines without their final CRLF), then its bytes.
pub(crate) fn multipart_body(parts: &[(&str, &[u8])]) -> Bytes {
    let size = parts
        .iter()
        .map(|(h, b)| h.len() + b.len() + 64)
        .sum::<usize>();
    let mut out = Vec::with_capacity(size + 64);
    for (headers, bytes) in parts {
        out.extend_from_slice(format!("--{MULTIPART_BOUNDARY}\r\n{headers}\r\n\r\n").as_bytes());
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{MULTIPART_BOUNDARY}--\r\n").as_bytes());
    Bytes::from(out)
}

/// Deletes in flight while a folder is removed.
const DELETE_CONCURRENCY: usize = 16;

pub struct CloudStorage {
    http: SharedClient,
    oauth: std::sync::Arc<oauth::OAuthApps>,
}

impl CloudStorage {
    pub fn new(http: SharedClient, oauth: oauth::OAuthApps) -> CloudStorage {
        CloudStorage {
            http,
            oauth: std::sync::Arc::new(oauth),
        }
    }

    /// The OAuth apps and the accounts' tokens.
    pub fn oauth(&self) -> &oauth::OAuthApps {
        &self.oauth
    }

    pub(crate) fn http(&self) -> Result<reqwest::Client, StorageError> {
        self.http.get().map_err(StorageError::Failed)
    }

    /// A client for the target's provider.
    pub fn provider(&self, target: &CloudTarget) -> Result<Provider, StorageError> {
        match target.cloud_type {
            t if cloud_type::is_s3(t) => Ok(Provider::S3(S3::new(target, self.http()?)?)),
            cloud_type::AZURE => Ok(Provider::Azure(Azure::new(target, self.http()?)?)),
            cloud_type::DROPBOX => Ok(Provider::Dropbox(dropbox::Dropbox::new(
                target,
                self.http()?,
                self.oauth.clone(),
            ))),
            cloud_type::BOX => Ok(Provider::Box(boxcom::BoxCom::new(
                target,
                self.http()?,
                self.oauth.clone(),
            ))),
            cloud_type::ONEDRIVE => Ok(Provider::OneDrive(onedrive::OneDrive::new(
                target,
                self.http()?,
                self.oauth.clone(),
            ))),
            cloud_type::GOOGLE_DRIVE => Ok(Provider::GoogleDrive(googledrive::GoogleDrive::new(
                target,
                self.http()?,
                self.oauth.clone(),
            ))),
            _ => Err(StorageError::Unsupported),
        }
    }
}

/// One provider's client; every operation the agent needs, whichever protocol it speaks.
pub enum Provider {
    S3(S3),
    Azure(Azure),
    Dropbox(dropbox::Dropbox),
    Box(boxcom::BoxCom),
    OneDrive(onedrive::OneDrive),
    GoogleDrive(googledrive::GoogleDrive),
}

macro_rules! each {
    ($self:expr, $p:ident => $call:expr) => {
        match $self {
            Provider::S3($p) => $call,
            Provider::Azure($p) => $call,
            Provider::Dropbox($p) => $call,
            Provider::Box($p) => $call,
            Provider::OneDrive($p) => $call,
            Provider::GoogleDrive($p) => $call,
        }
    };
}

impl Provider {
    /// The provider's name, as people know it.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::S3(_) => "S3",
            Provider::Azure(_) => "Azure",
            Provider::Dropbox(_) => "Dropbox",
            Provider::Box(_) => "Box",
            Provider::OneDrive(_) => "OneDrive",
            Provider::GoogleDrive(_) => "Google Drive",
        }
    }

    /// What this provider's client does not do (yet), for the calls it has no answer to.
    fn not_with(&self, what: &str) -> StorageError {
        let provider = self.name();
        StorageError::Invalid(format!("{provider} accounts do not support {what} yet"))
    }
}

impl Provider {
    pub async fn list_buckets(
        &self,
        include_region: bool,
    ) -> Result<Vec<BucketInfo>, StorageError> {
        each!(self, p => p.list_buckets(include_region).await)
    }

    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<ObjectPage, StorageError> {
        each!(self, p => p.list_objects(bucket, prefix, continuation, max).await)
    }

    /// One page of the objects under `prefix` (all levels), and where the next one starts.
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<(Vec<Stored>, Option<String>), StorageError> {
        each!(self, p => p.list_page(bucket, prefix, continuation).await)
    }

    /// Every object under `prefix` (all levels) with its size and ETag.
    pub async fn list_all(&self, bucket: &str, prefix: &str) -> Result<Vec<Stored>, StorageError> {
        let mut out = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let (objects, next) = self
                .list_page(bucket, prefix, continuation.as_deref())
                .await?;
            out.extend(objects);
            continuation = next;
            if continuation.is_none() {
                return Ok(out);
            }
        }
    }

    /// Deletes one object, or, for a key ending with `/`, everything under it a page at a
    /// time (memory does not grow with the folder) and then its marker, if it has one.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        if !key.ends_with('/') {
            return self.delete_one(bucket, key).await;
        }
        let mut continuation: Option<String> = None;
        loop {
            let (objects, next) = self.list_page(bucket, key, continuation.as_deref()).await?;
            let keys: Vec<&str> = objects
                .iter()
                .map(|o| o.key.as_str())
                .filter(|k| *k != key)
                .collect();
            for chunk in keys.chunks(DELETE_CONCURRENCY) {
                try_join_all(chunk.iter().map(|k| self.delete_one(bucket, k))).await?;
            }
            continuation = next;
            if continuation.is_none() {
                break;
            }
        }
        match self.delete_one(bucket, key).await {
            Err(StorageError::NotFound(_)) => Ok(()),
            other => other,
        }
    }

    pub async fn delete_one(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        each!(self, p => p.delete_one(bucket, key).await)
    }

    pub async fn put_empty(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        each!(self, p => p.put_empty(bucket, key).await)
    }

    /// Writes the object when `condition` holds; its ETag when the answer gave it. With `md5`
    /// (hex), the provider checks the bytes against it (`Content-MD5`) and refuses others.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        attempts: u32,
        condition: Precondition<'_>,
        md5: Option<&str>,
    ) -> Result<Option<String>, StorageError> {
        match self {
            Provider::S3(p) => {
                p.put_object(bucket, key, body, attempts, condition, md5)
                    .await
            }
            Provider::Azure(p) => {
                p.put_object(bucket, key, body, attempts, condition, md5)
                    .await
            }
            // These take no MD5 to check the bytes against.
            Provider::Dropbox(p) => p.put_object(bucket, key, body, condition).await,
            Provider::Box(p) => p.put_object(bucket, key, body, condition).await,
            Provider::OneDrive(p) => p.put_object(bucket, key, body, condition).await,
            Provider::GoogleDrive(p) => p.put_object(bucket, key, body, condition).await,
        }
    }

    /// Copies an object within this provider's endpoint, on the server; its ETag.
    /// Unsupported where the agent has no server-side copy (Azure).
    pub async fn copy_object(
        &self,
        bucket: &str,
        key: &str,
        from: (&str, &str),
        etag: Option<&str>,
        attempts: u32,
    ) -> Result<Option<String>, StorageError> {
        match self {
            Provider::S3(p) => p.copy_object(bucket, key, from, etag, attempts).await,
            _ => Err(StorageError::Unsupported),
        }
    }

    /// Whether this provider and `other` are one S3 endpoint under the same credentials:
    /// an object of one can be copied to the other on the server.
    pub fn copies_within(&self, other: &Provider) -> bool {
        match (self, other) {
            (Provider::S3(a), Provider::S3(b)) => a.same_endpoint_and_key(b),
            _ => false,
        }
    }

    pub async fn stat(
        &self,
        bucket: &str,
        key: &str,
        attempts: u32,
    ) -> Result<Stored, StorageError> {
        each!(self, p => p.stat(bucket, key, attempts).await)
    }

    pub async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<reqwest::Response, StorageError> {
        each!(self, p => p.get_range(bucket, key, start, end, etag).await)
    }

    /// Starts an upload in parts of a file of `size` bytes; its upload id.
    pub async fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
        attempts: u32,
    ) -> Result<String, StorageError> {
        match self {
            Provider::S3(p) => p.create_multipart(bucket, key, attempts).await,
            Provider::Azure(p) => p.create_multipart(bucket, key, attempts).await,
            Provider::Dropbox(p) => p.create_multipart(bucket, key, size).await,
            Provider::Box(p) => p.create_multipart(bucket, key, size).await,
            Provider::OneDrive(p) => p.create_multipart(bucket, key, size).await,
            Provider::GoogleDrive(p) => p.create_multipart(bucket, key, size).await,
        }
    }

    /// Uploads part (Azure: block) `number` of an upload; its ETag (block id). With `md5`
    /// (hex), the provider checks the bytes against it.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        body: Bytes,
        attempts: u32,
        md5: Option<&str>,
    ) -> Result<String, StorageError> {
        match self {
            Provider::S3(p) => {
                p.upload_part(bucket, key, upload_id, number, body, attempts, md5)
                    .await
            }
            Provider::Azure(p) => {
                p.upload_part(bucket, key, upload_id, number, body, attempts, md5)
                    .await
            }
            // Their sessions take no MD5 (Box checks its own SHA-1s); the parts' MD5s still
            // check what was read.
            Provider::Dropbox(p) => p.upload_part(upload_id, number, body).await,
            Provider::Box(p) => p.upload_part(upload_id, number, body).await,
            Provider::OneDrive(p) => p.upload_part(upload_id, number, body).await,
            Provider::GoogleDrive(p) => p.upload_part(upload_id, number, body).await,
        }
    }

    /// Completes the upload when `condition` holds; the object's ETag when the answer gave it.
    pub async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        attempts: u32,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        match self {
            Provider::S3(p) => {
                p.complete_multipart(bucket, key, upload_id, parts, attempts, condition)
                    .await
            }
            Provider::Azure(p) => {
                p.complete_multipart(bucket, key, upload_id, parts, attempts, condition)
                    .await
            }
            Provider::Dropbox(p) => {
                p.complete_multipart(bucket, key, upload_id, condition)
                    .await
            }
            Provider::Box(p) => {
                p.complete_multipart(bucket, key, upload_id, condition)
                    .await
            }
            Provider::OneDrive(p) => {
                p.complete_multipart(bucket, key, upload_id, condition)
                    .await
            }
            Provider::GoogleDrive(p) => {
                p.complete_multipart(bucket, key, upload_id, condition)
                    .await
            }
        }
    }

    /// Whether the provider still knows a multipart upload this agent recorded.
    pub async fn upload_known(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<bool, StorageError> {
        match self {
            Provider::S3(p) => p.upload_known(bucket, key, upload_id).await,
            // Uncommitted blocks need no call to start; a lost one fails the commit instead.
            Provider::Azure(_) => Ok(true),
            // Their sessions are followed in this process only.
            Provider::Dropbox(p) => Ok(p.knows_upload(upload_id)),
            Provider::Box(p) => Ok(p.knows_upload(upload_id)),
            Provider::OneDrive(p) => Ok(p.knows_upload(upload_id)),
            Provider::GoogleDrive(p) => Ok(p.knows_upload(upload_id)),
        }
    }

    pub async fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StorageError> {
        match self {
            Provider::S3(p) => p.abort_multipart(bucket, key, upload_id).await,
            Provider::Azure(p) => p.abort_multipart(bucket, key, upload_id).await,
            Provider::Dropbox(p) => {
                p.abort_multipart(upload_id);
                Ok(())
            }
            Provider::OneDrive(p) => p.abort_multipart(upload_id).await,
            Provider::Box(p) => {
                p.abort_multipart(upload_id).await;
                Ok(())
            }
            Provider::GoogleDrive(p) => {
                p.abort_multipart(upload_id).await;
                Ok(())
            }
        }
    }

    pub fn presign(&self, request: &Presign<'_>) -> Result<String, StorageError> {
        match self {
            Provider::S3(p) => Ok(p.presign(request)),
            Provider::Azure(p) => Ok(p.presign(request)),
            _ => Err(self.not_with("presigned URLs")),
        }
    }
}

impl ObjectStorage for CloudStorage {
    async fn list_buckets(
        &self,
        target: &CloudTarget,
        include_region: bool,
    ) -> Result<Vec<BucketInfo>, StorageError> {
        self.provider(target)?.list_buckets(include_region).await
    }

    async fn list_objects(
        &self,
        target: &CloudTarget,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<ObjectPage, StorageError> {
        self.provider(target)?
            .list_objects(bucket, prefix, continuation, max)
            .await
    }

    async fn stat(
        &self,
        target: &CloudTarget,
        bucket: &str,
        key: &str,
    ) -> Result<ObjectInfo, StorageError> {
        let stored = self.provider(target)?.stat(bucket, key, 3).await?;
        Ok(ObjectInfo {
            key: stored.key,
            size: stored.size,
            last_modified_ms: stored.modified_ms,
            is_folder: false,
        })
    }

    async fn delete(
        &self,
        target: &CloudTarget,
        bucket: &str,
        key: &str,
    ) -> Result<(), StorageError> {
        self.provider(target)?.delete(bucket, key).await
    }

    async fn create_folder(
        &self,
        target: &CloudTarget,
        bucket: &str,
        key: &str,
    ) -> Result<(), StorageError> {
        self.provider(target)?.put_empty(bucket, key).await
    }

    async fn presign(
        &self,
        target: &CloudTarget,
        request: &Presign<'_>,
    ) -> Result<String, StorageError> {
        self.provider(target)?.presign(request)
    }

    async fn push(
        &self,
        source: &CloudTarget,
        id: &str,
        action: PushAction,
    ) -> Result<PushState, StorageError> {
        let Provider::S3(agent) = self.provider(source)? else {
            return Err(StorageError::Unsupported);
        };
        let query = [(PUSH_QUERY, id), ("action", action.as_str())];
        let method = match action {
            PushAction::Status => reqwest::Method::GET,
            _ => reqwest::Method::POST,
        };
        agent.root_json(method, &query, Bytes::new()).await
    }

    fn oauth_authorization_url(&self, request: &OAuthStart<'_>) -> Result<String, StorageError> {
        self.oauth.authorization_url(request)
    }

    async fn oauth_redeem(&self, redeem: &OAuthRedeem<'_>) -> Result<OAuthGrant, StorageError> {
        self.oauth.redeem(redeem).await
    }
}

/// The query parameter that names an agent's push route on its built-in storage (no S3
/// operation uses it).
pub const PUSH_QUERY: &str = "x-click-push";
