//! OneDrive over Microsoft Graph (`/me/drive`), for accounts connected over OAuth. Buckets are
//! the folders at the drive's root, keys the paths inside them. Calls carry an access token
//! from the account's refresh token (see `oauth.rs`: refreshed after a 401, 429s waited out).
//! A file's ETag is Graph's `eTag`, which uploads can be conditional on (`If-Match`).
//! Downloads follow Graph's redirect to a pre-authenticated URL, which gets no token. Files up
//! to 4 MiB go up in one request, larger ones through an upload session: pieces of 320 KiB
//! multiples PUT to the session's URL (which gets no token either), in order
//! (`upload_session.rs`); the piece that completes the file is sent at the completion, after
//! its condition was checked.

use std::sync::Arc;

use bytes::Bytes;
use click_core::cloud::cloud_type;
use click_core::ports::{BucketInfo, CloudTarget, ObjectInfo, ObjectPage, StorageError};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::folder_walk::{self, Entry};
use super::oauth::{Connected, OAuthApps};
use super::upload_session;
use super::{Precondition, Stored, transport_failed};

/// The largest simple upload Graph takes.
const MAX_UPLOAD: usize = 4 << 20;
/// An upload session's pieces: multiples of 320 KiB (the last excepted), at most 60 MiB.
const SESSION: upload_session::Ranged = upload_session::Ranged {
    granule: 320 << 10,
    max_piece: 192 * (320 << 10),
};
/// Tries of each piece sent to an upload session.
const PIECE_ATTEMPTS: u32 = 3;
/// Characters of a path segment sent as they are.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub struct OneDrive {
    apps: Arc<OAuthApps>,
    /// `<api>/v1.0/me/drive`.
    drive: String,
    account: Connected,
}

impl OneDrive {
    pub fn new(t: &CloudTarget, http: reqwest::Client, apps: Arc<OAuthApps>) -> OneDrive {
        OneDrive {
            drive: format!("{}/v1.0/me/drive", apps.api_url(cloud_type::ONEDRIVE)),
            apps,
            account: Connected::new(t, cloud_type::ONEDRIVE, http, refusal),
        }
    }

    /// The item address of `key` in `bucket`: `<drive>/root` or `<drive>/root:/a/b:`.
    fn item(&self, bucket: &str, key: &str) -> String {
        let path: Vec<String> = [bucket, key]
            .iter()
            .flat_map(|p| p.split('/'))
            .filter(|s| !s.is_empty())
            .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
            .collect();
        match path.is_empty() {
            true => format!("{}/root", self.drive),
            false => format!("{}/root:/{}:", self.drive, path.join("/")),
        }
    }

    async fn json(&self, url: &str) -> Result<Value, StorageError> {
        let get = |http: &reqwest::Client, token: &str| http.get(url).bearer_auth(token);
        self.apps.json(&self.account, get).await
    }

    /// One page of a folder's children: the first (at most `top`), or the `nextLink` given.
    async fn children(
        &self,
        bucket: &str,
        folder: &str,
        next: Option<&str>,
        top: usize,
    ) -> Result<(Vec<Value>, Option<String>), StorageError> {
        let url = match next {
            // A link to anywhere else would get the account's token: refused.
            Some(link) if link.starts_with(&self.drive) => link.to_string(),
            Some(link) => {
                return Err(StorageError::Invalid(format!(
                    "the continuation token is not a OneDrive page: {link}"
                )));
            }
            None => format!(
                "{}/children?$top={}",
                self.item(bucket, folder),
                top.clamp(1, 999)
            ),
        };
        let page = match self.json(&url).await {
            // A prefix nothing is under lists nothing, as in a bucket.
            Err(StorageError::NotFound(_)) if !folder.is_empty() => return Ok((Vec::new(), None)),
            other => other?,
        };
        let items = page["value"].as_array().cloned().unwrap_or_default();
        let next = page["@odata.nextLink"].as_str().map(str::to_string);
        Ok((items, next))
    }

