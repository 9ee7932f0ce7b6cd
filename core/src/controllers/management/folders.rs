//! The local-folder routes of File System Operations (`management.md`): the machine's drives,
//! the letters left for cloud drives, folder listings and new folders. Every path must lie in
//! `[transfers] roots` (lexically here, with links resolved by the host): 499 `SECURITY`
//! otherwise.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::agent::Ctx;
use crate::drives::drive;
use crate::drives::paths;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::{max_len, null_as_default, required};
use crate::ports::{LocalEntry, LocalError, LocalFiles, Ports};
use crate::transfers::paths::checked;

/// `objectType` of a listed entry.
const FILE: u8 = 1;
const FOLDER: u8 = 2;

fn files<'a, P: Ports>(cx: &'a Ctx<'_, P>) -> ApiResult<&'a P::Files> {
    let files = cx.ports().files();
    if files.available() {
        Ok(files)
    } else {
        Err(ApiError::invalid(
            "This agent's host has no local file system to show.",
        ))
    }
}

fn local_error(path: &str, e: LocalError) -> ApiError {
    match e {
        LocalError::Outside => ApiError::new(
            ErrorCode::Security,
            alloc::format!(
                "{path} is outside the folders the agent may use (links resolved); see \
                 [transfers] roots."
            ),
        ),
        LocalError::NotFound => ApiError::not_found(&alloc::format!("The folder {path}")),
        LocalError::Exists => ApiError::new(
            ErrorCode::Duplicate,
            alloc::format!("{path} already exists."),
        ),
        LocalError::Failed(why) => {
            ApiError::new(ErrorCode::FilesystemAccess, alloc::format!("{path}: {why}"))
        }
    }
}

/// The folder a listing shows: the `path` query, or the user's home for an empty one or `/`.
fn folder<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<String> {
    let given = cx.req.query_param("path").unwrap_or(Cow::Borrowed(""));
    let given = given.trim();
    let path = if given.is_empty() || given == "/" || given == "\\" {
        files(cx)?
            .home()
            .ok_or_else(|| ApiError::invalid("This agent has no home folder: give 'path'."))?
    } else {
        String::from(given)
    };
    checked(&cx.config().file_roots, &path, "path")
}

fn listing<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<(String, Vec<LocalEntry>)> {
    let dir = folder(cx)?;
    let mut entries = files(cx)?.list(&dir).map_err(|e| local_error(&dir, e))?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((dir, entries))
}

pub async fn list_drives<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    Ok(Response::json(&files(cx)?.mount_points()))
}

pub async fn list_available_drives<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let used: Vec<String> = drive::DRIVES
        .all(cx.store())?
        .into_iter()
        .map(|d| d.drive_name.to_ascii_uppercase())
        .collect();
    let free: Vec<String> = (b'C'..=b'Z')
        .map(|c| String::from(char::from(c)))
        .filter(|letter| !used.contains(letter))
        .collect();
    Ok(Response::json(&free))
}

pub async fn list_directories<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (dir, entries) = listing(cx)?;
    let folders: Vec<String> = entries
        .into_iter()
        .filter(|e| e.is_dir)
        .map(|e| paths::join(&dir, &e.name))
        .collect();
    Ok(Response::json(&folders))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntryDto {
    file_name: String,
    full_path: String,
    object_type: u8,
}

pub async fn list_files_directories<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let (dir, entries) = listing(cx)?;
    let out: Vec<EntryDto> = entries
        .into_iter()
        .map(|e| EntryDto {
            full_path: paths::join(&dir, &e.name),
            object_type: if e.is_dir { FOLDER } else { FILE },
            file_name: e.name,
        })
        .collect();
    Ok(Response::json(&out))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewFolder {
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    directory_name: String,
}

pub async fn make_directory<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let input: NewFolder = cx.body()?;
    let base = checked(
        &cx.config().file_roots,
        required("path", &input.path)?,
        "path",
    )?;
    let name = required("directoryName", input.directory_name.trim())?;
    max_len("directoryName", name, 255)?;
    if name.contains(['/', '\\', '\0']) || name == "." || name == ".." {
        return Err(ApiError::new(
            ErrorCode::Security,
            "'directoryName' must be one folder name: no '/', '\\', '.' or '..'.",
        ));
    }
    let path = paths::join(&base, name);
    files(cx)?
        .make_dir(&path)
        .map_err(|e| local_error(&path, e))?;
    Ok(Response::ok())
}
