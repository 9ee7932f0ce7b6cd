//! Management: agent status, lifecycle commands, notifications (`management.md`); cloud
//! drives and their objects, SMB and NFS mounts and updates in their own files.

#[cfg(feature = "cloud")]
pub mod cloudbackups;
#[cfg(feature = "cloud")]
pub mod clouddrives;
#[cfg(feature = "cloud")]
mod configs;
#[cfg(feature = "cloud")]
pub mod folders;
#[cfg(feature = "cloud")]
pub mod objects;
#[cfg(feature = "cloud")]
pub mod shares;
#[cfg(feature = "cloud")]
pub mod updates;

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::agent::{AgentStatus, Ctx};
use crate::directory::users;
use crate::error::{ApiError, ApiResult};
use crate::events::{AppNotification, operation_name};
use crate::http::{HostAction, Response};
use crate::ports::{Mail, Mailer, Ports};

pub async fn agent_status<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    Ok(Response::json(&(cx.agent.status() as u8)))
}

/// `GET /openapi.json` (extension): the OpenAPI document of the routes this build serves.
#[cfg(feature = "openapi")]
pub async fn openapi<P: Ports>(_: &Ctx<'_, P>) -> ApiResult<Response> {
    Ok(Response::json(&crate::openapi::document(env!(
        "CARGO_PKG_VERSION"
    ))))
}

/// `GET /metrics` (extension): the host's Prometheus metrics, for admins. A host that keeps
/// none answers an empty exposition.
#[cfg(feature = "metrics")]
pub async fn metrics<P: Ports>(_: &Ctx<'_, P>) -> ApiResult<Response> {
    let mut r = Response::ok().with_header(
        "content-type",
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    );
    r.body = b"# EOF\n".to_vec();
    r.action = Some(HostAction::Metrics);
    Ok(r)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Command {
    Start,
    Dispose,
    Pause,
    Resume,
    Exit,
}

/// The documented integers, with the names accepted as aliases.
fn parse_command(raw: &str) -> Option<Command> {
    Some(match raw.to_ascii_lowercase().as_str() {
        "0" | "start" => Command::Start,
        "1" | "dispose" => Command::Dispose,
        "2" | "pause" => Command::Pause,
        "4" | "resume" => Command::Resume,
        "8" | "exit" => Command::Exit,
        _ => return None,
    })
}

pub async fn command<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let cmd = parse_command(cx.param("cmd")).ok_or_else(|| {
        ApiError::invalid(
            "'cmd' must be Start (0), Dispose (1), Pause (2), Resume (4) or Exit (8).",
        )
    })?;
    let agent = cx.agent;
    let status = agent.status();
    match cmd {
        Command::Start => {
            let caller = cx.caller()?;
            cx.user()?;
            agent.set_current_user(Some(caller.user_id.clone()));
            agent.set_status(AgentStatus::Started);
        }
        Command::Pause if status == AgentStatus::Started => agent.set_status(AgentStatus::Paused),
        Command::Resume if status == AgentStatus::Paused => agent.set_status(AgentStatus::Started),
        Command::Pause | Command::Resume => {
            return Err(ApiError::invalid(alloc::format!(
                "The agent cannot {} while it is {status:?}.",
                if cmd == Command::Pause {
                    "pause"
                } else {
                    "resume"
                }
            )));
        }
        Command::Dispose => {
            agent.set_current_user(None);
            agent.set_status(AgentStatus::Disposed);
        }
        Command::Exit => return Ok(exit(cx)),
    }
    Ok(Response::ok())
}

/// Stops the agent: `AppExit` to the WebSocket clients, then the host shuts down once the
/// answer is written.
fn exit<P: Ports>(cx: &Ctx<'_, P>) -> Response {
    cx.agent.set_status(AgentStatus::Stopped);
    (cx.agent).raise_app_notification(&AppNotification::for_request(cx.req, "AppExit"));
    let mut r = Response::ok();
    r.action = Some(HostAction::Shutdown);
    r
}

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct NotifyRequest {
    operation: u32,
    #[serde(default)]
    endpoint_address: String,
    #[serde(default)]
    http_method: String,
    /// Spelled as in the documented model.
    #[serde(default)]
    origion: String,
    #[serde(default)]
    data: Option<String>,
}

/// A kept message as the owner reads it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeptMail<'a> {
    to: &'a str,
    subject: &'a str,
    purpose: &'static str,
    token: &'a str,
    body: &'a str,
}

/// The device outbox (an extension): the mail a host without a mail server kept, so that its
/// owner can hand codes and links to their recipients. With a token, admins read the mail of
/// their account's users and other users their own; in compat mode without a token, all of it,
/// like the rest of `/management/*`. Hosts that deliver mail answer 404.
pub async fn outbox<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let kept = cx.ports().mailer().kept().ok_or(ApiError::NoRoute)?;
    let allowed = match &cx.caller {
        None => None,
        Some(_) => {
            let user = cx.user()?;
            Some((user.is_admin(), user))
        }
    };
    let readable = |m: &Mail| -> ApiResult<bool> {
        match &allowed {
            None => Ok(true),
            Some((false, me)) => {
                Ok(m.to.eq_ignore_ascii_case(&me.email) || m.to.eq_ignore_ascii_case(&me.username))
            }
            Some((true, me)) => Ok(users::find_by_username(cx.store(), &m.to)?
                .is_some_and(|u| u.account_id == me.account_id)),
        }
    };
    let mut out = Vec::new();
    for m in &kept {
        if readable(m)? {
            out.push(KeptMail {
                to: &m.to,
                subject: &m.subject,
                purpose: m.purpose.as_str(),
                token: &m.token,
                body: &m.body,
            });
        }
    }
    Ok(Response::json(&out))
}

pub async fn notify<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: NotifyRequest = cx.body()?;
    let operation = operation_name(body.operation).ok_or_else(|| {
        ApiError::invalid("'operation' must be AppExit (1) or EndpointExecution (2).")
    })?;
    cx.agent.raise_app_notification(&AppNotification {
        operation: String::from(operation),
        endpoint_address: body.endpoint_address,
        http_method: body.http_method,
        origin: body.origion,
        data: body.data,
    });
    Ok(Response::ok())
}
