//! Fastr Server-to-Server Transfers (`cloud.md`): one object read from one S3 endpoint (another
//! agent's built-in storage, or any S3-compatible server) and written to another, the bytes
//! streaming through this agent in 8 MB parts. It is a cloud-to-cloud transfer of the shared
//! engine whose two ends name their endpoints ([`Servers`]): it resumes after a restart, checks
//! checksums and follows the bandwidth caps like the others.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::agent::Ctx;
use crate::auth::Caller;
use crate::cloud::account::{self, CloudAccount};
use crate::cloud::cloud_type;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::json::null_as_default;
use crate::ports::{Ports, RngExt, TransferRunner};
use crate::transfers::paths::file_name;
use crate::transfers::peer::{self, ServerTransferStatus};
use crate::transfers::{self, CloudEnd, Direction, Kind, Servers, Status, Transfer};

/// The documented part size ("streams the body to the target URL in 8 MB chunks").
const PART_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "openapi", schemars(rename = "ServerTransferRequest"))]
pub(crate) struct InitiateInput {
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_server_url: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    target_server_url: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_bucket: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_path: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    target_bucket: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    target_path: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_account_id: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    target_account_id: String,
    /// Documented, with no meaning given: accepted and unused.
    #[allow(dead_code)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A server transfer the caller may see: its own, or any of the account's for admins. An
/// unknown id is the documented 404.
fn visible<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Transfer> {
    let caller = cx.caller()?;
    let admin = cx.user()?.is_admin();
    let viewer = (&*caller.account_id, &*caller.user_id, admin);
    transfers::visible_of(cx.store(), cx.param("transferId"), viewer, Kind::Server)?
        .ok_or_else(|| ApiError::Missing("No server transfer has this id.".into()))
}

/// The stored cloud account whose keys a side uses (none: unsigned requests). It must speak
/// S3: a server transfer reaches its servers over S3.
fn side_account<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &Caller,
    id: &str,
) -> ApiResult<Option<CloudAccount>> {
    if id.trim().is_empty() {
        return Ok(None);
    }
    let a = account::find(cx.store(), caller, id.trim())?;
    if !cloud_type::is_s3(a.cloud_type) {
        return Err(ApiError::invalid(alloc::format!(
            "The cloud account {} is {}; a server transfer reaches its servers over S3.",
            a.id,
            cloud_type::name(a.cloud_type)
        )));
    }
    Ok(Some(a))
}

/// Queues the transfer and answers 202 at once; 400 when one of the six URL, bucket and path
/// fields is missing (as documented).
pub async fn initiate<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let input: InitiateInput = cx.body()?;
    let given = [
        &input.source_server_url,
        &input.target_server_url,
        &input.source_bucket,
        &input.source_path,
        &input.target_bucket,
        &input.target_path,
    ];
    if given.iter().any(|v| v.trim().is_empty()) {
        return Err(ApiError::BadRequest(
            "sourceServerUrl, targetServerUrl, sourceBucket, sourcePath, targetBucket and \
             targetPath are required.",
        ));
    }
    if !cx.ports().transfers().available() {
        return Err(ApiError::invalid("This build of the agent moves no files."));
    }
    let servers = Servers {
        source_url: peer::server_url("sourceServerUrl", &input.source_server_url)?,
        target_url: peer::server_url("targetServerUrl", &input.target_server_url)?,
    };
    let source = side_account(cx, caller, &input.source_account_id)?;
    let target = side_account(cx, caller, &input.target_account_id)?;
    let source_path = peer::object_key("sourcePath", &input.source_path)?;
    let target_path = peer::object_key("targetPath", &input.target_path)?;
    let source_bucket = String::from(input.source_bucket.trim());
    let now = cx.now_ms();
    let id_and_type = |a: &Option<CloudAccount>| {
        a.as_ref()
            .map_or((String::new(), cloud_type::FASTR_SERVER), |a| {
                (a.id.clone(), a.cloud_type)
            })
    };
    let ((source_id, source_type), (target_id, target_type)) =
        (id_and_type(&source), id_and_type(&target));
    let mut options = cx.config().transfer_options;
    options.chunk_size = PART_BYTES;
    let t = Transfer {
        id: cx.ports().rng().uuid(),
        account_id: caller.account_id.clone(),
        user_id: caller.user_id.clone(),
        direction: Direction::Copy,
        cloud_account_id: target_id,
        cloud_type: target_type,
        bucket: String::from(input.target_bucket.trim()),
        remote: target_path,
        local: alloc::format!("{source_bucket}/{source_path}"),
        name: String::from(file_name(&source_path)),
        options,
        create_ms: now,
        start_ms: now,
        source: Some(CloudEnd {
            cloud_account_id: source_id,
            cloud_type: source_type,
            bucket: source_bucket,
            path: source_path,
        }),
        servers: Some(servers),
        ..Transfer::default()
    };
    transfers::insert(cx.store(), &t)?;
    cx.ports().transfers().start(&t.id);
    Ok(Response::json_status(
        202,
        &Initiated {
            transfer_id: &t.id,
            message: "Server transfer initiated",
            status: "pending",
        },
    ))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schemars(rename = "ServerTransferInitiated"))]
pub(crate) struct Initiated<'a> {
    transfer_id: &'a str,
    message: &'static str,
    status: &'static str,
}

pub async fn status<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let t = visible(cx)?;
    Ok(Response::json(&ServerTransferStatus::new(&t)))
}

/// Stops it for good; what it began at the target (a multipart upload) is aborted. 400 once
/// it has ended (as documented for completed and cancelled; a failed one has nothing left to
/// stop either).
pub async fn cancel<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let t = visible(cx)?;
    let from = [Status::Initiating, Status::Running, Status::Paused];
    transfers::transition(cx.store(), &t.id, &from, Status::Cancelled, cx.now_ms())?.ok_or(
        ApiError::BadRequest(
            "The server transfer has already completed, failed or been cancelled.",
        ),
    )?;
    cx.ports().transfers().stop(&t.id);
    Ok(Response::ok())
}

/// Every server transfer the caller may see (the account's, for admins), newest first.
pub async fn all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let admin = cx.user()?.is_admin();
    let viewer = (&*caller.account_id, &*caller.user_id, admin);
    let list = transfers::all_of(cx.store(), viewer, Kind::Server)?;
    let dtos: Vec<ServerTransferStatus<'_>> = list.iter().map(ServerTransferStatus::new).collect();
    Ok(Response::json(&dtos))
}
