//! P2P Client Transfers (`cloud.md`): this agent orchestrates, the source agent pushes the
//! object straight to the target (see [`crate::transfers::peer`]). The record is a transfer
//! of the shared engine, which places the order and follows the push; pause, resume, cancel
//! and status are forwarded to the source agent and its answer merged into the record.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::agent::Ctx;
use crate::cloud::account::{self, AccountRef};
use crate::cloud::cloud_type;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::json::{null_as_default, required};
use crate::ports::{ObjectStorage, Ports, PushAction, PushState, RngExt, TransferRunner};
use crate::time::iso8601;
use crate::transfers::paths::file_name;
use crate::transfers::peer::{self, PeerPush, ServerTransferStatus};
use crate::transfers::{self, CloudEnd, Direction, Kind, Servers, Status, Transfer};

/// The documented default part size, and the bounds S3 sets on parts.
const DEFAULT_CHUNK_MB: u64 = 64;
const CHUNK_MB: core::ops::RangeInclusive<u64> = 5..=5120;

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "openapi", schemars(rename = "P2PTransferRequest"))]
pub(crate) struct InitiateInput {
    #[serde(deserialize_with = "null_as_default")]
    source_account: Option<AccountRef>,
    #[serde(deserialize_with = "null_as_default")]
    target_account: Option<AccountRef>,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_bucket: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_path: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    target_server_url: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    target_bucket: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    target_path: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    overwrite: bool,
    /// Spelled `chunkSizeMB` in the docs, which camelCase does not make.
    #[serde(rename = "chunkSizeMB", alias = "chunkSizeMb")]
    #[serde(deserialize_with = "null_as_default")]
    chunk_size_mb: Option<u64>,
}

/// Records the transfer and has the engine place the order with the source agent.
pub async fn initiate<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let input: InitiateInput = cx.body()?;
    let source = input
        .source_account
        .as_ref()
        .ok_or_else(|| ApiError::invalid("'sourceAccount' is required."))?;
    let source_target = source.resolve(cx.store(), cx.ports().secrets(), caller)?;
    if !cloud_type::is_s3(source_target.cloud_type) {
        return Err(ApiError::invalid(
            "'sourceAccount' must be an agent's built-in storage or another S3 server \
             (cloudType LocalHttp 2048, FastrServer 4096 or an S3 type).",
        ));
    }
    let source_url = peer::server_url("sourceAccount.serviceUrl", &source_target.endpoint)?;
    // The target accepts only signed writes: its key stays here, and the source gets
    // presigned URLs made with it.
    let target_id = input
        .target_account
        .as_ref()
        .and_then(AccountRef::stored_id)
        .ok_or_else(|| {
            ApiError::invalid(
                "'targetAccount.id' is required: the id of a stored cloud account whose key \
                 writes to the target server (the source agent gets URLs presigned with it).",
            )
        })?;
    let target = account::find(cx.store(), caller, target_id)?;
    if !cloud_type::is_s3(target.cloud_type) {
        return Err(ApiError::invalid("'targetAccount' must be an S3 account."));
    }
    let source_bucket = String::from(required("sourceBucket", &input.source_bucket)?);
    required("sourcePath", &input.source_path)?;
    required("targetBucket", &input.target_bucket)?;
    required("targetPath", &input.target_path)?;
    let source_path = peer::object_key("sourcePath", &input.source_path)?;
    let target_path = peer::object_key("targetPath", &input.target_path)?;
    let target_url = peer::server_url("targetServerUrl", &input.target_server_url)?;
    let chunk_mb = input.chunk_size_mb.unwrap_or(DEFAULT_CHUNK_MB);
    if !CHUNK_MB.contains(&chunk_mb) {
        return Err(ApiError::invalid("'chunkSizeMB' must be 5 to 5120."));
    }
    if !cx.ports().transfers().available() {
        return Err(ApiError::invalid("This build of the agent moves no files."));
    }
    let stored_source = source.stored_id().map(String::from);
    let sealed_source_key = match stored_source {
        Some(_) => None,
        None => Some(PeerPush::seal_source(
            &source_target,
            cx.ports().secrets(),
            cx.ports().rng(),
        )),
    };
    let now = cx.now_ms();
    let t = Transfer {
        id: cx.ports().rng().uuid(),
        account_id: caller.account_id.clone(),
        user_id: caller.user_id.clone(),
        direction: Direction::Copy,
        cloud_account_id: target.id.clone(),
        cloud_type: target.cloud_type,
        bucket: String::from(input.target_bucket.trim()),
        remote: target_path,
        local: alloc::format!("{source_bucket}/{source_path}"),
        name: String::from(file_name(&source_path)),
        options: cx.config().transfer_options,
        create_ms: now,
        start_ms: now,
        source: Some(CloudEnd {
            cloud_account_id: stored_source.unwrap_or_default(),
            cloud_type: source_target.cloud_type,
            bucket: source_bucket,
            path: source_path,
        }),
        servers: Some(Servers {
            source_url,
            target_url,
        }),
        peer: Some(PeerPush {
            sealed_source_key,
            overwrite: input.overwrite,
            part_bytes: chunk_mb << 20,
            ..PeerPush::default()
        }),
        ..Transfer::default()
    };
    transfers::insert(cx.store(), &t)?;
    cx.ports().transfers().start(&t.id);
    Ok(Response::json(&Initiated {
        transfer_id: &t.id,
        message: "P2P transfer initiated successfully",
    }))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schemars(rename = "P2PTransferInitiated"))]
