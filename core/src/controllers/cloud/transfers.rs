//! Upload Object, Download Object and Client File Transfers (`cloud.md`): each upload or
//! download is a transfer with an id that can be paused, resumed, cancelled and watched.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::agent::Ctx;
use crate::auth::Caller;
use crate::cloud::{AccountRef, account};
use crate::config::TransferOptions;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::json::{max_len, null_as_default, required};
use crate::ports::{Ports, RngExt, TransferRunner};
use crate::time::iso8601;
use crate::transfers::paths::{checked, file_name};
use crate::transfers::{self, Direction, Kind, Status, Transfer};

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
struct OptionsInput {
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<u64>"))]
    chunk_size: u64,
    #[serde(deserialize_with = "null_as_default")]
    retry_count: Option<u32>,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<u32>"))]
    concurrent_chunks: u32,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<u32>"))]
    concurrent_files: u32,
}

const MIB: u64 = 1024 * 1024;

/// Given options over the configured defaults; zero means the default. S3 parts are 5 MiB to
/// 5 GiB.
fn options(input: Option<OptionsInput>, defaults: TransferOptions) -> ApiResult<TransferOptions> {
    let Some(i) = input else {
        return Ok(defaults);
    };
    let pick = |v: u64, d: u64| if v == 0 { d } else { v };
    let o = TransferOptions {
        chunk_size: pick(i.chunk_size, defaults.chunk_size),
        retry_count: i.retry_count.unwrap_or(defaults.retry_count),
        concurrent_chunks: pick(
            i.concurrent_chunks.into(),
            defaults.concurrent_chunks.into(),
        ) as u32,
        concurrent_files: pick(i.concurrent_files.into(), defaults.concurrent_files.into()) as u32,
    };
    if !(5 * MIB..=5 * 1024 * MIB).contains(&o.chunk_size) {
        return Err(ApiError::invalid(
            "'transferOptions.chunkSize' must be from 5 MiB (5242880) to 5 GiB.",
        ));
    }
    if o.retry_count > 20 || o.concurrent_chunks > 64 || o.concurrent_files > 64 {
        return Err(ApiError::invalid(
            "'transferOptions' allows at most 20 retries and 64 concurrent chunks or files.",
        ));
    }
    Ok(o)
}

/// A transfer id the client chose, or a new one.
fn transfer_id<P: Ports>(cx: &Ctx<'_, P>, given: &str) -> ApiResult<String> {
    let id = given.trim();
    if id.is_empty() || id == "00000000-0000-0000-0000-000000000000" {
        return Ok(cx.ports().rng().uuid());
    }
    if id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::invalid(
            "'id' must be at most 64 letters, digits, '-' or '_'.",
        ));
    }
    Ok(String::from(id))
}

/// The parts of a new transfer that both directions check the same way.
struct Common {
    id: String,
    cloud_account_id: String,
    cloud_type: u32,
    bucket: String,
    options: TransferOptions,
}

/// What every transfer request names: the cloud account, the bucket, and optionally the
/// transfer's id and options.
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
struct TransferTarget {
    cloud_account: AccountRef,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    storage_name: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    id: String,
    transfer_options: Option<OptionsInput>,
}

fn common<P: Ports>(cx: &Ctx<'_, P>, caller: &Caller, target: TransferTarget) -> ApiResult<Common> {
    let (cloud, bucket, id, opts) = (
        &target.cloud_account,
        target.storage_name.as_str(),
        target.id.as_str(),
        target.transfer_options,
    );
    if !cx.ports().transfers().available() {
        return Err(ApiError::invalid("This build of the agent moves no files."));
    }
    let stored = cloud.stored_id().ok_or_else(|| {
        ApiError::invalid("Transfers need a stored cloud account: give 'cloudAccount.id'.")
    })?;
    let account = account::find(cx.store(), caller, stored)?;
    let bucket = required("storageName", bucket)?;
    max_len("storageName", bucket, 255)?;
    Ok(Common {
        id: transfer_id(cx, id)?,
        cloud_account_id: account.id,
        cloud_type: account.cloud_type,
        bucket: String::from(bucket),
        options: options(opts, cx.config().transfer_options)?,
    })
}

/// What a new transfer moves, and between where.
struct Route {
    direction: Direction,
    remote: String,
    local: String,
    is_folder: bool,
    name: String,
    staged: bool,
}

