//! Upload Object From Form: the `multipart/form-data` body is streamed into a staging folder
//! of the data directory (never held in memory, never bounded by `max_body_bytes`), then the
//! core gets the form's fields and the staged file's path, and starts the upload.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use click_core::routes::Match;
use click_core::{ApiError, Method, Response};
use futures_util::TryStreamExt;
use http_body_util::BodyStream;
use hyper::body::Incoming;
use hyper::http::request::Parts;
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use crate::server::App;

/// Form fields other than the file are small.
const FIELD_LIMIT: usize = 64 * 1024;
const FIELDS: [&str; 4] = ["cloudAccountJson", "storageName", "uploadPath", "id"];

/// Receives a request whose route streams its form (`routes::Body::StreamedForm`), found
/// once by the caller: every spelling the router accepts, such as a trailing `/`, comes here,
/// so none reaches the core's handler with a body of its own.
pub async fn receive(app: &Arc<App>, parts: &Parts, body: Incoming, found: Match<'_>) -> Response {
    let headers = crate::server::core_headers(parts);
    let mut request = click_core::Request {
        method: Method::parse(parts.method.as_str()),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: &[],
    };
    // Nothing is written to disk for a caller the route would refuse.
    if let Err(refused) = app.agent.admit(&request, found) {
        return refused;
    }
    let dir = app.staging_dir().join(uuid());
    let fields = match stage(app, parts, body, &dir).await {
        Ok(fields) => fields,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return e.into_response();
        }
    };
    let json = serde_json::to_vec(&Value::Object(fields)).unwrap_or_default();
    request.body = &json;
    let response = app.agent.handle_matched(&request, found).await;
    if response.status != 200 {
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }
    response
}

fn uuid() -> String {
    use click_core::ports::RngExt;
    crate::ports::OsRng.uuid()
}

/// Streams the form into `dir`: the file under its own name, the other fields as strings.
async fn stage(
    app: &App,
    parts: &Parts,
    body: Incoming,
    dir: &Path,
) -> Result<Map<String, Value>, ApiError> {
    let content_type = parts
        .headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ApiError::BadRequest("A multipart/form-data body is expected."))?;
    let max = app.limits.max_form_upload_bytes;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(max)
            .per_field(FIELD_LIMIT as u64)
            .for_field("file", max),
    );
    let stream =
        BodyStream::new(body).try_filter_map(|frame| async move { Ok(frame.into_data().ok()) });
    let mut form = multer::Multipart::with_constraints(stream, boundary, constraints);
    let idle = Duration::from_millis(app.limits.body_read_timeout_ms);
    let mut fields = Map::new();
    let mut staged: Option<(PathBuf, u64)> = None;
    while let Some(mut field) = within(idle, form.next_field()).await? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = safe_name(field.file_name().unwrap_or(""));
            tokio::fs::create_dir_all(dir).await.map_err(disk)?;
            let path = dir.join(file_name);
            let mut file = tokio::fs::File::create(&path).await.map_err(disk)?;
            let mut size = 0u64;
            while let Some(chunk) = within(idle, field.chunk()).await? {
                size += chunk.len() as u64;
                file.write_all(&chunk).await.map_err(disk)?;
            }
            file.sync_all().await.map_err(disk)?;
            staged = Some((path, size));
        } else if FIELDS.contains(&name.as_str()) {
            let mut text: Vec<u8> = Vec::new();
            while let Some(chunk) = within(idle, field.chunk()).await? {
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text)
                .map_err(|_| ApiError::invalid(format!("'{name}' is not UTF-8 text.")))?;
            fields.insert(name, Value::from(text));
        }
    }
    match staged {
        Some((path, size)) if size > 0 => {
            fields.insert("stagedFile".into(), Value::from(path.display().to_string()));
            Ok(fields)
        }
        _ => Err(ApiError::BadRequest(
            "The form's 'file' is missing or empty.",
        )),
    }
}

/// One step of reading the body, which must not stall longer than the body read timeout.
async fn within<T>(
    idle: Duration,
    step: impl std::future::Future<Output = multer::Result<T>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(idle, step).await {
        Err(_) => Err(ApiError::RequestTimeout),
        Ok(Err(
            multer::Error::StreamSizeExceeded { limit }
            | multer::Error::FieldSizeExceeded { limit, .. },
        )) => Err(ApiError::PayloadTooLarge(limit as usize)),
        Ok(Err(e)) => Err(ApiError::BadRequest(match e {
            multer::Error::StreamReadFailed(_) => "The upload was interrupted.",
            _ => "The multipart/form-data body is malformed.",
        })),
        Ok(Ok(v)) => Ok(v),
    }
}

fn disk(e: std::io::Error) -> ApiError {
    tracing::error!("cannot stage a form upload: {e}");
    ApiError::new(
        click_core::ErrorCode::FilesystemAccess,
        format!("The agent cannot store the upload: {e}"),
    )
}

/// The uploaded file's own name, without any folder a client put in front of it.
fn safe_name(given: &str) -> String {
    let name = given.rsplit(['/', '\\']).next().unwrap_or("").trim();
    match name {
        "" | "." | ".." => "upload.bin".to_string(),
        n => n.chars().filter(|c| !c.is_control()).collect(),
    }
}
