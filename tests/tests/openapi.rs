//! The OpenAPI document (extension, README): made from the route table, served at
//! `/openapi.json` and printed by `click-agent openapi`; validated by an independent
//! validator (`openapi-spec-validator`, tests/clients/validate_openapi.py) and compared with
//! the names the docs give. (doc_contract.rs checks the calls it makes against it.)

use std::collections::BTreeSet;
use std::process::Command;

use click_blackbox::*;

/// The document's operations, once the validator took it.
fn validated(doc: &str) -> BTreeSet<(String, String)> {
    let out = python_filter("validate_openapi.py", doc.as_bytes());
    assert!(
        out.status.success(),
        "the validator refused the document: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ops: Vec<(String, String)> = serde_json::from_slice(&out.stdout).unwrap();
    ops.into_iter().collect()
}

#[test]
fn the_document_is_valid_openapi_and_lists_exactly_the_routes_served() {
    if desktop_only("the desktop agent's OpenAPI document") {
        return;
    }
    let agent = Agent::start();
    let served = agent.get("/openapi.json").send().expect(200);
    let doc = served.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = validated(&served.text());
    let routes: BTreeSet<(String, String)> = routes()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    assert_eq!(
        ops, routes,
        "the document's operations are the routes served"
    );

    // Who may call what, and our extensions marked.
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    assert_eq!(op("/management/agent_status", "get")["security"], json!([]));
    let admin = op("/user/get_all_users", "get");
    assert_eq!(
        admin["security"],
        json!([{"bearer": []}, {"queryToken": []}])
    );
    assert!(admin["description"].as_str().unwrap().contains("ACCESS"));
    let drive = op("/management/clouddrive/{id}", "put");
    assert_eq!(drive["parameters"][0]["name"], "id");
    assert_eq!(drive["parameters"][0]["in"], "path");
    assert_eq!(op("/metrics", "get")["x-click-extension"], true);
    assert!(
        op("/user/get_all_users", "get")
            .get("x-click-extension")
            .is_none()
    );
    let problem = &doc["components"]["schemas"]["ValidationProblemDetails"];
    assert_eq!(problem["properties"]["status"]["type"], "integer");
    assert!(
        problem["required"]
            .as_array()
            .unwrap()
            .contains(&json!("errors"))
    );

    // The command prints the same document.
    let printed = Command::new(agent_binary())
        .arg("openapi")
        .output()
        .unwrap();
    assert!(printed.status.success());
    let printed: Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(printed, doc);
}

/// The operation of the document at `path` (its key matched ignoring letter case), `method`.
fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> Option<&'a Value> {
    let paths = doc["paths"].as_object()?;
    let (_, item) = paths.iter().find(|(p, _)| p.eq_ignore_ascii_case(path))?;
    item.get(method.to_ascii_lowercase())
}

/// `node` with its local `$ref`s (`#/components/...`) followed; null when one leads nowhere.
fn resolved<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str() {
        Some(r) => match r.strip_prefix('#').and_then(|p| doc.pointer(p)) {
            Some(target) => resolved(doc, target),
            None => &Value::Null,
        },
        None => node,
    }
}

/// `schema` and every schema it combines (`allOf`, `anyOf`, `oneOf`), `$ref`s followed.
fn branches<'a>(doc: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let schema = resolved(doc, schema);
    let mut all = vec![schema];
    for combined in ["allOf", "anyOf", "oneOf"] {
        for branch in schema[combined].as_array().into_iter().flatten() {
            all.extend(branches(doc, branch));
        }
    }
    all
}

/// Whether `schema` has the property `name`, in any branch, or takes any name (a map).
fn has_property(doc: &Value, schema: &Value, name: &str) -> bool {
    branches(doc, schema)
        .iter()
        .any(|s| s["properties"].get(name).is_some() || s["additionalProperties"].is_object())
}

/// The schema of the `media` content of a request body or response; null when none.
fn content_schema<'a>(doc: &'a Value, body: &'a Value, media: &str) -> &'a Value {
    &resolved(doc, body)["content"][media]["schema"]
}

/// The names the agent reads a request body's key under: as written, and with its first
/// letter lowered (it reads PascalCase keys as camelCase, as the .NET agent did: the docs
/// write some bodies that way).
fn read_as(key: &str) -> [String; 2] {
    let mut chars = key.chars();
    let lowered = match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    };
    [key.to_string(), lowered]
}

