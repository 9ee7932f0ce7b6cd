//! Storage (`storage.md`) and the built-in storage routes of Cloud (`cloud.md`, Storage
//! Management): the agent's own S3 server, its buckets and the keys it issues. The built-in
//! storage is a cloud account (S3Generic) whose endpoint is this agent's storage listener,
//! made by `/cloud/add_storage`; every existing storage operation and transfer works on it.

use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;
use serde::{Deserialize, Serialize};

use crate::agent::{Ctx, required_query};
use crate::cloud::account::{self, CloudAccount, CloudAccountDto};
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::json::{max_len, null_as_default, required};
use crate::paging::PageQuery;
use crate::ports::{Ports, RngExt};
use crate::storage::buckets::{self, Bucket};
use crate::storage::keys::{self, Permission, StorageKey};
use crate::storage::objects;
use crate::store::Batch;
use crate::store::keys::{CLOUD_ACCOUNTS, CLOUD_ACCOUNTS_BY_ACCOUNT};
use crate::store::table::save;
use crate::time::iso8601;

/// The `cloudType` of the built-in storage's cloud account: S3-compatible.
const S3_GENERIC: u32 = crate::cloud::cloud_type::S3_GENERIC;

/// The built-in storage's endpoint, or 499 when it is off.
fn endpoint<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<String> {
    match cx.config().storage_endpoint.as_str() {
        "" => Err(ApiError::invalid(
            "The built-in storage is off: set [storage] listen in the configuration.",
        )),
        e => Ok(String::from(e)),
    }
}

/// Cloud account `id` as the caller may manage it, which must be the built-in storage.
fn storage_account<P: Ports>(cx: &Ctx<'_, P>, id: &str) -> ApiResult<CloudAccount> {
    let at = endpoint(cx)?;
    let a = account::find(cx.store(), cx.caller()?, required("cloudAccountId", id)?)?;
    if a.cloud_type != S3_GENERIC || a.endpoint != at {
        return Err(ApiError::invalid(
            "The cloud account is not this agent's built-in storage.",
        ));
    }
    if !a.manageable_by(&cx.user()?) {
        return Err(ApiError::access(
            "Only the user who added the storage (or an admin, once it is shared) manages it.",
        ));
    }
    Ok(a)
}

// ---------------------------------------------------------------- keys

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct KeyInput {
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    name: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    region: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    storage_dn: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<u32>"))]
    permission: u32,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    all_buckets: bool,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<Vec<String>>"))]
    selected_buckets: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    cloud_account_id: String,
}

/// `StorageApiKey` (`web-api/storage.md`), and `secretKey` once (`ShowStorageApiKey`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyDto<'a> {
    id: &'a str,
    user_id: &'a str,
    account_id: &'a str,
    name: &'a str,
    access_key: &'a str,
    description: &'a str,
    region: &'a str,
    storage_dn: &'a str,
    storage_tier: u32,
    create_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key: Option<&'a str>,
}

fn key_dto<'a>(k: &'a StorageKey, secret: Option<&'a str>) -> KeyDto<'a> {
    KeyDto {
        id: &k.id,
        user_id: &k.user_id,
        account_id: &k.account_id,
        name: &k.name,
        access_key: &k.access_key,
        description: "",
        region: &k.region,
        storage_dn: &k.storage_dn,
        storage_tier: 0,
        create_date: iso8601(k.create_ms),
        secret_key: secret,
    }
}

