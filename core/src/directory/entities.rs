//! Named records of an account (user groups, projects): unique names per account, paged
//! listings in name order, create, update, delete. One implementation serves every kind.
//!
//! Keys: `<table><id>` the row; `<by_name><account>/<lower-case name>` -> id (uniqueness and
//! `Name` order); `<counter><account>` how many the account has.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::json::{max_len, required};
use crate::model::User;
use crate::paging::{Page, PageQuery};
use crate::ports::Store;
use crate::store::Batch;
use crate::store::keys;
use crate::store::table::{CounterDeltas, Table, counter};
use crate::store::{index_page, scan_all};

pub(crate) const NAME_MAX: usize = 100;
pub(crate) const DESCRIPTION_MAX: usize = 1000;

/// Applies a body's kind-specific fields to a record's `extra` (`inserting`: fill defaults).
pub(crate) type ExtraFields =
    fn(&Map<String, Value>, &mut Map<String, Value>, bool) -> ApiResult<()>;

/// A kind of named record ([`USER_GROUPS`], [`PROJECTS`]): its tables and what sets it apart.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    pub(crate) table: Table,
    pub(crate) by_name: Table,
    pub(crate) counter: Table,
    /// For messages: "The user group".
    pub(crate) what: &'static str,
    /// Checks and applies the fields only this kind has (from the body to the record's
    /// `extra`); `inserting` asks for defaults and required fields. Kinds without any ignore
    /// unknown fields.
    pub(crate) extra: Option<ExtraFields>,
    /// Records keep the user who created them as `creatorUserId` (shared cloud drives).
    pub(crate) records_creator: bool,
}

/// User groups (teams).
pub const USER_GROUPS: Kind = Kind {
    table: keys::USER_GROUPS,
    by_name: keys::USER_GROUPS_BY_NAME,
    counter: keys::USER_GROUP_COUNTS,
    what: "The user group",
    extra: None,
    records_creator: false,
};

/// Projects.
pub const PROJECTS: Kind = Kind {
    table: keys::PROJECTS,
    by_name: keys::PROJECTS_BY_NAME,
    counter: keys::PROJECT_COUNTS,
    what: "The project",
    extra: None,
    records_creator: false,
};

pub(crate) const SHARED_CLOUD_DRIVES: Kind = Kind {
    table: keys::DRIVES,
    by_name: keys::DRIVES_BY_NAME,
    counter: keys::DRIVE_COUNTS,
    what: "The shared cloud drive",
    extra: Some(crate::directory::drives::apply_fields),
    records_creator: true,
};

/// A user group or project, stored as it goes on the wire (web-api `UserGroup`, `Project`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// Its id.
    pub id: String,
    /// The account it belongs to.
    pub account_id: String,
    /// Unique in the account, compared without case.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The documented `active` flag; a new record is active unless its insert says otherwise.
    pub active: bool,
    /// Deleted records are removed, so this is always false; kept for the documented shape.
    pub deleted: bool,
    /// The fields only some kinds have (a shared cloud drive's bucket and options).
    #[serde(flatten, default)]
    pub extra: Map<String, Value>,
}

/// Fields a client sends on insert and update; absent ones keep their values.
#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct EntityInput {
    /// The record to update (ignored on insert, which is given the new id).
    #[serde(default)]
    pub id: String,
    /// The name; required on insert.
    pub name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// Whether it is in use; a new record is, unless told otherwise.
    pub active: Option<bool>,
    /// Everything else the body carries, for kinds with fields of their own (shared cloud
    /// drives).
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

pub(crate) const SORT_FIELDS: [&str; 3] = ["Name", "Description", "Active"];

fn name_key(account_id: &str, name: &str) -> String {
    format!("{account_id}/{}", name.trim().to_lowercase())
}

fn count_key(kind: &Kind, account_id: &str) -> Vec<u8> {
    kind.counter.key(account_id)
}

pub(crate) fn total(store: &impl Store, kind: &Kind, account_id: &str) -> ApiResult<u64> {
    counter(store, &count_key(kind, account_id))
}

