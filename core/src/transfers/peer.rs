//! Transfers between agents (`cloud.md`, Fastr Server-to-Server Transfers and P2P Client
//! Transfers). Both are [`Transfer`]s whose ends name S3 endpoints ([`Servers`]): another
//! agent's built-in storage, or any S3-compatible server.
//!
//! - A server transfer streams the object through this agent, as any cloud-to-cloud copy.
//! - A P2P transfer ([`PeerPush`]) asks the source agent to push the object straight to the
//!   target: this agent (the orchestrator) creates the upload at the target and hands the
//!   source a [`PushOrder`] of presigned URLs, good for that one object only, so the source
//!   never holds the target's keys and the bytes never pass through here. The source agent
//!   runs the push and answers for it ([`PushState`]); this agent follows it.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::{Status, Transfer};
use crate::cloud::account::CloudAccount;
use crate::error::{ApiError, ApiResult};
use crate::ports::{CloudTarget, PushState, Store};
use crate::secrets::SecretBox;
use crate::store::keys::CLOUD_ACCOUNTS;

/// The S3 endpoints of a transfer between servers. A side with no cloud account is reached
/// unsigned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Servers {
    /// Where the source object is read.
    pub source_url: String,
    /// Where it is written.
    pub target_url: String,
}

/// What a P2P transfer keeps beside its [`Transfer`] record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerPush {
    /// The source agent's key, sealed, when the request gave it inline (a stored cloud
    /// account is named by the transfer's source instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_source_key: Option<String>,
    /// Replace the target object if there is one.
    pub overwrite: bool,
    /// The part size the source pushes.
    pub part_bytes: u64,
    /// The multipart upload made at the target, once made (aborted on cancel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// Whether the source agent has accepted the order.
    pub ordered: bool,
    /// Whether the target's ETag of the whole object matched the bytes the source read.
    pub checksum_verified: bool,
}

/// A source key given inline, as it is sealed at rest.
#[derive(Serialize, Deserialize)]
struct InlineKey {
    cloud_type: u32,
    region: String,
    access_key: String,
    secret_key: String,
}

impl PeerPush {
    /// Seals an inline source target's credentials.
    pub fn seal_source(
        target: &CloudTarget,
        secrets: &SecretBox,
        rng: &impl crate::ports::Rng,
    ) -> String {
        let key = InlineKey {
            cloud_type: target.cloud_type,
            region: target.region.clone(),
            access_key: target.access_key.clone(),
            secret_key: target.secret_key.clone(),
        };
        secrets.seal(&serde_json::to_string(&key).unwrap_or_default(), rng)
    }
}

/// The source agent of P2P transfer `t`, with its key in clear, at the source's URL.
pub fn source_target(
    store: &impl Store,
    secrets: &SecretBox,
    t: &Transfer,
) -> ApiResult<CloudTarget> {
    let (Some(peer), Some(servers), Some(source)) = (&t.peer, &t.servers, &t.source) else {
        return Err(ApiError::invalid("This transfer is not a P2P transfer."));
    };
    let unreadable = || ApiError::invalid("The source agent's key cannot be decrypted.");
    let mut target = match &peer.sealed_source_key {
        Some(sealed) => {
            let key: InlineKey = secrets
                .open(sealed)
                .and_then(|plain| serde_json::from_str(&plain).ok())
                .ok_or_else(unreadable)?;
            CloudTarget {
                cache_key: alloc::format!("p2p:{}", t.id),
                cloud_type: key.cloud_type,
                region: key.region,
                access_key: key.access_key,
                secret_key: key.secret_key,
                ..CloudTarget::default()
            }
        }
        None => CLOUD_ACCOUNTS
            .get::<CloudAccount>(store, &source.cloud_account_id)?
            .ok_or_else(|| ApiError::not_found("The source cloud account"))?
            .target(secrets)?,
    };
    target.endpoint = servers.source_url.clone();
    Ok(target)
}

/// An `http(s)://` URL; anything else is refused before a transfer is made.
pub fn server_url(field: &str, url: &str) -> ApiResult<String> {
    let url = url.trim().trim_end_matches('/');
    let host = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match host {
        Some(h) if !h.is_empty() && url.len() <= 2048 => Ok(String::from(url)),
        _ => Err(ApiError::invalid(alloc::format!(
            "'{field}' must be an http:// or https:// URL."
        ))),
    }
}

/// One object's key: transfers between servers move one object, never a folder.
pub fn object_key(field: &str, path: &str) -> ApiResult<String> {
    let key = path.trim().trim_start_matches('/');
    if key.ends_with('/') || key.len() > 1024 {
        return Err(ApiError::invalid(alloc::format!(
            "'{field}' must name one object (not a folder), up to 1024 bytes."
        )));
    }
    Ok(String::from(key))
}

