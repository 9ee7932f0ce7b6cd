//! What the directory controllers (user groups, projects, permissions) share: listing,
//! creating, changing and deleting named records, and assigning them to each other. Each
//! controller file only says which kinds its routes use.

use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;
use serde_json::Value;

use super::user::admin;
use crate::agent::{Ctx, required_query};
use crate::directory::entities::{self, Entity, EntityInput, Kind};
use crate::directory::relations::{self, RelationKind, Side};
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::model::User;
use crate::paging::{Page, PageQuery};
use crate::ports::{Ports, RngExt};
use crate::store::Batch;
use crate::store::table::{CounterDeltas, commit, commit_with_retry};

fn name_filter<P: Ports>(cx: &Ctx<'_, P>, param: &str) -> Option<String> {
    cx.req
        .query_param(param)
        .map(|n| String::from(n.trim()))
        .filter(|n| !n.is_empty())
}

/// The caller's page of records: everything for admins, what is assigned to them otherwise.
fn entity_page<P: Ports>(
    cx: &Ctx<'_, P>,
    kind: &Kind,
    side: Side,
) -> ApiResult<(User, Page<Entity>)> {
    let caller = cx.agent.caller_user(cx.caller()?)?;
    let query = PageQuery::from_request_with(cx.req, &entities::SORT_FIELDS, false)?;
    let visible = match caller.is_admin() {
        true => None,
        false => Some(relations::visible_to(
            cx.store(),
            &caller.account_id,
            &caller.id,
            side,
        )?),
    };
    let name = name_filter(cx, "name");
    let page = entities::page(
        cx.store(),
        kind,
        &caller.account_id,
        &query,
        name.as_deref(),
        visible.as_deref(),
    )?;
    Ok((caller, page))
}

pub fn list<P: Ports>(cx: &Ctx<'_, P>, kind: &Kind, side: Side) -> ApiResult<Response> {
    Ok(Response::json(&entity_page(cx, kind, side)?.1))
}

#[derive(Serialize)]
struct WithDetails {
    #[serde(flatten)]
    entity: Entity,
    #[serde(flatten)]
    details: serde_json::Map<String, Value>,
}

/// Records with what is related to them inlined: for each `(relation, field)`, the records on
/// the relation's other side under `field`; each of `empty` is an empty list (kinds whose
/// controllers have not landed).
pub fn list_with_details<P: Ports>(
    cx: &Ctx<'_, P>,
    kind: &Kind,
    side: Side,
    related: &[(&RelationKind, &str)],
    empty: &[&str],
) -> ApiResult<Response> {
    let (caller, page) = entity_page(cx, kind, side)?;
    let mut data = Vec::with_capacity(page.data.len());
    for entity in page.data {
        let mut details = serde_json::Map::new();
        for (relation, field) in related {
            let items = relation.related(cx.store(), &caller.account_id, side, &entity.id)?;
            details.insert((*field).into(), Value::Array(items));
        }
        for field in empty {
            details.insert((*field).into(), Value::Array(Vec::new()));
        }
        data.push(WithDetails { entity, details });
    }
    Ok(Response::json(&Page {
        data,
        total: page.total,
        options: page.options,
    }))
}

pub fn insert<P: Ports>(cx: &Ctx<'_, P>, kind: &Kind) -> ApiResult<Response> {
    insert_guarded(cx, kind, &entities::unguarded)
}

/// [`insert`] of a record that depends on rows outside its own (see [`entities::Guard`]).
pub fn insert_guarded<P: Ports>(
    cx: &Ctx<'_, P>,
    kind: &Kind,
    guard: entities::Guard<'_>,
) -> ApiResult<Response> {
    let caller = admin(cx)?;
    let input: EntityInput = cx.body()?;
    let entity = entities::insert(
        cx.store(),
        kind,
        &caller.account_id,
        cx.ports().rng().uuid(),
        &input,
        guard,
    )?;
    Ok(Response::json(&entity))
}

pub fn update<P: Ports>(cx: &Ctx<'_, P>, kind: &Kind) -> ApiResult<Response> {
    update_guarded(cx, kind, &entities::unguarded)
}