/// Issues a key; its secret is in this answer only.
pub async fn create_storage_key<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let input: KeyInput = cx.body()?;
    let storage = storage_account(cx, &input.cloud_account_id)?;
    let name = required("name", &input.name)?;
    max_len("name", name, 100)?;
    max_len("region", &input.region, 100)?;
    max_len("storageDn", &input.storage_dn, 255)?;
    let permission = Permission::from_number(input.permission).ok_or_else(|| {
        ApiError::invalid("'permission' must be 0 (Read), 1 (Write) or 2 (ReadWrite).")
    })?;
    if !input.all_buckets && input.selected_buckets.is_empty() {
        return Err(ApiError::invalid(
            "'selectedBuckets' must name a bucket when 'allBuckets' is false.",
        ));
    }
    for b in &input.selected_buckets {
        buckets::check_name(b)?;
        buckets::in_account(cx.store(), &caller.account_id, b)?;
    }
    let ports = cx.ports();
    let secret = keys::new_secret(ports.rng());
    let k = StorageKey {
        id: ports.rng().uuid(),
        account_id: caller.account_id.clone(),
        user_id: caller.user_id.clone(),
        cloud_account_id: storage.id,
        name: String::from(name),
        access_key: keys::new_access_key(ports.rng()),
        sealed_secret: ports.secrets().seal(&secret, ports.rng()),
        permission,
        all_buckets: input.all_buckets,
        selected_buckets: if input.all_buckets {
            Vec::new()
        } else {
            input.selected_buckets
        },
        region: input.region,
        storage_dn: input.storage_dn,
        create_ms: cx.now_ms(),
    };
    keys::insert(cx.store(), &k)?;
    Ok(Response::json(&key_dto(&k, Some(&secret))))
}

pub(crate) const KEY_SORTABLE: &[&str] = &["CreateDate", "Name", "AccessKey"];

fn compare_keys(field: &str, a: &StorageKey, b: &StorageKey) -> Ordering {
    match field {
        "Name" => a.name.cmp(&b.name),
        "AccessKey" => a.access_key.cmp(&b.access_key),
        _ => a.create_ms.cmp(&b.create_ms),
    }
    .then_with(|| a.id.cmp(&b.id))
}

/// The account's keys (an admin's view) or the caller's own, without secrets.
pub async fn get_storage_key<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let query = PageQuery::from_request(cx.req, KEY_SORTABLE)?;
    let admin = cx.user()?.is_admin();
    let mut all = keys::of_account(cx.store(), &caller.account_id)?;
    all.retain(|k| admin || k.user_id == caller.user_id);
    let page = query.paginate(all, |a, b| compare_keys(&query.sort_field, a, b));
    Ok(Response::json(&page.map(|k| key_dto(k, None))))
}

/// Deletes a key (its creator, or an admin): signatures made with it fail at once.
pub async fn delete_storage_key<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let id = required_query(cx.req, "id")?;
    let k = keys::in_account(cx.store(), &caller.account_id, &id)?;
    if k.user_id != caller.user_id && !cx.user()?.is_admin() {
        return Err(ApiError::not_found("The storage key"));
    }
    keys::delete(cx.store(), &k)?;
    Ok(Response::ok())
}

// ---------------------------------------------------------------- buckets

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct BucketInput {
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    cloud_account_id: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    bucket_name: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    is_public: bool,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    is_encrypted: bool,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    versioning_enabled: bool,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    object_lock_enabled: bool,
}

/// Makes a bucket on the built-in storage.
pub async fn create_bucket<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: BucketInput = cx.body()?;
    let storage = storage_account(cx, &input.cloud_account_id)?;
    let name = required("bucketName", &input.bucket_name)?;
    let tier = tier_of(cx, &storage)?;
    let b = Bucket {
        is_public: input.is_public,
        is_encrypted: input.is_encrypted,
        versioning_enabled: input.versioning_enabled,
        object_lock_enabled: input.object_lock_enabled,
        ..new_bucket(cx, &storage, name, tier)
    };
    buckets::create(cx.store(), &b)?;
    Ok(Response::ok())
}

/// Bucket `name` of the built-in storage `cloud_account_id`.
fn bucket_of<P: Ports>(cx: &Ctx<'_, P>, cloud_account_id: &str, name: &str) -> ApiResult<Bucket> {
    let storage = storage_account(cx, cloud_account_id)?;
    let name = required("bucketName", name)?;
    buckets::in_account(cx.store(), &storage.account_id, name)
}

/// `BucketStatus` (`web-api/storage.md`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct BucketStatus {
    versioning_enabled: bool,
    encryption_enabled: bool,
    is_public: bool,
    object_lock_enabled: bool,
}

pub async fn bucket_status<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: BucketInput = cx.body()?;
    let b = bucket_of(cx, &input.cloud_account_id, &input.bucket_name)?;
    Ok(Response::json(&BucketStatus {
        versioning_enabled: b.versioning_enabled,
        encryption_enabled: b.is_encrypted,
        is_public: b.is_public,
        object_lock_enabled: b.object_lock_enabled,
    }))
}