/// A record of this account, or NOT_FOUND (other accounts' records do not exist from here).
pub(crate) fn in_account(
    store: &impl Store,
    kind: &Kind,
    account_id: &str,
    id: &str,
) -> ApiResult<Entity> {
    match kind.table.get::<Entity>(store, id.trim())? {
        Some(e) if e.account_id == account_id => Ok(e),
        _ => Err(ApiError::not_found(kind.what)),
    }
}

fn duplicate(kind: &Kind) -> ApiError {
    ApiError::new(
        ErrorCode::Duplicate,
        format!("{} name is already used in this account.", kind.what),
    )
}

fn apply(kind: &Kind, entity: &mut Entity, input: &EntityInput, inserting: bool) -> ApiResult<()> {
    if let Some(extra) = kind.extra {
        extra(&input.rest, &mut entity.extra, inserting)?;
    }
    if let Some(name) = &input.name {
        let name = required("name", name)?;
        max_len("name", name, NAME_MAX)?;
        entity.name = String::from(name);
    }
    if let Some(d) = &input.description {
        max_len("description", d, DESCRIPTION_MAX)?;
        entity.description = String::from(d.trim());
    }
    if let Some(a) = input.active {
        entity.active = a;
    }
    Ok(())
}

/// What a record depends on outside its own rows (a drive: its cloud account): adds the checks
/// that keep it so, and the marks a concurrent remover of the dependency sees, to the record's
/// commit. Runs for every attempt, on fresh reads.
pub type Guard<'a> = &'a dyn Fn(&Entity, &mut Batch) -> ApiResult<()>;

/// No dependencies.
pub fn unguarded(_: &Entity, _: &mut Batch) -> ApiResult<()> {
    Ok(())
}

/// A new record of `creator`'s account; its name must be free in the account.
pub fn insert(
    store: &impl Store,
    kind: &Kind,
    creator: &User,
    id: String,
    input: &EntityInput,
    guard: Guard<'_>,
) -> ApiResult<Entity> {
    let entity = build(kind, creator, id, input)?;
    let conflict = (ErrorCode::Duplicate, "name taken");
    crate::store::table::commit_with_retry(store, conflict, |batch| {
        guard(&entity, batch)?;
        let mut deltas = CounterDeltas::default();
        stage_insert(batch, &mut deltas, kind, &entity);
        deltas.apply(batch);
        Ok(())
    })
    .map_err(|e| rename_conflict(e, kind))?;
    Ok(entity)
}

/// A new record of `creator`'s account from `input`, checked, not stored yet.
pub(crate) fn build(
    kind: &Kind,
    creator: &User,
    id: String,
    input: &EntityInput,
) -> ApiResult<Entity> {
    let mut entity = Entity {
        id,
        account_id: creator.account_id.clone(),
        name: String::new(),
        description: String::new(),
        active: true,
        deleted: false,
        extra: Map::new(),
    };
    if input.name.is_none() {
        return Err(ApiError::invalid("'name' is required."));
    }
    apply(kind, &mut entity, input, true)?;
    if kind.records_creator {
        let creator = Value::from(creator.id.as_str());
        entity.extra.insert(String::from("creatorUserId"), creator);
    }
    Ok(entity)
}

/// Adds a new record to `batch`: its row, its name (which must still be free at commit) and
/// its count.
pub(crate) fn stage_insert(
    batch: &mut Batch,
    deltas: &mut CounterDeltas,
    kind: &Kind,
    entity: &Entity,
) {
    let key = name_key(&entity.account_id, &entity.name);
    batch.require_absent(kind.by_name.key(&key));
    kind.by_name.put_str(batch, &key, &entity.id);
    kind.table.put(batch, &entity.id, entity);
    deltas.add(count_key(kind, &entity.account_id), 1);
}

fn rename_conflict(e: ApiError, kind: &Kind) -> ApiError {
    match e {
        ApiError::Validation {
            code: ErrorCode::Duplicate,
            ..
        } => duplicate(kind),
        other => other,
    }
}

