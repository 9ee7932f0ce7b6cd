//! Relations between users, user groups and projects: group membership and the permission
//! pairs (user or group on a project). One implementation serves every pair, seen from both
//! sides.
//!
//! Keys: `<table><id>` the row; `<table>L/<left id>/<right id>` and
//! `<table>R/<right id>/<left id>` -> row id. The pair key keeps a pair unique; both sides list
//! their relations by prefix.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::entities;
use super::users;
use crate::error::{ApiError, ApiResult};
use crate::model::{User, UserDto};
use crate::paging::{Page, PageQuery};
use crate::ports::Store;
use crate::store::Batch;
use crate::store::keys;
use crate::store::scan_all;
use crate::store::table::Table;

/// What stands on one side of a relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    User,
    UserGroup,
    Project,
    SharedCloudDrive,
}

/// The drive's id parameter of `get_usergroups_assigned_to_sharedclouddrive`: documented as
/// `sharedCloudDrive`; the other drive routes' `sharedCloudDriveId` is taken too. Its handler
/// and its OpenAPI contract read this one list.
pub const GROUPS_OF_DRIVE_ID: &[&str] = &["sharedCloudDrive", "sharedCloudDriveId"];

impl Side {
    /// The field naming its id in relation bodies: `userId`.
    pub fn id_field(self) -> &'static str {
        match self {
            Side::User => "userId",
            Side::UserGroup => "userGroupId",
            Side::Project => "projectId",
            Side::SharedCloudDrive => "sharedCloudDriveId",
        }
    }

    /// The field holding the record in listings: `user`.
    pub fn object_field(self) -> &'static str {
        match self {
            Side::User => "user",
            Side::UserGroup => "userGroup",
            Side::Project => "project",
            Side::SharedCloudDrive => "sharedCloudDrive",
        }
    }

    /// The sort fields of listings that sort by this side: `User.Username`. The docs spell
    /// one `SharedClouDrive.Name`; both spellings are taken.
    pub fn sort_fields(self) -> &'static [&'static str] {
        match self {
            Side::User => &["User.Username"],
            Side::UserGroup => &["UserGroup.Name"],
            Side::Project => &["Project.Name"],
            Side::SharedCloudDrive => &["SharedCloudDrive.Name", "SharedClouDrive.Name"],
        }
    }

    fn kind(self) -> Option<&'static entities::Kind> {
        match self {
            Side::User => None,
            Side::UserGroup => Some(&entities::USER_GROUPS),
            Side::Project => Some(&entities::PROJECTS),
            Side::SharedCloudDrive => Some(&entities::SHARED_CLOUD_DRIVES),
        }
    }

    /// The store key of record `id`'s row.
    fn row_key(self, id: &str) -> Vec<u8> {
        match self.kind() {
            None => crate::store::keys::USERS.key(id),
            Some(kind) => kind.table.key(id),
        }
    }

    /// The record `id` of this account as JSON with the key it sorts by, or NOT_FOUND.
    fn load(self, store: &impl Store, account_id: &str, id: &str) -> ApiResult<(Value, String)> {
        match self.kind() {
            None => {
                let user = users::in_account(store, account_id, id)?;
                let key = user.username.to_lowercase();
                Ok((user_json(&user), key))
            }
            Some(kind) => {
                let e = entities::in_account(store, kind, account_id, id)?;
                let key = e.name.to_lowercase();
                Ok((serde_json::to_value(&e).unwrap_or(Value::Null), key))
            }
        }
    }
}

fn user_json(user: &User) -> Value {
    serde_json::to_value(UserDto::from(user)).unwrap_or(Value::Null)
}

#[derive(Clone, Copy, Debug)]
pub struct RelationKind {
    pub table: Table,
    pub left: Side,
    pub right: Side,
    /// Permission pairs carry a `permissionType` (1 Read, 2 ReadWrite) and list it under
    /// `permission`.
    pub permission: bool,
    /// The field holding the relation itself in listings. `web-api/project.md` documents
    /// `projectSharedCloudDrive`; the other DTOs are named without fields, so theirs follow
    /// the same rule: the relation's entity name (`UserUserGroupDTO` -> `userUserGroup`).
    pub dto_field: &'static str,
}

pub const GROUP_MEMBERS: RelationKind = RelationKind {
    table: keys::USER_GROUP_MEMBERS,
    left: Side::User,
    right: Side::UserGroup,
    permission: false,
    dto_field: "userUserGroup",
};

pub const USER_PROJECT: RelationKind = RelationKind {
    table: keys::USER_PROJECTS,
    left: Side::User,
    right: Side::Project,
    permission: true,
    dto_field: "userProjectPermission",
};

