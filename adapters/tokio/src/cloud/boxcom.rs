//! Box over its Content API 2.0, for accounts connected over OAuth. Buckets are the folders
//! at the root of All Files (folder `0`), keys the paths inside them. Box addresses items by
//! id, so a path is found one name at a time from the root (a folder's items are listed until
//! the name is found: names are unique in a folder, whatever their case; folder ids are cached
//! by the client). A file's ETag is Box's `etag` (which version it is at): writes give it as
//! `If-Match`, so a conditional write has no race. Bytes go up to Box's upload host: files
//! under 20 MB in one `multipart/form-data` request (the engine's parts are held until the
//! completion, then sent as one), larger ones through a chunked upload session, whose parts
//! must be exactly its `part_size`: the engine's parts are cut and joined to that size in
//! order (`upload_session.rs`), each sent with its SHA-1, and the commit names them all with
//! the whole file's SHA-1 and the write's condition.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use click_core::cloud::cloud_type;
use click_core::ports::{BucketInfo, CloudTarget, ObjectInfo, ObjectPage, StorageError};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::folder_walk::{self, Entry, FolderIds, Found, folder_of, names};
use super::oauth::{Connected, OAuthApps, retry_after};
use super::upload_session::{self, Sessions};
use super::{Precondition, Stored, transport_failed};

/// The root folder's id.
const ROOT: &str = "0";
/// What the agent reads of an item.
const FIELDS: &str = "id,type,name,size,modified_at,etag,sha1";
/// The smallest file Box takes through a chunked upload session; smaller ones go in one
/// request.
const CHUNKED_MIN: u64 = 20_000_000;
/// Items asked for per page of a folder (Box's most).
const PAGE: usize = 1000;
/// Tries of a part or a commit that failed on the way or on Box's side.
const ATTEMPTS: u32 = 3;
/// Commits answered 202 (parts still being processed) waited out before the upload fails.
const COMMIT_WAITS: u32 = 10;
/// The longest wait for a commit or a download Box asks for (`Retry-After`).
const MAX_WAIT: Duration = Duration::from_secs(10);
/// The prefix of the ids of uploads held in memory until their completion (under 20 MB).
const HELD: &str = "held:";

pub struct BoxCom {
    apps: Arc<OAuthApps>,
    api: String,
    upload: String,
    account: Connected,
    /// Folder ids by path ("" is the root), found on the way.
    folders: FolderIds,
}

/// An upload in progress, in its session's turns.
#[derive(Default)]
pub struct Upload {
    /// Bytes Box has.
    offset: u64,
    /// Bytes taken but not sent yet: under 20 MB, the whole file until its completion.
    held: BytesMut,
    /// The SHA-1 of every byte taken so far.
    sha1: Sha1,
    /// Box's session, for files of 20 MB and more.
    chunked: Option<Chunked>,
}

struct Chunked {
    id: String,
    /// Every part but the last is exactly this long.
    part_size: usize,
    upload_part: String,
    commit: String,
    /// The file a new version is for (none: a new file).
    file: Option<String>,
    /// The parts Box took, as its commit lists them.
    parts: Vec<Value>,
}

/// The uploads of Box accounts in progress, by id.
pub type Uploads = Sessions<Upload>;

fn is_folder(item: &Value) -> bool {
    item["type"] == "folder"
}

fn id_of(item: &Value) -> &str {
    item["id"].as_str().unwrap_or("")
}

/// `sha=<base64 SHA-1>`, the `Digest` header Box checks bytes against.
fn digest(sha1: &[u8]) -> String {
    format!(
        "sha={}",
        base64::engine::general_purpose::STANDARD.encode(sha1)
    )
}

impl BoxCom {
    pub fn new(t: &CloudTarget, http: reqwest::Client, apps: Arc<OAuthApps>) -> BoxCom {
        BoxCom {
            api: format!("{}/2.0", apps.api_url(cloud_type::BOX)),
            upload: format!("{}/2.0", apps.content_url(cloud_type::BOX)),
            apps,
            account: Connected::new(t, cloud_type::BOX, http, refusal),
            folders: FolderIds::new(ROOT),
        }
    }