fn start<P: Ports>(cx: &Ctx<'_, P>, caller: &Caller, c: Common, r: Route) -> ApiResult<Response> {
    let now = cx.now_ms();
    let t = Transfer {
        id: c.id,
        account_id: caller.account_id.clone(),
        user_id: caller.user_id.clone(),
        direction: r.direction,
        cloud_account_id: c.cloud_account_id,
        cloud_type: c.cloud_type,
        bucket: c.bucket,
        remote: r.remote,
        local: r.local,
        is_folder: r.is_folder,
        name: r.name,
        staged: r.staged,
        agent: cx.config().agent_id.clone(),
        options: c.options,
        create_ms: now,
        start_ms: now,
        ..Transfer::default()
    };
    transfers::insert(cx.store(), &t)?;
    cx.ports().transfers().start(&t.id);
    Ok(Response::json(&TransferStarted { transfer_id: &t.id }))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransferStarted<'a> {
    transfer_id: &'a str,
}

fn key_join(folder: &str, name: &str) -> String {
    let folder = folder.trim().trim_matches('/');
    if folder.is_empty() {
        String::from(name)
    } else {
        format!("{folder}/{name}")
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadInput {
    #[serde(flatten)]
    target: TransferTarget,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    upload_path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    local_file_path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    name: String,
}

/// Uploads a local file, or a folder with everything in it, under `uploadPath`.
pub async fn upload_object<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: UploadInput = cx.body()?;
    let caller = cx.caller()?;
    let c = common(cx, caller, input.target)?;
    let local = checked(
        &cx.config().file_roots,
        &input.local_file_path,
        "localFilePath",
    )?;
    let name = match input.name.trim() {
        "" => String::from(file_name(&local)),
        n if n.contains('/') => return Err(ApiError::invalid("'name' must not contain '/'.")),
        n => String::from(n),
    };
    max_len("uploadPath", &input.upload_path, 1024)?;
    let remote = key_join(&input.upload_path, &name);
    let route = Route {
        direction: Direction::Upload,
        remote,
        local,
        is_folder: false,
        name,
        staged: false,
    };
    start(cx, caller, c, route)
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct DownloadInput {
    #[serde(flatten)]
    target: TransferTarget,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    download_path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    object_key: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<u32>"))]
    object_type: u32,
}

const FILE: u32 = 1;
const DIRECTORY: u32 = 2;

/// Downloads an object, or a folder (`objectType` 2) with everything under it, into
/// `downloadPath`.
pub async fn download_object<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: DownloadInput = cx.body()?;
    let caller = cx.caller()?;
    let c = common(cx, caller, input.target)?;
    let folder = checked(
        &cx.config().file_roots,
        &input.download_path,
        "downloadPath",
    )?;
    let key = input.object_key.trim().trim_start_matches('/');
    required("objectKey", key)?;
    max_len("objectKey", key, 1024)?;
    let is_folder = match input.object_type {
        0 | FILE => key.ends_with('/'),
        DIRECTORY => true,
        _ => {
            return Err(ApiError::invalid(
                "'objectType' must be File (1) or Directory (2).",
            ));
        }
    };
    let remote = if is_folder {
        format!("{}/", key.trim_end_matches('/'))
    } else {
        String::from(key)
    };
    let name = match input.name.trim() {
        "" => String::from(file_name(key)),
        n if n.contains(['/', '\\']) || n == ".." || n == "." => {
            return Err(ApiError::invalid("'name' must be one file or folder name."));
        }
        n => String::from(n),
    };
    let sep = if folder.starts_with('/') { "/" } else { "\\" };
    let local = format!("{}{sep}{name}", folder.trim_end_matches(['/', '\\']));
    let route = Route {
        direction: Direction::Download,
        remote,
        local,
        is_folder,
        name,
        staged: false,
    };
    start(cx, caller, c, route)
}

/// What the host passes on after it streamed a `multipart/form-data` upload to disk: the
/// form's fields and where it put the file.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct FormUpload {
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    cloud_account_json: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    storage_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    upload_path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    id: String,
    staged_file: String,
}

/// Upload Object From Form: the host streams the form's file into its staging folder and
/// calls this with the fields; the upload starts at once and the staged copy goes when it
/// ends. Without a token (compat mode) it runs as the user the Start command signed in.
pub async fn upload_object_from_form<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller_or_signed_in()?;
    let caller = caller.as_ref();
    let input: FormUpload = cx.body()?;
    let staging = &cx.config().staging_dir;
    if staging.is_empty() {
        return Err(ApiError::invalid(
            "This build of the agent takes no form uploads.",
        ));
    }
    let local = checked(core::slice::from_ref(staging), &input.staged_file, "file")?;
    let cloud: AccountRef = crate::json::parse(input.cloud_account_json.as_bytes())
        .map_err(|_| ApiError::invalid("'cloudAccountJson' must be a CloudAccount in JSON."))?;
    let target = TransferTarget {
        cloud_account: cloud,
        storage_name: input.storage_name,
        id: input.id,
        transfer_options: None,
    };
    let c = common(cx, caller, target)?;
    max_len("uploadPath", &input.upload_path, 1024)?;
    let name = String::from(file_name(&local));
    let route = Route {
        direction: Direction::Upload,
        remote: key_join(&input.upload_path, &name),
        local,
        is_folder: false,
        name,
        staged: true,
    };
    start(cx, caller, c, route)
}