/// Changes a bucket's flags (object lock is set at creation only, as in S3).
pub async fn update_bucket<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: BucketInput = cx.body()?;
    let before = bucket_of(cx, &input.cloud_account_id, &input.bucket_name)?;
    let after = Bucket {
        is_public: input.is_public,
        is_encrypted: input.is_encrypted,
        versioning_enabled: input.versioning_enabled,
        ..before.clone()
    };
    buckets::update(cx.store(), &before, &after)?;
    Ok(Response::ok())
}

/// Deletes an empty bucket.
pub async fn delete_bucket<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let id = required_query(cx.req, "cloudAccountId")?;
    let name = required_query(cx.req, "bucketName")?;
    let b = bucket_of(cx, &id, &name)?;
    buckets::delete(cx.store(), &b)?;
    Ok(Response::ok())
}

// ---------------------------------------------------------------- cloud.md: Storage Management

/// The caller's built-in storage: the first one they manage (Storj section: "the current
/// user's Amove storage").
fn own_storage<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<CloudAccount> {
    let at = endpoint(cx)?;
    let user = cx.user()?;
    let mine = account::visible(cx.store(), cx.caller()?)?
        .into_iter()
        .filter(|a| a.cloud_type == S3_GENERIC && a.endpoint == at && a.manageable_by(&user))
        .min_by_key(|a| a.create_ms);
    mine.ok_or_else(|| {
        ApiError::invalid("You have no built-in storage yet: add one with /cloud/add_storage.")
    })
}

/// Deletes a built-in storage's cloud account and the keys issued through it; its buckets
/// and their objects stay (another storage account of the account reaches them).
pub async fn delete_storage<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let id = required_query(cx.req, "id")?;
    let row = storage_account(cx, &id)?;
    account::remove(cx.store(), &row)?;
    Ok(Response::json(&true))
}

/// Makes bucket `bucketName` on the caller's built-in storage.
pub async fn storj_create_bucket<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let storage = own_storage(cx)?;
    let name = required_query(cx.req, "bucketName")?;
    let tier = tier_of(cx, &storage)?;
    let b = new_bucket(cx, &storage, name.trim(), tier);
    buckets::create(cx.store(), &b)?;
    Ok(Response::ok())
}

/// Deletes empty bucket `bucketName` of the caller's built-in storage.
pub async fn storj_delete_bucket<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let storage = own_storage(cx)?;
    let name = required_query(cx.req, "bucketName")?;
    let b = buckets::in_account(cx.store(), &storage.account_id, &name)?;
    buckets::delete(cx.store(), &b)?;
    Ok(Response::ok())
}

/// `BucketInfoResponse` (its fields are documented nowhere: "usage, object count, region").
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct BucketInfo<'a> {
    bucket_name: &'a str,
    region: &'a str,
    object_count: u64,
    used_bytes: u64,
    create_date: String,
    is_public: bool,
    is_encrypted: bool,
    versioning_enabled: bool,
    object_lock_enabled: bool,
}

/// What bucket `bucketName` of the caller's built-in storage holds, as counted.
pub async fn get_bucket_info<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let storage = own_storage(cx)?;
    let name = required_query(cx.req, "bucketName")?;
    let b = buckets::in_account(cx.store(), &storage.account_id, &name)?;
    let usage = objects::usage(cx.store(), &b.name)?;
    Ok(Response::json(&BucketInfo {
        bucket_name: &b.name,
        region: &storage.region,
        object_count: usage.objects,
        used_bytes: usage.bytes,
        create_date: iso8601(b.create_ms),
        is_public: b.is_public,
        is_encrypted: b.is_encrypted,
        versioning_enabled: b.versioning_enabled,
        object_lock_enabled: b.object_lock_enabled,
    }))
}

/// `CloudInfoResponse` ("total quota, used bytes, bucket count"; 0: no quota).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct CloudInfo {
    total_quota: u64,
    used_bytes: u64,
    bucket_count: u64,
    object_count: u64,
}