    /// One page of the folder `id`'s items (marker-based paging), and the next page's marker.
    async fn items(
        &self,
        id: &str,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Value>, Option<String>), StorageError> {
        let mut url = format!(
            "{}/folders/{id}/items?fields={FIELDS}&limit={}&usemarker=true",
            self.api,
            limit.clamp(1, PAGE)
        );
        if let Some(marker) = marker {
            url.push_str("&marker=");
            url.push_str(&super::sigv4::encode(marker, super::sigv4::STRICT));
        }
        let page = self
            .apps
            .json(&self.account, |http, token| {
                http.get(&url).bearer_auth(token)
            })
            .await?;
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        let next = page["next_marker"]
            .as_str()
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        Ok((entries, next))
    }

    /// The item `name` in folder `parent`, if there is one.
    async fn child(&self, parent: &str, name: &str) -> Result<Option<Value>, StorageError> {
        let wanted = name.to_lowercase();
        let mut marker: Option<String> = None;
        loop {
            let (entries, next) = self.items(parent, marker.as_deref(), PAGE).await?;
            let found = entries
                .into_iter()
                .find(|e| e["name"].as_str().map(str::to_lowercase).as_deref() == Some(&wanted));
            match (found, next) {
                (Some(item), _) => return Ok(Some(item)),
                (None, Some(next)) => marker = Some(next),
                (None, None) => return Ok(None),
            }
        }
    }

    /// The id of the folder at `path` (its names), made when `make`; `None` if it is missing.
    async fn folder(&self, path: &[&str], make: bool) -> Result<Option<String>, StorageError> {
        let find = |parent: String, name: String| async move {
            Ok(match self.child(&parent, &name).await? {
                Some(f) if is_folder(&f) => Found::Folder(id_of(&f).to_string()),
                Some(_) => Found::File,
                None => Found::Missing,
            })
        };
        let make_one =
            |parent: String, name: String| async move { self.make_folder(&parent, &name).await };
        (self.folders)
            .resolve("Box", path, make, find, make_one)
            .await
    }

    /// Makes the folder `name` in `parent`; one made meanwhile by someone else is taken.
    async fn make_folder(&self, parent: &str, name: &str) -> Result<String, StorageError> {
        let url = format!("{}/folders?fields=id", self.api);
        let body = json!({"name": name, "parent": {"id": parent}});
        let made = self.apps.post_json(&self.account, &url, &body).await;
        match made {
            Ok(folder) => Ok(id_of(&folder).to_string()),
            Err(StorageError::Invalid(_)) => match self.child(parent, name).await? {
                Some(item) if is_folder(&item) => Ok(id_of(&item).to_string()),
                _ => Err(StorageError::Invalid(format!(
                    "Box: {name} is a file, not a folder"
                ))),
            },
            Err(e) => Err(e),
        }
    }

    /// The item at `key` of `bucket`; NotFound when there is none.
    async fn item(&self, bucket: &str, key: &str) -> Result<Value, StorageError> {
        let path = names(bucket, key);
        let missing = || StorageError::NotFound(format!("{bucket}/{key}"));
        let (name, parents) = path.split_last().ok_or_else(missing)?;
        let parent = self.folder(parents, false).await?.ok_or_else(missing)?;
        self.child(&parent, name).await?.ok_or_else(missing)
    }

