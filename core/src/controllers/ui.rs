//! `GET /ui/` (extension): the dashboard page, a signed-in user's drives and backups with their
//! reports as charts, updated live from `/notification` and `/statechange`.
//!
//! Three hand-written files (`core/ui/`) built into the binary: the page works offline and
//! loads nothing from elsewhere. The page carries no data, so it needs no token; every call
//! it makes goes through the API with the user's token. Its headers forbid inline script and
//! style, other origins and framing.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;

use crate::agent::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::ports::Ports;

/// One embedded file: its bytes, type and validator.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    etag: &'static str,
}

/// FNV-1a of `bytes`, as 16 hex digits between quotes: an entity tag worked out at compile time.
const fn etag(bytes: &[u8]) -> [u8; 18] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    let mut out = [b'"'; 18];
    let mut d = 0;
    while d < 16 {
        let nibble = ((h >> (60 - 4 * d)) & 0xf) as u8;
        out[1 + d] = if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        };
        d += 1;
    }
    out
}

macro_rules! asset {
    ($file:literal, $type:literal) => {{
        const BODY: &str = include_str!(concat!("../../ui/", $file));
        const TAG: [u8; 18] = etag(BODY.as_bytes());
        Asset {
            body: BODY,
            content_type: $type,
            etag: match core::str::from_utf8(&TAG) {
                Ok(tag) => tag,
                Err(_) => panic!("an ASCII tag"),
            },
        }
    }};
}

static PAGE: Asset = asset!("index.html", "text/html; charset=utf-8");
static SCRIPT: Asset = asset!("app.js", "text/javascript; charset=utf-8");
static STYLE: Asset = asset!("app.css", "text/css; charset=utf-8");

/// `GET /ui/`: the page. `/ui` without the slash is sent to `/ui/`, so that the page's
/// relative links work wherever a host mounts the API.
pub async fn page<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    if !cx.req.path.ends_with('/') {
        let segment = cx.req.path.rsplit('/').next().unwrap_or("ui");
        return Ok(Response::empty(308)
            .with_header("location", format!("{segment}/"))
            .with_header("cache-control", "no-cache"));
    }
    Ok(serve(cx, &PAGE))
}

/// `GET /ui/{asset}`: the page's script and style sheet; anything else is 404.
pub async fn asset<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    match cx.param("asset") {
        "app.js" => Ok(serve(cx, &SCRIPT)),
        "app.css" => Ok(serve(cx, &STYLE)),
        _ => Err(ApiError::Missing(Cow::Borrowed(
            "The dashboard has no such file: /ui/ serves index.html, app.js and app.css.",
        ))),
    }
}

/// The asset, or 304 when the client holds this version. Browsers check again each time
/// (`no-cache`): the files change with the agent, and the check costs one small answer.
fn serve<P: Ports>(cx: &Ctx<'_, P>, asset: &Asset) -> Response {
    let fresh = cx
        .req
        .header_str("if-none-match")
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag));
    let mut r = if fresh {
        Response::empty(304)
    } else {
        let mut r = Response::ok().with_header("content-type", asset.content_type);
        r.body = asset.body.as_bytes().to_vec();
        r
    };
    r = r
        .with_header("etag", asset.etag)
        .with_header("cache-control", "no-cache")
        .with_header("x-content-type-options", "nosniff")
        .with_header("referrer-policy", "no-referrer")
        .with_header("x-frame-options", "DENY");
    if core::ptr::eq(asset, &PAGE) {
        r = r.with_header("content-security-policy", policy(cx.req.header_str("host")));
    }
    r
}

/// The page's Content-Security-Policy: its own files only, calls and WebSockets to this agent
/// only, no inline script or style, never in a frame. `host` (already checked against the
/// allowlist) names the agent for `ws://`, which older browsers do not count as `'self'`.
fn policy(host: Option<&str>) -> String {
    let mut connect = String::from("'self'");
    if let Some(host) = host.filter(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    }) {
        connect.push_str(&format!(" ws://{host}"));
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_quoted_hex_and_follow_the_content() {
        let a = etag(b"one");
        let b = etag(b"two");
        assert_ne!(a, b);
        let tag = core::str::from_utf8(&a).unwrap();
        assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
        assert!(tag[1..17].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(PAGE.etag, SCRIPT.etag);
    }

    #[test]
    fn the_policy_names_only_this_agent() {
        let p = policy(Some("127.0.0.1:29123"));
        assert!(
            p.contains("connect-src 'self' ws://127.0.0.1:29123;"),
            "{p}"
        );
        assert!(p.contains("frame-ancestors 'none'"));
        assert!(!p.contains("unsafe-inline"));
        let odd = policy(Some("evil.example; script-src *"));
        assert!(odd.contains("connect-src 'self';"), "{odd}");
    }
}