pub const GROUP_PROJECT: RelationKind = RelationKind {
    table: keys::GROUP_PROJECTS,
    left: Side::UserGroup,
    right: Side::Project,
    permission: true,
    dto_field: "userGroupProjectPermission",
};

pub const USER_DRIVE: RelationKind = RelationKind {
    table: keys::USER_DRIVES,
    left: Side::User,
    right: Side::SharedCloudDrive,
    permission: true,
    dto_field: "userSharedCloudDrivePermission",
};

pub const GROUP_DRIVE: RelationKind = RelationKind {
    table: keys::GROUP_DRIVES,
    left: Side::UserGroup,
    right: Side::SharedCloudDrive,
    permission: true,
    dto_field: "userGroupSharedCloudDrivePermission",
};

pub const PROJECT_DRIVE: RelationKind = RelationKind {
    table: keys::PROJECT_DRIVES,
    left: Side::Project,
    right: Side::SharedCloudDrive,
    permission: false,
    dto_field: "projectSharedCloudDrive",
};

/// Every relation, for cascading deletes.
pub const ALL: [&RelationKind; 6] = [
    &GROUP_MEMBERS,
    &USER_PROJECT,
    &GROUP_PROJECT,
    &USER_DRIVE,
    &GROUP_DRIVE,
    &PROJECT_DRIVE,
];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Relation {
    pub id: String,
    pub account_id: String,
    pub left: String,
    pub right: String,
    pub permission_type: u32,
}

impl RelationKind {
    fn pair_key(&self, left: &str, right: &str) -> String {
        format!("L/{left}/{right}")
    }

    fn reverse_key(&self, left: &str, right: &str) -> String {
        format!("R/{right}/{left}")
    }

