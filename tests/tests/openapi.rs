//! The OpenAPI document (extension, README): made from the route table, served at
//! `/openapi.json` and printed by `click-agent openapi`; validated by an independent
//! validator (`openapi-spec-validator`, tests/clients/validate_openapi.py).

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
    assert_eq!(problem["properties"]["status"]["const"], 499);

    // The command prints the same document.
    let printed = Command::new(agent_binary())
        .arg("openapi")
        .output()
        .unwrap();
    assert!(printed.status.success());
    let printed: Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(printed, doc);
}
