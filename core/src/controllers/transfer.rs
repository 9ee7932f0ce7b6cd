//! Transfer (`transfer.md`): cloud-to-cloud transfers, queued with the source and destination
//! cloud accounts, buckets and paths, then moved by the host's engine (the same one as client
//! uploads and downloads); listed as the Web API's `Transfer` DTO, cancelled by id.

use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;
use serde::{Deserialize, Serialize};

use crate::agent::Ctx;
use crate::auth::Caller;
use crate::cloud::account::{self, CloudAccount, CloudAccountDto};
use crate::drives::report::format_size;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::json::{max_len, null_as_default, required};
use crate::paging::{PageQuery, number_param};
use crate::ports::{Ports, RngExt, TransferRunner};
use crate::time::iso8601;
use crate::transfers::{self, CloudEnd, Direction, Status, Transfer, sync, transfer_type};

/// The documented request body; the `...Id` fields of parent-style providers are accepted
/// and unused (every supported provider names objects by key).
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct TransferInput {
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_cloud_account_id: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_bucket: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_path: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    destination_cloud_account_id: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    destination_bucket: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    destination_path: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    allow_skip: bool,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    keep_source_tree: bool,
    /// Extension: `TransferType` 1 (the default) or 8 queue a one-shot transfer; 2 or 4 a
    /// one-way sync, its first cycle a SyncInitTransfer (4).
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<u32>"))]
    transfer_type: u32,
    /// Extension: a sync's seconds from one cycle's start to the next's.
    #[serde(deserialize_with = "null_as_default")]
    sync_interval_seconds: Option<u32>,
    /// The documented ids of parent-style providers: accepted and unused.
    #[allow(dead_code)]
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_bucket_id: String,
    #[allow(dead_code)]
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    source_id: String,
    #[allow(dead_code)]
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    destination_bucket_id: String,
    #[allow(dead_code)]
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    destination_id: String,
}

/// What the request's extension fields ask for: a one-shot transfer of a `TransferType`, or
/// a sync with its interval.
enum Kind {
    OneShot(u32),
    Sync(u32),
}

fn kind(input: &TransferInput) -> ApiResult<Kind> {
    let interval = input.sync_interval_seconds;
    match input.transfer_type {
        0 | transfer_type::TRANSFER | transfer_type::MANUAL_TRANSFER if interval.is_none() => {
            Ok(Kind::OneShot(input.transfer_type.max(1)))
        }
        0 | transfer_type::TRANSFER | transfer_type::MANUAL_TRANSFER => Err(ApiError::invalid(
            "'syncIntervalSeconds' applies to syncs only ('transferType' 2).",
        )),
        transfer_type::SYNC | transfer_type::SYNC_INIT_TRANSFER => {
            let s = interval.unwrap_or(sync::DEFAULT_INTERVAL_S);
            if (sync::MIN_INTERVAL_S..=sync::MAX_INTERVAL_S).contains(&s) {
                Ok(Kind::Sync(s))
            } else {
                Err(ApiError::invalid(alloc::format!(
                    "'syncIntervalSeconds' must be {} to {}.",
                    sync::MIN_INTERVAL_S,
                    sync::MAX_INTERVAL_S
                )))
            }
        }
        _ => Err(ApiError::invalid(
            "'transferType' must be 1 (Transfer), 2 (Sync), 4 (SyncInitTransfer) or 8 (ManualTransfer).",
        )),
    }
}

/// A stored cloud account the caller may use, and a bucket of it.
fn end<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &Caller,
    (id_field, id): (&str, &str),
    (bucket_field, bucket): (&str, &str),
) -> ApiResult<CloudAccount> {
    required(id_field, id)?;
    let cloud = account::find(cx.store(), caller, id)?;
    max_len(bucket_field, required(bucket_field, bucket)?, 255)?;
    Ok(cloud)
}

fn key_path(field: &str, path: &str) -> ApiResult<String> {
    let path = path.trim().trim_start_matches('/');
    max_len(field, path, 1024)?;
    Ok(String::from(path))
}