/// [`update`] of a record that depends on rows outside its own (see [`entities::Guard`]).
pub fn update_guarded<P: Ports>(
    cx: &Ctx<'_, P>,
    kind: &Kind,
    guard: entities::Guard<'_>,
) -> ApiResult<Response> {
    let caller = admin(cx)?;
    let input: EntityInput = cx.body()?;
    if input.id.trim().is_empty() {
        return Err(ApiError::invalid("'id' is required."));
    }
    Ok(Response::json(&entities::update(
        cx.store(),
        kind,
        &caller.account_id,
        &input,
        guard,
    )?))
}

/// Deletes a record with every relation that points at it, in one transaction.
pub fn delete<P: Ports>(cx: &Ctx<'_, P>, kind: &Kind, side: Side) -> ApiResult<Response> {
    let caller = admin(cx)?;
    let id = required_query(cx.req, "id")?;
    commit_with_retry(
        cx.store(),
        (crate::error::ErrorCode::NotFound, "already deleted"),
        |batch| {
            let entity = entities::in_account(cx.store(), kind, &caller.account_id, &id)?;
            batch.require_present(kind.table.key(&entity.id));
            let mut deltas = CounterDeltas::default();
            entities::remove(batch, &mut deltas, kind, &entity);
            relations::remove_all_for(cx.store(), batch, side, &entity.id)?;
            deltas.apply(batch);
            Ok(())
        },
    )?;
    Ok(Response::ok())
}

/// Assigns every pair of the body, all or none.
pub fn assign<P: Ports>(cx: &Ctx<'_, P>, relation: &RelationKind) -> ApiResult<Response> {
    let caller = admin(cx)?;
    let items = relation.parse(cx.req.body)?;
    let mut batch = Batch::new();
    for item in &items {
        relation.assign(cx.store(), &mut batch, &caller.account_id, item, || {
            cx.ports().rng().uuid()
        })?;
    }
    commit(cx.store(), &batch, CONCURRENT)?;
    Ok(Response::ok())
}

const CONCURRENT: (crate::error::ErrorCode, &str) = (
    crate::error::ErrorCode::DbUpdate,
    "Another request changed these assignments at the same time; try again.",
);

/// Changes the permission of every pair of the body (by id), all or none.
pub fn set_permissions<P: Ports>(cx: &Ctx<'_, P>, relation: &RelationKind) -> ApiResult<Response> {
    let caller = admin(cx)?;
    let items = relation.parse(cx.req.body)?;
    let mut batch = Batch::new();
    for item in &items {
        relation.set_permission(cx.store(), &mut batch, &caller.account_id, item)?;
    }
    commit(cx.store(), &batch, CONCURRENT)?;
    Ok(Response::ok())
}

pub fn unassign<P: Ports>(cx: &Ctx<'_, P>, relation: &RelationKind) -> ApiResult<Response> {
    let caller = admin(cx)?;
    let id = required_query(cx.req, "id")?;
    let mut batch = Batch::new();
    relation.unassign(cx.store(), &mut batch, &caller.account_id, &id)?;
    commit(
        cx.store(),
        &batch,
        (
            crate::error::ErrorCode::NotFound,
            "The assignment was not found.",
        ),
    )?;
    Ok(Response::ok())
}

/// The relations of the record named by the `id_param` query parameter, which stands on
/// `side`, sorted by the other side and filtered on it by `filter_param`. Admins see any;
/// other users their own and those of records assigned to them.
pub fn assigned<P: Ports>(
    cx: &Ctx<'_, P>,
    relation: &RelationKind,
    side: Side,
    id_param: &str,
    filter_param: &str,
) -> ApiResult<Response> {
    let caller = cx.agent.caller_user(cx.caller()?)?;
    let id = required_query(cx.req, id_param)?;
    let other = if side == relation.left {
        relation.right
    } else {
        relation.left
    };
    if !caller.is_admin() {
        let own = side == Side::User && id == caller.id;
        let visible = side != Side::User
            && relations::visible_to(cx.store(), &caller.account_id, &caller.id, side)?
                .iter()
                .any(|v| *v == id);
        if !own && !visible {
            return Err(ApiError::access(
                "Only admins read the assignments of other users and records.",
            ));
        }
    }
    let query = PageQuery::from_request_with(cx.req, other.sort_fields(), false)?;
    let needle = name_filter(cx, filter_param);
    let page = relation.page(
        cx.store(),
        &caller.account_id,
        side,
        &id,
        &query,
        needle.as_deref(),
    )?;
    Ok(Response::json(&page))
}
