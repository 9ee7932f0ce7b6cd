//! Google Drive over its API v3, for accounts connected over OAuth. Buckets are the folders
//! at the root of My Drive, keys the paths inside them; Drive addresses files by id, so a path
//! is found one name at a time from the root (folder ids cached by the client). Drive allows
//! several files of one name in a folder: the oldest is the one a path names. A file's ETag
//! is its `md5Checksum` (the content's MD5, as S3 gives single-part uploads). Files up to
//! 5 MiB go up in one multipart request, larger ones through a resumable upload: pieces of
//! 256 KiB multiples PUT to the session URI, in order (`upload_session.rs`). Drive has no
//! conditional writes; a write's condition is checked just before the bytes that complete it.

use std::sync::Arc;

use bytes::Bytes;
use click_core::cloud::cloud_type;
use click_core::ports::{BucketInfo, CloudTarget, ObjectInfo, ObjectPage, StorageError};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::folder_walk::{self, Entry, FolderIds, Found, folder_of, names};
use super::oauth::{Connected, OAuthApps};
use super::upload_session;
use super::{Precondition, Stored, transport_failed};

const FOLDER: &str = "application/vnd.google-apps.folder";
/// What the agent reads of a file.
const FIELDS: &str = "id,name,mimeType,size,modifiedTime,md5Checksum";
/// The largest upload sent in one request.
const MAX_SIMPLE: usize = 5 << 20;
/// A resumable upload's pieces: multiples of 256 KiB (the last excepted), 64 MiB at most.
const SESSION: upload_session::Ranged = upload_session::Ranged {
    granule: 256 << 10,
    max_piece: 256 * (256 << 10),
};
const PIECE_ATTEMPTS: u32 = 3;

pub struct GoogleDrive {
    apps: Arc<OAuthApps>,
    api: String,
    account: Connected,
    /// Folder ids by path ("" is the root), found on the way.
    folders: FolderIds,
}

