//! `click-agent` settings: embedded defaults, then the TOML file, then the command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use click_core::config::AuthSettings;
use click_core::{CoreConfig, Mode};
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:29123";

/// The TOML configuration file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub compat: Option<bool>,
    /// Host names served besides localhost, 127.0.0.1 and [::1].
    pub allowed_hosts: Vec<String>,
    /// Origins allowed to make state-changing calls, open WebSockets and use CORS.
    pub allowed_origins: Vec<String>,
    pub limits: Limits,
    pub auth: AuthSettings,
    pub mail: MailSettings,
    pub google: GoogleSettings,
    pub log: LogSettings,
    pub transfers: TransferSettings,
    pub drives: DriveSettings,
    pub storage: StorageSettings,
    pub sso: SsoSettings,
    pub update: UpdateSettings,
    pub oauth: OAuthSettings,
    pub shares: ShareSettings,
    pub metrics: MetricsSettings,
    pub store: StoreSettings,
    /// What each account's plan allows (`/user/package_inquiry` reports what is left).
    pub plan: click_core::config::PlanLimits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_headers: usize,
    pub max_header_bytes: usize,
    /// A client must send a request's headers within this time, on a new connection and
    /// between keep-alive requests.
    pub header_read_timeout_ms: u64,
    pub body_read_timeout_ms: u64,
    pub max_connections: usize,
    /// Frames queued for one WebSocket client before it is dropped as too slow.
    pub ws_queue_frames: usize,
    pub shutdown_grace_ms: u64,
    /// Rows kept in the store's read cache (sessions, users, accounts).
    pub store_cache_entries: usize,
    /// Audit events waiting for the log collector; beyond this they are dropped.
    pub log_queue_events: usize,
    /// The largest `upload_object_from_form` body, streamed to disk (not `max_body_bytes`).
    pub max_form_upload_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            max_connections: 1024,
            ws_queue_frames: 256,
            shutdown_grace_ms: 10_000,
            store_cache_entries: 4096,
            log_queue_events: 10_000,
            max_form_upload_bytes: 64 << 30,
        }
    }
}

/// `[oauth.<provider>]`: the apps the agent is registered as at the providers connected over
/// OAuth.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthSettings {
    pub dropbox: OAuthApp,
    #[serde(rename = "box")]
    pub r#box: OAuthApp,
    pub onedrive: OAuthApp,
    pub googledrive: OAuthApp,
}

/// One provider's app; empty URLs are the provider's own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub api_url: String,
    /// Where the provider takes and serves file bytes apart from its API (Dropbox's content
    /// host, Box's upload host).
    pub content_url: String,
}

/// `[update]`: signed releases of the agent (`/management/check_update`, `/management/update`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateSettings {
    /// The release feed: an https:// URL (http:// on loopback), or a local file. Empty: none.
    pub feed_url: String,
    /// The release key's public half (base64 ed25519); the built-in key by default.
    pub public_key: String,
    /// The largest release downloaded, in MiB.
    pub max_mb: u64,
    /// The longest a download may take, in seconds.
    pub timeout_secs: u64,
}

impl Default for UpdateSettings {
    fn default() -> Self {
        UpdateSettings {
            feed_url: String::new(),
            public_key: crate::update::RELEASE_KEY.into(),
            max_mb: 512,
            timeout_secs: 600,
        }
    }
}

/// `[shares]`: SMB and NFS shares mounted by the agent (`/management/smbclient`, `/nfsclient`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShareSettings {
    /// How long one call to a share's server may take, in seconds, before the file operation
    /// waiting on it fails (ETIMEDOUT) instead of hanging.
    pub timeout_secs: u64,
    /// How often an active share that is not mounted (its server was down) is tried again.
    pub retry_secs: u64,
}

impl Default for ShareSettings {
    fn default() -> Self {
        ShareSettings {
            timeout_secs: 15,
            retry_secs: 30,
        }
    }
}

/// `[metrics]`: Prometheus metrics (`GET /metrics` takes an admin's token).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Where to serve `GET /metrics` without a token, for a Prometheus server; empty: nowhere.
    /// Anyone who reaches this address reads the metrics (route names and counts, never
    /// request contents): keep it on loopback or a management network.
    pub listen: Option<SocketAddr>,
}

/// `[store]`: where the agent keeps its state. By default an embedded redb file in the data
/// directory; with `url`, a PostgreSQL database that several agents (a fleet) share.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// `postgres://user:password@host:port/database` (or `host=/run/postgresql dbname=click`);
    /// empty: the embedded file.
    pub url: String,
    /// Connections each agent keeps to the database.
    pub pool_size: usize,
    /// Where the agent's keys are read (signing, secrets, drives); the data directory by
    /// default. The agents of a fleet share one copy of these files.
    pub keys_dir: Option<PathBuf>,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            url: String::new(),
            pool_size: 8,
            keys_dir: None,
        }
    }
}