pub(crate) struct Initiated<'a> {
    transfer_id: &'a str,
    message: &'static str,
}

/// A P2P transfer the caller may see: its own, or any of the account's for admins.
fn visible<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Transfer> {
    let caller = cx.caller()?;
    let admin = cx.user()?.is_admin();
    let viewer = (&*caller.account_id, &*caller.user_id, admin);
    transfers::visible_of(cx.store(), cx.param("transferId"), viewer, Kind::Peer)?
        .ok_or_else(|| ApiError::not_found("The P2P transfer"))
}

/// Forwards `action` to the source agent; `None` when it cannot be reached or does not know
/// the push (not ordered yet, or lost).
async fn forward<P: Ports>(cx: &Ctx<'_, P>, t: &Transfer, action: PushAction) -> Option<PushState> {
    let source = peer::source_target(cx.store(), cx.ports().secrets(), t).ok()?;
    cx.ports().objects().push(&source, &t.id, action).await.ok()
}

/// `P2PTransferStatusResponse`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schemars(rename = "P2PTransferStatusResponse"))]
pub(crate) struct StatusDto<'a> {
    transfer_id: &'a str,
    status: &'static str,
    total_bytes: u64,
    transferred_bytes: u64,
    progress_percentage: u64,
    start_time: String,
    end_time: Option<String>,
    error_message: Option<&'a str>,
    source_bucket: &'a str,
    source_path: &'a str,
    target_server_url: &'a str,
    target_bucket: &'a str,
    target_path: &'a str,
    checksum_verified: bool,
}