/// A transfer the caller may see and control: its own, or any of the account's for admins.
fn visible<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Transfer> {
    let caller = cx.caller()?;
    let admin = cx.user()?.is_admin();
    let viewer = (&*caller.account_id, &*caller.user_id, admin);
    // The cloud-to-cloud transfers are the other controllers'.
    transfers::visible_of(cx.store(), cx.param("transferId"), viewer, Kind::Client)?
        .ok_or_else(|| ApiError::not_found("The transfer"))
}

/// Moves a transfer from one of `from` to `to`; 400 (as documented) from any other state.
fn transition<P: Ports>(
    cx: &Ctx<'_, P>,
    from: &[Status],
    to: Status,
    refusal: &'static str,
) -> ApiResult<Transfer> {
    let t = visible(cx)?;
    transfers::transition(cx.store(), &t.id, from, to, cx.now_ms())?
        .ok_or(ApiError::BadRequest(refusal))
}

pub async fn pause<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let t = transition(
        cx,
        &[Status::Running, Status::Initiating],
        Status::Paused,
        "The transfer is not running or initiating.",
    )?;
    cx.ports().transfers().stop(&t.id);
    Ok(Response::ok())
}

pub async fn resume<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let t = transition(
        cx,
        &[Status::Paused],
        Status::Running,
        "The transfer is not paused.",
    )?;
    cx.ports().transfers().start(&t.id);
    Ok(Response::ok())
}

pub async fn cancel<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let t = transition(
        cx,
        &[
            Status::Initiating,
            Status::Running,
            Status::Paused,
            Status::Failed,
        ],
        Status::Cancelled,
        "The transfer is already completed or cancelled.",
    )?;
    cx.ports().transfers().stop(&t.id);
    Ok(Response::ok())
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schemars(rename = "ClientTransferStatus"))]
pub(crate) struct StatusDto<'a> {
    transfer_id: &'a str,
    status: &'static str,
    transferred_bytes: u64,
    total_bytes: u64,
    start_time: String,
    end_time: Option<String>,
    error_message: Option<&'a str>,
    paused_duration: Option<String>,
}

impl<'a> StatusDto<'a> {
    fn new(t: &'a Transfer, now_ms: u64) -> StatusDto<'a> {
        let paused = t.paused_total_ms(now_ms);
        StatusDto {
            transfer_id: &t.id,
            status: t.status.as_str(),
            transferred_bytes: t.transferred_bytes,
            total_bytes: t.total_bytes,
            start_time: iso8601(t.start_ms),
            end_time: t.end_ms.map(iso8601),
            error_message: t.error.as_deref(),
            paused_duration: (paused > 0).then(|| transfers::hms(paused)),
        }
    }
}

pub async fn status<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let t = visible(cx)?;
    Ok(Response::json(&StatusDto::new(&t, cx.now_ms())))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct SummaryDto<'a> {
    #[serde(flatten)]
    status: StatusDto<'a>,
    source_bucket: &'a str,
    source_path: &'a str,
    target_bucket: &'a str,
    target_path: &'a str,
    /// Percent done, 0 to 100.
    progress: u64,
}

impl<'a> SummaryDto<'a> {
    fn new(t: &'a Transfer, now_ms: u64) -> SummaryDto<'a> {
        let (source_bucket, source_path, target_bucket, target_path) = match t.direction {
            Direction::Upload => ("", t.local.as_str(), t.bucket.as_str(), t.remote.as_str()),
            Direction::Download => (t.bucket.as_str(), t.remote.as_str(), "", t.local.as_str()),
            // Not listed here (see `all`).
            Direction::Copy => ("", "", t.bucket.as_str(), t.remote.as_str()),
        };
        let progress = match (t.status, t.total_bytes) {
            (Status::Completed, _) => 100,
            (_, 0) => 0,
            (_, total) => (t.transferred_bytes.min(total) * 100) / total,
        };
        SummaryDto {
            status: StatusDto::new(t, now_ms),
            source_bucket,
            source_path,
            target_bucket,
            target_path,
            progress,
        }
    }
}

/// Every transfer of the caller (of the whole account for admins), newest first.
pub async fn all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let admin = cx.user()?.is_admin();
    let viewer = (&*caller.account_id, &*caller.user_id, admin);
    let list = transfers::all_of(cx.store(), viewer, Kind::Client)?;
    let now = cx.now_ms();
    let dtos: Vec<SummaryDto<'_>> = list.iter().map(|t| SummaryDto::new(t, now)).collect();
    Ok(Response::json(&dtos))
}
