//! CORS on the storage listener, per bucket and off until its owner sets rules (S3's
//! PutBucketCors): a browser preflight (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`) is answered by the bucket's first matching rule, or
//! refused (403); an actual request from an allowed origin gets the `Access-Control-*`
//! headers on its answer. The signature and the key's reach are still checked on the request
//! itself: CORS only lets the browser show the answer to the page.

use std::sync::Arc;

use click_core::storage::buckets::{self, Bucket, CorsRule};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use s3s::service::S3Service;
use s3s::{Body, HttpError};

use crate::server::App;

/// The bucket a path-style request names.
fn bucket_of(app: &App, path: &str) -> Option<Bucket> {
    // Bucket names hold only letters, digits, dots and hyphens: nothing to decode.
    let name = path.trim_start_matches('/').split('/').next()?;
    buckets::get(&app.agent.ports.store, name).ok().flatten()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn put(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// Serves one request of the storage listener.
pub async fn serve(
    app: Arc<App>,
    s3: S3Service,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, HttpError> {
    let origin = header(req.headers(), "origin").map(str::to_string);
    let Some(origin) = origin else {
        return s3.call(req.map(Body::from)).await;
    };
    let bucket = bucket_of(&app, req.uri().path());
    if req.method() == Method::OPTIONS {
        return Ok(preflight(bucket.as_ref(), &origin, req.headers()));
    }
    let method = req.method().as_str().to_string();
    let mut resp = s3.call(req.map(Body::from)).await?;
    if let Some(rule) = bucket
        .as_ref()
        .and_then(|b| b.cors_rule(&origin, &method, &[]))
    {
        allow(resp.headers_mut(), rule, &origin);
        let exposed = rule.expose_headers.join(", ");
        if !exposed.is_empty() {
            put(
                resp.headers_mut(),
                "access-control-expose-headers",
                &exposed,
            );
        }
    }
    Ok(resp)
}

fn allow(h: &mut HeaderMap, rule: &CorsRule, origin: &str) {
    let any = rule.allowed_origins.iter().any(|o| o == "*");
    put(
        h,
        "access-control-allow-origin",
        if any { "*" } else { origin },
    );
    put(h, "vary", "Origin");
}

/// The answer to a preflight: 200 with what the rule allows, or 403 as S3 answers when no
/// rule does (or the bucket has none).
fn preflight(bucket: Option<&Bucket>, origin: &str, h: &HeaderMap) -> Response<Body> {
    let method = header(h, "access-control-request-method").unwrap_or("");
    let asked: Vec<&str> = header(h, "access-control-request-headers")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let rule = bucket.and_then(|b| b.cors_rule(origin, method, &asked));
    let mut resp = Response::new(Body::empty());
    let Some(rule) = rule else {
        *resp.status_mut() = StatusCode::FORBIDDEN;
        return resp;
    };
    let h = resp.headers_mut();
    allow(h, rule, origin);
    put(
        h,
        "access-control-allow-methods",
        &rule.allowed_methods.join(", "),
    );
    if !asked.is_empty() {
        put(h, "access-control-allow-headers", &asked.join(", "));
    }
    if let Some(age) = rule.max_age_seconds {
        put(h, "access-control-max-age", &age.to_string());
    }
    resp
}