/// Queues a one-shot cloud-to-cloud transfer (`TransferType` 1 or 8), or starts a one-way
/// sync and queues its first cycle. Answers 200 with the transfer queued.
pub async fn transfer<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let input: TransferInput = cx.body()?;
    if !cx.ports().transfers().available() {
        return Err(ApiError::invalid("This build of the agent moves no files."));
    }
    let kind = kind(&input)?;
    let source = end(
        cx,
        caller,
        ("sourceCloudAccountId", &input.source_cloud_account_id),
        ("sourceBucket", &input.source_bucket),
    )?;
    let destination = end(
        cx,
        caller,
        (
            "destinationCloudAccountId",
            &input.destination_cloud_account_id,
        ),
        ("destinationBucket", &input.destination_bucket),
    )?;
    let source_path = key_path("sourcePath", &input.source_path)?;
    let destination_path = key_path("destinationPath", &input.destination_path)?;
    let source_bucket = String::from(input.source_bucket.trim());
    let now = cx.now_ms();
    let mut t = Transfer {
        id: cx.ports().rng().uuid(),
        account_id: caller.account_id.clone(),
        user_id: caller.user_id.clone(),
        direction: Direction::Copy,
        cloud_account_id: destination.id,
        cloud_type: destination.cloud_type,
        bucket: String::from(input.destination_bucket.trim()),
        remote: destination_path,
        local: alloc::format!("{source_bucket}/{source_path}"),
        is_folder: source_path.is_empty() || source_path.ends_with('/'),
        name: match source_path.trim_end_matches('/') {
            "" => source_bucket.clone(),
            path => String::from(crate::transfers::paths::file_name(path)),
        },
        options: cx.config().transfer_options,
        create_ms: now,
        start_ms: now,
        source: Some(CloudEnd {
            cloud_account_id: source.id,
            cloud_type: source.cloud_type,
            bucket: source_bucket,
            path: source_path,
        }),
        allow_skip: input.allow_skip,
        keep_source_tree: input.keep_source_tree,
        ..Transfer::default()
    };
    match kind {
        Kind::OneShot(transfer_type) => {
            t.transfer_type = transfer_type;
            transfers::insert(cx.store(), &t)?;
        }
        Kind::Sync(interval_s) => {
            let s = sync::CloudSync::new(cx.ports().rng().uuid(), interval_s, &mut t);
            sync::create(cx.store(), &s, &t)?;
        }
    }
    cx.ports().transfers().start(&t.id);
    let views = Views::new(cx, caller)?;
    Ok(Response::json(&views.dto(&t, cx.now_ms())))
}

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CancelInput {
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    id: String,
}

/// Stops a queued, running, paused or failed transfer for good; what it left unfinished at
/// the destination (multipart uploads) is aborted, what it finished stays. A sync's cycle
/// stops the sync too (no further cycle), even once that cycle ended.
pub async fn cancel_transfer<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let input: CancelInput = cx.body()?;
    let id = required("id", &input.id)?;
    let admin = cx.user()?.is_admin();
    let t = transfers::visible(cx.store(), id, &caller.account_id, &caller.user_id, admin)?;
    // A P2P transfer is cancelled at its source agent too: through its own route.
    if !matches!(t.kind(), transfers::Kind::Copy | transfers::Kind::Server) {
        return Err(ApiError::not_found("The transfer"));
    }
    let from = [
        Status::Initiating,
        Status::Running,
        Status::Paused,
        Status::Failed,
    ];
    let stopped_sync = match &t.sync_id {
        Some(id) => sync::stop(cx.store(), id)?,
        None => false,
    };
    let cancelled =
        transfers::transition(cx.store(), &t.id, &from, Status::Cancelled, cx.now_ms())?;
    if cancelled.is_none() && !stopped_sync {
        return Err(ApiError::invalid(
            "The transfer is already completed or cancelled.",
        ));
    }
    cx.ports().transfers().stop(&t.id);
    Ok(Response::ok())
}

/// The documented `sortfield` values, the default first.
pub(crate) const SORTABLE: &[&str] =
    &["RequestDate", "StartDate", "EndDate", "TotalSize", "Status"];

fn compare(field: &str, a: &Transfer, b: &Transfer) -> Ordering {
    match field {
        "StartDate" => a.start_ms.cmp(&b.start_ms),
        "EndDate" => a.end_ms.cmp(&b.end_ms),
        "TotalSize" => a.total_bytes.cmp(&b.total_bytes),
        "Status" => a.status.flag().cmp(&b.status.flag()),
        _ => a.create_ms.cmp(&b.create_ms),
    }
    .then_with(|| a.id.cmp(&b.id))
}

/// The caller's cloud-to-cloud transfers (the account's, for admins) whose `TransferType`
/// is in the `type` bitmask, paged and sorted.
pub async fn get_all<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let query = PageQuery::from_request(cx.req, SORTABLE)?;
    let mask = number_param(cx.req, "type", 15, 0, u32::MAX)?;
    let admin = cx.user()?.is_admin();
    let mut list = transfers::of_account(cx.store(), &caller.account_id)?;
    list.retain(|t| {
        t.direction == Direction::Copy
            && t.transfer_type & mask != 0
            && (admin || t.user_id == caller.user_id)
    });
    let page = query.paginate(list, |a, b| compare(&query.sort_field, a, b));
    let views = Views::new(cx, caller)?;
    let now = cx.now_ms();
    Ok(Response::json(&page.map(|t| views.dto(t, now))))
}

/// The cloud accounts the caller sees, to inline in the DTOs.
struct Views {
    clouds: Vec<CloudAccount>,
}