/// `[sso]`: single sign-on through the accounts' identity providers.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsoSettings {
    /// A user the provider vouches for, unknown here, becomes a standard user of the
    /// configuration's account on their first sign-in; else an admin imports them first.
    pub create_users: bool,
    /// How long a sign-in may wait for the provider's answer.
    pub login_ttl_secs: u64,
    /// Microsoft Graph, where an Entra ID import reads the directory.
    pub graph_url: String,
    /// The longest one call to an identity provider may take.
    pub timeout_secs: u64,
}

impl Default for SsoSettings {
    fn default() -> Self {
        let core = click_core::config::SsoSettings::default();
        SsoSettings {
            create_users: core.create_users,
            login_ttl_secs: core.login_ttl_secs,
            graph_url: "https://graph.microsoft.com".into(),
            timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// SMTP relay; when unset, mail goes to `<data-dir>/outbox/` as `.eml` files.
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    pub from: String,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_host: None,
            smtp_port: 25,
            smtp_username: None,
            smtp_password: None,
            from: "click agent <click@localhost>".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GoogleSettings {
    /// OAuth client ids accepted as the ID token's audience. Empty: Google sign-in is off.
    pub client_ids: Vec<String>,
    /// A JWKS document with Google's signing keys; wins over `jwks_url`.
    pub jwks_file: Option<PathBuf>,
    /// Where to fetch the JWKS from (https, or http to a loopback host); Google's own when
    /// neither this nor `jwks_file` is set.
    pub jwks_url: Option<String>,
    /// Least time between two fetches of `jwks_url` caused by unknown key ids.
    pub jwks_min_refetch_secs: u64,
    pub issuers: Vec<String>,
}

impl Default for GoogleSettings {
    fn default() -> Self {
        GoogleSettings {
            client_ids: Vec::new(),
            jwks_file: None,
            jwks_url: None,
            jwks_min_refetch_secs: 60,
            issuers: vec![
                "accounts.google.com".into(),
                "https://accounts.google.com".into(),
            ],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `click_tokio=debug`; `RUST_LOG` wins.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: "info".into(),
        }
    }
}

/// `[transfers]`: where uploads and downloads may touch local files, and how they move bytes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransferSettings {
    /// Local folders transfers may read and write; default the home and temp directories.
    pub roots: Option<Vec<PathBuf>>,
    /// Default `TransferOptions`: bytes per part or range, retries, parallel parts and files.
    pub chunk_size: u64,
    pub retry_count: u32,
    pub concurrent_chunks: u32,
    pub concurrent_files: u32,
    /// Part buffers of all transfers together stay under this.
    pub memory_mb: u32,
    /// How often a running transfer reports progress (and records it for a resume).
    pub progress_interval_ms: u64,
    /// Days the transfer history keeps a record (drives' and backups' histories too); at
    /// least 1.
    pub history_days: u32,
    /// How long a job's lease lasts without renewal, in seconds: when agents share a store,
    /// another agent takes over a dead agent's cloud-to-cloud transfers this long after its
    /// last renewal (renewed every third of it).
    pub lease_secs: u64,
}

impl Default for TransferSettings {
    fn default() -> Self {
        let o = click_core::config::TransferOptions::default();
        TransferSettings {
            roots: None,
            chunk_size: o.chunk_size,
            retry_count: o.retry_count,
            // Transfers are bound by round trips more than by bandwidth: more parts and files
            // in flight than the documented backup profile (5 and 5) pay off (BENCHMARKS.md);
            // part buffers stay under `memory_mb` whatever these say.
            concurrent_chunks: 8,
            concurrent_files: 10,
            memory_mb: 64,
            progress_interval_ms: 500,
            history_days: click_core::CoreConfig::default().history_days,
            lease_secs: 15,
        }
    }
}

impl TransferSettings {
    pub fn roots(&self) -> Vec<PathBuf> {
        match &self.roots {
            Some(r) => r.clone(),
            None => dirs::home_dir()
                .into_iter()
                .chain(std::iter::once(std::env::temp_dir()))
                .collect(),
        }
    }
}

/// `[drives]`: where cloud drives are mounted and cached when their insert leaves it to the
/// agent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriveSettings {
    /// A VirtualDrive without a `localPath` is mounted at `<mount_root>/<drive name>`;
    /// default `<data-dir>/drives`.
    pub mount_root: Option<PathBuf>,
    /// `permanentLocalPath` `$$$` puts a drive's cache at `<cache_root>/<drive id>`; default
    /// `<data-dir>/cache`.
    pub cache_root: Option<PathBuf>,
}

/// `[storage]`: the built-in S3 server, off until `listen` is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// Where the S3 server listens (`127.0.0.1:29124`, say); none: no server.
    pub listen: Option<SocketAddr>,
    /// Where objects are kept; default `<data-dir>/storage`.
    pub root: Option<PathBuf>,
    /// Bytes each account may keep there; 0 (the default): no limit.
    pub quota_bytes: u64,
    /// Its regions (storage locations); none: one, `local`, in `root`.
    pub regions: Vec<RegionSettings>,
}