/// What the account keeps on the built-in storage, against its quota.
pub async fn get_cloud_info<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let storage = own_storage(cx)?;
    let all = buckets::of_account(cx.store(), &storage.account_id)?;
    let mut info = CloudInfo {
        total_quota: cx.config().storage_quota_bytes,
        used_bytes: 0,
        bucket_count: all.len() as u64,
        object_count: 0,
    };
    for b in &all {
        let u = objects::usage(cx.store(), &b.name)?;
        info.used_bytes += u.bytes;
        info.object_count += u.objects;
    }
    Ok(Response::json(&info))
}

// ---------------------------------------------------------------- cloud.md: add_storage

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AddStorageInput {
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    cloud_account_name: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    bucket_name: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    shared: bool,
}

/// A built-in storage to provision: its name, first bucket, region and tier.
struct Provision<'a> {
    name: &'a str,
    bucket: &'a str,
    shared: bool,
    /// A configured region's code; empty: the storage's own folder.
    region: &'a str,
    tier: u32,
}

/// Provisions a built-in storage for the caller: its first bucket, and a cloud account
/// (S3Generic, this agent's storage endpoint, a key of its own reaching every bucket of the
/// account) that every storage operation and transfer can use. Answers the `CloudAccount`.
fn provision<P: Ports>(cx: &Ctx<'_, P>, p: Provision<'_>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let at = endpoint(cx)?;
    max_len(
        "cloudAccountName",
        required("cloudAccountName", p.name)?,
        100,
    )?;
    buckets::check_name(required("bucketName", p.bucket)?)?;
    let ports = cx.ports();
    let now = cx.now_ms();
    let secret = keys::new_secret(ports.rng());
    let row = CloudAccount {
        id: ports.rng().uuid(),
        account_id: caller.account_id.clone(),
        user_id: caller.user_id.clone(),
        cloud_type: S3_GENERIC,
        name: String::from(p.name.trim()),
        region: String::from(if p.region.is_empty() {
            DEFAULT_REGION
        } else {
            p.region
        }),
        endpoint: at,
        service_url: String::new(),
        access_key: keys::new_access_key(ports.rng()),
        sealed_secret_key: ports.secrets().seal(&secret, ports.rng()),
        sealed_credentials_data: String::new(),
        shared: p.shared,
        authorization_revoked: false,
        create_ms: now,
    };
    let k = StorageKey {
        id: ports.rng().uuid(),
        account_id: caller.account_id.clone(),
        user_id: caller.user_id.clone(),
        cloud_account_id: row.id.clone(),
        name: alloc::format!("{} (the cloud account's own)", row.name),
        access_key: row.access_key.clone(),
        sealed_secret: row.sealed_secret_key.clone(),
        permission: Permission::ReadWrite,
        all_buckets: true,
        selected_buckets: Vec::new(),
        region: row.region.clone(),
        storage_dn: String::new(),
        create_ms: now,
    };
    buckets::create(cx.store(), &new_bucket(cx, &row, p.bucket.trim(), p.tier))?;
    keys::insert(cx.store(), &k)?;
    let mut batch = Batch::new();
    CLOUD_ACCOUNTS.put(&mut batch, &row.id, &row);
    CLOUD_ACCOUNTS_BY_ACCOUNT.put_str(&mut batch, &row.index_key(), "");
    save(cx.store(), &batch)?;
    Ok(Response::json(&CloudAccountDto::new(&row)))
}

/// The region a storage account made by `add_storage` names (S3's default: its buckets stay
/// in the storage's own folder).
const DEFAULT_REGION: &str = "us-east-1";

/// A new bucket `name` of built-in storage `storage`, in its region, of storage tier `tier`.
fn new_bucket<P: Ports>(cx: &Ctx<'_, P>, storage: &CloudAccount, name: &str, tier: u32) -> Bucket {
    let configured = cx
        .config()
        .storage_regions
        .iter()
        .any(|r| r.code == storage.region);
    Bucket {
        name: String::from(name),
        account_id: storage.account_id.clone(),
        cloud_account_id: storage.id.clone(),
        create_ms: cx.now_ms(),
        region: if configured {
            storage.region.clone()
        } else {
            String::new()
        },
        tier,
        ..Bucket::default()
    }
}