impl<'a> StatusDto<'a> {
    fn new(t: &'a Transfer) -> StatusDto<'a> {
        let source = t.source.as_ref();
        StatusDto {
            transfer_id: &t.id,
            status: peer::status_word(t.status),
            total_bytes: t.total_bytes,
            transferred_bytes: t.transferred_bytes,
            progress_percentage: peer::percent(t),
            start_time: iso8601(t.start_ms),
            end_time: t.end_ms.map(iso8601),
            error_message: t.error.as_deref(),
            source_bucket: source.map_or("", |s| &s.bucket),
            source_path: source.map_or("", |s| &s.path),
            target_server_url: t.servers.as_ref().map_or("", |s| &s.target_url),
            target_bucket: &t.bucket,
            target_path: &t.remote,
            checksum_verified: t.peer.as_ref().is_some_and(|p| p.checksum_verified),
        }
    }
}

/// The record merged with what the source agent says now (the record alone when the source
/// cannot be reached, or the transfer has ended).
pub async fn status<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let mut t = visible(cx)?;
    if !t.status.is_final()
        && let Some(state) = forward(cx, &t, PushAction::Status).await
    {
        t = peer::merge(cx.store(), &t.id, &state, cx.now_ms())?;
    }
    Ok(Response::json(&StatusDto::new(&t)))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct Cancelled {
    success: bool,
    message: &'static str,
    server_cancelled: bool,
}

/// Cancels here, then at the source when it can be reached (here first: the engine, seeing
/// the push end at the source, must find the transfer cancelled, not record a failure); the
/// upload at the target is aborted either way (by the engine, with the target's key).
pub async fn cancel<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let t = visible(cx)?;
    let from = [Status::Initiating, Status::Running, Status::Paused];
    transfers::transition(cx.store(), &t.id, &from, Status::Cancelled, cx.now_ms())?.ok_or(
        ApiError::BadRequest("The transfer has already completed, failed or been cancelled."),
    )?;
    cx.ports().transfers().stop(&t.id);
    let at_source = forward(cx, &t, PushAction::Cancel).await;
    Ok(Response::json(&Cancelled {
        success: true,
        message: "Transfer cancelled successfully",
        server_cancelled: at_source.is_some_and(|s| s.status == "cancelled"),
    }))
}

/// Pauses at the source, then here once the source says it is paused; 400 (as documented)
/// when it is not running, or the pause cannot be confirmed.
pub async fn pause<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let step = Step {
        from: &[Status::Initiating, Status::Running],
        to: Status::Paused,
        action: PushAction::Pause,
        refusal: "The transfer is not running or initiating.",
        message: "Transfer paused successfully",
    };
    steer(cx, step).await
}

/// Resumes at the source, then here once the source says it runs; 400 (as documented) when
/// it is not paused, or the resume cannot be confirmed.
pub async fn resume<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let step = Step {
        from: &[Status::Paused],
        to: Status::Running,
        action: PushAction::Resume,
        refusal: "The transfer is not paused.",
        message: "Transfer resumed successfully",
    };
    steer(cx, step).await
}

/// A pause or a resume: the state it moves from and to, what the source is asked, and the
/// documented answers.
struct Step {
    from: &'static [Status],
    to: Status,
    action: PushAction,
    refusal: &'static str,
    message: &'static str,
}

async fn steer<P: Ports>(cx: &Ctx<'_, P>, step: Step) -> ApiResult<Response> {
    let t = visible(cx)?;
    if !step.from.contains(&t.status) {
        return Err(ApiError::BadRequest(step.refusal));
    }
    let word = step.to.as_str();
    let state = forward(cx, &t, step.action).await;
    if state.as_ref().is_none_or(|s| s.status != word) {
        return Err(ApiError::BadRequest(
            "The source agent did not confirm it (it cannot be reached, or the push has \
             ended).",
        ));
    }
    transfers::transition(cx.store(), &t.id, step.from, step.to, cx.now_ms())?
        .ok_or(ApiError::BadRequest(step.refusal))?;
    match step.to {
        Status::Paused => cx.ports().transfers().stop(&t.id),
        _ => cx.ports().transfers().start(&t.id),
    }
    let paused = step.to == Status::Paused;
    Ok(Response::json(&Steered {
        success: true,
        message: step.message,
        server_paused: paused.then_some(true),
        server_resumed: (!paused).then_some(true),
        server_status: word,
    }))
}

/// The answer of a pause (`serverPaused`) or a resume (`serverResumed`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct Steered {
    success: bool,
    message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_paused: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_resumed: Option<bool>,
    server_status: &'static str,
}

/// Every P2P transfer the caller may see (the account's, for admins), newest first, as
/// `FastrServerTransferStatus` (as documented).
pub async fn all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let admin = cx.user()?.is_admin();
    let viewer = (&*caller.account_id, &*caller.user_id, admin);
    let list = transfers::all_of(cx.store(), viewer, Kind::Peer)?;
    let dtos: Vec<ServerTransferStatus<'_>> = list.iter().map(ServerTransferStatus::new).collect();
    Ok(Response::json(&dtos))
}
