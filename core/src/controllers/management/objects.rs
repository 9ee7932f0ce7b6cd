//! File System Operations on objects of cloud drives (`management.md`): state, metadata,
//! hydration, pinning, eviction, deletion, byte ranges, presigned URLs and folder renames.
//!
//! Every route takes an absolute local `path` inside a drive (under its `localPath` or its
//! cache folder). A path no drive owns is the documented 404 where the page documents one and
//! a 499 `NOT_FOUND` elsewhere; a path naming `.` or `..` inside a drive is a 499 `SECURITY`.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::clouddrives::owning;
use crate::agent::{Ctx, required_query};
use crate::cloud::storage_error;
use crate::drives::drive::{self, CloudDrive};
use crate::drives::journal::{self, FileRecord};
use crate::drives::paths;
use crate::drives::sealed;
use crate::drives::state::{FileState, Flags};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::{max_len, null_as_default};
use crate::ports::{
    CloudTarget, DriveCommand, DriveError, DriveHost, ObjectInfo, ObjectRead, ObjectStorage, Ports,
    Presign, PresignMethod, StorageError,
};
use crate::time::iso8601;

/// Folders of these project types are downloaded whole (`object_download`).
const BUNDLES: [&str; 5] = [".postlabteam", ".fcpbundle", ".aep", ".aepx", ".prproj"];
const PRESIGNED_SECS: u64 = 24 * 3600;

/// How a route answers a path that no drive owns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unowned {
    /// The page documents a 404.
    Documented404,
    /// A 499 `NOT_FOUND`.
    NotFound,
}

/// The drive owning the `path` query parameter, and the path relative to the drive.
fn located<P: Ports>(cx: &Ctx<'_, P>, unowned: Unowned) -> ApiResult<(CloudDrive, String)> {
    let path = required_query(cx.req, "path")?;
    let caller = cx.caller_or_signed_in()?;
    match owning(cx, &caller, &path)? {
        Some(found) => Ok(found),
        None if unowned == Unowned::Documented404 => Err(ApiError::Missing(
            alloc::format!("No cloud drive owns the path {}.", path.trim()).into(),
        )),
        None => Err(ApiError::not_found("A cloud drive owning this path")),
    }
}

fn key_of(d: &CloudDrive, rel: &str) -> ApiResult<String> {
    if rel.is_empty() {
        return Ok(d.prefix.clone());
    }
    paths::key_of(&d.prefix, rel).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Security,
            "The path names something no object of the drive can be.",
        )
    })
}

fn target<P: Ports>(cx: &Ctx<'_, P>, d: &CloudDrive) -> ApiResult<CloudTarget> {
    drive::target(cx.store(), cx.ports().secrets(), d)
}

/// The object or folder at `rel`, as the bucket lists it now.
async fn remote<P: Ports>(
    cx: &Ctx<'_, P>,
    d: &CloudDrive,
    target: &CloudTarget,
    rel: &str,
) -> ApiResult<Option<ObjectInfo>> {
    let key = key_of(d, rel)?;
    if rel.is_empty() {
        return Ok(Some(ObjectInfo {
            key,
            size: 0,
            last_modified_ms: None,
            is_folder: true,
        }));
    }
    let objects = cx.ports().objects();
    match objects.stat(target, &d.storage_name, &key).await {
        Ok(o) => return Ok(Some(o)),
        Err(StorageError::NotFound(_)) => {}
        Err(e) => return Err(storage_error(target.cloud_type, e)),
    }
    // Not an object: a folder if anything lies under it.
    let folder = alloc::format!("{key}/");
    let page = objects
        .list_objects(target, &d.storage_name, &folder, None, 1)
        .await
        .map_err(|e| storage_error(target.cloud_type, e))?;
    let exists =
        !page.objects.is_empty() || objects.stat(target, &d.storage_name, &folder).await.is_ok();
    Ok(exists.then_some(ObjectInfo {
        key: folder,
        size: 0,
        last_modified_ms: None,
        is_folder: true,
    }))
}