/// A name as a literal of Drive's query language.
fn literal(name: &str) -> String {
    format!("'{}'", name.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn is_folder(file: &Value) -> bool {
    file["mimeType"] == FOLDER
}

impl GoogleDrive {
    pub fn new(t: &CloudTarget, http: reqwest::Client, apps: Arc<OAuthApps>) -> GoogleDrive {
        GoogleDrive {
            api: apps.api_url(cloud_type::GOOGLE_DRIVE),
            apps,
            account: Connected::new(t, cloud_type::GOOGLE_DRIVE, http, refusal),
            folders: FolderIds::new("root"),
        }
    }

    /// One page of the files `query` finds, oldest first.
    async fn query(
        &self,
        query: &str,
        page_token: Option<&str>,
        page_size: usize,
    ) -> Result<(Vec<Value>, Option<String>), StorageError> {
        let mut url = format!(
            "{}/drive/v3/files?q={}&fields={}&orderBy=createdTime&pageSize={}&spaces=drive",
            self.api,
            utf8_percent_encode(query, NON_ALPHANUMERIC),
            utf8_percent_encode(&format!("nextPageToken,files({FIELDS})"), NON_ALPHANUMERIC),
            page_size.clamp(1, 1000)
        );
        if let Some(token) = page_token {
            url.push_str(&format!(
                "&pageToken={}",
                utf8_percent_encode(token, NON_ALPHANUMERIC)
            ));
        }
        let page = self
            .apps
            .json(&self.account, |http, token| {
                http.get(&url).bearer_auth(token)
            })
            .await?;
        let files = page["files"].as_array().cloned().unwrap_or_default();
        Ok((files, page["nextPageToken"].as_str().map(str::to_string)))
    }

    /// The file `name` in folder `parent`, if there is one.
    async fn child(&self, parent: &str, name: &str) -> Result<Option<Value>, StorageError> {
        let q = format!(
            "{} in parents and name = {} and trashed = false",
            literal(parent),
            literal(name)
        );
        Ok(self.query(&q, None, 10).await?.0.into_iter().next())
    }

    /// The id of the folder at `path` (its names), made when `make`; `None` if it is missing.
    async fn folder(&self, path: &[&str], make: bool) -> Result<Option<String>, StorageError> {
        let find = |parent: String, name: String| async move {
            Ok(match self.child(&parent, &name).await? {
                Some(f) if is_folder(&f) => {
                    Found::Folder(f["id"].as_str().unwrap_or("").to_string())
                }
                Some(_) => Found::File,
                None => Found::Missing,
            })
        };
        let make_one =
            |parent: String, name: String| async move { self.make_folder(&parent, &name).await };
        (self.folders)
            .resolve("Google Drive", path, make, find, make_one)
            .await
    }

    async fn make_folder(&self, parent: &str, name: &str) -> Result<String, StorageError> {
        let url = format!("{}/drive/v3/files?fields=id", self.api);
        let body = json!({"name": name, "mimeType": FOLDER, "parents": [parent]});
        let made = self.apps.post_json(&self.account, &url, &body).await?;
        Ok(made["id"].as_str().unwrap_or("").to_string())
    }

    /// The file at `key` of `bucket`; NotFound when there is none.
    async fn file(&self, bucket: &str, key: &str) -> Result<Value, StorageError> {
        let path = names(bucket, key);
        let missing = || StorageError::NotFound(format!("{bucket}/{key}"));
        let (name, parents) = path.split_last().ok_or_else(missing)?;
        let parent = self.folder(parents, false).await?.ok_or_else(missing)?;
        self.child(&parent, name).await?.ok_or_else(missing)
    }

    pub async fn list_buckets(&self, _: bool) -> Result<Vec<BucketInfo>, StorageError> {
        let q = format!(
            "'root' in parents and mimeType = {} and trashed = false",
            literal(FOLDER)
        );
        let mut buckets = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let (files, more) = self.query(&q, next.as_deref(), 1000).await?;
            buckets.extend(files.iter().map(|f| BucketInfo {
                name: f["name"].as_str().unwrap_or("").to_string(),
                region: None,
                create_ms: None,
            }));
            match more {
                Some(token) => next = Some(token),
                None => return Ok(buckets),
            }
        }
    }

    /// A page of the folder `prefix` (ending with `/`, or empty) of `bucket`.
    async fn folder_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<(Vec<Value>, Option<String>), StorageError> {
        let Some(id) = self.folder(&names(bucket, prefix), false).await? else {
            // A prefix nothing is under lists nothing, as in a bucket.
            return Ok((Vec::new(), None));
        };
        let q = format!("{} in parents and trashed = false", literal(&id));
        self.query(&q, continuation, max).await
    }

    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<ObjectPage, StorageError> {
        let folder = folder_of(prefix);
        let (files, next) = self.folder_page(bucket, &folder, continuation, max).await?;
        let objects = files
            .iter()
            .map(|f| ObjectInfo {
                key: key_in(&folder, f),
                size: size_of(f),
                last_modified_ms: modified_ms(f),
                is_folder: is_folder(f),
            })
            .collect();
        Ok(ObjectPage {
            objects,
            continuation: next,
        })
    }

    /// Files under `prefix`, all levels: Drive lists one folder at a time.
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<(Vec<Stored>, Option<String>), StorageError> {
        folder_walk::page(
            "Google Drive",
            prefix,
            continuation,
            |folder, token| async move {
                let (files, next) = self
                    .folder_page(bucket, &folder, token.as_deref(), 1000)
                    .await?;
                let entries = files.iter().map(|f| {
                    let key = key_in(&folder, f);
                    match is_folder(f) {
                        true => Entry::Folder(key),
                        false => Entry::File(stored(key, f)),
                    }
                });
                Ok((entries.collect(), next))
            },
        )
        .await
    }

    pub async fn stat(&self, bucket: &str, key: &str, _: u32) -> Result<Stored, StorageError> {
        let f = self.file(bucket, key).await?;
        if is_folder(&f) {
            return Err(StorageError::NotFound(format!(
                "{bucket}/{key} is a folder"
            )));
        }
        Ok(stored(key.to_string(), &f))
    }

    pub async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<reqwest::Response, StorageError> {
        let f = self.file(bucket, key).await?;
        if let Some(wanted) = etag
            && stored(key.to_string(), &f).etag.as_deref() != Some(wanted)
        {
            return Err(StorageError::Invalid(format!(
                "Google Drive: {bucket}/{key} changed since the transfer began"
            )));
        }
        let url = format!(
            "{}/drive/v3/files/{}?alt=media",
            self.api,
            f["id"].as_str().unwrap_or("")
        );
        let range = format!("bytes={start}-{}", end.saturating_sub(1));
        self.apps
            .call(&self.account, |http, token| {
                http.get(&url).bearer_auth(token).header("Range", &range)
            })
            .await
    }

    /// Deletes the file (a folder: with what is in it).
    pub async fn delete_one(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        let f = self.file(bucket, key).await?;
        let url = format!(
            "{}/drive/v3/files/{}",
            self.api,
            f["id"].as_str().unwrap_or("")
        );
        self.apps
            .call(&self.account, |http, token| {
                http.delete(&url).bearer_auth(token)
            })
            .await?;
        self.folders.forget(&names(bucket, key).join("/"));
        Ok(())
    }

    /// Makes the folder `key` (ending with `/`) and its parents; one that exists is fine.
    pub async fn put_empty(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        self.folder(&names(bucket, key), true).await.map(drop)
    }

    /// The folder `key` goes in (made when missing), its name, and the file there if any;
    /// refused unless `condition` holds for that file.
    async fn place(
        &self,
        bucket: &str,
        key: &str,
        condition: Precondition<'_>,
    ) -> Result<(String, String, Option<Value>), StorageError> {
        let path = names(bucket, key);
        let (name, parents) = path
            .split_last()
            .ok_or_else(|| StorageError::Invalid("Google Drive: an empty key".into()))?;
        let parent = self.folder(parents, true).await?.unwrap_or_default();
        let existing = self.child(&parent, name).await?;
        let holds = match (condition, &existing) {
            (Precondition::Any, _) | (Precondition::Absent, None) => true,
            (Precondition::Matches(etag), Some(f)) => {
                stored(key.to_string(), f).etag.as_deref() == Some(etag)
            }
            _ => false,
        };
        if !holds {
            return Err(StorageError::Invalid(format!(
                "Google Drive: {bucket}/{key} changed meanwhile (its condition no longer holds)"
            )));
        }
        Ok((parent, name.to_string(), existing))
    }

    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        if body.len() > MAX_SIMPLE {
            let id = self
                .create_multipart(bucket, key, body.len() as u64)
                .await?;
            self.upload_part(&id, 1, body).await?;
            return self.complete_multipart(bucket, key, &id, condition).await;
        }
        let (parent, name, existing) = self.place(bucket, key, condition).await?;
        let fields = format!("fields={}", utf8_percent_encode(FIELDS, NON_ALPHANUMERIC));
        let file = match existing {
            Some(f) => {
                let url = format!(
                    "{}/upload/drive/v3/files/{}?uploadType=media&{fields}",
                    self.api,
                    f["id"].as_str().unwrap_or("")
                );
                self.apps
                    .json(&self.account, |http, token| {
                        http.patch(&url)
                            .bearer_auth(token)
                            .header("Content-Type", "application/octet-stream")
                            .body(body.clone())
                    })
                    .await?
            }
            None => {
                let url = format!(
                    "{}/upload/drive/v3/files?uploadType=multipart&{fields}",
                    self.api
                );
                let metadata = json!({"name": name, "parents": [parent]}).to_string();
                let related = super::multipart_body(&[
                    (
                        "Content-Type: application/json; charset=UTF-8",
                        metadata.as_bytes(),
                    ),
                    ("Content-Type: application/octet-stream", &body),
                ]);
                self.apps
                    .json(&self.account, |http, token| {
                        http.post(&url)
                            .bearer_auth(token)
                            .header(
                                "Content-Type",
                                format!(
                                    "multipart/related; boundary={}",
                                    super::MULTIPART_BOUNDARY
                                ),
                            )
                            .body(related.clone())
                    })
                    .await?
            }
        };
        Ok(stored(key.to_string(), &file).etag)
    }

    /// Starts a resumable upload of `size` bytes (a new revision of the file there, if any);
    /// its session URI is its id.
    pub async fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
    ) -> Result<String, StorageError> {
        let (parent, name, existing) = self.place(bucket, key, Precondition::Any).await?;
        let fields = format!("fields={}", utf8_percent_encode(FIELDS, NON_ALPHANUMERIC));
        let (url, metadata, update) = match &existing {
            Some(f) => (
                format!(
                    "{}/upload/drive/v3/files/{}?uploadType=resumable&{fields}",
                    self.api,
                    f["id"].as_str().unwrap_or("")
                ),
                json!({}),
                true,
            ),
            None => (
                format!(
                    "{}/upload/drive/v3/files?uploadType=resumable&{fields}",
                    self.api
                ),
                json!({"name": name, "parents": [parent]}),
                false,
            ),
        };
        let body = metadata.to_string();
        let response = self
            .apps
            .call(&self.account, |http, token| {
                let request = if update {
                    http.patch(&url)
                } else {
                    http.post(&url)
                };
                request
                    .bearer_auth(token)
                    .header("Content-Type", "application/json; charset=UTF-8")
                    .header("X-Upload-Content-Length", size.to_string())
                    .body(body.clone())
            })
            .await?;
        let session = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| StorageError::Failed("Google Drive gave no upload session".into()))?
            .to_string();
        self.apps.uploads.start(&session, size);
        Ok(session)
    }

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

    /// Sends the last piece, which makes the revision, once `condition` holds.
    pub async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        let send = |offset, piece, total| self.send_piece(upload_id, offset, piece, total);
        let check = async { self.place(bucket, key, condition).await.map(drop) };
        let file = SESSION
            .complete(&self.apps.uploads, upload_id, check, send)
            .await?;
        Ok(file.and_then(|f| stored(key.to_string(), &f).etag))
    }

    pub fn knows_upload(&self, upload_id: &str) -> bool {
        self.apps.uploads.knows(upload_id)
    }

    /// Forgets the session; Drive drops an unfinished one after a week.
    pub async fn abort_multipart(&self, upload_id: &str) {
        self.apps.uploads.end(upload_id);
        let _ = self.account.http.delete(upload_id).send().await;
    }

    /// PUTs a piece to the session URI (which needs no token); Drive answers 308 until the
    /// file is whole, then the file.
    async fn send_piece(
        &self,
        session: &str,
        offset: u64,
        piece: Bytes,
        total: u64,
    ) -> Result<Option<Value>, StorageError> {
        let range = upload_session::content_range(offset, piece.len(), total);
        let mut last = StorageError::Failed("no attempt made".into());
        for attempt in 0..PIECE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(super::backoff(attempt)).await;
            }
            let sent = self
                .account
                .http
                .put(session)
                .header("Content-Range", &range)
                .body(piece.clone())
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = transport_failed(e);
                    continue;
                }
            };
            match response.status().as_u16() {
                308 => return Ok(None),
                200 | 201 => {
                    let bytes = response.bytes().await.map_err(transport_failed)?;
                    return Ok(serde_json::from_slice(&bytes).ok());
                }
                429 | 500.. => last = self.account.refused(response).await,
                _ => return Err(self.account.refused(response).await),
            }
        }
        Err(last)
    }
}

