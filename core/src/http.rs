//! The request and response model, independent of any HTTP library.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// An HTTP request method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD` (served as `GET`; the host leaves the body out).
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `PATCH`.
    Patch,
    /// `OPTIONS` (CORS preflights).
    Options,
    /// Any other method: no route has it.
    Other,
}

impl Method {
    /// The method named by an HTTP request line (case-sensitive, as HTTP methods are).
    pub fn parse(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    /// Its name, as in a request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }

    /// Methods that never change state; everything else is checked against the Origin allowlist.
    pub fn is_safe(self) -> bool {
        matches!(self, Method::Get | Method::Head | Method::Options)
    }
}

/// A request header, borrowed from the host's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Header<'a> {
    /// Its name, in any case.
    pub name: &'a str,
    /// Its value, as received.
    pub value: &'a [u8],
}

/// One HTTP request as the core sees it. Everything is borrowed from the adapter's buffers.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The path of the target, without the query.
    pub path: &'a str,
    /// The raw query string without the leading `?`.
    pub query: &'a str,
    /// The headers, in the order received.
    pub headers: &'a [Header<'a>],
    /// The whole body; for a [`StreamedForm`](crate::routes::Body::StreamedForm) route, the
    /// form's fields as JSON with the staged file's path.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// [`Request::header`] as trimmed text; `None` if it is not UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        self.header(name)
            .and_then(|v| core::str::from_utf8(v).ok())
            .map(str::trim)
    }

    /// A query parameter, percent-decoded. Parameter names match case-insensitively, as in
    /// ASP.NET model binding.
    pub fn query_param(&self, name: &str) -> Option<Cow<'a, str>> {
        query_pairs(self.query)
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Iterates `name=value` pairs of a query string, decoding `+` and `%XX`. Pairs whose value is
/// not valid UTF-8 after decoding are skipped.
pub fn query_pairs(query: &str) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            percent_decode(v).map(|v| (k, v))
        })
}

pub fn percent_decode(s: &str) -> Option<Cow<'_, str>> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Some(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// What the host must do after writing the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostAction {
    /// Switch this connection to a WebSocket on the given channel.
    Upgrade(crate::events::Channel),
    /// Finish in-flight work, close WebSockets with 1000 and exit.
    Shutdown,
    /// Replace the body (an empty OpenMetrics exposition) with the host's metrics, if it
    /// keeps any.
    Metrics,
}

/// The answer to a request, for the host to write.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Static values (the usual case) cost no allocation on either side.
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
    /// The body; the host adds `Content-Length`.
    pub body: Vec<u8>,
    /// What the host must do once the response is written.
    pub action: Option<HostAction>,
    /// A byte range the host streams from a cloud provider as the body, instead of `body`
    /// (Get Object Stream): the bytes never pass through the core.
    #[cfg(feature = "cloud")]
    pub stream: Option<alloc::boxed::Box<crate::ports::ObjectRead>>,
}

impl Response {
    /// A response with this status and nothing else.
    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            action: None,
            #[cfg(feature = "cloud")]
            stream: None,
        }
    }

    /// An empty 200.
    pub fn ok() -> Response {
        Response::empty(200)
    }

    /// A 200 response whose body is `value` as JSON.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Response {
        Response::json_status(200, value)
    }

    /// A response whose body is `value` as JSON; 500 if it cannot be serialized.
    pub fn json_status<T: serde::Serialize + ?Sized>(status: u16, value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response {
                status,
                headers: alloc::vec![(
                    "content-type",
                    Cow::Borrowed("application/json; charset=utf-8")
                )],
                body,
                action: None,
                #[cfg(feature = "cloud")]
                stream: None,
            },
            Err(_) => Response::empty(500),
        }
    }

    /// The response with one more header.
    pub fn with_header(
        mut self,
        name: &'static str,
        value: impl Into<Cow<'static, str>>,
    ) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_values() {
        let q = "token=a%2Bb%3D&name=Jane+Doe&bad=%E0%A4&empty";
        let pairs: Vec<_> = query_pairs(q).collect();
        assert_eq!(pairs[0], ("token", Cow::Borrowed("a+b=")));
        assert_eq!(pairs[1].1, "Jane Doe");
        assert_eq!(pairs.len(), 3, "invalid UTF-8 is skipped: {pairs:?}");
        assert_eq!(pairs[2], ("empty", Cow::Borrowed("")));
        assert_eq!(percent_decode("100%").unwrap(), "100%");
        assert_eq!(percent_decode("%4").unwrap(), "%4");
    }
}
