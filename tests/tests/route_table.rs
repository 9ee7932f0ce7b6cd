//! The route table against `spec/endpoints.tsv`: every route the agent serves is documented,
//! with its method, and its auth policy matches the documented auth.

use std::collections::HashMap;

use click_blackbox::docs;

#[test]
fn every_route_is_documented_with_its_method_and_auth() {
    // (method, route) -> documented auth
    let documented: HashMap<(String, String), String> = docs::endpoints()
        .into_iter()
        .map(|[_, _, method, route, auth]| ((method, route), auth))
        .collect();
    let served = click_blackbox::routes();
    assert!(served.len() >= 20, "{served:?}");
    for (method, path, policy) in &served {
        if path == "/management/outbox" {
            // The device outbox, an extension (README): not in the docs.
            assert_eq!(policy, "Local");
            continue;
        }
        if path == "/ui" || path == "/ui/{asset}" {
            // The dashboard page, an extension (README): static files, no data, no token.
            assert_eq!((method.as_str(), policy.as_str()), ("GET", "Public"));
            continue;
        }
        if path == "/metrics" {
            // Prometheus metrics, an extension (README): for admins.
            assert_eq!((method.as_str(), policy.as_str()), ("GET", "Admin"));
            continue;
        }
        if path == "/openapi.json" {
            // The OpenAPI document, an extension (README): public like agent_status.
            assert_eq!((method.as_str(), policy.as_str()), ("GET", "Public"));
            continue;
        }
        if path == "/sso/saml_acs" {
            // The SAML assertion consumer, an extension (README): the identity provider's
            // page posts to it from its own Origin.
            assert_eq!((method.as_str(), policy.as_str()), ("POST", "CrossSite"));
            continue;
        }
        if path == "/notification" || path == "/statechange" {
            // websockets.md, not endpoints.tsv.
            assert_eq!(policy, "Local");
            continue;
        }
        let doc_auth = documented
            .get(&(method.clone(), path.clone()))
            .unwrap_or_else(|| panic!("{method} {path} is not in endpoints.tsv"));
        let expected = match (path.as_str(), doc_auth.as_str()) {
            // The reset-token extension (README.md) lets this one through without a token.
            ("/authentication/reset_password", _) => "Optional",
            // "No token is accepted ... the signed-in user is used": a token in secure mode,
            // the Start command's user in compat mode.
            ("/cloud/upload_object_from_form", _) => "Local",
            (p, _) if p.starts_with("/management/") && p != "/management/agent_status" => "Local",
            // The reports show what the management routes configure: a token, as they need
            // (issue 11; `--compat` keeps the documented no-auth).
            (p, a)
                if (p.starts_with("/backupreport/") || p.starts_with("/drivereport/"))
                    && a.starts_with("No") =>
            {
                "Local"
            }
            // Documented as signed-in; the table also says only admins may call it.
            (_, a) if a.starts_with("Yes") && policy == "Admin" => "Admin",
            (_, a) if a.starts_with("Yes") => "User",
            (_, a) if a.starts_with("No") => "Public",
            (_, a) => panic!("{path}: unexpected documented auth {a:?}"),
        };
        assert_eq!(
            policy, expected,
            "{method} {path} (documented auth: {doc_auth})"
        );
    }
}
