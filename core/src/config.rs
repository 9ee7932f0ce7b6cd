//! Settings the core needs. Adapters fill them from their own configuration files.

use alloc::string::String;
use alloc::vec::Vec;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `/management/*` (but `agent_status`) and the WebSockets need a token.
    Secure,
    /// Exactly the documented behaviour: those are open to any local caller.
    Compat,
}

#[derive(Clone, Debug)]
pub struct CoreConfig {
    pub mode: Mode,
    /// Host names accepted besides `localhost`, `127.0.0.1` and `[::1]`.
    pub allowed_hosts: Vec<String>,
    /// Origins (`scheme://host[:port]`) allowed to make state-changing calls and CORS requests.
    pub allowed_origins: Vec<String>,
    pub token_ttl_secs: u64,
    pub mfa_session_ttl_secs: u64,
    pub mfa_max_attempts: u32,
    pub signup_code_ttl_secs: u64,
    pub signup_code_max_attempts: u32,
    pub reset_token_ttl_secs: u64,
    pub activation_token_ttl_secs: u64,
    pub min_password_len: usize,
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
        }
    }
}