/// `[[storage.regions]]`: a storage location of the built-in storage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSettings {
    /// Its code (`regionCode`).
    pub code: String,
    /// Its display name; default the code.
    #[serde(default)]
    pub name: String,
    /// Its folder; default `<root>/regions/<code>`.
    #[serde(default)]
    pub root: Option<PathBuf>,
}

/// The built-in storage as it runs: where it listens and keeps its files.
#[derive(Debug, Clone)]
pub struct Storage {
    pub listen: SocketAddr,
    pub root: PathBuf,
    /// Each region's code and folder.
    pub regions: Vec<(String, PathBuf)>,
}

/// Everything the agent runs with, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub core: CoreConfig,
    pub limits: Limits,
    pub mail: MailSettings,
    pub google: GoogleSettings,
    pub sso: SsoSettings,
    pub update: UpdateSettings,
    pub oauth: OAuthSettings,
    pub shares: ShareSettings,
    pub metrics: MetricsSettings,
    pub store: StoreSettings,
    pub log: LogSettings,
    pub transfers: TransferSettings,
    /// The built-in S3 server, when configured.
    pub storage: Option<Storage>,
}

/// Command-line values, which win over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub compat: bool,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("invalid config file {}: {e}", path.display()))
    }

    pub fn resolve(self, cli: Overrides) -> Result<Settings, String> {
        let listen = cli
            .listen
            .or(self.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default address"));
        let data_dir = match cli.data_dir.or(self.data_dir) {
            Some(d) => d,
            None => default_data_dir()?,
        };
        let compat = cli.compat || self.compat.unwrap_or(false);
        let mut core = CoreConfig {
            mode: if compat { Mode::Compat } else { Mode::Secure },
            allowed_hosts: self.allowed_hosts,
            allowed_origins: self.allowed_origins,
            plan: self.plan,
            file_roots: self
                .transfers
                .roots()
                .iter()
                .map(|r| r.display().to_string())
                .collect(),
            transfer_options: click_core::config::TransferOptions {
                chunk_size: self.transfers.chunk_size,
                retry_count: self.transfers.retry_count,
                concurrent_chunks: self.transfers.concurrent_chunks.max(1),
                concurrent_files: self.transfers.concurrent_files.max(1),
            },
            staging_dir: absolute(&data_dir.join(crate::data_dir::STAGING_DIR))?,
            drive_mount_root: absolute(
                &self
                    .drives
                    .mount_root
                    .unwrap_or_else(|| data_dir.join("drives")),
            )?,
            drive_cache_root: absolute(
                &self
                    .drives
                    .cache_root
                    .unwrap_or_else(|| data_dir.join("cache")),
            )?,
            history_days: self.transfers.history_days.max(1),
            ..CoreConfig::default()
        };
        self.auth.apply(&mut core);
        core.sso = click_core::config::SsoSettings {
            create_users: self.sso.create_users,
            login_ttl_secs: self.sso.login_ttl_secs.max(1),
        };
        if let Some(listen) = self.storage.listen {
            if listen.port() == 0 {
                return Err("[storage] listen must name a port: clients are given its URL".into());
            }
            core.storage_endpoint = format!("http://{listen}");
            core.storage_quota_bytes = self.storage.quota_bytes;
        }
        let root = (self.storage.root.clone()).unwrap_or_else(|| data_dir.join("storage"));
        let regions: Vec<RegionSettings> = match self.storage.regions.is_empty() {
            true => vec![RegionSettings {
                code: "local".into(),
                name: "This agent".into(),
                root: Some(root.clone()),
            }],
            false => self.storage.regions.clone(),
        };
        for r in &regions {
            let name = if r.name.is_empty() { &r.code } else { &r.name };
            core.storage_regions
                .push(click_core::config::StorageRegion {
                    code: r.code.clone(),
                    name: name.clone(),
                });
        }
        let storage = self.storage.listen.map(|listen| Storage {
            listen,
            regions: (regions.iter())
                .map(|r| {
                    let folder = r.root.clone();
                    (
                        r.code.clone(),
                        folder.unwrap_or_else(|| root.join("regions").join(&r.code)),
                    )
                })
                .collect(),
            root,
        });
        Ok(Settings {
            listen,
            data_dir,
            core,
            limits: self.limits,
            mail: self.mail,
            google: self.google,
            sso: self.sso,
            update: self.update,
            oauth: self.oauth,
            shares: self.shares,
            metrics: self.metrics,
            store: self.store,
            log: self.log,
            transfers: self.transfers,
            storage,
        })
    }
}

fn absolute(path: &Path) -> Result<String, String> {
    std::path::absolute(path)
        .map(|p| p.display().to_string())
        .map_err(|e| format!("cannot resolve {}: {e}", path.display()))
}

/// The platform's data directory: `$XDG_DATA_HOME/click` (Linux), `~/Library/Application
/// Support/click` (macOS), `%APPDATA%\click` (Windows).
pub fn default_data_dir() -> Result<PathBuf, String> {
    dirs::data_dir()
        .map(|d| d.join("click"))
        .ok_or_else(|| "no platform data directory; pass --data-dir".to_string())
}
