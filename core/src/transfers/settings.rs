//! FastrSettings (`fastr_settings.md`): per user and cloud account, the bandwidth caps,
//! checksum verification and collision rule that every transfer of that user through that
//! cloud account follows. One record per (user, cloud account).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ports::Store;
use crate::store::keys::{FASTR_SETTINGS, FASTR_SETTINGS_BY_CLOUD, FASTR_SETTINGS_BY_OWNER};
use crate::store::table::indexed_rows;
use crate::store::{Batch, scan_all};

/// What a transfer does when its destination already holds the object (`FileExistsAction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u32", try_from = "u32")]
pub enum FileExistsAction {
    /// Replace it (0).
    #[default]
    Overwrite,
    /// Leave it when it holds the same content (1).
    SkipIfSame,
    /// Write the new one under a name that takes nothing (2).
    KeepBoth,
}

impl From<FileExistsAction> for u32 {
    fn from(a: FileExistsAction) -> u32 {
        match a {
            FileExistsAction::Overwrite => 0,
            FileExistsAction::SkipIfSame => 1,
            FileExistsAction::KeepBoth => 2,
        }
    }
}

impl TryFrom<u32> for FileExistsAction {
    type Error = &'static str;
    fn try_from(n: u32) -> Result<FileExistsAction, &'static str> {
        match n {
            0 => Ok(FileExistsAction::Overwrite),
            1 => Ok(FileExistsAction::SkipIfSame),
            2 => Ok(FileExistsAction::KeepBoth),
            _ => Err("'FileExistsAction' must be 0 (Overwrite), 1 (SkipIfSame) or 2 (KeepBoth)."),
        }
    }
}

/// A stored record (the `fastrsettings/` table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FastrSettings {
    /// Its id.
    pub id: String,
    /// The account of its user.
    pub account_id: String,
    /// The user whose transfers it governs.
    pub user_id: String,
    /// The cloud account those transfers use.
    pub cloud_account_id: String,
    /// Upload cap in bytes per second; 0 is none.
    pub max_upload_bytes_per_second: u64,
    /// Download cap in bytes per second; 0 is none.
    pub max_download_bytes_per_second: u64,
    /// Cloud-to-cloud cap in bytes per second; 0 is none.
    pub max_server_to_server_bytes_per_second: u64,
    /// Whether each object's checksum is compared after it moves.
    pub verify_checksum: bool,
    /// What happens to an object the destination already holds.
    pub file_exists_action: FileExistsAction,
    /// An inactive record is kept but not applied.
    pub active: bool,
}

impl FastrSettings {
    fn owner_key(&self) -> String {
        owner_key(&self.account_id, &self.user_id, &self.cloud_account_id)
    }

    fn cloud_key(&self) -> String {
        format!("{}/{}", self.cloud_account_id, self.id)
    }
}

fn owner_key(account_id: &str, user_id: &str, cloud_account_id: &str) -> String {
    format!("{account_id}/{user_id}/{cloud_account_id}")
}

/// Record `id`, if it is in account `account_id`.
pub fn in_account(store: &impl Store, account_id: &str, id: &str) -> ApiResult<FastrSettings> {
    FASTR_SETTINGS
        .get::<FastrSettings>(store, id.trim())?
        .filter(|s| s.account_id == account_id)
        .ok_or_else(|| ApiError::not_found("The FastrSettings record"))
}

/// A user's records, by cloud account id.
pub fn of_user(
    store: &impl Store,
    account_id: &str,
    user_id: &str,
) -> ApiResult<Vec<FastrSettings>> {
    let prefix = FASTR_SETTINGS_BY_OWNER.key(&format!("{account_id}/{user_id}/"));
    let mut out = Vec::new();
    scan_all(store, &prefix, false, |_, id| {
        let id = core::str::from_utf8(id).unwrap_or("");
        out.extend(FASTR_SETTINGS.get::<FastrSettings>(store, id)?);
        Ok(true)
    })?;
    Ok(out)
}

/// The user's record for the cloud account, active or not.
pub fn for_pair(
    store: &impl Store,
    account_id: &str,
    user_id: &str,
    cloud_account_id: &str,
) -> ApiResult<Option<FastrSettings>> {
    let key = owner_key(account_id, user_id, cloud_account_id.trim());
    match FASTR_SETTINGS_BY_OWNER.get_str(store, &key)? {
        Some(id) => FASTR_SETTINGS.get(store, &id),
        None => Ok(None),
    }
}

/// What a transfer of the user through the cloud account follows: the active record, if any.
pub fn effective(
    store: &impl Store,
    account_id: &str,
    user_id: &str,
    cloud_account_id: &str,
) -> ApiResult<Option<FastrSettings>> {
    Ok(for_pair(store, account_id, user_id, cloud_account_id)?.filter(|s| s.active))
}

/// Writes `row` in `batch`, which then fails if another record took its (user, cloud account)
/// pair meanwhile.
pub fn put(batch: &mut Batch, row: &FastrSettings) {
    batch.require_value(FASTR_SETTINGS_BY_OWNER.key(&row.owner_key()), None);
    put_again(batch, row);
}

/// Rewrites `row`, which exists already (with the same pair): it must still.
pub fn replace(batch: &mut Batch, row: &FastrSettings) {
    let owner = FASTR_SETTINGS_BY_OWNER.key(&row.owner_key());
    batch.require_value(owner, Some(row.id.as_bytes().to_vec()));
    put_again(batch, row);
}

fn put_again(batch: &mut Batch, row: &FastrSettings) {
    FASTR_SETTINGS.put(batch, &row.id, row);
    FASTR_SETTINGS_BY_OWNER.put_str(batch, &row.owner_key(), &row.id);
    FASTR_SETTINGS_BY_CLOUD.put_str(batch, &row.cloud_key(), "");
}

/// Removes `row` in `batch`, which then fails if it was removed meanwhile.
pub fn delete(batch: &mut Batch, row: &FastrSettings) {
    batch.require_present(FASTR_SETTINGS.key(&row.id));
    FASTR_SETTINGS.delete(batch, &row.id);
    FASTR_SETTINGS_BY_OWNER.delete(batch, &row.owner_key());
    FASTR_SETTINGS_BY_CLOUD.delete(batch, &row.cloud_key());
}

/// Removes, in `batch`, every record of cloud account `cloud_account_id` (being deleted).
pub fn forget_cloud_account(
    store: &impl Store,
    cloud_account_id: &str,
    batch: &mut Batch,
) -> ApiResult<()> {
    let prefix = FASTR_SETTINGS_BY_CLOUD.key(&format!("{cloud_account_id}/"));
    let rows: Vec<FastrSettings> = indexed_rows(store, &prefix, FASTR_SETTINGS)?;
    for row in &rows {
        delete(batch, row);
    }
    Ok(())
}
