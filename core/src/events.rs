//! Events pushed to WebSocket clients, serialized once in the documented PascalCase frames.

use alloc::format;
use alloc::string::String;
use serde::Serialize;

use crate::http::Request;

/// The two WebSocket endpoints; every event goes to the clients of one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// `/notification`: `{"Type":..,"Data":..}` envelopes.
    Notification,
    /// `/statechange`: `StateChangeModel` frames.
    StateChange,
}

/// One numbered, serialized frame.
#[derive(Clone, Debug)]
pub struct Event {
    /// Monotonic per agent run; lets a host detect a gap after a client was dropped.
    pub seq: u64,
    /// Whose clients get it.
    pub channel: Channel,
    /// The JSON text frame.
    pub frame: String,
}

/// `NotificationType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum NotificationType {
    /// A transfer's progress (the payload is built by [`crate::transfers::progress_frame`]).
    Progress = 1,
    /// A message for people, raised by the agent.
    UserNotification = 2,
    /// A call to the agent, or a message given to `/management/notify` ([`AppNotification`]).
    AppNotification = 4,
    /// The auto-updater's progress.
    AppUpdateProgress = 8,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "Type")]
    kind: u8,
    data: &'a T,
}

/// A `/notification` frame: `{"Type": kind, "Data": data}`, ready for [`crate::Agent::raise`].
pub fn notification_frame<T: Serialize>(kind: NotificationType, data: &T) -> String {
    serde_json::to_string(&Envelope {
        kind: kind as u8,
        data,
    })
    .unwrap_or_default()
}

/// `AppNotification` payload (Type 4).
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct AppNotification {
    /// `AppExit` or `EndpointExecution`.
    pub operation: String,
    /// The URL that was called.
    pub endpoint_address: String,
    /// Its method (`POST`, ...).
    pub http_method: String,
    /// The caller's `X-App-Origin` header (empty without one).
    pub origin: String,
    /// Payload given to `/management/notify`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl AppNotification {
    /// Describes a call to this agent: where it went, how, and the caller's `X-App-Origin`.
    pub fn for_request(req: &Request<'_>, operation: &str) -> AppNotification {
        let host = req.header_str("host").unwrap_or("localhost");
        AppNotification {
            operation: String::from(operation),
            endpoint_address: format!("http://{host}{}", req.path),
            http_method: String::from(req.method.as_str()),
            origin: String::from(req.header_str("x-app-origin").unwrap_or("")),
            data: None,
        }
    }
}

/// `NotificationOperation` of `/management/notify`.
pub(crate) fn operation_name(op: u32) -> Option<&'static str> {
    match op {
        1 => Some("AppExit"),
        2 => Some("EndpointExecution"),
        _ => None,
    }
}

/// `StateChangeModel` frame of `/statechange`.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct StateChange {
    /// The local file or folder whose state changed.
    pub path: String,
    /// The name of the storage it is tracked in.
    pub storage_name: String,
    /// `FileState` flag value.
    pub state: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_notification_frame_has_documented_names() {
        let f = notification_frame(
            NotificationType::AppNotification,
            &AppNotification {
                operation: "EndpointExecution".into(),
                endpoint_address: "http://localhost:29123/authentication/login".into(),
                http_method: "POST".into(),
                origin: "".into(),
                data: None,
            },
        );
        let v: serde_json::Value = serde_json::from_str(&f).unwrap();
        assert_eq!(v["Type"], 4);
        for k in ["Operation", "EndpointAddress", "HttpMethod", "Origin"] {
            assert!(v["Data"].get(k).is_some(), "{k} in {f}");
        }
    }
}
