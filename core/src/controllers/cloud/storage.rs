//! Storage Operations (`cloud.md`): buckets, objects, folders and presigned URLs on a cloud
//! account, through the host's [`ObjectStorage`] port.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::agent::Ctx;
use crate::cloud::{AccountRef, storage_error};
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::json::{self, max_len, null_as_default, required};
use crate::mail;
use crate::paging::bool_param;
use crate::ports::{CloudTarget, ObjectInfo, ObjectStorage, Ports, Presign, PresignMethod};
use crate::time::iso8601;

const MAX_KEY_BYTES: usize = 1024;
const MAX_PAGE: usize = 1000;
const DEFAULT_EXPIRE_HOURS: u64 = 24;
/// SigV4 presigned URLs live at most 7 days.
const MAX_EXPIRE_HOURS: u64 = 168;

fn target<P: Ports>(cx: &Ctx<'_, P>, account: &AccountRef) -> ApiResult<CloudTarget> {
    account.resolve(cx.store(), cx.ports().secrets(), cx.caller()?)
}

fn bucket_name(value: &str, field: &str) -> ApiResult<String> {
    let name = required(field, value)?;
    max_len(field, name, 255)?;
    Ok(String::from(name))
}

fn object_key(value: &str, field: &str) -> ApiResult<String> {
    let key = value.trim_start_matches('/');
    required(field, key)?;
    if key.len() > MAX_KEY_BYTES {
        return Err(ApiError::invalid(format!(
            "'{field}' must be at most {MAX_KEY_BYTES} bytes long."
        )));
    }
    Ok(String::from(key))
}

/// A folder path as a key prefix: no leading `/`, one trailing `/`, empty for the root.
fn folder_prefix(path: &str) -> ApiResult<String> {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed.len() >= MAX_KEY_BYTES {
        return Err(ApiError::invalid(format!(
            "'path' must be at most {MAX_KEY_BYTES} bytes long."
        )));
    }
    Ok(format!("{trimmed}/"))
}

