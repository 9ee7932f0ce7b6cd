//! An account's AccountLogSetting (`accountlogsetting.md`): where its audit events go.

use alloc::format;
use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::ports::{LogDestination, Store};
use crate::store::keys::LOG_SETTINGS;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccountLogSetting {
    pub id: String,
    pub token: String,
    pub server_address: String,
    pub service_port: String,
    pub active: bool,
    pub provider: u32,
}

impl AccountLogSetting {
    /// Where the account's events go, if it forwards them.
    pub fn destination(&self) -> Option<LogDestination> {
        if !self.active {
            return None;
        }
        let address = self.server_address.trim().trim_end_matches('/');
        let base = if address.starts_with("http://") || address.starts_with("https://") {
            String::from(address)
        } else {
            format!("https://{address}")
        };
        Some(LogDestination {
            base_url: format!("{base}:{}", self.service_port.trim()),
            token: self.token.clone(),
        })
    }
}

/// The account's setting, if it has one.
pub fn of_account(store: &impl Store, account_id: &str) -> ApiResult<Option<AccountLogSetting>> {
    LOG_SETTINGS.get(store, account_id)
}
