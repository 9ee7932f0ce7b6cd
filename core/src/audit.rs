//! Audit events: after every state-changing call by a signed-in user, the facts of its
//! `AppNotification` plus who did it and how it ended go to the account's log destination, if
//! it has an active AccountLogSetting. Forwarding is the host's, queued; it never delays a call.

use alloc::format;
use alloc::string::String;
use serde::Serialize;

use crate::agent::Agent;
use crate::auth::Caller;
use crate::controllers::accountlogsetting::{self, AccountLogSetting};
use crate::events::AppNotification;
use crate::http::Request;
use crate::model::User;
use crate::model::tables::USERS;
use crate::ports::{Clock, LogDestination, LogForwarder, Ports};

/// One Splunk HTTP Event Collector event.
#[derive(Serialize)]
struct HecEvent<'a> {
    /// Seconds since the epoch, with milliseconds.
    time: f64,
    host: &'a str,
    source: &'a str,
    sourcetype: &'a str,
    event: AuditEvent<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AuditEvent<'a> {
    #[serde(flatten)]
    call: AppNotification,
    status: u16,
    user_id: &'a str,
    username: &'a str,
    account_id: &'a str,
}

/// Where the account's events go, if it forwards them.
pub fn destination(setting: &AccountLogSetting) -> Option<LogDestination> {
    if !setting.active {
        return None;
    }
    let address = setting.server_address.trim().trim_end_matches('/');
    let base = if address.starts_with("http://") || address.starts_with("https://") {
        String::from(address)
    } else {
        format!("https://{address}")
    };
    Some(LogDestination {
        base_url: format!("{base}:{}", setting.service_port.trim()),
        token: setting.token.clone(),
    })
}

pub fn record<P: Ports>(agent: &Agent<P>, caller: &Caller, req: &Request<'_>, status: u16) {
    let store = agent.ports.store();
    let Ok(Some(setting)) =
        accountlogsetting::SETTINGS.get::<AccountLogSetting>(store, &caller.account_id)
    else {
        return;
    };
    let Some(destination) = destination(&setting) else {
        return;
    };
    let user: Option<User> = USERS.get(store, &caller.user_id).ok().flatten();
    let now_ms = agent.ports.clock().now_ms();
    let event = HecEvent {
        time: now_ms as f64 / 1000.0,
        host: "click-agent",
        source: "click-agent",
        sourcetype: "_json",
        event: AuditEvent {
            call: AppNotification::for_request(req, "EndpointExecution"),
            status,
            user_id: &caller.user_id,
            username: user.as_ref().map_or("", |u| u.username.as_str()),
            account_id: &caller.account_id,
        },
    };
    if let Ok(json) = serde_json::to_string(&event) {
        agent.ports.logs().forward(&destination, json);
    }
}
