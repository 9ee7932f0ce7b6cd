//! The OpenAPI 3.1 document of the routes this build serves, made from the route table
//! (`GET /openapi.json`, `click-agent openapi`): every route with its method, path
//! parameters, who may call it (the security it takes) and the answers every route can give
//! (the problem-details body of 499s, 401 without a valid token). Our extensions carry
//! `x-click-extension: true`. Request and response bodies are not described yet.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::{Map, Value, json};

use crate::auth::AuthPolicy;
use crate::routes::{EXTENSIONS, ROUTES, Route};

/// The document, for an agent of `version`.
pub fn document(version: &str) -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            let method = route.method.as_str().to_ascii_lowercase();
            methods.insert(method, operation(route));
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
        "components": components(),
    })
}

fn operation(route: &Route) -> Value {
    let mut op = json!({
        "operationId": format!("{:?}", route.handler),
        "tags": [tag(route.path)],
        "parameters": path_parameters(route.path),
        "security": security(route.auth),
        "responses": responses(route.auth),
    });
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

fn responses(auth: AuthPolicy) -> Value {
    let mut r = json!({
        "200": {"description": "Done; the body, if any, is the route's answer."},
        "499": {
            "description": "Refused: the error code is the key of `errors` (and the \
                `error-code` header).",
            "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/ValidationProblemDetails"}}},
        },
    });
    if !matches!(auth, AuthPolicy::Public | AuthPolicy::CrossSite) {
        r["401"] = json!({"description": "No valid token."});
    }
    r
}

fn components() -> Value {
    json!({
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "queryToken": {"type": "apiKey", "in": "query", "name": "token"},
        },
        "schemas": {
            "ValidationProblemDetails": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "description": "The error code."},
                    "title": {"type": "string"},
                    "status": {"type": "integer", "const": 499},
                    "errors": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "required": ["status", "errors"],
            },
        },
    })
}

/// The document as text.
pub fn text(version: &str) -> String {
    serde_json::to_string_pretty(&document(version)).unwrap_or_default()
}