/// `ObjectInfoModel`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectInfoDto {
    drive_name: String,
    bucket_name: String,
    path: String,
    size: u64,
    last_modified_date: Option<String>,
    state: u8,
    is_directory: bool,
    id: String,
}

fn info(d: &CloudDrive, rel: &str, o: &ObjectInfo, record: Option<&FileRecord>) -> ObjectInfoDto {
    let flags = record.map_or(Flags::NORMAL, |r| r.flags);
    ObjectInfoDto {
        drive_name: if d.drive_name.is_empty() {
            d.name.clone()
        } else {
            d.drive_name.clone()
        },
        bucket_name: d.storage_name.clone(),
        path: paths::join(&d.local_path, rel),
        size: if d.cloud_objects_encrypted && !o.is_folder {
            sealed::shown_len(o.size)
        } else {
            o.size
        },
        last_modified_date: o.last_modified_ms.map(iso8601),
        state: FileState::of(flags) as u8,
        is_directory: o.is_folder,
        id: o.key.clone(),
    }
}

pub async fn status<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::Documented404)?;
    let flags = match journal::get(cx.store(), &d.id, &rel)? {
        Some(record) => record.flags,
        None => {
            let target = target(cx, &d)?;
            if remote(cx, &d, &target, &rel).await?.is_none() {
                return Err(ApiError::not_found("The file"));
            }
            Flags::NORMAL
        }
    };
    Ok(Response::json(&(FileState::of(flags) as u8)))
}

pub async fn object_info<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::NotFound)?;
    let target = target(cx, &d)?;
    let o = remote(cx, &d, &target, &rel)
        .await?
        .ok_or_else(|| ApiError::not_found("The file"))?;
    let record = journal::get(cx.store(), &d.id, &rel)?;
    Ok(Response::json(&info(&d, &rel, &o, record.as_ref())))
}

pub async fn objects_info<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::NotFound)?;
    let target = target(cx, &d)?;
    let folder = match key_of(&d, &rel)? {
        k if k.is_empty() || k.ends_with('/') => k,
        k => alloc::format!("{k}/"),
    };
    let records = journal::children(cx.store(), &d.id, &rel)?;
    let limit = d.objects_per_folder as usize;
    let mut out = Vec::new();
    let mut continuation: Option<String> = None;
    loop {
        let page = cx
            .ports()
            .objects()
            .list_objects(
                &target,
                &d.storage_name,
                &folder,
                continuation.as_deref(),
                1000,
            )
            .await
            .map_err(|e| storage_error(target.cloud_type, e))?;
        for o in &page.objects {
            let Some(child) = paths::local_of(&d.prefix, &o.key) else {
                continue;
            };
            let name = child.rsplit('/').next().unwrap_or("");
            let record = records.iter().find(|(n, _)| n == name).map(|(_, r)| r);
            out.push(info(&d, &child, o, record));
        }
        continuation = page.continuation;
        if continuation.is_none() || out.len() >= limit {
            break;
        }
    }
    out.truncate(limit);
    Ok(Response::json(&out))
}

/// Hands `command` for `rel` to the host; a drive the host does not run is a clear 499.
async fn command<P: Ports>(
    cx: &Ctx<'_, P>,
    d: &CloudDrive,
    rel: &str,
    command: DriveCommand,
) -> ApiResult<()> {
    cx.ports()
        .drives()
        .object(&d.id, rel, command)
        .await
        .map_err(|e| match e {
            DriveError::NotRunning => ApiError::invalid(alloc::format!(
                "The cloud drive '{}' is not running (inactive, or it failed to start).",
                d.name
            )),
            DriveError::NotFound => ApiError::not_found("The file"),
            DriveError::Storage(e) => storage_error(d.account.cloud_type, e),
            DriveError::Failed(why) => ApiError::new(ErrorCode::FilesystemAccess, why),
        })
}

