//! The WebSocket opening handshake (RFC 6455 section 4.2), answered by the core so that every
//! adapter upgrades the same way.

use alloc::string::String;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

use crate::error::ApiError;
use crate::events::Channel;
use crate::http::{HostAction, Method, Request, Response};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

fn has_token(value: Option<&str>, token: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

pub fn is_upgrade(req: &Request<'_>) -> bool {
    has_token(req.header_str("upgrade"), "websocket")
}

/// `Sec-WebSocket-Accept` for a client key.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// The 101 response for a valid upgrade request, or 400 as `websockets.md` says.
pub fn accept(req: &Request<'_>, channel: Channel) -> Result<Response, ApiError> {
    const NOT_UPGRADE: &str = "This endpoint only accepts WebSocket upgrade requests.";
    if req.method != Method::Get
        || !is_upgrade(req)
        || !has_token(req.header_str("connection"), "upgrade")
        || req.header_str("sec-websocket-version") != Some("13")
    {
        return Err(ApiError::BadRequest(NOT_UPGRADE));
    }
    let key = req
        .header_str("sec-websocket-key")
        .ok_or(ApiError::BadRequest(NOT_UPGRADE))?;
    if STANDARD.decode(key).map(|k| k.len()) != Ok(16) {
        return Err(ApiError::BadRequest(
            "Sec-WebSocket-Key must be 16 bytes in base64.",
        ));
    }
    let mut r = Response::empty(101)
        .with_header("upgrade", "websocket")
        .with_header("connection", "Upgrade")
        .with_header("sec-websocket-accept", accept_key(key));
    r.action = Some(HostAction::Upgrade(channel));
    Ok(r)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc6455_example_key() {
        assert_eq!(
            super::accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
