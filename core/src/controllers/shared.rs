//! What the directory controllers (user groups, projects, permissions) share: listing,
//! creating, changing and deleting named records, and assigning them to each other. Each
//! controller file only says which kinds its routes use.

use alloc::string::String;
use serde_json::Value;

use crate::agent::{Ctx, required_query, required_query_of};
use crate::auth::Caller;
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
    let caller = cx.user()?;
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

/// How a controller's records go on the wire: as stored, or with what it adds (a drive's
/// `cloudAccount`). Given the caller, who may not see everything a record points at.
pub type Render<'a> = &'a dyn Fn(&Caller, Entity) -> ApiResult<Value>;

/// Records as they are stored.
pub fn as_stored(_: &Caller, entity: Entity) -> ApiResult<Value> {
    serde_json::to_value(entity).map_err(|_| ApiError::Internal)
}

pub fn list<P: Ports>(
    cx: &Ctx<'_, P>,
    kind: &Kind,
    side: Side,
    render: Render<'_>,
) -> ApiResult<Response> {
    let page = entity_page(cx, kind, side)?.1;
    let caller = cx.caller()?;
    Ok(Response::json(&page.try_map(|e| render(caller, e))?))
}

/// Records with what is related to them inlined: for each `(relation, field)`, the records on
/// the relation's other side under `field`.
pub fn list_with_details<P: Ports>(
    cx: &Ctx<'_, P>,
    kind: &Kind,
    side: Side,
    related: &[(&RelationKind, &str)],
    render: Render<'_>,
) -> ApiResult<Response> {
    let (user, page) = entity_page(cx, kind, side)?;
    let caller = cx.caller()?;
    let page = page.try_map(|entity| {
        let id = entity.id.clone();
        let mut wire = render(caller, entity)?;
        if let Value::Object(fields) = &mut wire {
            for (relation, field) in related {
                let items = relation.related(cx.store(), &user.account_id, side, &id)?;
                fields.insert((*field).into(), Value::Array(items));
            }
        }
        Ok::<_, ApiError>(wire)
    })?;
    Ok(Response::json(&page))
}

pub fn insert<P: Ports>(cx: &Ctx<'_, P>, kind: &Kind) -> ApiResult<Response> {
    insert_guarded(cx, kind, &entities::unguarded, &as_stored)
}

/// [`insert`] of a record that depends on rows outside its own (see [`entities::Guard`]).
pub fn insert_guarded<P: Ports>(
    cx: &Ctx<'_, P>,
    kind: &Kind,
    guard: entities::Guard<'_>,
    render: Render<'_>,
) -> ApiResult<Response> {
    let caller = cx.user()?;
    let input: EntityInput = cx.body()?;
    let entity = entities::insert(
        cx.store(),
        kind,
        &caller,
        cx.ports().rng().uuid(),
        &input,
        guard,
    )?;
    Ok(Response::json(&render(cx.caller()?, entity)?))
}

pub fn update<P: Ports>(cx: &Ctx<'_, P>, kind: &Kind) -> ApiResult<Response> {
    update_guarded(cx, kind, &entities::unguarded, &as_stored)
}

/// [`update`] of a record that depends on rows outside its own (see [`entities::Guard`]).
pub fn update_guarded<P: Ports>(
    cx: &Ctx<'_, P>,
    kind: &Kind,
    guard: entities::Guard<'_>,
    render: Render<'_>,
) -> ApiResult<Response> {
    let caller = cx.user()?;
    let input: EntityInput = cx.body()?;
    if input.id.trim().is_empty() {
        return Err(ApiError::invalid("'id' is required."));
    }
    let entity = entities::update(cx.store(), kind, &caller.account_id, &input, guard)?;
    Ok(Response::json(&render(cx.caller()?, entity)?))
}

/// Deletes a record with every relation that points at it, in one transaction.
pub fn delete<P: Ports>(cx: &Ctx<'_, P>, kind: &Kind, side: Side) -> ApiResult<Response> {
    let caller = cx.user()?;
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
    let caller = cx.user()?;
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
    let caller = cx.user()?;
    let items = relation.parse(cx.req.body)?;
    let mut batch = Batch::new();
    for item in &items {
        relation.set_permission(cx.store(), &mut batch, &caller.account_id, item)?;
    }
    commit(cx.store(), &batch, CONCURRENT)?;
    Ok(Response::ok())
}

pub fn unassign<P: Ports>(cx: &Ctx<'_, P>, relation: &RelationKind) -> ApiResult<Response> {
    let caller = cx.user()?;
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

/// The relations of the record named by the `id_params` query parameter (its documented name,
/// then aliases), which stands on
/// `side`, sorted by the other side and filtered on it by `filter_param`. Admins see any;
/// other users their own and those of records assigned to them.
pub fn assigned<P: Ports>(
    cx: &Ctx<'_, P>,
    relation: &RelationKind,
    side: Side,
    id_params: &[&str],
    filter_param: &str,
) -> ApiResult<Response> {
    let caller = cx.user()?;
    let id = required_query_of(cx.req, id_params)?;
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