/// The bundle folder (a project type downloaded whole) `rel` is or lies in, if any.
fn bundle_root(rel: &str) -> Option<String> {
    let mut end = 0;
    for name in rel.split('/') {
        end += name.len();
        let lower = name.to_ascii_lowercase();
        if BUNDLES.iter().any(|ext| lower.ends_with(ext)) {
            return Some(String::from(&rel[..end]));
        }
        end += 1;
    }
    None
}

pub async fn download<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::Documented404)?;
    let what = bundle_root(&rel).unwrap_or(rel);
    command(cx, &d, &what, DriveCommand::Hydrate).await?;
    Ok(Response::ok())
}

pub async fn read<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::NotFound)?;
    command(cx, &d, &rel, DriveCommand::Hydrate).await?;
    Ok(Response::ok())
}

pub async fn make_offline<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::NotFound)?;
    cx.agent.drive_journal().update(&d, &rel, |r| {
        r.pinned = true;
        r.flags = r.flags.without(Flags::TEMPORARY);
    })?;
    command(cx, &d, &rel, DriveCommand::Pin).await?;
    Ok(Response::ok())
}

pub async fn remove_offline<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::NotFound)?;
    command(cx, &d, &rel, DriveCommand::Unpin).await?;
    cx.agent.drive_journal().update(&d, &rel, |r| {
        r.pinned = false;
        r.flags = r.flags.with(Flags::TEMPORARY);
    })?;
    Ok(Response::ok())
}

pub async fn remove_from_cache<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::NotFound)?;
    let record = journal::get(cx.store(), &d.id, &rel)?.unwrap_or_default();
    if record.pinned {
        return Err(ApiError::invalid(
            "The file is kept offline; use object_remove_offline to let it go.",
        ));
    }
    if record.flags.has(Flags::UPLOADING) {
        return Err(ApiError::invalid(
            "The file has changes not uploaded yet; it stays in the cache until they are.",
        ));
    }
    command(cx, &d, &rel, DriveCommand::Evict).await?;
    cx.agent
        .drive_journal()
        .update(&d, &rel, |r| r.flags = r.flags.with(Flags::TEMPORARY))?;
    Ok(Response::ok())
}

pub async fn delete<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::NotFound)?;
    if !(d.allow_delete && d.writable()) {
        return Err(ApiError::Forbidden(
            "Deleting needs a drive with allowDelete and the ReadWrite permission.",
        ));
    }
    if rel.is_empty() {
        return Err(ApiError::invalid("The drive's root cannot be deleted."));
    }
    let record = journal::get(cx.store(), &d.id, &rel)?.unwrap_or_default();
    // As documented: a file being uploaded is left in place.
    if record.flags.has(Flags::UPLOADING) {
        return Ok(Response::ok());
    }
    command(cx, &d, &rel, DriveCommand::Delete).await?;
    Ok(Response::ok())
}

/// Parses the inclusive `start` / `end` of Get Object Stream.
fn range<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<(u64, Option<u64>)> {
    let number = |name: &str| -> ApiResult<Option<u64>> {
        match cx.req.query_param(name) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                ApiError::invalid(alloc::format!(
                    "'{name}' must be a byte offset (0 or more)."
                ))
            }),
        }
    };
    let start = number("start")?.unwrap_or(0);
    let end = number("end")?;
    if end.is_some_and(|e| e < start) {
        return Err(ApiError::invalid("'end' must not be before 'start'."));
    }
    Ok((start, end))
}

