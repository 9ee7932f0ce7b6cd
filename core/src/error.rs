//! The one error type and its single mapping to HTTP.

use alloc::borrow::Cow;
use alloc::string::String;

use crate::http::Response;

/// The documented application error codes (`errors.md`, web-api `errors.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// `DEFAULT`: a generic validation error (a missing or malformed field).
    Default,
    /// `AUTH`: bad credentials.
    Auth,
    /// `INACTIVE_USER`: the user is not active (unconfirmed, or turned off).
    InactiveUser,
    /// `TOKEN`: a token is invalid, expired or already used.
    Token,
    /// `SESSION`: the session is invalid or expired.
    Session,
    /// `SESSION_MAXOUT`: too many concurrent sessions.
    SessionMaxout,
    /// `SECURITY`: a security policy refused the request.
    Security,
    /// `ACCESS`: the caller may not do this.
    Access,
    /// `NOT_FOUND`: no such record.
    NotFound,
    /// `TOTP`: the MFA code was wrong.
    Totp,
    /// `TRANSFER`: a transfer, or a provider call, failed.
    Transfer,
    /// `SYNC`: a sync failed.
    Sync,
    /// `DUPLICATE`: a record with the same unique field exists.
    Duplicate,
    /// `PENDING`: the operation cannot complete yet.
    Pending,
    /// `DB_DELETE`: a delete failed.
    DbDelete,
    /// `DB_INSERT`: an insert failed.
    DbInsert,
    /// `DB_UPDATE`: an update failed.
    DbUpdate,
    /// `DOWNLOAD_OBJECT`: a download failed.
    DownloadObject,
    /// `INVALID_EMAIL`: the email address is invalid.
    InvalidEmail,
    /// `INTERNAL_ERROR`: an internal error, reported as a validation error.
    InternalError,
    /// `CHECKSUM_MISMATCH`: a file's checksum did not match.
    ChecksumMismatch,
    /// `FILESYSTEM_ACCESS`: a local path may not be used, or the disk refused.
    FilesystemAccess,
    /// `DISPOSED`: the agent has been disposed.
    Disposed,
}

impl ErrorCode {
    /// The code's wire spelling (`type` and the `error-code` header).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Default => "DEFAULT",
            ErrorCode::Auth => "AUTH",
            ErrorCode::InactiveUser => "INACTIVE_USER",
            ErrorCode::Token => "TOKEN",
            ErrorCode::Session => "SESSION",
            ErrorCode::SessionMaxout => "SESSION_MAXOUT",
            ErrorCode::Security => "SECURITY",
            ErrorCode::Access => "ACCESS",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Totp => "TOTP",
            ErrorCode::Transfer => "TRANSFER",
            ErrorCode::Sync => "SYNC",
            ErrorCode::Duplicate => "DUPLICATE",
            ErrorCode::Pending => "PENDING",
            ErrorCode::DbDelete => "DB_DELETE",
            ErrorCode::DbInsert => "DB_INSERT",
            ErrorCode::DbUpdate => "DB_UPDATE",
            ErrorCode::DownloadObject => "DOWNLOAD_OBJECT",
            ErrorCode::InvalidEmail => "INVALID_EMAIL",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::ChecksumMismatch => "CHECKSUM_MISMATCH",
            ErrorCode::FilesystemAccess => "FILESYSTEM_ACCESS",
            ErrorCode::Disposed => "DISPOSED",
        }
    }
}

