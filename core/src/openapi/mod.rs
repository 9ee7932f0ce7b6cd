//! The OpenAPI 3.1 document of the routes this build serves, made from the route table
//! (`GET /openapi.json`, `click-agent openapi`): every route with its method, path
//! parameters, who may call it (the security it takes) and the answers every route can give
//! (the problem-details body of 499s, 401 without a valid token). Our extensions carry
//! `x-click-extension: true`. Each route's query parameters, request body and answer come
//! from its contract (`routes.rs`), whose DTO schemas are derived from the types the handlers
//! read and write; named DTOs are in `components/schemas`.

mod contract;
mod routes;

pub(crate) use contract::Takes;
#[cfg(debug_assertions)]
pub(crate) use contract::{check_body, check_query};
pub(crate) use routes::contract;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::auth::AuthPolicy;
use crate::routes::{EXTENSIONS, ROUTES, Route};
use contract::{Gives, Kind, Param};

/// The document, for an agent of `version`.
pub fn document(version: &str) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            let method = route.method.as_str().to_ascii_lowercase();
            methods.insert(method, operation(route, &mut generator));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "click agent API",
            "version": version,
            "description": "The Click API of the click agent: accounts, teams, permissions, cloud \
                storage accounts, transfers, cloud drives, backups and local files.",
        },
        "servers": [{"url": "http://127.0.0.1:29123"}],
        "paths": paths,
        "components": components(generator),
    })
}

fn operation(route: &Route, generator: &mut SchemaGenerator) -> Value {
    let contract = contract(route.handler);
    let mut parameters = path_parameters(route.path);
    parameters.extend(contract.query.iter().map(query_parameter));
    let mut op = json!({
        "operationId": format!("{:?}", route.handler),
        "tags": [tag(route.path)],
        "parameters": parameters,
        "security": security(route.auth),
        "responses": responses(route.auth, &contract, generator),
    });
    match &contract.takes {
        Takes::Nothing => {}
        Takes::Json(_, schema) => {
            op["requestBody"] = json!({"required": true, "content": {
                "application/json": {"schema": schema(generator)}}});
        }
        Takes::UrlEncoded(fields) => {
            let properties: Map<String, Value> = fields
                .iter()
                .map(|f| (f.to_string(), json!({"type": "string"})))
                .collect();
            op["requestBody"] = json!({"required": true, "content": {
                "application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "properties": properties}}}});
        }
        Takes::Form(_, schema) => {
            let fields = schema(generator);
            op["requestBody"] = json!({"required": true, "content": {
            "multipart/form-data": {"schema": {"allOf": [fields, {
                "type": "object",
                "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}},
            }]}}}});
        }
    }
    if let Some(note) = auth_note(route.auth) {
        op["description"] = json!(note);
    }
    if EXTENSIONS.contains(&route.path) {
        op["x-click-extension"] = json!(true);
    }
    op
}

/// The first segment of the path: the controller.
fn tag(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

fn query_parameter(p: &Param) -> Value {
    let mut schema = json!({"type": match p.kind {
        Kind::Text => "string",
        Kind::Integer => "integer",
        Kind::Boolean => "boolean",
    }});
    if !p.one_of.is_empty() {
        schema["enum"] = json!(p.one_of);
    }
    json!({"name": p.name, "in": "query", "required": p.required, "schema": schema})
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

/// The ways a call may carry its token: a bearer header or the `token` query parameter.
fn security(auth: AuthPolicy) -> Value {
    let token = json!([{"bearer": []}, {"queryToken": []}]);
    match auth {
        AuthPolicy::Public | AuthPolicy::CrossSite => json!([]),
        AuthPolicy::Optional => json!([{}, {"bearer": []}, {"queryToken": []}]),
        AuthPolicy::User | AuthPolicy::Admin | AuthPolicy::Local => token,
    }
}

fn auth_note(auth: AuthPolicy) -> Option<&'static str> {
    match auth {
        AuthPolicy::Admin => Some("For the account's owner and its admins; others get 499 ACCESS."),
        AuthPolicy::Local => Some(
            "Documented as open: a token is required in secure mode, optional in --compat mode.",
        ),
        AuthPolicy::CrossSite => {
            Some("No token; accepts posts from other origins (an identity provider's page).")
        }
        _ => None,
    }
}

fn success(gives: &Gives, generator: &mut SchemaGenerator) -> (u16, Value) {
    match gives {
        Gives::Nothing => (200, json!({"description": "Done; no body."})),
        Gives::Json(status, schema) => (
            *status,
            json!({"description": "Done.", "content": {
                "application/json": {"schema": schema(generator)}}}),
        ),
        Gives::Media(media) => (
            200,
            json!({"description": "Done.", "content": {media.to_string(): {}}}),
        ),
        Gives::Redirect => (
            303,
            json!({"description": "Signed in: on to the page the sign-in started from."}),
        ),
        Gives::Socket => (
            101,
            json!({"description": "The WebSocket handshake; frames as in websockets.md."}),
        ),
    }
}

fn responses(
    auth: AuthPolicy,
    contract: &contract::Contract,
    generator: &mut SchemaGenerator,
) -> Value {
    let (status, ok) = success(&contract.gives, generator);
    let mut r = Map::new();
    r.insert(status.to_string(), ok);
    let mut refusals = vec![
        (
            499,
            "Refused: the error code is the key of `errors` (and the `error-code` header).",
        ),
        (
            403,
            "The Host or Origin header is not allowed (`SECURITY`), or the route refuses the \
             caller.",
        ),
    ];
    if !matches!(auth, AuthPolicy::Public | AuthPolicy::CrossSite) {
        refusals.push((401, "No valid token (`AUTH`)."));
    }
    for status in &contract.refusals {
        refusals.push(match status {
            400 => (
                400,
                "The transfer cannot take this step in its state (`DEFAULT`).",
            ),
            _ => (
                *status,
                "No such record (`NOT_FOUND`), as the page documents.",
            ),
        });
    }
    for (status, description) in refusals {
        r.insert(
            status.to_string(),
            json!({"description": description, "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/ValidationProblemDetails"}}}}),
        );
    }
    Value::Object(r)
}

fn components(mut generator: SchemaGenerator) -> Value {
    let mut schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    schemas.insert("ValidationProblemDetails".into(), problem_details());
    json!({
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "queryToken": {"type": "apiKey", "in": "query", "name": "token"},
        },
        "schemas": schemas,
    })
}

fn problem_details() -> Value {
    json!({
        "type": "object",
        "properties": {
            "type": {"type": "string", "description": "The error code."},
            "title": {"type": "string"},
            "status": {"type": "integer", "description": "The HTTP status: 499, or 400, 401, 403, 404."},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
        "required": ["status", "errors"],
    })
}

/// The document as text.
pub fn text(version: &str) -> String {
    serde_json::to_string_pretty(&document(version)).unwrap_or_default()
}
