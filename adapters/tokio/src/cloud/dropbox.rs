//! Dropbox over its HTTP API v2, for accounts connected over OAuth. Buckets are the folders
//! at the root of the account, keys the paths inside them. Every call carries an access
//! token from the account's refresh token (cached; fetched again on a 401); 429 answers are
//! retried after their `Retry-After`. A file's ETag is `rev:<rev>`: Dropbox's revision, which
//! uploads compare (`update` mode) and downloads can name. Small files go up in one request;
//! uploads in parts go through an upload session (`upload_session.rs` puts the parts in order).

use std::sync::Arc;

use bytes::Bytes;
use click_core::cloud::cloud_type;
use click_core::ports::{BucketInfo, CloudTarget, ObjectInfo, ObjectPage, StorageError};
use serde_json::{Value, json};

use super::oauth::{Connected, OAuthApps};
use super::{Precondition, Stored, transport_failed};

/// The largest single upload Dropbox takes.
const MAX_UPLOAD: usize = 150 << 20;

pub struct Dropbox {
    apps: Arc<OAuthApps>,
    api: String,
    /// Content calls (uploads, downloads) go to Dropbox's content host.
    content: String,
    account: Connected,
}

/// What a call sends.
enum Body<'a> {
    /// An RPC call: JSON in the body.
    Json(&'a Value),
    /// A content call: the argument in `Dropbox-API-Arg`, bytes in the body.
    Content(&'a Value, Bytes),
}

impl Dropbox {
    pub fn new(t: &CloudTarget, http: reqwest::Client, apps: Arc<OAuthApps>) -> Dropbox {
        Dropbox {
            api: apps.api_url(cloud_type::DROPBOX),
            content: apps.content_url(cloud_type::DROPBOX),
            apps,
            account: Connected::new(t, cloud_type::DROPBOX, http, refusal),
        }
    }

    /// Sends a call (a fresh token after a 401, 429s waited out); a refusal is an error.
    async fn call(
        &self,
        endpoint: &str,
        body: Body<'_>,
        range: Option<(u64, u64)>,
    ) -> Result<reqwest::Response, StorageError> {
        let host = match body {
            Body::Json(_) => &self.api,
            Body::Content(..) => &self.content,
        };
        let url = format!("{host}/2/{endpoint}");
        self.apps
            .call(&self.account, |http, token| {
                let request = http.post(&url).bearer_auth(token);
                let request = match &body {
                    Body::Json(v) => request
                        .header("Content-Type", "application/json")
                        .body(v.to_string()),
                    Body::Content(arg, bytes) => request
                        .header("Dropbox-API-Arg", arg.to_string())
                        .header("Content-Type", "application/octet-stream")
                        .body(bytes.clone()),
                };
                match range {
                    Some((start, end)) => {
                        request.header("Range", format!("bytes={start}-{}", end.saturating_sub(1)))
                    }
                    None => request,
                }
            })
            .await
    }

    async fn rpc(&self, endpoint: &str, arg: Value) -> Result<Value, StorageError> {
        let response = self.call(endpoint, Body::Json(&arg), None).await?;
        let bytes = response.bytes().await.map_err(transport_failed)?;
        serde_json::from_slice(&bytes).map_err(|e| StorageError::Failed(format!("Dropbox: {e}")))
    }

    /// Dropbox's path of `key` in `bucket` ("" is the account's root).
    fn path(bucket: &str, key: &str) -> String {
        let key = key.trim_matches('/');
        match (bucket.trim_matches('/'), key) {
            ("", "") => String::new(),
            (b, "") => format!("/{b}"),
            ("", k) => format!("/{k}"),
            (b, k) => format!("/{b}/{k}"),
        }
    }

    /// The key of an entry of `bucket` (a folder's ends with `/`).
    fn key_of(bucket: &str, entry: &Value) -> String {
        let display = entry["path_display"].as_str().unwrap_or("");
        let inside = display
            .get(bucket.len() + 1..)
            .unwrap_or("")
            .trim_start_matches('/');
        match entry[".tag"].as_str() {
            Some("folder") => format!("{inside}/"),
            _ => inside.to_string(),
        }
    }

    pub async fn list_buckets(&self, _: bool) -> Result<Vec<BucketInfo>, StorageError> {
        let mut buckets = Vec::new();
        let mut page = self
            .rpc("files/list_folder", json!({"path": "", "recursive": false}))
            .await?;
        loop {
            for entry in page["entries"].as_array().into_iter().flatten() {
                if entry[".tag"] == "folder" {
                    buckets.push(BucketInfo {
                        name: entry["name"].as_str().unwrap_or("").to_string(),
                        region: None,
                        create_ms: None,
                    });
                }
            }
            if page["has_more"] != true {
                return Ok(buckets);
            }
            let cursor = page["cursor"].clone();
            page = self
                .rpc("files/list_folder/continue", json!({"cursor": cursor}))
                .await?;
        }
    }

    /// A page of a folder listing: the first, or the one `cursor` names.
    async fn folder_page(
        &self,
        bucket: &str,
        folder: &str,
        recursive: bool,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Value>, Option<String>), StorageError> {
        let page = match cursor {
            Some(c) => {
                self.rpc("files/list_folder/continue", json!({"cursor": c}))
                    .await?
            }
            None => {
                let arg = json!({"path": Self::path(bucket, folder), "recursive": recursive,
                                 "limit": limit.clamp(1, 2000)});
                match self.rpc("files/list_folder", arg).await {
                    // A prefix nothing is under lists nothing, as in a bucket.
                    Err(StorageError::NotFound(_)) if !folder.is_empty() => {
                        return Ok((Vec::new(), None));
                    }
                    other => other?,
                }
            }
        };
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        let next = (page["has_more"] == true)
            .then(|| page["cursor"].as_str().map(str::to_string))
            .flatten();
        Ok((entries, next))
    }

    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<ObjectPage, StorageError> {
        let (entries, next) = self
            .folder_page(bucket, prefix, false, continuation, max)
            .await?;
        let objects = entries
            .iter()
            .map(|e| ObjectInfo {
                key: Self::key_of(bucket, e),
                size: e["size"].as_u64().unwrap_or(0),
                last_modified_ms: modified_ms(e),
                is_folder: e[".tag"] == "folder",
            })
            .collect();
        Ok(ObjectPage {
            objects,
            continuation: next,
        })
    }

    /// Files under `prefix`, all levels (a prefix that is not a folder filters its folder).
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<(Vec<Stored>, Option<String>), StorageError> {
        let folder = prefix.rsplit_once('/').map_or("", |(f, _)| f);
        let (entries, next) = self
            .folder_page(bucket, folder, true, continuation, 2000)
            .await?;
        let files = entries
            .iter()
            .filter(|e| e[".tag"] == "file")
            .map(|e| stored(bucket, e))
            .filter(|s| s.key.starts_with(prefix))
            .collect();
        Ok((files, next))
    }

    pub async fn stat(&self, bucket: &str, key: &str, _: u32) -> Result<Stored, StorageError> {
        let entry = self
            .rpc(
                "files/get_metadata",
                json!({"path": Self::path(bucket, key)}),
            )
            .await?;
        if entry[".tag"] != "file" {
            return Err(StorageError::NotFound(format!(
                "{bucket}/{key} is a folder"
            )));
        }
        Ok(stored(bucket, &entry))
    }

    pub async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<reqwest::Response, StorageError> {
        // A revision names exactly the bytes a transfer planned with.
        let path = match etag.and_then(|e| e.trim_matches('"').strip_prefix("rev:")) {
            Some(rev) => format!("rev:{rev}"),
            None => Self::path(bucket, key),
        };
        let arg = json!({ "path": path });
        self.call(
            "files/download",
            Body::Content(&arg, Bytes::new()),
            Some((start, end)),
        )
        .await
    }

    pub async fn delete_one(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        self.rpc("files/delete_v2", json!({"path": Self::path(bucket, key)}))
            .await
            .map(drop)
    }

    /// Makes the folder `key` (ending with `/`); one that exists is fine.
    pub async fn put_empty(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        let arg = json!({"path": Self::path(bucket, key), "autorename": false});
        match self.rpc("files/create_folder_v2", arg).await {
            Err(StorageError::Invalid(why)) if why.contains("conflict") => Ok(()),
            other => other.map(drop),
        }
    }

    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        if body.len() > MAX_UPLOAD {
            let id = self
                .create_multipart(bucket, key, body.len() as u64)
                .await?;
            for (i, piece) in body.chunks(MAX_UPLOAD).enumerate() {
                self.upload_part(&id, i as u32 + 1, body.slice_ref(piece))
                    .await?;
            }
            return self.complete_multipart(bucket, key, &id, condition).await;
        }
        let arg = commit(bucket, key, condition);
        let response = self
            .call("files/upload", Body::Content(&arg, body), None)
            .await?;
        revision_of(response).await
    }

    /// Starts an upload session for a file of `size` bytes; its id.
    pub async fn create_multipart(
        &self,
        _bucket: &str,
        _key: &str,
        size: u64,
    ) -> Result<String, StorageError> {
        let arg = json!({"close": false});
        let response = self
            .call(
                "files/upload_session/start",
                Body::Content(&arg, Bytes::new()),
                None,
            )
            .await?;
        let bytes = response.bytes().await.map_err(transport_failed)?;
        let started: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let id = started["session_id"]
            .as_str()
            .ok_or_else(|| StorageError::Failed("Dropbox started no upload session".into()))?;
        self.apps.uploads.start(id, size);
        Ok(id.to_string())
    }

    /// Appends part `number` at the offset the parts before it reached.
    pub async fn upload_part(
        &self,
        upload_id: &str,
        number: u32,
        body: Bytes,
    ) -> Result<String, StorageError> {
        super::oauth::within_single_upload("Dropbox", body.len(), MAX_UPLOAD)?;
        let session = self.apps.uploads.get(upload_id)?;
        let mut turn = session.turn(number).await?;
        let len = body.len() as u64;
        let arg = json!({"cursor": {"session_id": upload_id, "offset": turn.progress.offset},
                         "close": false});
        self.call(
            "files/upload_session/append_v2",
            Body::Content(&arg, body),
            None,
        )
        .await?;
        turn.progress.offset += len;
        turn.done();
        Ok(format!("part-{number}"))
    }

    /// Commits the session's bytes as the file, when `condition` holds.
    pub async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        let session = self.apps.uploads.get(upload_id)?;
        let offset = session.settled().await.offset;
        let arg = json!({"cursor": {"session_id": upload_id, "offset": offset},
                         "commit": commit(bucket, key, condition)});
        let finished = self
            .call(
                "files/upload_session/finish",
                Body::Content(&arg, Bytes::new()),
                None,
            )
            .await;
        self.apps.uploads.end(upload_id);
        revision_of(finished?).await
    }

    pub fn knows_upload(&self, upload_id: &str) -> bool {
        self.apps.uploads.knows(upload_id)
    }

    /// Forgets the session (Dropbox drops unfinished ones itself after a week).
    pub fn abort_multipart(&self, upload_id: &str) {
        self.apps.uploads.end(upload_id);
    }
}