/// Every way a request can fail. [`ApiError::into_response`] is the only place that turns one
/// into status codes, headers and bodies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// 499 with a `ValidationProblemDetails` body.
    Validation {
        /// The documented code, which clients branch on.
        code: ErrorCode,
        /// What went wrong, for people.
        message: Cow<'static, str>,
    },
    /// 401: missing, invalid, expired or revoked token, or bad credentials.
    Unauthorized(&'static str),
    /// 403: the Host or Origin is not allowed.
    Forbidden(&'static str),
    /// 400: a request on a WebSocket path that is not a valid upgrade.
    BadRequest(&'static str),
    /// 404: no such route.
    NoRoute,
    /// 404 with a `NOT_FOUND` problem body, where a page documents a 404 (an unknown drive
    /// id, a path no drive owns); elsewhere a missing record is a 499 `NOT_FOUND`.
    #[cfg(feature = "cloud")]
    Missing(Cow<'static, str>),
    /// 405: the path exists for other methods.
    MethodNotAllowed,
    /// 413: the body is over the configured limit.
    PayloadTooLarge(usize),
    /// 408: the body did not arrive in time.
    RequestTimeout,
    /// 431: the request head is over the host's limits.
    HeadersTooLarge,
    /// 500: a fault of the agent (a store failure). No body.
    Internal,
}

impl ApiError {
    /// A 499 with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::Validation {
            code,
            message: message.into(),
        }
    }

    /// A 499 `NOT_FOUND`: "`what` was not found."
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(ErrorCode::NotFound, alloc::format!("{what} was not found."))
    }

    /// A 499 `ACCESS`.
    pub fn access(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(ErrorCode::Access, message)
    }

    /// A 499 `DEFAULT`: the request is not valid as given.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(ErrorCode::Default, message)
    }

    /// The HTTP status it is answered with.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Validation { .. } => 499,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::BadRequest(_) => 400,
            ApiError::NoRoute => 404,
            #[cfg(feature = "cloud")]
            ApiError::Missing(_) => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::RequestTimeout => 408,
            ApiError::HeadersTooLarge => 431,
            ApiError::Internal => 500,
        }
    }

    /// The response: `ValidationProblemDetails` with the code (also in `error-code`), or no
    /// body for a 500.
    pub fn into_response(self) -> Response {
        let status = self.status();
        let (code, message): (&str, Cow<'static, str>) = match self {
            ApiError::Internal => return Response::empty(500),
            ApiError::Validation { code, message } => (code.as_str(), message),
            ApiError::Unauthorized(m) => ("AUTH", m.into()),
            ApiError::Forbidden(m) => ("SECURITY", m.into()),
            ApiError::BadRequest(m) => ("DEFAULT", m.into()),
            ApiError::NoRoute => ("NOT_FOUND", "No such endpoint.".into()),
            #[cfg(feature = "cloud")]
            ApiError::Missing(m) => ("NOT_FOUND", m),
            ApiError::MethodNotAllowed => {
                ("DEFAULT", "Method not allowed on this endpoint.".into())
            }
            ApiError::RequestTimeout => {
                ("DEFAULT", "The request body did not arrive in time.".into())
            }
            ApiError::HeadersTooLarge => (
                "DEFAULT",
                "The request headers are too many or too large.".into(),
            ),
            ApiError::PayloadTooLarge(limit) => (
                "DEFAULT",
                alloc::format!("Request body is larger than the limit of {limit} bytes.").into(),
            ),
        };
        problem_details(status, code, &message)
    }
}

/// ASP.NET Core's `ValidationProblemDetails`, as `errors.md` shows it.
fn problem_details(status: u16, code: &str, message: &str) -> Response {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        status: u16,
        errors: alloc::collections::BTreeMap<&'a str, [&'a str; 1]>,
    }
    let mut errors = alloc::collections::BTreeMap::new();
    errors.insert(code, [message]);
    let body = Body {
        kind: code,
        status,
        errors,
    };
    Response::json_status(status, &body).with_header("error-code", String::from(code))
}

impl From<crate::store::StoreError> for ApiError {
    fn from(_: crate::store::StoreError) -> ApiError {
        ApiError::Internal
    }
}

/// The result of anything a request may fail in.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_error_matches_the_documented_example() {
        let r = ApiError::new(
            ErrorCode::Duplicate,
            "A resource with the same name already exists.",
        )
        .into_response();
        assert_eq!(r.status, 499);
        assert_eq!(r.header("error-code"), Some("DUPLICATE"));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let doc: serde_json::Value = serde_json::from_str(
            r#"{"type":"DUPLICATE","status":499,"errors":{"DUPLICATE":["A resource with the same name already exists."]}}"#,
        )
        .unwrap();
        assert_eq!(body, doc);
    }

    #[test]
    fn internal_error_has_no_body() {
        let r = ApiError::Internal.into_response();
        assert_eq!((r.status, r.body.len()), (500, 0));
    }
}