    /// The relation as its body shape: `{id, userId, userGroupId}` (+ `permissionType`).
    // Kinds are consts used by reference everywhere; `&self` like the other methods.
    #[allow(clippy::wrong_self_convention)]
    pub fn to_json(&self, r: &Relation) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::from(r.id.as_str()));
        m.insert(self.left.id_field().into(), Value::from(r.left.as_str()));
        m.insert(self.right.id_field().into(), Value::from(r.right.as_str()));
        if self.permission {
            m.insert("permissionType".into(), Value::from(r.permission_type));
        }
        Value::Object(m)
    }

    fn put(&self, batch: &mut Batch, r: &Relation) {
        self.table.put(batch, &r.id, r);
        self.table
            .put_str(batch, &self.pair_key(&r.left, &r.right), &r.id);
        self.table
            .put_str(batch, &self.reverse_key(&r.left, &r.right), &r.id);
    }

    fn delete(&self, batch: &mut Batch, r: &Relation) {
        self.table.delete(batch, &r.id);
        self.table.delete(batch, &self.pair_key(&r.left, &r.right));
        self.table
            .delete(batch, &self.reverse_key(&r.left, &r.right));
    }

    /// A relation of this account, or NOT_FOUND.
    pub fn in_account(
        &self,
        store: &impl Store,
        account_id: &str,
        id: &str,
    ) -> ApiResult<Relation> {
        match self.table.get::<Relation>(store, id.trim())? {
            Some(r) if r.account_id == account_id => Ok(r),
            _ => Err(ApiError::not_found("The assignment")),
        }
    }

    /// Adds the pair to `batch` unless it exists (assigning twice changes nothing but the
    /// permission). Both sides must be records of the account.
    pub fn assign(
        &self,
        store: &impl Store,
        batch: &mut Batch,
        account_id: &str,
        input: &Assignment,
        new_id: impl FnOnce() -> String,
    ) -> ApiResult<Relation> {
        let (left, right) = (input.left.trim(), input.right.trim());
        self.left.load(store, account_id, left)?;
        self.right.load(store, account_id, right)?;
        // Both records must still exist when the batch commits: a concurrent delete cannot
        // leave the pair behind.
        batch.require_present(self.left.row_key(left));
        batch.require_present(self.right.row_key(right));
        let permission_type = self.permission_type(input.permission_type)?;
        let existing = match self.table.get_str(store, &self.pair_key(left, right))? {
            Some(id) => self.table.get::<Relation>(store, &id)?,
            None => None,
        };
        let relation = match existing {
            Some(r) => Relation {
                permission_type,
                ..r
            },
            None => {
                batch.require_absent(self.table.key(&self.pair_key(left, right)));
                // A delete of either record that raced this one sees its version move.
                batch.add(version_key(left), 1);
                batch.add(version_key(right), 1);
                Relation {
                    id: new_id(),
                    account_id: String::from(account_id),
                    left: String::from(left),
                    right: String::from(right),
                    permission_type,
                }
            }
        };
        self.put(batch, &relation);
        Ok(relation)
    }

    fn permission_type(&self, given: Option<u32>) -> ApiResult<u32> {
        match (self.permission, given) {
            (false, _) => Ok(0),
            (true, Some(p @ (1 | 2))) => Ok(p),
            (true, None) => Err(ApiError::invalid(
                "'permissionType' is required: Read (1) or ReadWrite (2).",
            )),
            (true, Some(_)) => Err(ApiError::invalid(
                "'permissionType' must be Read (1) or ReadWrite (2).",
            )),
        }
    }

    /// Changes the permission of existing pairs (by id).
    pub fn set_permission(
        &self,
        store: &impl Store,
        batch: &mut Batch,
        account_id: &str,
        input: &Assignment,
    ) -> ApiResult<()> {
        let mut r = self.in_account(store, account_id, &input.id)?;
        r.permission_type = self.permission_type(input.permission_type)?;
        batch.require_present(self.table.key(&r.id));
        self.table.put(batch, &r.id, &r);
        Ok(())
    }

    pub fn unassign(
        &self,
        store: &impl Store,
        batch: &mut Batch,
        account_id: &str,
        id: &str,
    ) -> ApiResult<()> {
        let r = self.in_account(store, account_id, id)?;
        batch.require_present(self.table.key(&r.id));
        self.delete(batch, &r);
        Ok(())
    }

    /// Ids of the relations of `id`, seen from `side`.
    fn ids_of(&self, store: &impl Store, side: Side, id: &str) -> ApiResult<Vec<String>> {
        let prefix = if side == self.left {
            format!("L/{id}/")
        } else {
            format!("R/{id}/")
        };
        let mut out = Vec::new();
        scan_all(store, &self.table.key(&prefix), false, |_, rel| {
            out.push(String::from(core::str::from_utf8(rel).unwrap_or("")));
            Ok(true)
        })?;
        Ok(out)
    }

    /// Records related to `id` (which stands on `side`), as JSON.
    pub fn related(
        &self,
        store: &impl Store,
        account_id: &str,
        side: Side,
        id: &str,
    ) -> ApiResult<Vec<Value>> {
        let mut out = Vec::new();
        for rel in self.ids_of(store, side, id)? {
            if let Some(r) = self.table.get::<Relation>(store, &rel)? {
                let (other_side, other) = if side == self.left {
                    (self.right, &r.right)
                } else {
                    (self.left, &r.left)
                };
                out.push(other_side.load(store, account_id, other)?.0);
            }
        }
        Ok(out)
    }

    /// One page of the relations of `id` (on `side`): each with the record on the other side
    /// (and, for permission pairs, the permission), sorted by that record, optionally only
    /// those whose sort key contains `needle`.
    pub fn page(
        &self,
        store: &impl Store,
        account_id: &str,
        side: Side,
        id: &str,
        query: &PageQuery,
        needle: Option<&str>,
    ) -> ApiResult<Page<Value>> {
        let this = side.load(store, account_id, id)?.0;
        let needle = needle.map(str::to_lowercase);
        let mut rows: Vec<(String, Value)> = Vec::new();
        for rel in self.ids_of(store, side, id)? {
            let Some(r) = self.table.get::<Relation>(store, &rel)? else {
                continue;
            };
            let other_side = if side == self.left {
                self.right
            } else {
                self.left
            };
            let other_id = if side == self.left { &r.right } else { &r.left };
            let (other, key) = other_side.load(store, account_id, other_id)?;
            if needle.as_deref().is_some_and(|n| !key.contains(n)) {
                continue;
            }
            let mut row = self.to_json(&r);
            if let Value::Object(m) = &mut row {
                m.insert(side.object_field().into(), this.clone());
                m.insert(other_side.object_field().into(), other);
                m.insert(self.dto_field.into(), self.to_json(&r));
                if self.permission {
                    m.insert("permission".into(), self.to_json(&r));
                }
            }
            rows.push((key, row));
        }
        Ok(query
            .paginate(rows, |a, b| a.0.cmp(&b.0))
            .map_into(|(_, v)| v))
    }
}

/// A relation as clients send it: the two ids, by their field names, and maybe a permission.
#[derive(Clone, Debug, Default)]
pub struct Assignment {
    pub id: String,
    pub left: String,
    pub right: String,
    pub permission_type: Option<u32>,
}