fn expire_secs(hours: Option<u64>) -> ApiResult<u64> {
    match hours.unwrap_or(0) {
        0 => Ok(DEFAULT_EXPIRE_HOURS * 3600),
        h if h <= MAX_EXPIRE_HOURS => Ok(h * 3600),
        _ => Err(ApiError::invalid(format!(
            "'expireHours' must be from 1 to {MAX_EXPIRE_HOURS} (7 days)."
        ))),
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct BucketDto {
    id: String,
    name: String,
    region: String,
    create_date: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct Collection<T> {
    data: Vec<T>,
    continuation_token: String,
}

pub async fn list_buckets<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let include_region = bool_param(cx.req, "includeRegion", false)?;
    let account: AccountRef = cx.body()?;
    let target = target(cx, &account)?;
    let buckets = cx
        .ports()
        .objects()
        .list_buckets(&target, include_region)
        .await
        .map_err(|e| storage_error(target.cloud_type, e))?;
    let data = buckets
        .into_iter()
        .map(|b| BucketDto {
            id: b.name.clone(),
            name: b.name,
            region: b.region.unwrap_or_default(),
            create_date: b.create_ms.map(iso8601),
        })
        .collect();
    Ok(Response::json(&Collection {
        data,
        continuation_token: String::new(),
    }))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListObjectsInput {
    account: AccountRef,
    request: ListRequest,
}

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
struct ListRequest {
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    bucket_name: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    path: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    continuation_token: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<usize>"))]
    count: usize,
}

/// `type` of a listed entry.
const FILE: u32 = 1;
const DIRECTORY: u32 = 2;

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
struct ObjectDto {
    id: String,
    name: String,
    path: String,
    size: u64,
    last_modified_utc: Option<String>,
    #[serde(rename = "type")]
    kind: u32,
}

impl ObjectDto {
    fn new(o: ObjectInfo) -> ObjectDto {
        let name = o.key.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        ObjectDto {
            id: o.key.clone(),
            name: String::from(name),
            size: o.size,
            last_modified_utc: o.last_modified_ms.map(iso8601),
            kind: if o.is_folder { DIRECTORY } else { FILE },
            path: o.key,
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectCollection {
    data: Vec<ObjectDto>,
    continuation_token: String,
    bucket_name: String,
    path: String,
}

pub async fn list_objects<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: ListObjectsInput = cx.body()?;
    let target = target(cx, &input.account)?;
    let r = input.request;
    let bucket = bucket_name(&r.bucket_name, "request.bucketName")?;
    let prefix = folder_prefix(&r.path)?;
    let max = match r.count {
        0 => MAX_PAGE,
        n => n.min(MAX_PAGE),
    };
    let continuation = Some(r.continuation_token.trim()).filter(|t| !t.is_empty());
    let page = cx
        .ports()
        .objects()
        .list_objects(&target, &bucket, &prefix, continuation, max)
        .await
        .map_err(|e| storage_error(target.cloud_type, e))?;
    Ok(Response::json(&ObjectCollection {
        data: page.objects.into_iter().map(ObjectDto::new).collect(),
        continuation_token: page.continuation.unwrap_or_default(),
        bucket_name: bucket,
        path: prefix,
    }))
}

/// The body of the single-object operations (download and upload URLs, delete).
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectInput {
    #[serde(default)]
    cloud_account: AccountRef,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    storage_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    key: String,
    #[serde(default, deserialize_with = "null_as_default")]
    expire_hours: Option<u64>,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    force_to_download: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    content_type: String,
    /// The documented provider-specific object id: accepted and unused, every
    /// supported provider names objects by key.
    #[allow(dead_code)]
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    id: String,
}

async fn presigned<P: Ports>(
    cx: &Ctx<'_, P>,
    target: &CloudTarget,
    method: PresignMethod,
    input: &ObjectInput,
) -> ApiResult<String> {
    let bucket = bucket_name(&input.storage_name, "storageName")?;
    let key = object_key(&input.key, "key")?;
    let content_type = input.content_type.trim();
    max_len("contentType", content_type, 255)?;
    let request = Presign {
        method,
        bucket: &bucket,
        key: &key,
        expires_secs: expire_secs(input.expire_hours)?,
        content_type: Some(content_type).filter(|c| !c.is_empty()),
        attachment: input.force_to_download,
    };
    cx.ports()
        .objects()
        .presign(target, &request)
        .await
        .map_err(|e| storage_error(target.cloud_type, e))
}

pub async fn generate_download_url<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: ObjectInput = cx.body()?;
    let target = target(cx, &input.cloud_account)?;
    let url = presigned(cx, &target, PresignMethod::Get, &input).await?;
    Ok(Response::json(&url))
}

pub async fn generate_upload_url<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: ObjectInput = cx.body()?;
    let target = target(cx, &input.cloud_account)?;
    let url = presigned(cx, &target, PresignMethod::Put, &input).await?;
    Ok(Response::json(&url))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendInput {
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    email: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    cloud_account_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    note: String,
    #[serde(flatten)]
    object: ObjectInput,
}

pub async fn send_download_url<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: SendInput = cx.body()?;
    let email = json::email(&input.email)?;
    max_len("note", &input.note, 2000)?;
    let account = AccountRef {
        id: String::from(required("cloudAccountId", &input.cloud_account_id)?),
        ..AccountRef::default()
    };
    let target = target(cx, &account)?;
    let url = presigned(cx, &target, PresignMethod::Get, &input.object).await?;
    let key = input.object.key.trim_start_matches('/');
    let file = key.rsplit('/').next().unwrap_or(key);
    let hours = expire_secs(input.object.expire_hours)? / 3600;
    let link = mail::Link {
        file,
        note: input.note.trim(),
        hours,
        url: &url,
    };
    mail::download_link(cx.ports().mailer(), &email, &link)
        .map_err(|_| ApiError::invalid("The mail could not be sent; try again later."))?;
    Ok(Response::ok())
}

pub async fn delete_object<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: ObjectInput = cx.body()?;
    let target = target(cx, &input.cloud_account)?;
    let bucket = bucket_name(&input.storage_name, "storageName")?;
    let key = object_key(&input.key, "key")?;
    cx.ports()
        .objects()
        .delete(&target, &bucket, &key)
        .await
        .map_err(|e| storage_error(target.cloud_type, e))?;
    Ok(Response::ok())
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct FolderInput {
    #[serde(default)]
    cloud_account: AccountRef,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    storage_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    folder_name: String,
    /// The documented provider-specific folder id: accepted and unused, every
    /// supported provider names objects by key.
    #[allow(dead_code)]
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    id: String,
}

pub async fn create_folder<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: FolderInput = cx.body()?;
    let target = target(cx, &input.cloud_account)?;
    let bucket = bucket_name(&input.storage_name, "storageName")?;
    let name = required("folderName", &input.folder_name)?;
    if name.contains('/') || name == "." || name == ".." {
        return Err(ApiError::invalid(
            "'folderName' must be one folder name, without '/'.",
        ));
    }
    let key = format!("{}{name}/", folder_prefix(&input.path)?);
    object_key(&key, "folderName")?;
    cx.ports()
        .objects()
        .create_folder(&target, &bucket, &key)
        .await
        .map_err(|e| storage_error(target.cloud_type, e))?;
    Ok(Response::ok())
}