pub async fn stream<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::Documented404)?;
    let (start, end) = range(cx)?;
    if rel.is_empty() {
        return Err(ApiError::invalid("'path' must name a file, not the drive."));
    }
    let read = ObjectRead {
        target: target(cx, &d)?,
        bucket: d.storage_name.clone(),
        key: key_of(&d, &rel)?,
        start,
        end,
        sealed: d.cloud_objects_encrypted.then(|| d.objects_place()),
    };
    let mut r = Response::ok().with_header("content-type", "application/octet-stream");
    r.stream = Some(Box::new(read));
    Ok(r)
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct PresignInput {
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    drive_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    relative_path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    upload_key: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct PresignedPair {
    download_url: String,
    upload_url: String,
}

/// Bytes straight from the bucket (presigned URLs) would be an encrypted drive's ciphertext,
/// and an object uploaded past the drive would not be sealed.
fn refuse_sealed(d: &CloudDrive) -> ApiResult<()> {
    if d.cloud_objects_encrypted {
        return Err(ApiError::invalid(
            "This drive's objects are encrypted (cloudObjectsEncrypted): read and write them through its folder.",
        ));
    }
    Ok(())
}

/// A relative path or key of a presign request: no traversal, not empty.
fn object_path(field: &str, value: &str) -> ApiResult<String> {
    let v = value
        .trim()
        .trim_start_matches(['/', '\\'])
        .replace('\\', "/");
    if v.is_empty() {
        return Err(ApiError::invalid(alloc::format!("'{field}' is required.")));
    }
    max_len(field, &v, 1024)?;
    if v.split('/').any(|n| n == "." || n == "..") {
        return Err(ApiError::new(
            ErrorCode::Security,
            alloc::format!("'{field}' must not name '.' or '..'."),
        ));
    }
    Ok(v)
}

async fn presign<P: Ports>(
    cx: &Ctx<'_, P>,
    target: &CloudTarget,
    d: &CloudDrive,
    method: PresignMethod,
    key: &str,
) -> ApiResult<String> {
    let request = Presign {
        method,
        bucket: &d.storage_name,
        key,
        expires_secs: PRESIGNED_SECS,
        content_type: None,
        attachment: false,
    };
    cx.ports()
        .objects()
        .presign(target, &request)
        .await
        .map_err(|e| storage_error(target.cloud_type, e))
}

pub async fn presigned_urls<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: PresignInput = cx.body()?;
    let caller = cx.caller_or_signed_in()?;
    let name = crate::json::required("driveName", input.drive_name.trim())?;
    let d = drive::DRIVES
        .of_account(cx.store(), &caller.account_id)?
        .into_iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| ApiError::Missing("No cloud drive has this name.".into()))?;
    let download_key = alloc::format!(
        "{}{}",
        d.prefix,
        object_path("relativePath", &input.relative_path)?
    );
    let upload_key = object_path("uploadKey", &input.upload_key)?;
    refuse_sealed(&d)?;
    let target = target(cx, &d)?;
    let download_url = presign(cx, &target, &d, PresignMethod::Get, &download_key).await?;
    let upload_url = presign(cx, &target, &d, PresignMethod::Put, &upload_key).await?;
    Ok(Response::json(&PresignedPair {
        download_url,
        upload_url,
    }))
}

pub async fn rename_status<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (d, rel) = located(cx, Unowned::Documented404)?;
    if cx.ports().drives().rename_pending(&d.id, &rel) {
        return Ok(Response::json(&false));
    }
    let target = target(cx, &d)?;
    let folder = alloc::format!("{}/", key_of(&d, &rel)?.trim_end_matches('/'));
    let page = cx
        .ports()
        .objects()
        .list_objects(&target, &d.storage_name, &folder, None, 1)
        .await
        .map_err(|e| storage_error(target.cloud_type, e))?;
    Ok(Response::json(&page.objects.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::bundle_root;

    #[test]
    fn bundles_are_found_at_any_depth() {
        assert_eq!(
            bundle_root("a/Edit.prproj/x/y").as_deref(),
            Some("a/Edit.prproj")
        );
        assert_eq!(
            bundle_root("Film.FCPBUNDLE").as_deref(),
            Some("Film.FCPBUNDLE")
        );
        assert_eq!(bundle_root("a/b.txt"), None);
    }
}
