//! A device's configuration: the part of click-agent's configuration file a device has, as
//! JSON (a device has no TOML parser; the keys and sections are the desktop's). Keys a device
//! cannot honour (mail, Google, transfers, queue sizes fixed at build time) are refused by
//! name rather than ignored.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use click_core::config::{AuthSettings, PlanLimits};
use click_core::{CoreConfig, Mode};
use serde::Deserialize;

use crate::http::ReadLimits;

/// A device's configuration file, as JSON; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// Exactly the documented auth behaviour (click-agent's `--compat`).
    pub compat: bool,
    /// Host names served besides `localhost`, `127.0.0.1` and `[::1]`.
    pub allowed_hosts: Vec<String>,
    /// Origins allowed to make state-changing calls, open WebSockets and use CORS.
    pub allowed_origins: Vec<String>,
    /// `auth`: token lifetimes, password length, login backoff.
    pub auth: AuthSettings,
    /// `plan`: what the account's plan allows.
    pub plan: PlanLimits,
    /// `limits`: read deadlines.
    pub limits: DeviceLimits,
}

/// `[limits]`: the read deadlines (buffers and queues are sized when the firmware is built).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceLimits {
    /// [`ReadLimits::header_read_timeout_ms`].
    pub header_read_timeout_ms: u64,
    /// [`ReadLimits::body_read_timeout_ms`].
    pub body_read_timeout_ms: u64,
}

impl Default for DeviceLimits {
    /// The desktop's defaults.
    fn default() -> Self {
        DeviceLimits {
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
        }
    }
}

impl DeviceConfig {
    /// Parses the file; unknown keys are refused by name.
    pub fn from_json(bytes: &[u8]) -> Result<DeviceConfig, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("invalid device configuration: {e}"))
    }

    /// The core's settings and the connections' read deadlines.
    pub fn resolve(self) -> (CoreConfig, ReadLimits) {
        let mut core = CoreConfig {
            mode: if self.compat {
                Mode::Compat
            } else {
                Mode::Secure
            },
            allowed_hosts: self.allowed_hosts,
            allowed_origins: self.allowed_origins,
            plan: self.plan,
            ..CoreConfig::default()
        };
        self.auth.apply(&mut core);
        let limits = ReadLimits {
            header_read_timeout_ms: self.limits.header_read_timeout_ms,
            body_read_timeout_ms: self.limits.body_read_timeout_ms,
        };
        (core, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_apply_and_unknown_keys_are_named() {
        let (core, limits) = DeviceConfig::from_json(
            br#"{"compat": true, "allowed_origins": ["http://ui"], "auth": {"token_ttl_secs": 5},
                 "limits": {"header_read_timeout_ms": 700}}"#,
        )
        .unwrap()
        .resolve();
        assert_eq!(core.mode, Mode::Compat);
        assert_eq!(core.allowed_origins, ["http://ui"]);
        assert_eq!(core.token_ttl_secs, 5);
        assert_eq!(
            core.min_password_len,
            CoreConfig::default().min_password_len
        );
        assert_eq!(limits.header_read_timeout_ms, 700);
        assert_eq!(limits.body_read_timeout_ms, 30_000);
        let err = DeviceConfig::from_json(br#"{"limits": {"ws_queue_frames": 4}}"#).unwrap_err();
        assert!(err.contains("ws_queue_frames"), "{err}");
        let err = DeviceConfig::from_json(br#"{"mail": {}}"#).unwrap_err();
        assert!(err.contains("mail"), "{err}");
    }
}