/// What a source agent is told to do with the object it pushes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushOrder {
    /// The orchestrator's transfer id; the source keeps the push under it (and the key that
    /// ordered it, the only one that may see or steer it).
    pub id: String,
    /// The source bucket.
    pub bucket: String,
    /// The source object's key.
    pub key: String,
    /// The version the orchestrator saw (its ETag); a push of another version fails.
    pub etag: Option<String>,
    /// The object's size.
    pub size: u64,
    /// Bytes per part (every part but the last).
    pub part_bytes: u64,
    /// At most this many bytes per second (0: no cap), the orchestrator's cap for the pair.
    pub bytes_per_second: u64,
    /// Where the bytes go.
    pub target: PushTarget,
}

/// Presigned requests at the target, good for this one object only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushTarget {
    /// `PUT` URLs, one per part (`UploadPart` 1, 2, ...), or one `PutObject` for a
    /// single-part object.
    pub parts: Vec<String>,
    /// `POST` `CompleteMultipartUpload`, for a multipart push.
    pub complete: Option<String>,
    /// `DELETE` `AbortMultipartUpload`, for a multipart push.
    pub abort: Option<String>,
}

/// Takes what the source agent says of P2P transfer `id` into its record: the bytes, and
/// the end when the push ended (pauses and resumes are the routes' to record). The record as
/// it is now.
pub fn merge(store: &impl Store, id: &str, state: &PushState, now_ms: u64) -> ApiResult<Transfer> {
    let changed = super::update(store, id, |t| {
        let Some(peer) = t.peer.as_mut() else {
            return Ok(false);
        };
        let before = (
            t.transferred_bytes,
            t.total_bytes,
            peer.checksum_verified,
            t.status,
        );
        t.transferred_bytes = state.transferred_bytes;
        t.total_bytes = state.total_bytes;
        peer.checksum_verified = state.checksum_verified;
        let ended = match state.status.as_str() {
            "completed" => Some(Status::Completed),
            "failed" => Some(Status::Failed),
            _ => None,
        };
        if let Some(end) = ended.filter(|_| t.status.is_active()) {
            t.error = state.error.clone();
            t.set_status(end, now_ms);
        }
        let peer = t.peer.as_ref().is_some_and(|p| p.checksum_verified);
        Ok(before != (t.transferred_bytes, t.total_bytes, peer, t.status))
    })?;
    match changed {
        Some(t) => Ok(t),
        None => super::get(store, id)?.ok_or_else(|| ApiError::not_found("The transfer")),
    }
}

/// `FastrServerTransferStatus` (`cloud.md`): a server transfer's status, and each entry of
/// the P2P list.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServerTransferStatus<'a> {
    transfer_id: &'a str,
    status: &'static str,
    source_server_url: &'a str,
    target_server_url: &'a str,
    source_bucket: &'a str,
    source_path: &'a str,
    target_bucket: &'a str,
    target_path: &'a str,
    start_time: String,
    end_time: String,
    bytes_transferred: u64,
    total_bytes: u64,
    progress: u64,
    error_message: &'a str,
}

/// .NET's `DateTime.MinValue`, which the documented sample shows for a transfer not ended.
const NOT_ENDED: &str = "0001-01-01T00:00:00";

/// The documented status words: `pending` until the engine starts.
pub fn status_word(s: Status) -> &'static str {
    match s {
        Status::Initiating => "pending",
        other => other.as_str(),
    }
}

/// Percent done, 0 to 100.
pub fn percent(t: &Transfer) -> u64 {
    match (t.status, t.total_bytes) {
        (Status::Completed, _) => 100,
        (_, 0) => 0,
        (_, total) => t.transferred_bytes.min(total) * 100 / total,
    }
}

impl<'a> ServerTransferStatus<'a> {
    /// The status of `t`.
    pub fn new(t: &'a Transfer) -> ServerTransferStatus<'a> {
        let servers = t.servers.as_ref();
        let source = t.source.as_ref();
        ServerTransferStatus {
            transfer_id: &t.id,
            status: status_word(t.status),
            source_server_url: servers.map_or("", |s| &s.source_url),
            target_server_url: servers.map_or("", |s| &s.target_url),
            source_bucket: source.map_or("", |s| &s.bucket),
            source_path: source.map_or("", |s| &s.path),
            target_bucket: &t.bucket,
            target_path: &t.remote,
            start_time: crate::time::iso8601(t.start_ms),
            end_time: t
                .end_ms
                .map_or_else(|| String::from(NOT_ENDED), crate::time::iso8601),
            bytes_transferred: t.transferred_bytes,
            total_bytes: t.total_bytes,
            progress: percent(t),
            error_message: t.error.as_deref().unwrap_or(""),
        }
    }
}