    pub async fn list_buckets(&self, _: bool) -> Result<Vec<BucketInfo>, StorageError> {
        let mut buckets = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let (entries, next) = self.items(ROOT, marker.as_deref(), PAGE).await?;
            buckets.extend(entries.iter().filter(|e| is_folder(e)).map(|e| BucketInfo {
                name: e["name"].as_str().unwrap_or("").to_string(),
                region: None,
                create_ms: None,
            }));
            match next {
                Some(next) => marker = Some(next),
                None => return Ok(buckets),
            }
        }
    }

    /// A page of the folder `prefix` (ending with `/`, or empty) of `bucket`.
    async fn folder_page(
        &self,
        bucket: &str,
        prefix: &str,
        marker: Option<&str>,
        max: usize,
    ) -> Result<(Vec<Value>, Option<String>), StorageError> {
        match self.folder(&names(bucket, prefix), false).await? {
            Some(id) => self.items(&id, marker, max).await,
            // A prefix nothing is under lists nothing, as in a bucket.
            None => Ok((Vec::new(), None)),
        }
    }

    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<ObjectPage, StorageError> {
        let folder = folder_of(prefix);
        let (entries, next) = self.folder_page(bucket, &folder, continuation, max).await?;
        let objects = entries
            .iter()
            .filter(|e| e["type"] != "web_link")
            .map(|e| ObjectInfo {
                key: key_in(&folder, e),
                size: e["size"].as_u64().unwrap_or(0),
                last_modified_ms: modified_ms(e),
                is_folder: is_folder(e),
            })
            .collect();
        Ok(ObjectPage {
            objects,
            continuation: next,
        })
    }

    /// Files under `prefix`, all levels: Box lists one folder at a time.
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<(Vec<Stored>, Option<String>), StorageError> {
        folder_walk::page("Box", prefix, continuation, |folder, marker| async move {
            let (entries, next) = self
                .folder_page(bucket, &folder, marker.as_deref(), PAGE)
                .await?;
            let entries = entries.iter().filter_map(|e| match e["type"].as_str() {
                Some("folder") => Some(Entry::Folder(key_in(&folder, e))),
                Some("file") => Some(Entry::File(stored(key_in(&folder, e), e))),
                _ => None,
            });
            Ok((entries.collect(), next))
        })
        .await
    }

    pub async fn stat(&self, bucket: &str, key: &str, _: u32) -> Result<Stored, StorageError> {
        let item = self.item(bucket, key).await?;
        if item["type"] != "file" {
            return Err(StorageError::NotFound(format!(
                "{bucket}/{key} is a folder"
            )));
        }
        Ok(stored(key.to_string(), &item))
    }

    /// Bytes `start..end` of the file, through Box's redirect to its download URL; refused
    /// if the file is no longer at version `etag`.
    pub async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<reqwest::Response, StorageError> {
        let item = self.item(bucket, key).await?;
        if let Some(wanted) = etag
            && stored(key.to_string(), &item).etag.as_deref() != Some(wanted)
        {
            return Err(StorageError::Invalid(format!(
                "Box: {bucket}/{key} changed since the transfer began"
            )));
        }
        let url = format!("{}/files/{}/content", self.api, id_of(&item));
        let range = format!("bytes={start}-{}", end.saturating_sub(1));
        for _ in 0..ATTEMPTS {
            let response = self
                .apps
                .call(&self.account, |http, token| {
                    http.get(&url).bearer_auth(token).header("Range", &range)
                })
                .await?;
            // 202: the file is not ready to download yet; Box says when to ask again.
            if response.status() != reqwest::StatusCode::ACCEPTED {
                return Ok(response);
            }
            tokio::time::sleep(retry_after(&response).min(MAX_WAIT)).await;
        }
        Err(StorageError::Failed(format!(
            "Box: {bucket}/{key} is not ready to download yet"
        )))
    }

    /// Deletes the file, or the folder with what is in it.
    pub async fn delete_one(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        let item = self.item(bucket, key).await?;
        let url = match is_folder(&item) {
            true => format!("{}/folders/{}?recursive=true", self.api, id_of(&item)),
            false => format!("{}/files/{}", self.api, id_of(&item)),
        };
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

    /// The folder `key` goes in (made when missing), its name, and the file there if any.
    async fn place(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(String, String, Option<Value>), StorageError> {
        let path = names(bucket, key);
        let (name, parents) = path
            .split_last()
            .ok_or_else(|| StorageError::Invalid("Box: an empty key".into()))?;
        let parent = self.folder(parents, true).await?.unwrap_or_default();
        let existing = self.child(&parent, name).await?;
        if existing.as_ref().is_some_and(is_folder) {
            return Err(StorageError::Invalid(format!(
                "Box: {bucket}/{key} is a folder"
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
        if body.len() as u64 >= CHUNKED_MIN {
            let id = self
                .create_multipart(bucket, key, body.len() as u64)
                .await?;
            self.upload_part(&id, 1, body).await?;
            return self.complete_multipart(bucket, key, &id, condition).await;
        }
        self.upload_whole(bucket, key, body, condition).await
    }

    /// Sends the file in one request: a new file, or a new version of the one there, as
    /// `condition` asks (Box refuses a name that is taken, and `If-Match` a changed version).
    async fn upload_whole(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        let (parent, name, existing) = self.place(bucket, key).await?;
        let (url, attributes, if_match) = match (existing, condition) {
            (Some(_), Precondition::Absent) | (None, Precondition::Matches(_)) => {
                return Err(changed(bucket, key));
            }
            (Some(file), condition) => (
                format!(
                    "{}/files/{}/content?fields={FIELDS}",
                    self.upload,
                    id_of(&file)
                ),
                json!({ "name": name }),
                match condition {
                    Precondition::Matches(etag) => Some(bare(etag)),
                    _ => None,
                },
            ),
            (None, _) => (
                format!("{}/files/content?fields={FIELDS}", self.upload),
                json!({"name": name, "parent": {"id": parent}}),
                None,
            ),
        };
        let sha1 = hex(&Sha1::digest(&body));
        let attributes = attributes.to_string();
        let form = super::multipart_body(&[
            (
                "Content-Disposition: form-data; name=\"attributes\"",
                attributes.as_bytes(),
            ),
            (
                "Content-Disposition: form-data; name=\"file\"; filename=\"file\"\r\n\
                 Content-Type: application/octet-stream",
                &body,
            ),
        ]);
        let sent = self
            .apps
            .json(&self.account, |http, token| {
                let request = http
                    .post(&url)
                    .bearer_auth(token)
                    .header(
                        "Content-Type",
                        format!(
                            "multipart/form-data; boundary={}",
                            super::MULTIPART_BOUNDARY
                        ),
                    )
                    // Box names the header content-md5 but takes the file's SHA-1 in it.
                    .header("Content-MD5", &sha1)
                    .body(form.clone());
                match &if_match {
                    Some(etag) => request.header("If-Match", etag),
                    None => request,
                }
            })
            .await;
        let files = sent.map_err(|e| conflict_is_change(e, bucket, key))?;
        Ok(stored(key.to_string(), &files["entries"][0]).etag)
    }

    /// Starts an upload of `size` bytes: under 20 MB, held in memory until its completion;
    /// else a chunked upload session (of a new version of the file there, if any).
    pub async fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
    ) -> Result<String, StorageError> {
        let uploads = &self.apps.box_uploads;
        if size < CHUNKED_MIN {
            let mut nonce = [0u8; 16];
            getrandom::fill(&mut nonce).map_err(|e| StorageError::Failed(e.to_string()))?;
            let id = format!("{HELD}{}", hex(&nonce));
            uploads.start(&id, size);
            return Ok(id);
        }
        let (parent, name, existing) = self.place(bucket, key).await?;
        let (url, body) = match &existing {
            Some(file) => (
                format!("{}/files/{}/upload_sessions", self.upload, id_of(file)),
                json!({ "file_size": size }),
            ),
            None => (
                format!("{}/files/upload_sessions", self.upload),
                json!({"folder_id": parent, "file_size": size, "file_name": name}),
            ),
        };
        let session = self.apps.post_json(&self.account, &url, &body).await?;
        let chunked = chunked_of(&session, &self.upload, existing.as_ref().map(id_of))?;
        let id = chunked.id.clone();
        let upload = Upload {
            chunked: Some(chunked),
            ..Upload::default()
        };
        uploads.start_with(&id, size, upload);
        Ok(id)
    }

    /// Part `number` in its turn: taken into the file's SHA-1, then held (a file under 20 MB)
    /// or sent in pieces of the session's part size, the rest held for the next part.
    pub async fn upload_part(
        &self,
        upload_id: &str,
        number: u32,
        body: Bytes,
    ) -> Result<String, StorageError> {
        let session = self.apps.box_uploads.get(upload_id)?;
        let mut turn = session.turn(number).await?;
        let upload = &mut *turn.progress;
        upload.sha1.update(&body);
        let data = upload_session::joined(&mut upload.held, body);
        let mut at = 0;
        if let Some(chunked) = &mut upload.chunked {
            while data.len() - at >= chunked.part_size
                || (at < data.len() && upload.offset + data.len() as u64 == session.total)
            {
                let piece = data.slice(at..(at + chunked.part_size).min(data.len()));
                let offset = upload.offset + at as u64;
                let part = self
                    .send_part(chunked, offset, piece.clone(), session.total)
                    .await?;
                chunked.parts.push(part);
                at += piece.len();
            }
            upload.offset += at as u64;
        }
        upload.held = BytesMut::from(&data[at..]);
        turn.done();
        Ok(format!("part-{number}"))
    }

    /// PUTs one part of a chunked session with its SHA-1; the part as Box lists it.
    async fn send_part(
        &self,
        chunked: &Chunked,
        offset: u64,
        piece: Bytes,
        total: u64,
    ) -> Result<Value, StorageError> {
        let range = upload_session::content_range(offset, piece.len(), total);
        let digest = digest(&Sha1::digest(&piece));
        let mut last = StorageError::Failed("no attempt made".into());
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(super::backoff(attempt)).await;
            }
            let sent = self
                .apps
                .json(&self.account, |http, token| {
                    http.put(&chunked.upload_part)
                        .bearer_auth(token)
                        .header("Content-Type", "application/octet-stream")
                        .header("Content-Range", &range)
                        .header("Digest", &digest)
                        .body(piece.clone())
                })
                .await;
            match sent {
                Ok(answer) => return Ok(answer["part"].clone()),
                Err(e @ StorageError::Failed(_)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Completes the upload when `condition` holds: a held file goes up in one request, a
    /// chunked session is committed. The upload ends either way.
    pub async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        let uploads = &self.apps.box_uploads;
        let session = uploads.get(upload_id)?;
        let mut settled = session.settled().await;
        let upload = &mut *settled;
        let done = match &upload.chunked {
            _ if upload.offset + upload.held.len() as u64 != session.total => {
                Err(StorageError::Failed(String::from(
                    "Box: the upload ended before the whole file was sent",
                )))
            }
            None => {
                let whole = upload.held.split().freeze();
                self.upload_whole(bucket, key, whole, condition).await
            }
            Some(chunked) => {
                let sha1 = upload.sha1.clone().finalize();
                self.commit(bucket, key, chunked, &sha1, condition).await
            }
        };
        drop(settled);
        uploads.end(upload_id);
        done
    }

    /// Commits a chunked session: the parts, the file's SHA-1 and, for a new version,
    /// `If-Match` (a new file's name taken meanwhile is refused by Box). Box may answer
    /// that the parts are still being processed: asked again when it says.
    async fn commit(
        &self,
        bucket: &str,
        key: &str,
        chunked: &Chunked,
        sha1: &[u8],
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        let if_match = match (&chunked.file, condition) {
            (Some(_), Precondition::Absent) | (None, Precondition::Matches(_)) => {
                return Err(changed(bucket, key));
            }
            (Some(_), Precondition::Matches(etag)) => Some(bare(etag)),
            _ => None,
        };
        let body = json!({ "parts": chunked.parts }).to_string();
        let digest = digest(sha1);
        for _ in 0..COMMIT_WAITS {
            let response = self
                .apps
                .call(&self.account, |http, token| {
                    let request = http
                        .post(&chunked.commit)
                        .bearer_auth(token)
                        .header("Content-Type", "application/json")
                        .header("Digest", &digest)
                        .body(body.clone());
                    match &if_match {
                        Some(etag) => request.header("If-Match", etag),
                        None => request,
                    }
                })
                .await
                .map_err(|e| conflict_is_change(e, bucket, key))?;
            if response.status() == reqwest::StatusCode::ACCEPTED {
                tokio::time::sleep(retry_after(&response).min(MAX_WAIT)).await;
                continue;
            }
            let bytes = response.bytes().await.map_err(transport_failed)?;
            let files: Value = serde_json::from_slice(&bytes)
                .map_err(|e| StorageError::Failed(format!("Box: {e}")))?;
            return Ok(stored(key.to_string(), &files["entries"][0]).etag);
        }
        Err(StorageError::Failed(format!(
            "Box: {bucket}/{key}: the upload's parts were still being processed"
        )))
    }

    pub fn knows_upload(&self, upload_id: &str) -> bool {
        self.apps.box_uploads.knows(upload_id)
    }

    /// Forgets the upload, and ends Box's session if there is one (Box drops an unfinished
    /// one after a week anyway).
    pub async fn abort_multipart(&self, upload_id: &str) {
        self.apps.box_uploads.end(upload_id);
        if upload_id.starts_with(HELD) {
            return;
        }
        let url = format!("{}/files/upload_sessions/{upload_id}", self.upload);
        let _ = self
            .apps
            .call(&self.account, |http, token| {
                http.delete(&url).bearer_auth(token)
            })
            .await;
    }
}

/// A chunked session as Box describes it; `file` is the file a new version is for.
fn chunked_of(session: &Value, upload: &str, file: Option<&str>) -> Result<Chunked, StorageError> {
    let id = session["id"].as_str().unwrap_or("").to_string();
    let part_size = session["part_size"].as_u64().unwrap_or(0) as usize;
    if id.is_empty() || part_size == 0 {
        return Err(StorageError::Failed(format!(
            "Box gave no usable upload session: {session}"
        )));
    }
    let endpoint = |name: &str, default: String| {
        session["session_endpoints"][name]
            .as_str()
            .map_or(default, str::to_string)
    };
    let own = format!("{upload}/files/upload_sessions/{id}");
    Ok(Chunked {
        upload_part: endpoint("upload_part", own.clone()),
        commit: endpoint("commit", format!("{own}/commit")),
        file: file.map(str::to_string),
        parts: Vec::new(),
        id,
        part_size,
    })
}

fn hex(bytes: &[u8]) -> String {
    click_core::ports::hex(bytes)
}

/// An ETag as Box takes it (unquoted).
fn bare(etag: &str) -> String {
    etag.trim().trim_matches('"').to_string()
}

fn changed(bucket: &str, key: &str) -> StorageError {
    StorageError::Invalid(format!(
        "Box: {bucket}/{key} changed meanwhile (its condition no longer holds)"
    ))
}

/// A write Box refused for a name taken or a version changed meanwhile: the condition failed.
fn conflict_is_change(e: StorageError, bucket: &str, key: &str) -> StorageError {
    match e {
        StorageError::Invalid(m)
            if m.contains("item_name_in_use") || m.contains("precondition") =>
        {
            changed(bucket, key)
        }
        e => e,
    }
}

fn key_in(folder: &str, item: &Value) -> String {
    folder_walk::key_in(folder, item["name"].as_str().unwrap_or(""), is_folder(item))
}

fn modified_ms(item: &Value) -> Option<u64> {
    super::oauth::time_ms(&item["modified_at"])
}

fn stored(key: String, item: &Value) -> Stored {
    Stored {
        key,
        size: item["size"].as_u64().unwrap_or(0),
        etag: item["etag"].as_str().map(|e| format!("\"{e}\"")),
        modified_ms: modified_ms(item),
        content_md5: None,
    }
}

/// What a refused call means: Box names its reason in `code`.
fn refusal(status: u16, text: &str) -> StorageError {
    let reason = serde_json::from_str::<Value>(text)
        .ok()
        .map(|v| {
            let code = v["code"].as_str().unwrap_or("");
            let message = v["message"].as_str().unwrap_or("");
            format!("{code}: {message}")
        })
        .unwrap_or_else(|| text.to_string());
    match status {
        404 => StorageError::NotFound(format!("Box: {reason}")),
        400 | 409 | 412 | 413 | 416 => StorageError::Invalid(format!("Box: {reason}")),
        401 | 403 => StorageError::Denied(format!("Box: {reason}")),
        _ => StorageError::Failed(format!("Box answered {status}: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_sessions_as_box_describes_them() {
        assert_eq!(names("Projects", "a/b.txt"), ["Projects", "a", "b.txt"]);
        let file = json!({"type": "file", "id": "12", "name": "a.txt", "size": 12, "etag": "3",
                          "modified_at": "2026-12-05T10:00:00-08:00"});
        assert_eq!(key_in("photos/", &file), "photos/a.txt");
        let s = stored("k".into(), &file);
        assert_eq!((s.size, s.etag.as_deref()), (12, Some("\"3\"")));
        assert_eq!(s.modified_ms, Some(1_796_493_600_000));
        assert_eq!(bare("\"3\""), "3");
        let folder = json!({"type": "folder", "id": "7", "name": "2026"});
        assert_eq!(key_in("photos/", &folder), "photos/2026/");
        assert_eq!(
            digest(&Sha1::digest(b"abc")),
            "sha=qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
        );

        let session = json!({"id": "F97", "part_size": 8_388_608, "session_endpoints": {
            "upload_part": "https://upload.box.com/api/2.0/files/upload_sessions/F97",
            "commit": "https://upload.box.com/api/2.0/files/upload_sessions/F97/commit"}});
        let chunked = chunked_of(&session, "http://x/2.0", Some("12")).unwrap();
        assert_eq!((chunked.id.as_str(), chunked.part_size), ("F97", 8_388_608));
        assert!(chunked.commit.ends_with("/F97/commit"));
        let bare_session = json!({"id": "F98", "part_size": 1024});
        let chunked = chunked_of(&bare_session, "http://x/2.0", None).unwrap();
        assert_eq!(
            chunked.upload_part,
            "http://x/2.0/files/upload_sessions/F98"
        );
        assert!(chunked_of(&json!({"id": "F99"}), "http://x", None).is_err());
    }
}