/// The `CommitInfo` of an upload of `key`, conditional as asked.
fn commit(bucket: &str, key: &str, condition: Precondition<'_>) -> Value {
    let mode = match condition {
        Precondition::Any => json!("overwrite"),
        Precondition::Absent => json!("add"),
        Precondition::Matches(etag) => {
            let rev = etag.trim_matches('"').trim_start_matches("rev:");
            json!({".tag": "update", "update": rev})
        }
    };
    json!({"path": Dropbox::path(bucket, key), "mode": mode, "autorename": false,
           "strict_conflict": !matches!(condition, Precondition::Any)})
}

/// The ETag of the file an upload answered with.
async fn revision_of(response: reqwest::Response) -> Result<Option<String>, StorageError> {
    let bytes = response.bytes().await.map_err(transport_failed)?;
    let entry: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(entry["rev"].as_str().map(|rev| format!("rev:{rev}")))
}

fn modified_ms(entry: &Value) -> Option<u64> {
    super::oauth::time_ms(&entry["server_modified"])
}

fn stored(bucket: &str, entry: &Value) -> Stored {
    Stored {
        key: Dropbox::key_of(bucket, entry),
        size: entry["size"].as_u64().unwrap_or(0),
        etag: entry["rev"].as_str().map(|rev| format!("rev:{rev}")),
        modified_ms: modified_ms(entry),
        content_md5: None,
    }
}

/// What a refused call means: Dropbox names its error in `error_summary`.
fn refusal(status: u16, text: &str) -> StorageError {
    let summary = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["error_summary"].as_str().map(str::to_string))
        .unwrap_or_else(|| text.to_string());
    match status {
        409 if summary.contains("not_found") => StorageError::NotFound(summary),
        409 | 400 => StorageError::Invalid(format!("Dropbox: {summary}")),
        401 | 403 => StorageError::Denied(format!("Dropbox: {summary}")),
        _ => StorageError::Failed(format!("Dropbox answered {status}: {summary}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_keys_map_buckets_to_root_folders() {
        assert_eq!(Dropbox::path("", ""), "");
        assert_eq!(Dropbox::path("Projects", ""), "/Projects");
        assert_eq!(
            Dropbox::path("Projects", "photos/2026/"),
            "/Projects/photos/2026"
        );
        let file = json!({".tag": "file", "path_display": "/Projects/photos/a.txt"});
        assert_eq!(Dropbox::key_of("Projects", &file), "photos/a.txt");
        let folder = json!({".tag": "folder", "path_display": "/Projects/photos"});
        assert_eq!(Dropbox::key_of("Projects", &folder), "photos/");
    }
}