/// The storage tier of `storage`'s buckets (its first's; 0 when it has none).
fn tier_of<P: Ports>(cx: &Ctx<'_, P>, storage: &CloudAccount) -> ApiResult<u32> {
    let all = buckets::of_account(cx.store(), &storage.account_id)?;
    Ok(all
        .iter()
        .filter(|b| b.cloud_account_id == storage.id)
        .min_by_key(|b| b.create_ms)
        .map_or(0, |b| b.tier))
}

pub async fn add_storage<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: AddStorageInput = cx.body()?;
    provision(
        cx,
        Provision {
            name: &input.cloud_account_name,
            bucket: &input.bucket_name,
            shared: input.shared,
            region: "",
            tier: 0,
        },
    )
}

// ---------------------------------------------------------------- cloud.md: IDrive Storage

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct IdriveAddInput {
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    cloud_account_name: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    bucket_name: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    region_code: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<u32>"))]
    storage_tier: u32,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    shared: bool,
}

/// The documented `storageTier` values (a flag each; 0 All, accepted as none).
const TIERS: [u32; 6] = [0, 1, 2, 4, 8, 16];

fn tier_param(n: u32) -> ApiResult<u32> {
    if TIERS.contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::invalid(
            "'storageTier' must be 0 (All), 1, 2, 4, 8 or 16.",
        ))
    }
}

/// The IDrive section's storage: the built-in storage in one of the configured regions.
pub async fn idrive_add_storage<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: IdriveAddInput = cx.body()?;
    let regions = &cx.config().storage_regions;
    let code = required("regionCode", &input.region_code)?;
    if !regions.iter().any(|r| r.code == code) {
        let codes: Vec<&str> = regions.iter().map(|r| r.code.as_str()).collect();
        return Err(ApiError::invalid(alloc::format!(
            "'regionCode' must be one of: {}.",
            codes.join(", ")
        )));
    }
    provision(
        cx,
        Provision {
            name: &input.cloud_account_name,
            bucket: &input.bucket_name,
            shared: input.shared,
            region: code,
            tier: tier_param(input.storage_tier)?,
        },
    )
}

/// Makes bucket `bucketName` on built-in storage `cloudAccountId`, in its region and tier.
pub async fn idrive_create_bucket<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let storage = storage_account(cx, &required_query(cx.req, "cloudAccountId")?)?;
    let name = required_query(cx.req, "bucketName")?;
    let tier = tier_of(cx, &storage)?;
    buckets::create(cx.store(), &new_bucket(cx, &storage, name.trim(), tier))?;
    Ok(Response::ok())
}

/// `[{name, code}]`: the configured regions (storage locations).
pub async fn idrive_regions<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    cx.caller()?;
    endpoint(cx)?;
    let regions: Vec<Region<'_>> = (cx.config().storage_regions.iter())
        .map(|r| Region {
            name: &r.name,
            code: &r.code,
        })
        .collect();
    Ok(Response::json(&regions))
}

/// A storage location of the built-in storage.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub(crate) struct Region<'a> {
    name: &'a str,
    code: &'a str,
}

/// The caller, and the usage routes' `storageTier` (0: every tier).
fn usage_query<'a, P: Ports>(cx: &'a Ctx<'_, P>) -> ApiResult<(&'a crate::auth::Caller, u32)> {
    let caller = cx.caller()?;
    endpoint(cx)?;
    let n = crate::paging::number_param(cx.req, "storageTier", 0, 0, 16)?;
    Ok((caller, tier_param(n)?))
}

/// Bytes the caller's account keeps on the built-in storage, in buckets of `storageTier`.
pub async fn idrive_get_usage<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (caller, tier) = usage_query(cx)?;
    let mut bytes = 0u64;
    for b in buckets::of_account(cx.store(), &caller.account_id)? {
        if tier == 0 || b.tier == tier {
            bytes += objects::usage(cx.store(), &b.name)?.bytes;
        }
    }
    Ok(Response::json(&(bytes as f64)))
}

/// Bytes written to the caller's account's buckets of `storageTier` on the previous UTC day.
pub async fn idrive_get_daily_usage<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (caller, tier) = usage_query(cx)?;
    let yesterday = cx.now_ms().saturating_sub(86_400_000);
    let bytes = objects::written_on(cx.store(), &caller.account_id, yesterday, tier)?;
    Ok(Response::json(&(bytes as f64)))
}