impl RelationKind {
    /// Reads an array of relation objects (`[{userId, userGroupId}]`).
    pub fn parse(&self, body: &[u8]) -> ApiResult<Vec<Assignment>> {
        #[derive(Deserialize)]
        struct Raw(Vec<Map<String, Value>>);
        let Raw(items) = crate::json::parse::<Raw>(body)?;
        let text =
            |m: &Map<String, Value>, f: &str| m.get(f).and_then(Value::as_str).map(String::from);
        items
            .iter()
            .map(|m| {
                let need = |f: &str| {
                    text(m, f).ok_or_else(|| {
                        ApiError::invalid(format!("'{f}' is required in every item."))
                    })
                };
                Ok(Assignment {
                    id: text(m, "id").unwrap_or_default(),
                    left: need(self.left.id_field())?,
                    right: need(self.right.id_field())?,
                    permission_type: match m.get("permissionType") {
                        None | Some(Value::Null) => None,
                        Some(v) => {
                            Some(v.as_u64().and_then(|p| u32::try_from(p).ok()).ok_or_else(
                                || {
                                    ApiError::invalid(
                                        "'permissionType' must be Read (1) or ReadWrite (2).",
                                    )
                                },
                            )?)
                        }
                    },
                })
            })
            .collect()
    }
}

/// Counts relations ever added to a record: the row a delete checks to see none was added
/// while it ran.
fn version_key(id: &str) -> Vec<u8> {
    keys::RELATION_VERSIONS.key(id)
}

/// Adds to `batch` the removal of every relation `id` (on `side`) has. Commit it with
/// `commit_with_retry`.
pub fn remove_all_for(
    store: &impl Store,
    batch: &mut Batch,
    side: Side,
    id: &str,
) -> ApiResult<()> {
    // Relations added after this scan move the version: the batch then fails its check and is
    // built again (see `commit_with_retry`), so none is left pointing at a deleted record.
    let version = version_key(id);
    let seen = store.get(&version)?.map(|v| v.as_ref().to_vec());
    batch.require_value(version.clone(), seen);
    batch.delete(version);
    for kind in ALL {
        if kind.left != side && kind.right != side {
            continue;
        }
        for rel in kind.ids_of(store, side, id)? {
            if let Some(r) = kind.table.get::<Relation>(store, &rel)? {
                kind.delete(batch, &r);
            }
        }
    }
    Ok(())
}

/// Ids of the records of `kind` related to a user directly or through its groups (and, for
/// shared cloud drives, through the projects the user sees).
pub fn visible_to(
    store: &impl Store,
    account_id: &str,
    user_id: &str,
    kind: Side,
) -> ApiResult<Vec<String>> {
    let ids_of = |v: Vec<Value>| -> Vec<String> {
        v.iter()
            .filter_map(|e| e.get("id").and_then(Value::as_str).map(String::from))
            .collect()
    };
    let groups = || -> ApiResult<Vec<String>> {
        Ok(ids_of(GROUP_MEMBERS.related(
            store,
            account_id,
            Side::User,
            user_id,
        )?))
    };
    let reach = |direct: &RelationKind, via: &[(&RelationKind, Side, Vec<String>)]| {
        let mut ids = ids_of(direct.related(store, account_id, Side::User, user_id)?);
        for (relation, side, from) in via {
            for id in from {
                ids.extend(ids_of(relation.related(store, account_id, *side, id)?));
            }
        }
        ids.sort();
        ids.dedup();
        Ok::<_, ApiError>(ids)
    };
    match kind {
        Side::UserGroup => Ok(groups()?),
        Side::Project => reach(
            &USER_PROJECT,
            &[(&GROUP_PROJECT, Side::UserGroup, groups()?)],
        ),
        Side::SharedCloudDrive => {
            let projects = visible_to(store, account_id, user_id, Side::Project)?;
            reach(
                &USER_DRIVE,
                &[
                    (&GROUP_DRIVE, Side::UserGroup, groups()?),
                    (&PROJECT_DRIVE, Side::Project, projects),
                ],
            )
        }
        Side::User => Ok(Vec::new()),
    }
}

/// The best `permissionType` (1 Read, 2 ReadWrite) a user holds on shared cloud drive
/// `drive_id` through its own assignment or its groups' (0 when it reaches the drive only
/// through a project, which carries no drive permission).
#[cfg_attr(not(feature = "cloud"), allow(dead_code))]
pub fn drive_permission(
    store: &impl Store,
    account_id: &str,
    user_id: &str,
    drive_id: &str,
) -> ApiResult<u32> {
    let groups = GROUP_MEMBERS.related(store, account_id, Side::User, user_id)?;
    let holds = |r: &Relation| {
        r.left == user_id
            || groups
                .iter()
                .any(|g| g.get("id").and_then(Value::as_str) == Some(r.left.as_str()))
    };
    let mut best = 0;
    for kind in [&USER_DRIVE, &GROUP_DRIVE] {
        for rel in kind.ids_of(store, Side::SharedCloudDrive, drive_id)? {
            if let Some(r) = kind.table.get::<Relation>(store, &rel)?
                && r.account_id == account_id
                && holds(&r)
            {
                best = best.max(r.permission_type);
            }
        }
    }
    Ok(best)
}
