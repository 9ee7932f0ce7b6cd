//! A cloud backup (`CloudBackupModel` of `management.md`): a local folder uploaded one way to
//! a bucket or prefix. It is stored as a [`CloudDrive`] in a table of its own
//! ([`super::drive::BACKUPS`]) whose folder is synced upload-only ([`Mode::UploadOnly`]:
//! local changes go up, the folder is never changed, nothing is deleted in the bucket), and
//! it is shown in the documented backup shape ([`BackupView`]).

use alloc::string::String;
use serde::Serialize;

use super::drive::{self, CloudDrive, DriveAccount, LOCAL_PATH, READ_WRITE};
use super::planner::Mode;
use crate::config::TransferOptions;

/// A backup with the documented defaults, before its input is applied: a LocalPath drive
/// that deletes nothing in the bucket.
pub fn new_backup(
    id: String,
    owner_account_id: &str,
    owner_user_id: &str,
    now_ms: u64,
) -> CloudDrive {
    let mut b = drive::new_drive(id, owner_account_id, owner_user_id, now_ms);
    b.drive_type = LOCAL_PATH;
    b.allow_delete = false;
    b.permission_type = READ_WRITE;
    b
}

/// Which way a stored configuration syncs: a backup only uploads.
pub fn mode(is_backup: bool) -> Mode {
    if is_backup {
        Mode::UploadOnly
    } else {
        Mode::TwoWay
    }
}

/// `CloudBackupModel`, as the documentation shows it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BackupView<'a> {
    id: &'a str,
    active: bool,
    name: &'a str,
    local_path: &'a str,
    prefix: &'a str,
    /// The documented field; this agent names buckets by `storageName` only.
    storage_id: &'static str,
    storage_name: &'a str,
    sync_interval_seconds: u32,
    maximum_cache_size: u64,
    local_cache_encrypted: bool,
    cloud_objects_encrypted: bool,
    keep_file_after_upload: bool,
    shared_drive: bool,
    rotational_cache: bool,
    permission_type: u8,
    transfer_options: &'a TransferOptions,
    account: &'a DriveAccount,
}

impl<'a> From<&'a CloudDrive> for BackupView<'a> {
    fn from(b: &'a CloudDrive) -> BackupView<'a> {
        BackupView {
            id: &b.id,
            active: b.active,
            name: &b.name,
            local_path: &b.local_path,
            prefix: &b.prefix,
            storage_id: "",
            storage_name: &b.storage_name,
            sync_interval_seconds: b.sync_interval_seconds,
            maximum_cache_size: b.maximum_cache_size,
            local_cache_encrypted: b.local_cache_encrypted,
            cloud_objects_encrypted: b.cloud_objects_encrypted,
            keep_file_after_upload: b.keep_file_after_upload,
            shared_drive: b.shared_drive,
            rotational_cache: b.rotational_cache,
            permission_type: b.permission_type,
            transfer_options: &b.transfer_options,
            account: &b.account,
        }
    }
}
