//! Audit events: after every state-changing call by a signed-in user, the facts of its
//! `AppNotification` plus who did it and how it ended go to the account's log destination, if
//! it has an active AccountLogSetting. Forwarding is the host's, queued; it never delays a call.

pub mod setting;

use serde::Serialize;

use crate::agent::Agent;
use crate::auth::Caller;
use crate::events::AppNotification;
use crate::http::Request;
use crate::model::User;
use crate::ports::{Clock, LogForwarder, Ports};
use crate::store::keys::USERS;

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

pub fn record<P: Ports>(agent: &Agent<P>, caller: &Caller, req: &Request<'_>, status: u16) {
    let store = agent.ports.store();
    let Ok(Some(setting)) = setting::of_account(store, &caller.account_id) else {
        return;
    };
    let Some(destination) = setting.destination() else {
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
