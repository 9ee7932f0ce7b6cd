//! Cloud-to-cloud transfers (`Direction::Copy`): what the source holds becomes the plan, and
//! each object's parts are read from the source by range, straight into the destination's
//! upload (the bytes never touch the disk; memory is the engine's part budget), or, within
//! one S3 endpoint under the same credentials, the object is copied on the server.

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use click_core::ports::StorageError;
use click_core::transfers::paths::{destination_key, parent_prefix};
use click_core::transfers::{ObjectCounts, Transfer};

use super::files::FileState;
use super::job::{Job, JobResult, from_storage, storage};
use crate::cloud::{Provider, Stored, etag};

/// The source of a cloud-to-cloud transfer.
pub(crate) struct Source {
    pub provider: Provider,
    pub bucket: String,
    /// Objects are copied on the server (the destination is the same S3 endpoint, under the
    /// same credentials), up to [`SERVER_COPY_MAX`] each.
    pub on_server: bool,
}

/// The largest object S3's CopyObject copies in one request.
pub(crate) const SERVER_COPY_MAX: u64 = 5 << 30;

/// A plan, and what it leaves out.
pub(crate) struct Plan {
    pub files: Vec<FileState>,
    pub counts: ObjectCounts,
}

/// The objects to copy: the one at the source path, or everything in the folder it names
/// (a path that is no object is a folder), each with its destination key; with `allowSkip`,
/// without those the destination holds in a version as new or newer; in a sync's cycle,
/// without those the destination holds unchanged.
pub(crate) async fn plan(job: &Job<'_>, t: &Transfer, source: &Source) -> JobResult<Plan> {
    let end = t.source.as_ref().ok_or("the transfer has no source")?;
    if t.servers.is_some() {
        return one_object(source, &end.path, &t.remote).await;
    }
    let (objects, folder) = source_objects(source, &end.path).await?;
    if objects.is_empty() {
        return Err(format!("{}/{} holds no object", source.bucket, end.path));
    }
    let existing: HashMap<String, Stored> = match t.allow_skip || t.sync_id.is_some() {
        true => from_storage(job.remote.list_all(&job.bucket, &t.remote).await)?
            .into_iter()
            .map(|o| (o.key.clone(), o))
            .collect(),
        false => HashMap::new(),
    };
    let mut plan = Plan {
        files: Vec::new(),
        counts: ObjectCounts::default(),
    };
    for object in objects {
        let Some(key) = destination_key(&t.remote, &folder, &object.key, t.keep_source_tree) else {
            continue;
        };
        plan.counts.total += 1;
        let skip = match t.sync_id {
            Some(_) => unchanged,
            None => as_new,
        };
        if existing.get(&key).is_some_and(|d| skip(d, &object)) {
            plan.counts.skipped += 1;
            plan.counts.skipped_bytes += object.size;
            continue;
        }
        plan.files.push(copy_of(plan.files.len(), key, object));
    }
    Ok(plan)
}

/// A server transfer's plan: the one object at `path`, written at `to` exactly.
async fn one_object(source: &Source, path: &str, to: &str) -> JobResult<Plan> {
    let object = from_storage(source.provider.stat(&source.bucket, path, 1).await)?;
    let file = copy_of(0, to.to_string(), object);
    let counts = ObjectCounts {
        total: 1,
        ..ObjectCounts::default()
    };
    Ok(Plan {
        files: vec![file],
        counts,
    })
}

/// File `index` of a plan: `object` of the source, copied to `key`.
fn copy_of(index: usize, key: String, object: Stored) -> FileState {
    let mut file = FileState::new(index, PathBuf::new(), key, object.size);
    file.source_key = Some(object.key);
    file.etag = object.etag;
    file.source_md5 = object.content_md5;
    file
}

/// Whether `destination` is a version of `source` as new or newer (`allowSkip`).
fn as_new(destination: &Stored, source: &Stored) -> bool {
    match (destination.modified_ms, source.modified_ms) {
        (Some(d), Some(s)) => d >= s,
        _ => false,
    }
}

/// Whether `destination` is a copy of `source` as it is now (a sync's cycle): the same size,
/// and the same MD5 where both ETags are one, else a version as new or newer (the copy was
/// written after the source last changed).
fn unchanged(destination: &Stored, source: &Stored) -> bool {
    if destination.size != source.size {
        return false;
    }
    match (&destination.etag, &source.etag) {
        (Some(d), Some(s)) if etag::is_plain_md5(d) && etag::is_plain_md5(s) => d == s,
        _ => as_new(destination, source),
    }
}

/// The objects at `path` and the folder their keys are below.
async fn source_objects(source: &Source, path: &str) -> JobResult<(Vec<Stored>, String)> {
    let (p, bucket) = (&source.provider, source.bucket.as_str());
    let mut not_an_object = None;
    if !path.is_empty() && !path.ends_with('/') {
        // Once: some servers answer a folder's name with an error rather than a 404, and
        // the listing below says what the path is then.
        match p.stat(bucket, path, 1).await {
            Ok(one) => return Ok((vec![one], parent_prefix(path).to_string())),
            Err(StorageError::NotFound(_)) => {}
            Err(e) => not_an_object = Some(e),
        }
    }
    let folder = match path {
        "" => String::new(),
        p => format!("{}/", p.trim_end_matches('/')),
    };
    let objects = from_storage(p.list_all(bucket, &folder).await)?;
    match not_an_object {
        Some(e) if objects.is_empty() => Err(storage(e)),
        _ => Ok((objects, folder)),
    }
}

/// Bytes `start..end` of `f`'s source object, in the version the plan saw (a changed object
/// fails the file rather than mix two versions); a failed read is tried again.
pub(crate) async fn read(
    job: &Job<'_>,
    source: &Source,
    f: &FileState,
    start: u64,
    end: u64,
) -> JobResult<Bytes> {
    let key = f
        .source_key
        .as_deref()
        .ok_or("the file has no source object")?;
    let mut last = String::new();
    for attempt in 0..job.attempts() {
        if attempt > 0 {
            tokio::time::sleep(crate::cloud::backoff(attempt)).await;
        }
        match read_once(source, key, f.etag.as_deref(), start, end).await {
            Ok(bytes) => return Ok(bytes),
            Err((why, false)) => return Err(why),
            Err((why, true)) => last = why,
        }
    }
    Err(last)
}

/// One attempt; the error says whether another may succeed.
async fn read_once(
    source: &Source,
    key: &str,
    etag: Option<&str>,
    start: u64,
    end: u64,
) -> Result<Bytes, (String, bool)> {
    let resp = (source.provider)
        .get_range(&source.bucket, key, start, end, etag)
        .await
        .map_err(|e| {
            let again = matches!(e, StorageError::Failed(_));
            (storage(e), again)
        })?;
    // Servers that ignore If-Match still name the version they sent.
    let sent = resp
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(crate::cloud::quoted_etag);
    if let (Some(sent), Some(planned)) = (sent, etag)
        && sent != planned
    {
        return Err((
            format!("{key} changed while it was being transferred"),
            false,
        ));
    }
    let mut body = BytesMut::with_capacity((end - start) as usize);
    let mut resp = resp;
    while let Some(chunk) = resp.chunk().await.map_err(|e| (e.to_string(), true))? {
        body.extend_from_slice(&chunk);
    }
    if body.len() as u64 != end - start {
        let why = format!(
            "the source sent {} of {} bytes of {key}",
            body.len(),
            end - start
        );
        return Err((why, true));
    }
    Ok(body.freeze())
}