impl Views {
    fn new<P: Ports>(cx: &Ctx<'_, P>, caller: &Caller) -> ApiResult<Views> {
        Ok(Views {
            clouds: account::visible(cx.store(), caller)?,
        })
    }

    fn cloud(&self, id: &str) -> Option<&CloudAccount> {
        self.clouds.iter().find(|c| c.id == id)
    }

    fn dto<'a>(&'a self, t: &'a Transfer, now_ms: u64) -> TransferDto<'a> {
        let source = t.source.as_ref();
        let (source_cloud, destination_cloud) = (
            source.and_then(|s| self.cloud(&s.cloud_account_id)),
            self.cloud(&t.cloud_account_id),
        );
        let region = |c: Option<&'a CloudAccount>| c.map_or("", |c| c.region.as_str());
        let active_ms = t
            .end_ms
            .unwrap_or(now_ms)
            .saturating_sub(t.start_ms)
            .saturating_sub(t.paused_total_ms(now_ms));
        // The skipped objects count in the totals (as in `total`), and as done.
        let skipped = t.objects.skipped_bytes;
        let total_size = t.total_bytes + skipped;
        let percent = match (t.status, total_size) {
            (Status::Completed, _) => 100.0,
            (_, 0) => 0.0,
            (_, total) => (t.transferred_bytes + skipped).min(total) as f64 * 100.0 / total as f64,
        };
        TransferDto {
            id: &t.id,
            user_id: &t.user_id,
            sync_cycle_id: t.sync_id.as_deref().unwrap_or(NO_ID),
            source_cloud_account_id: source.map_or("", |s| s.cloud_account_id.as_str()),
            source_bucket: source.map_or("", |s| s.bucket.as_str()),
            source_region: region(source_cloud),
            source_path: source.map_or("", |s| s.path.as_str()),
            destination_cloud_account_id: &t.cloud_account_id,
            destination_bucket: &t.bucket,
            destination_region: region(destination_cloud),
            destination_path: &t.remote,
            request_date: iso8601(t.create_ms),
            start_date: iso8601(t.start_ms),
            end_date: t.end_ms.map(iso8601),
            transfer_status: t.status.flag(),
            transfer_type: t.transfer_type,
            allow_skip: t.allow_skip,
            allow_delete: false,
            total: t.objects.total,
            failed: t.objects.failed,
            deleted: 0,
            skipped: t.objects.skipped,
            skipped_size: t.objects.skipped_bytes,
            transferred: t.objects.transferred,
            total_size,
            total_size_string: format_size(total_size),
            transferred_size: t.transferred_bytes,
            transferred_size_string: format_size(t.transferred_bytes),
            percent,
            average_speed: t.transferred_bytes as f64 * 1000.0 / active_ms.max(1) as f64,
            transferred_cost: 0.0,
            retry_batch_transfer_id: NO_ID,
            sync_cycle: None,
            source_cloud_account: source_cloud.map(CloudAccountDto::new),
            destination_cloud_account: destination_cloud.map(CloudAccountDto::new),
            error_message: t.error.as_deref(),
        }
    }
}

/// The empty id (.NET's `Guid.Empty`) the DTO's id fields hold when there is nothing to name.
const NO_ID: &str = "00000000-0000-0000-0000-000000000000";

/// `Transfer` (`web-api/transfer.md`). No cost is charged (0), no delete happens (`deleted`
/// 0, `allowDelete` false); a sync's cycle names the sync in `syncCycleId` (the `SyncCycle`
/// object's shape is documented nowhere: `syncCycle` stays `null`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransferDto<'a> {
    id: &'a str,
    user_id: &'a str,
    sync_cycle_id: &'a str,
    source_cloud_account_id: &'a str,
    source_bucket: &'a str,
    source_region: &'a str,
    source_path: &'a str,
    destination_cloud_account_id: &'a str,
    destination_bucket: &'a str,
    destination_region: &'a str,
    destination_path: &'a str,
    request_date: String,
    start_date: String,
    end_date: Option<String>,
    transfer_status: u32,
    transfer_type: u32,
    allow_skip: bool,
    allow_delete: bool,
    total: u64,
    failed: u64,
    deleted: u64,
    skipped: u64,
    skipped_size: u64,
    transferred: u64,
    total_size: u64,
    total_size_string: String,
    transferred_size: u64,
    transferred_size_string: String,
    percent: f64,
    average_speed: f64,
    transferred_cost: f64,
    #[serde(rename = "retryBatchTransferID")]
    retry_batch_transfer_id: &'static str,
    sync_cycle: Option<()>,
    source_cloud_account: Option<CloudAccountDto<'a>>,
    destination_cloud_account: Option<CloudAccountDto<'a>>,
    /// Why it failed (an extension: the Web API's DTO has no field for it).
    error_message: Option<&'a str>,
}