fn key_in(folder: &str, f: &Value) -> String {
    folder_walk::key_in(folder, f["name"].as_str().unwrap_or(""), is_folder(f))
}

fn size_of(f: &Value) -> u64 {
    // Drive sends sizes as strings (int64 in JSON).
    match &f["size"] {
        Value::String(s) => s.parse().unwrap_or(0),
        v => v.as_u64().unwrap_or(0),
    }
}

fn modified_ms(f: &Value) -> Option<u64> {
    super::oauth::time_ms(&f["modifiedTime"])
}

fn stored(key: String, f: &Value) -> Stored {
    Stored {
        key,
        size: size_of(f),
        etag: f["md5Checksum"].as_str().map(|m| format!("\"{m}\"")),
        modified_ms: modified_ms(f),
        content_md5: f["md5Checksum"].as_str().map(str::to_string),
    }
}

/// What a refused call means: Drive names its reason in `error.errors[0].reason`.
fn refusal(status: u16, text: &str) -> StorageError {
    let reason = serde_json::from_str::<Value>(text)
        .ok()
        .map(|v| {
            let e = &v["error"];
            let reason = e["errors"][0]["reason"].as_str().unwrap_or("");
            let message = e["message"].as_str().unwrap_or("");
            format!("{reason}: {message}")
        })
        .unwrap_or_else(|| text.to_string());
    match status {
        404 => StorageError::NotFound(format!("Google Drive: {reason}")),
        400 | 409 | 412 | 413 | 416 => StorageError::Invalid(format!("Google Drive: {reason}")),
        401 | 403 if !reason.contains("ateLimit") => {
            StorageError::Denied(format!("Google Drive: {reason}"))
        }
        _ => StorageError::Failed(format!("Google Drive answered {status}: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_literals() {
        assert_eq!(names("Projects", "a/b.txt"), ["Projects", "a", "b.txt"]);
        assert_eq!(names("", ""), Vec::<&str>::new());
        assert_eq!(literal("it's a\\b"), "'it\\'s a\\\\b'");
        let file = json!({"name": "a.txt", "mimeType": "text/plain", "size": "12",
                          "md5Checksum": "0cc175b9c0f1b6a831c399e269772661"});
        assert_eq!(key_in("photos/", &file), "photos/a.txt");
        assert_eq!(size_of(&file), 12);
        assert_eq!(
            stored("k".into(), &file).etag.as_deref(),
            Some("\"0cc175b9c0f1b6a831c399e269772661\"")
        );
        let folder = json!({"name": "2026", "mimeType": FOLDER});
        assert_eq!(key_in("photos/", &folder), "photos/2026/");
    }
}