/// The top-level fields of a doc example that `schema` lacks, as problems of `what`; of the
/// example's first item, against the schema's `items`, when the example is an array. `body`:
/// the example is a request body (its keys as the agent reads them, [`read_as`]). `"..."`
/// is the docs' placeholder for a DTO they name, not a field.
fn undeclared_fields(
    doc: &Value,
    what: &str,
    example: &Value,
    schema: &Value,
    body: bool,
) -> Vec<String> {
    let (what, example, schema) = match example {
        Value::Array(items) => {
            let items_schema = branches(doc, schema)
                .into_iter()
                .find_map(|s| s.get("items"))
                .unwrap_or(&Value::Null);
            (format!("{what}[0]"), items.first(), items_schema)
        }
        _ => (what.to_string(), Some(example), schema),
    };
    let Some(Value::Object(fields)) = example else {
        return Vec::new();
    };
    let names: Vec<&String> = fields.keys().filter(|k| *k != "...").collect();
    if schema.is_null() && !names.is_empty() {
        return vec![format!("{what}: documented with {names:?}, no JSON schema")];
    }
    let declared = |name: &str| match body {
        true => read_as(name).iter().any(|n| has_property(doc, schema, n)),
        false => has_property(doc, schema, name),
    };
    names
        .into_iter()
        .filter(|name| !declared(name))
        .map(|name| format!("{what}: `{name}` is not a property"))
        .collect()
}

/// The problems of one documented endpoint against its operation.
fn undeclared_names(doc: &Value, ep: &docs::Endpoint, op: &Value) -> Vec<String> {
    let route = format!("{} {}", ep.method, ep.path);
    let mut problems = Vec::new();
    let declared: Vec<&str> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| resolved(doc, p))
        .filter(|p| matches!(p["in"].as_str(), Some("query" | "path")))
        .filter_map(|p| p["name"].as_str())
        .collect();
    for (name, _) in ep.query.iter().filter(|(name, _)| name != "token") {
        if !declared.contains(&name.as_str()) {
            let what = format!("query parameter `{name}` is not declared (declared: {declared:?})");
            problems.push(format!("{route}: {what}"));
        }
    }
    let form = content_schema(doc, &op["requestBody"], "multipart/form-data");
    for (name, _) in &ep.form {
        if !has_property(doc, form, name) {
            problems.push(format!("{route}: form field `{name}` is not a property"));
        }
    }
    if let Some(body) = &ep.body {
        let takes = content_schema(doc, &op["requestBody"], "application/json");
        let what = format!("{route}: request body");
        problems.extend(undeclared_fields(doc, &what, body, takes, true));
    }
    if let Some(answer) = &ep.response {
        // The success the operation declares: 200, or 202 for a queued transfer.
        let responses = op["responses"].as_object();
        let ok = responses
            .and_then(|r| r.iter().find(|(status, _)| status.starts_with('2')))
            .map_or(&Value::Null, |(_, response)| response);
        let gives = content_schema(doc, ok, "application/json");
        let what = format!("{route}: response");
        problems.extend(undeclared_fields(doc, &what, answer, gives, false));
    }
    problems
}

/// Every name the Click API pages give an endpoint the agent serves is in the document, as
/// the pages spell it: its query parameters (but `token`, the `queryToken` scheme), its form
/// fields, and the top-level fields of its request-body examples (or as the agent reads them,
/// PascalCase as camelCase) and response examples (of their first item when the example is an
/// array). A client generated from the document then sends and reads what the docs promise.
/// Routes the pages do not list (`/management/outbox`, `/notification`, `/statechange`, ...)
/// have nothing to compare; nor has a response the pages only name (a DTO, "200 OK").
#[test]
fn every_documented_parameter_and_field_is_in_the_document() {
    if desktop_only("the desktop agent's OpenAPI document") {
        return;
    }
    let agent = Agent::start();
    let doc = agent.get("/openapi.json").send().expect(200).json();
    let mut compared = 0;
    let mut problems = Vec::new();
    for ep in docs::endpoints_of("click-api") {
        if let Some(op) = operation(&doc, &ep.method, &ep.path) {
            compared += 1;
            problems.extend(undeclared_names(&doc, &ep, op));
        }
    }
    eprintln!("{compared} documented endpoints compared with the document");
    assert!(compared > 0, "no documented endpoint is in the document");
    assert!(problems.is_empty(), "{problems:#?}");
}
