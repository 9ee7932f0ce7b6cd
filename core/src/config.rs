//! Settings the core needs. Adapters fill them from their own configuration files.

use alloc::string::String;
use alloc::vec::Vec;

/// How strictly the documented open routes are guarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `/management/*` (but `agent_status`) and the WebSockets need a token.
    Secure,
    /// Exactly the documented behaviour: those are open to any local caller.
    Compat,
}

/// Everything the core is configured with. [`Default`] gives the agent's standard settings;
/// hosts change what their own configuration sets.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Secure (the default) or `--compat`.
    pub mode: Mode,
    /// Host names accepted besides `localhost`, `127.0.0.1` and `[::1]`.
    pub allowed_hosts: Vec<String>,
    /// Origins (`scheme://host[:port]`) allowed to make state-changing calls and CORS requests.
    pub allowed_origins: Vec<String>,
    /// How long a session token is good for.
    pub token_ttl_secs: u64,
    /// How long a login waits for its MFA code (`mfa_respond`).
    pub mfa_session_ttl_secs: u64,
    /// Wrong MFA codes after which the login must start over.
    pub mfa_max_attempts: u32,
    /// How long an emailed sign-up code is good for.
    pub signup_code_ttl_secs: u64,
    /// Wrong sign-up codes after which the code is void (a new one must be sent).
    pub signup_code_max_attempts: u32,
    /// How long an emailed password reset token is good for.
    pub reset_token_ttl_secs: u64,
    /// How long an invited user's emailed activation token is good for.
    pub activation_token_ttl_secs: u64,
    /// The shortest password accepted.
    pub min_password_len: usize,
    /// Failed logins of a user before further attempts must wait.
    pub login_free_attempts: u32,
    /// The longest wait between two login attempts after failures.
    pub login_max_backoff_secs: u64,
    /// What the account's plan allows.
    pub plan: PlanLimits,
    /// Local folders that transfers may read from and write to (absolute paths). Empty: none.
    pub file_roots: Vec<String>,
    /// `TransferOptions` of transfers whose request gives none.
    pub transfer_options: TransferOptions,
    /// Where the host keeps files it received for upload (form uploads); empty: none.
    pub staging_dir: String,
    /// Where a VirtualDrive is mounted when its insert names no `localPath`
    /// (`<mount_root>/<drive name>`); empty: every drive must name one.
    pub drive_mount_root: String,
    /// Where drive caches go when an insert asks the agent to choose (`permanentLocalPath`
    /// `$$$` or empty): `<drive_cache_root>/<drive id>`.
    pub drive_cache_root: String,
    /// Days the transfer history (and each drive's) keeps a record.
    pub history_days: u32,
    /// The built-in S3 server's URL (`http://127.0.0.1:29124`); empty: it is off.
    pub storage_endpoint: String,
    /// Bytes each account may keep on the built-in storage; 0: no limit.
    pub storage_quota_bytes: u64,
    /// The built-in storage's regions (its storage locations), as `idrive_regions` lists them.
    pub storage_regions: Vec<StorageRegion>,
    /// Single sign-on.
    pub sso: SsoSettings,
    /// This agent among those sharing its store (a fleet): leases of transfer jobs name it.
    /// Stable across restarts, so a restarted agent goes on with its own jobs at once.
    pub agent_id: String,
}

/// The `[sso]` settings the core uses (hosts may read more keys of that section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoSettings {
    /// Whether a user the identity provider vouches for, unknown here, becomes a standard user
    /// of the configuration's account on their first sign-in (else an admin imports them).
    pub create_users: bool,
    /// How long a sign-in may wait for the provider's answer.
    pub login_ttl_secs: u64,
}

impl Default for SsoSettings {
    fn default() -> Self {
        SsoSettings {
            create_users: true,
            login_ttl_secs: 600,
        }
    }
}

/// A region of the built-in storage: a storage location (a folder, a disk) of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageRegion {
    /// Its code (`regionCode`).
    pub code: String,
    /// Its display name.
    pub name: String,
}

