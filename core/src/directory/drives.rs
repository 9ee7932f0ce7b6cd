//! Shared cloud drives (`sharedclouddrive.md`): named records of the directory whose own
//! fields say which cloud account, bucket and prefix back the drive and how it behaves.

use alloc::format;
use alloc::string::String;
use serde_json::{Map, Value};

use super::entities::{Entity, SHARED_CLOUD_DRIVES};
use crate::auth::Caller;
#[cfg(feature = "cloud")]
use crate::cloud::account::{CloudAccount, CloudAccountDto};
use crate::error::{ApiError, ApiResult};
use crate::ports::Store;
#[cfg(feature = "cloud")]
use crate::store::keys::CLOUD_ACCOUNTS;
use crate::store::scan_all;

enum Field {
    /// Required on insert; at most this many characters.
    RequiredText(usize),
    Text(usize),
    Flag,
    /// An integer in the range, with its default.
    Number(u64, u64, u64),
}

const FIELDS: [(&str, Field); 11] = [
    ("cloudAccountId", Field::RequiredText(36)),
    ("storageName", Field::RequiredText(255)),
    ("prefix", Field::Text(1024)),
    ("prefixId", Field::Text(255)),
    ("storageId", Field::Text(255)),
    ("objectsPerFolder", Field::Number(1, 1_000_000, 10_000)),
    ("allowDelete", Field::Flag),
    ("localCacheEncrypted", Field::Flag),
    ("cloudObjectsEncrypted", Field::Flag),
    // DriveType: 1 VirtualDrive, 2 LocalPath. SyncType: 1 Stream, 2 Mirror.
    ("driveType", Field::Number(1, 2, 1)),
    ("syncType", Field::Number(1, 2, 1)),
];

/// The JSON Schema properties of a drive's own fields, and those an insert requires (for the
/// OpenAPI document; the table above is what `apply_fields` checks).
#[cfg(feature = "openapi")]
pub(crate) fn fields_schema() -> (Map<String, Value>, alloc::vec::Vec<&'static str>) {
    let mut properties = Map::new();
    let mut required = alloc::vec::Vec::new();
    for (name, field) in &FIELDS {
        let schema = match field {
            Field::RequiredText(max) | Field::Text(max) => {
                serde_json::json!({"type": "string", "maxLength": max})
            }
            Field::Flag => serde_json::json!({"type": "boolean"}),
            Field::Number(min, max, default) => serde_json::json!(
                {"type": "integer", "minimum": min, "maximum": max, "default": default}),
        };
        if matches!(field, Field::RequiredText(_)) {
            required.push(*name);
        }
        properties.insert(String::from(*name), schema);
    }
    (properties, required)
}

/// [`entities::Kind::extra`] of shared cloud drives.
pub fn apply_fields(
    input: &Map<String, Value>,
    extra: &mut Map<String, Value>,
    inserting: bool,
) -> ApiResult<()> {
    for (name, field) in &FIELDS {
        let given = input.get(*name).filter(|v| !v.is_null());
        let value = match (field, given) {
            (Field::RequiredText(max) | Field::Text(max), Some(v)) => {
                let text = v
                    .as_str()
                    .ok_or_else(|| ApiError::invalid(format!("'{name}' must be a string.")))?
                    .trim();
                if matches!(field, Field::RequiredText(_)) && text.is_empty() {
                    return Err(ApiError::invalid(format!("'{name}' is required.")));
                }
                crate::json::max_len(name, text, *max)?;
                Value::from(text)
            }
            (Field::Flag, Some(v)) => Value::from(
                v.as_bool()
                    .ok_or_else(|| ApiError::invalid(format!("'{name}' must be true or false.")))?,
            ),
            (Field::Number(min, max, _), Some(v)) => match v.as_u64() {
                Some(n) if (*min..=*max).contains(&n) => Value::from(n),
                _ => {
                    return Err(ApiError::invalid(format!(
                        "'{name}' must be a whole number from {min} to {max}."
                    )));
                }
            },
            (_, None) if !inserting => continue,
            (Field::RequiredText(_), None) => {
                return Err(ApiError::invalid(format!("'{name}' is required.")));
            }
            (Field::Text(_), None) => Value::from(""),
            (Field::Flag, None) => Value::from(false),
            (Field::Number(_, _, default), None) => Value::from(*default),
        };
        extra.insert(String::from(*name), value);
    }
    Ok(())
}

/// The cloud account a drive body names, if it names one.
pub fn cloud_account_of(body: &Map<String, Value>) -> Option<&str> {
    body.get("cloudAccountId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|id| !id.is_empty())
}

/// The name of a drive of the account backed by `cloud_account_id`, if any.
#[cfg_attr(not(feature = "cloud"), allow(dead_code))]
pub fn using_cloud_account(
    store: &impl Store,
    account_id: &str,
    cloud_account_id: &str,
) -> ApiResult<Option<String>> {
    let kind = &SHARED_CLOUD_DRIVES;
    let prefix = kind.by_name.key(&format!("{account_id}/"));
    let mut found = None;
    scan_all(store, &prefix, false, |_, id| {
        let id = core::str::from_utf8(id).unwrap_or("");
        if let Some(drive) = kind.table.get::<Entity>(store, id)?
            && cloud_account_of(&drive.extra) == Some(cloud_account_id)
        {
            found = Some(drive.name);
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(found)
}

/// The drive's cloud account as `/cloud/account` shows it, if the caller may see it.
#[cfg(feature = "cloud")]
fn cloud_account_to_wire(store: &impl Store, caller: &Caller, drive: &Entity) -> ApiResult<Value> {
    let account = match cloud_account_of(&drive.extra) {
        Some(id) => CLOUD_ACCOUNTS
            .get::<CloudAccount>(store, id)?
            .filter(|a| a.visible_to(caller)),
        None => None,
    };
    Ok(account.map_or(Value::Null, |a| {
        serde_json::to_value(CloudAccountDto::new(&a)).unwrap_or(Value::Null)
    }))
}

/// Builds without the Cloud controller (firmware) hold no cloud accounts to show.
#[cfg(not(feature = "cloud"))]
fn cloud_account_to_wire(_: &impl Store, _: &Caller, _: &Entity) -> ApiResult<Value> {
    Ok(Value::Null)
}

/// A drive as the SharedCloudDrive routes return it (`web-api/sharedclouddrive.md`): the
/// record, with its `cloudAccount` as `/cloud/account` shows it, or `null` where the caller
/// may not see that account (a private one of another user).
pub fn to_wire(store: &impl Store, caller: &Caller, drive: Entity) -> ApiResult<Value> {
    let account = cloud_account_to_wire(store, caller, &drive)?;
    let mut wire = serde_json::to_value(drive).map_err(|_| ApiError::Internal)?;
    if let Value::Object(fields) = &mut wire {
        // Drives stored before the creator was recorded have none to show.
        fields
            .entry("creatorUserId")
            .or_insert_with(|| Value::from(""));
        fields.insert(String::from("cloudAccount"), account);
    }
    Ok(wire)
}
