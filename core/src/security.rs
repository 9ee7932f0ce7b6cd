//! Host and Origin checks (DNS rebinding and CSRF defences) and CORS.

use alloc::string::String;

use crate::config::CoreConfig;
use crate::error::ApiError;
use crate::http::{Method, Request, Response};

const LOOPBACK_NAMES: [&str; 4] = ["localhost", "127.0.0.1", "[::1]", "::1"];

/// The host part of a `Host` header value, without the port.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

pub fn host_allowed(host: Option<&str>, config: &CoreConfig) -> bool {
    let Some(host) = host else { return false };
    let name = host_name(host);
    is_loopback(name)
        || config
            .allowed_hosts
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
}

pub fn origin_allowed(origin: &str, config: &CoreConfig) -> bool {
    let origin = origin.trim_end_matches('/');
    config
        .allowed_origins
        .iter()
        .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

fn is_loopback(name: &str) -> bool {
    LOOPBACK_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The port of a `Host` value or an origin's authority (80 when it names none).
fn port(authority: &str) -> &str {
    match &authority[host_name(authority).len()..] {
        "" => "80",
        rest => rest.trim_start_matches(':'),
    }
}

/// Whether `origin` is the agent itself: a page it serves calls it with the Origin made of
/// `http://` and the Host it was loaded from, and on loopback under any of the loopback names
/// for the port it listens on. Only reached once the Host is known to be one the agent serves, so a
/// rebound name never gets here.
fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let (Some(authority), Some(host)) = (
        origin.trim_end_matches('/').strip_prefix("http://"),
        host.map(str::trim),
    ) else {
        return false;
    };
    let (name, host_name) = (host_name(authority), host_name(host));
    let same_name =
        name.eq_ignore_ascii_case(host_name) || (is_loopback(name) && is_loopback(host_name));
    same_name && port(authority) == port(host)
}

#[cfg(feature = "sso")]
/// Whether the agent may send a browser, with a secret in the URL, to `url`: its origin is
/// this machine's loopback, the agent's own (`host`), or allowlisted (`allowed_origins`).
pub fn trusted_return_url(url: &str, host: Option<&str>, config: &CoreConfig) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return false;
    }
    let origin = &url[..scheme.len() + 3 + authority.len()];
    is_loopback(host_name(authority)) || same_origin(origin, host) || origin_allowed(origin, config)
}

/// Refuses requests whose Host is not a loopback or configured name, and state-changing
/// requests or WebSocket upgrades from an Origin that is neither the agent's own nor
/// allowlisted (unless the route takes any, `any_origin`). Requests without an Origin
/// (scripts, CLI clients) pass.
pub fn check(
    req: &Request<'_>,
    config: &CoreConfig,
    is_upgrade: bool,
    any_origin: bool,
) -> Result<(), ApiError> {
    let host = req.header_str("host");
    if !host_allowed(host, config) {
        return Err(ApiError::Forbidden(
            "The Host header names a host this agent does not serve.",
        ));
    }
    if let Some(origin) = req.header_str("origin") {
        let needs_check = (is_upgrade || !req.method.is_safe()) && !any_origin;
        if needs_check && !same_origin(origin, host) && !origin_allowed(origin, config) {
            return Err(ApiError::Forbidden(
                "Requests from this Origin are not allowed.",
            ));
        }
    }
    Ok(())
}

/// Answers a CORS preflight, or `None` when the request is not one.
pub fn preflight(req: &Request<'_>, config: &CoreConfig) -> Option<Response> {
    if req.method != Method::Options || req.header("access-control-request-method").is_none() {
        return None;
    }
    let origin = req.header_str("origin")?;
    if !origin_allowed(origin, config) {
        return Some(
            ApiError::Forbidden("Requests from this Origin are not allowed.").into_response(),
        );
    }
    let headers = req
        .header_str("access-control-request-headers")
        .unwrap_or("content-type, authorization, x-app-origin");
    Some(
        Response::empty(204)
            .with_header("access-control-allow-origin", String::from(origin))
            .with_header("access-control-allow-methods", "GET, POST, PUT, DELETE")
            .with_header("access-control-allow-headers", String::from(headers))
            .with_header("access-control-max-age", "600")
            .with_header("vary", "Origin"),
    )
}

/// Adds CORS response headers for an allowlisted Origin.
pub fn add_cors_headers(req: &Request<'_>, config: &CoreConfig, response: &mut Response) {
    if let Some(origin) = req.header_str("origin")
        && origin_allowed(origin, config)
    {
        response
            .headers
            .push(("access-control-allow-origin", String::from(origin).into()));
        response.headers.push(("vary", "Origin".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    #[cfg(feature = "sso")]
    fn return_urls_stay_on_this_machine_or_allowlisted_origins() {
        let mut c = CoreConfig::default();
        c.allowed_origins.push("https://app.example.com".into());
        let host = Some("agent.lan:29123");
        for ok in [
            "http://127.0.0.1:9/cb",
            "http://localhost:3000/oauth",
            "http://[::1]/x",
            "https://app.example.com/cb?x=1",
            "http://agent.lan:29123/sso/callback",
        ] {
            assert!(trusted_return_url(ok, host, &c), "{ok}");
        }
        for bad in [
            "https://evil.example.com/cb",
            "http://127.0.0.1.evil.com/cb",
            "http://localhost@evil.com/cb",
            "https://app.example.com.evil.com/",
            "javascript:alert(1)",
            "http://agent.lan:8080/",
        ] {
            assert!(!trusted_return_url(bad, host, &c), "{bad}");
        }
    }

    #[test]
    fn host_names() {
        let mut c = CoreConfig::default();
        for ok in ["localhost:29123", "127.0.0.1", "[::1]:80", "LOCALHOST"] {
            assert!(host_allowed(Some(ok), &c), "{ok}");
        }
        for bad in [
            "evil.com",
            "localhost.evil.com:29123",
            "127.0.0.2",
            "[::2]:1",
            "",
        ] {
            assert!(!host_allowed(Some(bad), &c), "{bad}");
        }
        assert!(!host_allowed(None, &c));
        c.allowed_hosts = vec!["nas.lan".into()];
        assert!(host_allowed(Some("nas.lan:29123"), &c));
    }

    #[test]
    fn origins() {
        let c = CoreConfig {
            allowed_origins: vec!["http://localhost:3000".into()],
            ..CoreConfig::default()
        };
        assert!(origin_allowed("http://localhost:3000", &c));
        assert!(!origin_allowed("http://localhost:3001", &c));
        assert!(!origin_allowed("null", &c));
    }

    #[test]
    fn the_agents_own_origin_is_same_origin() {
        let host = Some("127.0.0.1:29123");
        assert!(same_origin("http://127.0.0.1:29123", host));
        assert!(same_origin(
            "http://LOCALHOST:29123/",
            Some("localhost:29123")
        ));
        assert!(same_origin("http://[::1]:8080", Some("[::1]:8080")));
        assert!(same_origin("http://localhost:29123", host));
        assert!(same_origin("http://[::1]:29123", host));
        assert!(same_origin("http://nas.lan:29123", Some("nas.lan:29123")));
        assert!(same_origin("http://localhost", Some("127.0.0.1:80")));
        for foreign in [
            "http://127.0.0.1:3000",
            "https://127.0.0.1:29123",
            "http://evil.com",
            "null",
            "http://127.0.0.1:29123.evil.com",
            "http://nas.lan:29123",
            "http://localhost:2912",
        ] {
            assert!(!same_origin(foreign, host), "{foreign}");
        }
        assert!(!same_origin("http://127.0.0.1:29123", None));
    }
}