/// The `[auth]` section of a configuration file (the desktop's TOML, a device's JSON).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// [`CoreConfig::token_ttl_secs`].
    pub token_ttl_secs: u64,
    /// [`CoreConfig::mfa_session_ttl_secs`].
    pub mfa_session_ttl_secs: u64,
    /// [`CoreConfig::min_password_len`].
    pub min_password_len: usize,
    /// Failed logins of a user before further attempts must wait (1 s, doubling).
    pub login_free_attempts: u32,
    /// [`CoreConfig::login_max_backoff_secs`].
    pub login_max_backoff_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        let core = CoreConfig::default();
        AuthSettings {
            token_ttl_secs: core.token_ttl_secs,
            mfa_session_ttl_secs: core.mfa_session_ttl_secs,
            min_password_len: core.min_password_len,
            login_free_attempts: core.login_free_attempts,
            login_max_backoff_secs: core.login_max_backoff_secs,
        }
    }
}

impl AuthSettings {
    /// Sets these settings in `core`.
    pub fn apply(&self, core: &mut CoreConfig) {
        core.token_ttl_secs = self.token_ttl_secs;
        core.mfa_session_ttl_secs = self.mfa_session_ttl_secs;
        core.min_password_len = self.min_password_len;
        core.login_free_attempts = self.login_free_attempts;
        core.login_max_backoff_secs = self.login_max_backoff_secs;
    }
}

/// How a transfer moves its bytes (`TransferOptions` in the docs' reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct TransferOptions {
    /// Bytes per part of a multipart upload or per ranged read of a download.
    pub chunk_size: u64,
    /// Attempts after the first one failed, with exponential backoff.
    pub retry_count: u32,
    /// Parts or ranges of one file in flight at once.
    pub concurrent_chunks: u32,
    /// Files of one transfer in flight at once.
    pub concurrent_files: u32,
}

impl Default for TransferOptions {
    /// The agent's standard profile (`management.md`): 5 MB chunks, 5 retries, 5 concurrent
    /// chunks and files.
    fn default() -> Self {
        TransferOptions {
            chunk_size: 5 * 1024 * 1024,
            retry_count: 5,
            concurrent_chunks: 5,
            concurrent_files: 5,
        }
    }
}

/// What the account's plan allows; `package_inquiry` reports what is left. Hosts read it from
/// their configuration (`[plan]` in click-agent's TOML).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanLimits {
    /// `DesktopAdmin` users an account may have (enforced, as are the next two).
    pub admin_users: u64,
    /// `DesktopCreativeUser`s an account may have.
    pub creative_users: u64,
    /// `DesktopStandardUser`s an account may have.
    pub standard_users: u64,
    /// Storage, in GB (this and the rest are reported, not enforced).
    pub storage_gb: u64,
    /// Cloud accounts (connections).
    pub connections: u64,
    /// Projects.
    pub projects: u64,
    /// User groups (teams).
    pub teams: u64,
    /// Shared cloud drives.
    pub drives: u64,
    /// Syncs.
    pub syncs: u64,
    /// Whether audit logs (AccountLogSetting) are included.
    pub logs: bool,
    /// Whether single sign-on is included.
    pub sso: bool,
}

impl Default for PlanLimits {
    fn default() -> Self {
        PlanLimits {
            admin_users: 100,
            creative_users: 1_000,
            standard_users: 100_000,
            storage_gb: 1_000_000,
            connections: 1_000,
            projects: 10_000,
            teams: 10_000,
            drives: 1_000,
            syncs: 1_000,
            logs: true,
            sso: false,
        }
    }
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            mode: Mode::Secure,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            token_ttl_secs: 24 * 3600,
            mfa_session_ttl_secs: 180,
            mfa_max_attempts: 3,
            signup_code_ttl_secs: 24 * 3600,
            signup_code_max_attempts: 5,
            reset_token_ttl_secs: 3600,
            activation_token_ttl_secs: 7 * 24 * 3600,
            min_password_len: 8,
            login_free_attempts: 5,
            login_max_backoff_secs: 900,
            plan: PlanLimits::default(),
            file_roots: Vec::new(),
            transfer_options: TransferOptions::default(),
            staging_dir: String::new(),
            drive_mount_root: String::new(),
            drive_cache_root: String::new(),
            history_days: 90,
            storage_endpoint: String::new(),
            storage_quota_bytes: 0,
            storage_regions: Vec::new(),
            sso: SsoSettings::default(),
            agent_id: String::new(),
        }
    }
}