    pub async fn list_buckets(&self, _: bool) -> Result<Vec<BucketInfo>, StorageError> {
        let mut buckets = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let (items, more) = self.children("", "", next.as_deref(), 999).await?;
            buckets.extend(items.iter().filter(|i| i.get("folder").is_some()).map(|i| {
                BucketInfo {
                    name: i["name"].as_str().unwrap_or("").to_string(),
                    region: None,
                    create_ms: None,
                }
            }));
            match more {
                Some(link) => next = Some(link),
                None => return Ok(buckets),
            }
        }
    }

    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<ObjectPage, StorageError> {
        let (items, next) = self.children(bucket, prefix, continuation, max).await?;
        let objects = items
            .iter()
            .map(|i| {
                let is_folder = i.get("folder").is_some();
                ObjectInfo {
                    key: key_of(bucket, i),
                    size: if is_folder {
                        0
                    } else {
                        i["size"].as_u64().unwrap_or(0)
                    },
                    last_modified_ms: modified_ms(i),
                    is_folder,
                }
            })
            .collect();
        Ok(ObjectPage {
            objects,
            continuation: next,
        })
    }

    /// Files under `prefix`, all levels: Graph lists one folder at a time, so the folders are
    /// walked here, a page at a time; the continuation carries the folders still to list.
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<(Vec<Stored>, Option<String>), StorageError> {
        folder_walk::page(
            "OneDrive",
            prefix,
            continuation,
            |folder, link| async move {
                let folder = folder.trim_end_matches('/');
                let (items, next) = self.children(bucket, folder, link.as_deref(), 999).await?;
                let entries = items.iter().map(|item| match item.get("folder") {
                    Some(_) => Entry::Folder(key_of(bucket, item)),
                    None => Entry::File(stored(bucket, item)),
                });
                Ok((entries.collect(), next))
            },
        )
        .await
    }

    pub async fn stat(&self, bucket: &str, key: &str, _: u32) -> Result<Stored, StorageError> {
        let item = self.json(&self.item(bucket, key)).await?;
        if item.get("folder").is_some() {
            return Err(StorageError::NotFound(format!(
                "{bucket}/{key} is a folder"
            )));
        }
        Ok(stored(bucket, &item))
    }

    pub async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        end: u64,
        _etag: Option<&str>,
    ) -> Result<reqwest::Response, StorageError> {
        let url = format!("{}/content", self.item(bucket, key));
        let range = format!("bytes={start}-{}", end.saturating_sub(1));
        // The client follows Graph's redirect to the download URL, dropping the token on the
        // way to another host.
        self.apps
            .call(&self.account, |http, token| {
                http.get(&url).bearer_auth(token).header("Range", &range)
            })
            .await
    }

    pub async fn delete_one(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        let url = self.item(bucket, key);
        self.apps
            .call(&self.account, |http, token| {
                http.delete(&url).bearer_auth(token)
            })
            .await
            .map(drop)
    }

    /// Makes the folder `key` (ending with `/`); one that exists is fine.
    pub async fn put_empty(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        let trimmed = key.trim_end_matches('/');
        let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
        let url = format!("{}/children", self.item(bucket, parent));
        let body = json!({"name": name, "folder": {}, "@microsoft.graph.conflictBehavior": "fail"})
            .to_string();
        let made = self
            .apps
            .call(&self.account, |http, token| {
                http.post(&url)
                    .bearer_auth(token)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
            })
            .await;
        match made {
            Err(StorageError::Invalid(why)) if why.contains("nameAlreadyExists") => Ok(()),
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
            self.upload_part(&id, 1, body).await?;
            return self.complete_multipart(bucket, key, &id, condition).await;
        }
        let mut url = format!("{}/content", self.item(bucket, key));
        if matches!(condition, Precondition::Absent) {
            url.push_str("?@microsoft.graph.conflictBehavior=fail");
        }
        let response = self
            .apps
            .call(&self.account, |http, token| {
                let request = http
                    .put(&url)
                    .bearer_auth(token)
                    .header("Content-Type", "application/octet-stream")
                    .body(body.clone());
                match condition {
                    Precondition::Matches(etag) => request.header("If-Match", etag),
                    _ => request,
                }
            })
            .await?;
        let bytes = response.bytes().await.map_err(transport_failed)?;
        let item: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(item["eTag"].as_str().map(str::to_string))
    }

    /// Makes an upload session for a file of `size` bytes; its upload URL is its id.
    pub async fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
    ) -> Result<String, StorageError> {
        let url = format!("{}/createUploadSession", self.item(bucket, key));
        let body = json!({"item": {"@microsoft.graph.conflictBehavior": "replace"}}).to_string();
        let response = self
            .apps
            .call(&self.account, |http, token| {
                http.post(&url)
                    .bearer_auth(token)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
            })
            .await?;
        let bytes = response.bytes().await.map_err(transport_failed)?;
        let session: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let upload = session["uploadUrl"]
            .as_str()
            .ok_or_else(|| StorageError::Failed("OneDrive gave no upload URL".into()))?;
        self.apps.uploads.start(upload, size);
        Ok(upload.to_string())
    }

    /// Sends part `number` after the parts before it, in whole fragments; what is left over
    /// goes with the next part.
    pub async fn upload_part(
        &self,
        upload_id: &str,
        number: u32,
        body: Bytes,
    ) -> Result<String, StorageError> {
        let send = |offset, piece, total| self.send_piece(upload_id, offset, piece, total);
        SESSION
            .send_part(&self.apps.uploads, upload_id, number, body, send)
            .await
    }

    /// Sends the last piece, which makes the file, once `condition` holds.
    pub async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        let send = |offset, piece, total| self.send_piece(upload_id, offset, piece, total);
        let check = self.check(bucket, key, condition);
        let item = SESSION
            .complete(&self.apps.uploads, upload_id, check, send)
            .await?;
        Ok(item.and_then(|item| item["eTag"].as_str().map(str::to_string)))
    }

    pub fn knows_upload(&self, upload_id: &str) -> bool {
        self.apps.uploads.knows(upload_id)
    }

    pub async fn abort_multipart(&self, upload_id: &str) -> Result<(), StorageError> {
        self.apps.uploads.end(upload_id);
        match self.account.http.delete(upload_id).send().await {
            Ok(r) if r.status().is_success() || r.status().as_u16() == 404 => Ok(()),
            Ok(r) => Err(self.account.refused(r).await),
            Err(e) => Err(transport_failed(e)),
        }
    }

    /// Whether an upload may be made as `condition` asks: the item is absent, or has that
    /// eTag. (Graph checks a condition only when the session is made; the agent knows it at
    /// the completion.)
    async fn check(
        &self,
        bucket: &str,
        key: &str,
        condition: Precondition<'_>,
    ) -> Result<(), StorageError> {
        let found = match condition {
            Precondition::Any => return Ok(()),
            _ => match self.stat(bucket, key, 1).await {
                Ok(item) => Some(item),
                Err(StorageError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
        };
        let holds = match (condition, &found) {
            (Precondition::Absent, None) => true,
            (Precondition::Matches(etag), Some(item)) => item.etag.as_deref() == Some(etag),
            _ => false,
        };
        match holds {
            true => Ok(()),
            false => Err(StorageError::Invalid(format!(
                "OneDrive: {bucket}/{key} changed meanwhile (its condition no longer holds)"
            ))),
        }
    }

    /// PUTs a piece of the session's file (no token: the URL is the credential); the item
    /// once the file is complete.
    async fn send_piece(
        &self,
        upload_url: &str,
        offset: u64,
        piece: Bytes,
        total: u64,
    ) -> Result<Option<Value>, StorageError> {
        let range = upload_session::content_range(offset, piece.len(), total);
        let response = super::send_retrying(PIECE_ATTEMPTS, || {
            self.account
                .http
                .put(upload_url)
                .header("Content-Range", range.clone())
                .body(piece.clone())
        })
        .await?;
        if !matches!(response.status().as_u16(), 200 | 201) {
            return Ok(None);
        }
        let bytes = response.bytes().await.map_err(transport_failed)?;
        Ok(serde_json::from_slice(&bytes).ok())
    }
}

/// The key of an item of `bucket`, from its parent's path (a folder's ends with `/`).
fn key_of(bucket: &str, item: &Value) -> String {
    let parent = item["parentReference"]["path"].as_str().unwrap_or("");
    let parent = parent.split_once("root:").map_or("", |(_, p)| p);
    let decoded = percent_encoding::percent_decode_str(parent).decode_utf8_lossy();
    let inside = decoded
        .trim_start_matches('/')
        .strip_prefix(bucket)
        .unwrap_or("")
        .trim_start_matches('/');
    let name = item["name"].as_str().unwrap_or("");
    let key = match inside.is_empty() {
        true => name.to_string(),
        false => format!("{inside}/{name}"),
    };
    match item.get("folder").is_some() {
        true => format!("{key}/"),
        false => key,
    }
}

fn modified_ms(entry: &Value) -> Option<u64> {
    super::oauth::time_ms(&entry["lastModifiedDateTime"])
}

fn stored(bucket: &str, item: &Value) -> Stored {
    Stored {
        key: key_of(bucket, item),
        size: item["size"].as_u64().unwrap_or(0),
        etag: item["eTag"].as_str().map(str::to_string),
        modified_ms: modified_ms(item),
        content_md5: None,
    }
}

/// What a refused call means: Graph names its error in `error.code`.
fn refusal(status: u16, text: &str) -> StorageError {
    let code = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_else(|| text.to_string());
    match status {
        404 => StorageError::NotFound(format!("OneDrive: {code}")),
        400 | 409 | 412 | 413 => StorageError::Invalid(format!("OneDrive: {code}")),
        401 | 403 => StorageError::Denied(format!("OneDrive: {code}")),
        _ => StorageError::Failed(format!("OneDrive answered {status}: {code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_parent_path_and_folders_end_with_a_slash() {
        let file = json!({"name": "a b.txt", "file": {},
                          "parentReference": {"path": "/drive/root:/Projects/photos%202026"}});
        assert_eq!(key_of("Projects", &file), "photos 2026/a b.txt");
        let folder = json!({"name": "x", "folder": {}, "parentReference": {"path": "/drive/root:/Projects"}});
        assert_eq!(key_of("Projects", &folder), "x/");
        let top =
            json!({"name": "Projects", "folder": {}, "parentReference": {"path": "/drive/root:"}});
        assert_eq!(key_of("", &top), "Projects/");
    }
}