/// Changes a record; a new name must be free in the account.
pub(crate) fn update(
    store: &impl Store,
    kind: &Kind,
    account_id: &str,
    input: &EntityInput,
    guard: Guard<'_>,
) -> ApiResult<Entity> {
    let mut updated = None;
    let conflict = (ErrorCode::Duplicate, "name taken");
    crate::store::table::commit_with_retry(store, conflict, |batch| {
        // The row as read is what the commit requires: changed meanwhile, it is read again.
        let key = kind.table.key(input.id.trim());
        let current = store.get(&key)?.map(|v| v.as_ref().to_vec());
        let old = match current
            .as_deref()
            .map(crate::store::table::decode_row::<Entity>)
        {
            Some(Ok(e)) if e.account_id == account_id => e,
            Some(Err(e)) => return Err(e),
            _ => return Err(ApiError::not_found(kind.what)),
        };
        let mut new = old.clone();
        apply(kind, &mut new, input, false)?;
        guard(&new, batch)?;
        let (old_key, new_key) = (
            name_key(account_id, &old.name),
            name_key(account_id, &new.name),
        );
        if old_key != new_key {
            batch.require_absent(kind.by_name.key(&new_key));
            kind.by_name.delete(batch, &old_key);
            kind.by_name.put_str(batch, &new_key, &new.id);
        }
        batch.require_value(key, current);
        kind.table.put(batch, &new.id, &new);
        updated = Some(new);
        Ok(())
    })
    .map_err(|e| rename_conflict(e, kind))?;
    updated.ok_or(ApiError::Internal)
}

/// Adds to `batch` the removal of a record, its name and its count. Relations are the
/// caller's to cascade (see `relations::remove_all_for`).
pub(crate) fn remove(batch: &mut Batch, deltas: &mut CounterDeltas, kind: &Kind, entity: &Entity) {
    kind.table.delete(batch, &entity.id);
    kind.by_name
        .delete(batch, &name_key(&entity.account_id, &entity.name));
    deltas.add(count_key(kind, &entity.account_id), -1);
}

/// One page of the account's records, optionally only those whose name contains `name` and,
/// for a caller who is not an admin, only those `visible` to it.
pub(crate) fn page(
    store: &impl Store,
    kind: &Kind,
    account_id: &str,
    query: &PageQuery,
    name: Option<&str>,
    visible: Option<&[String]>,
) -> ApiResult<Page<Entity>> {
    let prefix = kind.by_name.key(&format!("{account_id}/"));
    let (skip, take) = (query.offset(), query.page_size as usize);
    if query.sort_field == "Name" && name.is_none() && visible.is_none() {
        let mut data = Vec::with_capacity(take);
        for (_, id) in index_page(store, &prefix, query.descending, skip, take)? {
            let id = core::str::from_utf8(&id).unwrap_or("");
            if let Some(e) = kind.table.get::<Entity>(store, id)? {
                data.push(e);
            }
        }
        return Ok(Page {
            data,
            total: total(store, kind, account_id)?,
            options: query.options(),
        });
    }
    let needle = name.map(str::to_lowercase);
    let mut all = Vec::new();
    scan_all(store, &prefix, false, |_, id| {
        let id = core::str::from_utf8(id).unwrap_or("");
        if visible.is_some_and(|v| !v.iter().any(|x| x == id)) {
            return Ok(true);
        }
        if let Some(e) = kind.table.get::<Entity>(store, id)?
            && needle
                .as_deref()
                .is_none_or(|n| e.name.to_lowercase().contains(n))
        {
            all.push(e);
        }
        Ok(true)
    })?;
    let field = query.sort_field.clone();
    Ok(query.paginate(all, |a, b| compare(&field, a, b)))
}

fn compare(field: &str, a: &Entity, b: &Entity) -> core::cmp::Ordering {
    let primary = match field {
        "Description" => a
            .description
            .to_lowercase()
            .cmp(&b.description.to_lowercase()),
        "Active" => a.active.cmp(&b.active),
        _ => core::cmp::Ordering::Equal,
    };
    primary.then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
}

/// The account's record with this name (case-insensitive), if any.
pub(crate) fn find_by_name(
    store: &impl Store,
    kind: &Kind,
    account_id: &str,
    name: &str,
) -> ApiResult<Option<Entity>> {
    match kind.by_name.get_str(store, &name_key(account_id, name))? {
        Some(id) => kind.table.get(store, &id),
        None => Ok(None),
    }
}
