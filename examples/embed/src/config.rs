//! The app's settings: the keys of click-agent's TOML file that this app has. Any other key
//! (mail, Google, transfers, log, the other limits) is refused by name, so that nothing runs
//! with a setting silently ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::click::{AuthSettings, CoreConfig, Mode, PlanLimits};

/// A configuration file (`--config`). Every key is optional.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// Where the app listens.
    pub listen: Option<SocketAddr>,
    /// Where copies of outgoing mail go (`<data_dir>/outbox/*.eml`); none without it.
    pub data_dir: Option<PathBuf>,
    /// The documented API exactly: `/management/*` and the WebSockets without a token.
    pub compat: bool,
    /// Host names served besides localhost, 127.0.0.1 and [::1].
    pub allowed_hosts: Vec<String>,
    /// Origins that may make state-changing calls, with CORS.
    pub allowed_origins: Vec<String>,
    /// Request and WebSocket limits.
    pub limits: Limits,
    /// Token lifetimes, password length, login backoff.
    pub auth: AuthSettings,
    /// What the account's plan allows.
    pub plan: PlanLimits,
}

/// `[limits]`: the ones this app enforces.
#[derive(Deserialize, Clone, Debug)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
    /// More request headers get 431.
    pub max_headers: usize,
    /// A larger request head gets 431.
    pub max_header_bytes: usize,
    /// Time to send a request's head; also closes idle keep-alive connections.
    pub header_read_timeout_ms: u64,
    /// Time to send a request's body (408 after it).
    pub body_read_timeout_ms: u64,
    /// A WebSocket client this many frames behind is dropped.
    pub ws_queue_frames: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            ws_queue_frames: 256,
        }
    }
}

/// Everything the app needs to start.
pub struct Settings {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// See [`FileConfig::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// The core's settings.
    pub core: CoreConfig,
    /// The app's limits.
    pub limits: Limits,
}

impl Default for Settings {
    fn default() -> Self {
        FileConfig::default().resolve(None, None, false)
    }
}

/// Where the app listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl FileConfig {
    /// Reads a TOML file.
    pub fn load(path: &Path) -> Result<FileConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("invalid config file {}: {e}", path.display()))
    }

    /// The settings, with the command line's values winning over the file's.
    pub fn resolve(
        self,
        listen: Option<SocketAddr>,
        data_dir: Option<PathBuf>,
        compat: bool,
    ) -> Settings {
        let mut core = CoreConfig {
            mode: if compat || self.compat {
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
        Settings {
            listen: listen
                .or(self.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("a valid address")),
            data_dir: data_dir.or(self.data_dir),
            core,
            limits: self.limits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_it_has_and_refuses_the_others_by_name() {
        let file: FileConfig =
            toml::from_str("compat = true\n[auth]\ntoken_ttl_secs = 5\n[plan]\nadmin_users = 2\n")
                .unwrap();
        let settings = file.resolve(None, None, false);
        assert_eq!(settings.core.mode, Mode::Compat);
        assert_eq!(settings.core.token_ttl_secs, 5);
        assert_eq!(settings.core.plan.admin_users, 2);
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);

        let refused = toml::from_str::<FileConfig>("[mail]\nsmtp_host = \"x\"\n");
        assert!(refused.err().unwrap().to_string().contains("mail"));
        let refused = toml::from_str::<FileConfig>("[limits]\nmax_connections = 5\n");
        assert!(
            refused
                .err()
                .unwrap()
                .to_string()
                .contains("max_connections")
        );
    }
}
