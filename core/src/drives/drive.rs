//! A cloud drive's configuration (`CloudDriveModel` of `management.md`): stored as it goes on
//! the wire, checked on the way in, and found by id, by name or by a local path it owns.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::paths::{self, normalize_prefix};
use crate::config::{CoreConfig, TransferOptions};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::json::{max_len, null_as_default};
use crate::ports::{CloudTarget, ObjectStorage, SecretBox, Store};
use crate::store::keys::{
    BACKUP_CONFIGS, BACKUP_CONFIGS_BY_NAME, DRIVE_CONFIGS, DRIVE_CONFIGS_BY_LETTER,
    DRIVE_CONFIGS_BY_NAME,
};
use crate::store::table::Table;
use crate::store::{Batch, scan_all};
use crate::transfers::paths::checked;

/// `driveType`: the bucket mounted as a drive.
pub const VIRTUAL_DRIVE: u8 = 1;
/// `driveType`: a plain local folder kept in two-way sync with the bucket.
pub const LOCAL_PATH: u8 = 2;
/// `syncType`: files stay in the cloud and are fetched on demand.
pub const STREAM: u8 = 1;
/// `syncType`: every file is kept locally too.
pub const MIRROR: u8 = 2;
/// `permissionType`: read only.
pub const READ: u8 = 1;
/// `permissionType`: read and write.
pub const READ_WRITE: u8 = 2;

/// `permanentLocalPath` that asks the agent to choose the cache folder.
pub const AGENT_CHOOSES: &str = "$$$";
/// The most drives one agent keeps (each is a mount and a sync loop).
pub const MAX_DRIVES: usize = 64;
const DEFAULT_INTERVAL_SECS: u32 = 60;
const DEFAULT_OBJECTS_PER_FOLDER: u32 = 10_000;
const MAX_OBJECTS_PER_FOLDER: u32 = 1_000_000;

/// The cloud account behind a drive, as `CloudDriveModel.account` shows it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct DriveAccount {
    /// The stored cloud account's id.
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    pub id: String,
    /// Its `CloudType` flag.
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<u32>"))]
    pub cloud_type: u32,
}

/// A cloud drive, stored in the documented `CloudDriveModel` shape plus who owns it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloudDrive {
    /// Its id.
    pub id: String,
    /// The shared cloud drive it was made from by `sync_shareddrive`; empty for the user's own.
    pub shared_drive_id: String,
    /// Inactive drives are kept but not mounted or synced.
    pub active: bool,
    /// Its display name; unique in the account; the folder name of an agent-chosen mount.
    pub name: String,
    /// The mount point (VirtualDrive) or the synced folder (LocalPath).
    pub local_path: String,
    /// The cache folder.
    pub permanent_local_path: String,
    /// The prefix in the bucket the drive shows (`a/b/`, or empty for the whole bucket).
    pub prefix: String,
    /// The bucket (Azure: container).
    pub storage_name: String,
    /// A drive letter (`C`..`Z`) on Windows; kept and kept unique here, unused on Unix.
    pub drive_name: String,
    /// How often the bucket is polled for changes.
    pub sync_interval_seconds: u32,
    /// The most entries a folder lists.
    pub objects_per_folder: u32,
    /// Cache limit in bytes; 0 means unlimited.
    pub maximum_cache_size: u64,
    /// Whether local deletes delete in the cloud.
    pub allow_delete: bool,
    /// Whether it comes from a shared cloud drive.
    pub shared_drive: bool,
    /// When full, whether the cache evicts old data (true) or streams new data uncached.
    pub rotational_cache: bool,
    /// Cache blocks sealed on disk.
    pub local_cache_encrypted: bool,
    /// Objects stored sealed in the cloud.
    pub cloud_objects_encrypted: bool,
    /// Always true: uploaded files stay in the cache.
    pub keep_file_after_upload: bool,
    /// [`READ`] or [`READ_WRITE`].
    pub permission_type: u8,
    /// [`VIRTUAL_DRIVE`] or [`LOCAL_PATH`].
    pub drive_type: u8,
    /// [`STREAM`] or [`MIRROR`].
    pub sync_type: u8,
    /// How its uploads and downloads move bytes (the standard profile, always).
    pub transfer_options: TransferOptions,
    /// Its cloud account.
    pub account: DriveAccount,
    /// The account (of users) it belongs to.
    pub owner_account_id: String,
    /// The user who added it.
    pub owner_user_id: String,
    /// When it was added (Unix ms).
    pub create_ms: u64,
}

impl CloudDrive {
    /// What the key of a drive with `cloudObjectsEncrypted` is derived for (the
    /// `drive_id` of `sealed::DriveKey::derive`): its bucket and prefix, not its id, so a
    /// drive added again over the same objects reads them.
    pub fn objects_place(&self) -> String {
        alloc::format!("{}/{}", self.storage_name, normalize_prefix(&self.prefix))
    }

    /// Whether the drive may change objects in the cloud.
    pub fn writable(&self) -> bool {
        self.permission_type == READ_WRITE
    }

    /// The relative path (names joined with `/`) of `path` in the drive: a path under its
    /// `localPath` or under its cache folder. `Err(SECURITY)` for a path that names `.` or
    /// `..` inside the drive; `Ok(None)` for a path elsewhere.
    pub fn relative(&self, path: &str) -> ApiResult<Option<String>> {
        for root in [&self.local_path, &self.permanent_local_path] {
            if root.is_empty() {
                continue;
            }
            if let Some(rel) = paths::relative_to(root, path) {
                return Ok(Some(rel));
            }
            if paths::relative_to(root, &lexical_parent_free(path)).is_some() {
                return Err(ApiError::new(
                    ErrorCode::Security,
                    "The path must not name '.' or '..' inside a drive.",
                ));
            }
        }
        Ok(None)
    }

    fn letter_key(&self) -> Option<String> {
        (!self.drive_name.is_empty()).then(|| self.drive_name.to_ascii_uppercase())
    }

    fn name_key(&self) -> String {
        format!("{}/{}", self.owner_account_id, self.name.to_lowercase())
    }
}

/// `path` with every `.` and `..` name dropped: whether it would fall inside a root if those
/// names were ignored tells a traversal attempt from a path elsewhere.
fn lexical_parent_free(path: &str) -> String {
    path.split(['/', '\\'])
        .filter(|n| *n != "." && *n != "..")
        .collect::<Vec<_>>()
        .join("/")
}

/// The fields a client sends on insert and update (`CloudDriveModel`); absent ones keep their
/// stored values on update and take the documented defaults on insert.
#[derive(Deserialize, Default, Debug)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct DriveInput {
    #[serde(deserialize_with = "null_as_default")]
    name: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    storage_name: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    prefix: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    drive_name: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    local_path: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    permanent_local_path: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    active: Option<bool>,
    #[serde(deserialize_with = "null_as_default")]
    drive_type: Option<u8>,
    #[serde(deserialize_with = "null_as_default")]
    sync_type: Option<u8>,
    #[serde(deserialize_with = "null_as_default")]
    permission_type: Option<u8>,
    #[serde(deserialize_with = "null_as_default")]
    sync_interval_seconds: Option<u32>,
    #[serde(deserialize_with = "null_as_default")]
    objects_per_folder: Option<u32>,
    #[serde(deserialize_with = "null_as_default")]
    maximum_cache_size: Option<u64>,
    #[serde(deserialize_with = "null_as_default")]
    allow_delete: Option<bool>,
    #[serde(deserialize_with = "null_as_default")]
    rotational_cache: Option<bool>,
    #[serde(deserialize_with = "null_as_default")]
    local_cache_encrypted: Option<bool>,
    #[serde(deserialize_with = "null_as_default")]
    cloud_objects_encrypted: Option<bool>,
    /// The cloud account (`account.id`); its `cloudType` is taken from the stored account.
    #[serde(deserialize_with = "null_as_default")]
    pub account: Option<DriveAccount>,
}

/// Which fields a call may change: the Change Cloud Drive Cache route only the cache's.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Insert and Update Cloud Drive.
    All,
    /// `permanentLocalPath`, `localCacheEncrypted`, `maximumCacheSize`, `rotationalCache`.
    CacheOnly,
    /// Insert and Update Cloud Backup: the fields of `CloudBackupModel`; what makes it a
    /// backup (a folder uploaded one way, nothing deleted, the cache the agent's) is kept.
    Backup,
}

impl DriveInput {
    /// The cloud account id the input names, if any.
    pub fn account_id(&self) -> Option<&str> {
        self.account
            .as_ref()
            .map(|a| a.id.trim())
            .filter(|id| !id.is_empty() && *id != "00000000-0000-0000-0000-000000000000")
    }

    /// Applies the input to `drive` (a new drive holds the defaults) and checks the result.
    pub fn apply(self, drive: &mut CloudDrive, scope: Scope, config: &CoreConfig) -> ApiResult<()> {
        if scope != Scope::Backup {
            set(&mut drive.permanent_local_path, self.permanent_local_path);
        }
        set(&mut drive.local_cache_encrypted, self.local_cache_encrypted);
        set(&mut drive.maximum_cache_size, self.maximum_cache_size);
        set(&mut drive.rotational_cache, self.rotational_cache);
        if scope != Scope::CacheOnly {
            set(&mut drive.name, self.name.map(|n| String::from(n.trim())));
            set(
                &mut drive.storage_name,
                self.storage_name.map(|n| String::from(n.trim())),
            );
            set(&mut drive.prefix, self.prefix.map(|p| normalize_prefix(&p)));

            set(
                &mut drive.local_path,
                self.local_path.map(|p| String::from(p.trim())),
            );
            set(&mut drive.active, self.active);
            set(&mut drive.sync_interval_seconds, self.sync_interval_seconds);
            set(
                &mut drive.cloud_objects_encrypted,
                self.cloud_objects_encrypted,
            );
        }
        if scope == Scope::All {
            set(
                &mut drive.drive_name,
                self.drive_name.map(|d| d.trim().to_ascii_uppercase()),
            );
            set(&mut drive.drive_type, self.drive_type);
            set(&mut drive.sync_type, self.sync_type);
            set(&mut drive.permission_type, self.permission_type);
            set(&mut drive.objects_per_folder, self.objects_per_folder);
            set(&mut drive.allow_delete, self.allow_delete);
        }
        // The documented forced profile.
        drive.keep_file_after_upload = true;
        drive.transfer_options = TransferOptions::default();
        check(drive)?;
        place(drive, config)
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

/// A drive with the documented defaults, before its input is applied.
pub fn new_drive(
    id: String,
    owner_account_id: &str,
    owner_user_id: &str,
    now_ms: u64,
) -> CloudDrive {
    CloudDrive {
        id,
        shared_drive_id: String::new(),
        active: true,
        name: String::new(),
        local_path: String::new(),
        permanent_local_path: String::from(AGENT_CHOOSES),
        prefix: String::new(),
        storage_name: String::new(),
        drive_name: String::new(),
        sync_interval_seconds: DEFAULT_INTERVAL_SECS,
        objects_per_folder: DEFAULT_OBJECTS_PER_FOLDER,
        maximum_cache_size: 0,
        allow_delete: false,
        shared_drive: false,
        rotational_cache: true,
        local_cache_encrypted: false,
        cloud_objects_encrypted: false,
        keep_file_after_upload: true,
        permission_type: READ_WRITE,
        drive_type: VIRTUAL_DRIVE,
        sync_type: STREAM,
        transfer_options: TransferOptions::default(),
        account: DriveAccount::default(),
        owner_account_id: String::from(owner_account_id),
        owner_user_id: String::from(owner_user_id),
        create_ms: now_ms,
    }
}

fn check(d: &mut CloudDrive) -> ApiResult<()> {
    if d.name.is_empty() {
        return Err(ApiError::invalid("'name' is required."));
    }
    max_len("name", &d.name, 100)?;
    if d.name.contains(['/', '\\', '\0']) || d.name == "." || d.name == ".." {
        return Err(ApiError::invalid(
            "'name' is a folder name: it must not contain '/', '\\' or be '.' or '..'.",
        ));
    }
    if d.storage_name.is_empty() {
        return Err(ApiError::invalid("'storageName' is required."));
    }
    max_len("storageName", &d.storage_name, 255)?;
    max_len("prefix", &d.prefix, 1024)?;
    let letter_ok = match d.drive_name.as_bytes() {
        [] => true,
        [b] => (b'C'..=b'Z').contains(b),
        _ => false,
    };
    if !letter_ok {
        return Err(ApiError::invalid(
            "'driveName' must be one letter from C to Z, or empty.",
        ));
    }
    let one_of = |field: &str, v: u8, names: &str| {
        if v == 1 || v == 2 {
            Ok(())
        } else {
            Err(ApiError::invalid(format!("'{field}' must be {names}.")))
        }
    };
    one_of(
        "driveType",
        d.drive_type,
        "1 (VirtualDrive) or 2 (LocalPath)",
    )?;
    one_of("syncType", d.sync_type, "1 (Stream) or 2 (Mirror)")?;
    one_of(
        "permissionType",
        d.permission_type,
        "1 (Read) or 2 (ReadWrite)",
    )?;
    if !(10..=86_400).contains(&d.sync_interval_seconds) {
        return Err(ApiError::invalid(
            "'syncIntervalSeconds' must be from 10 to 86400.",
        ));
    }
    if d.objects_per_folder == 0 {
        d.objects_per_folder = DEFAULT_OBJECTS_PER_FOLDER;
    }
    if d.objects_per_folder > MAX_OBJECTS_PER_FOLDER {
        return Err(ApiError::invalid(format!(
            "'objectsPerFolder' must be at most {MAX_OBJECTS_PER_FOLDER}."
        )));
    }
    Ok(())
}

/// Where the drive lives on disk: the paths it names must be inside the folders the agent may
/// use; the ones it leaves to the agent are chosen here.
fn place(d: &mut CloudDrive, config: &CoreConfig) -> ApiResult<()> {
    let mut roots = config.file_roots.clone();
    roots.extend(
        [&config.drive_mount_root, &config.drive_cache_root]
            .into_iter()
            .filter(|r| !r.is_empty())
            .cloned(),
    );
    if d.permanent_local_path.is_empty() || d.permanent_local_path == AGENT_CHOOSES {
        if config.drive_cache_root.is_empty() {
            return Err(ApiError::invalid(
                "This agent has no cache folder configured: give 'permanentLocalPath'.",
            ));
        }
        d.permanent_local_path = paths::join(&config.drive_cache_root, &d.id);
    } else {
        d.permanent_local_path = checked(&roots, &d.permanent_local_path, "permanentLocalPath")?;
    }
    if d.local_path.is_empty() {
        if d.drive_type == LOCAL_PATH {
            return Err(ApiError::invalid(
                "'localPath' is required for a LocalPath drive (driveType 2): the folder to sync.",
            ));
        }
        if config.drive_mount_root.is_empty() {
            return Err(ApiError::invalid(
                "This agent has no mount folder configured: give 'localPath'.",
            ));
        }
        d.local_path = paths::join(&config.drive_mount_root, &d.name);
    } else {
        d.local_path = checked(&roots, &d.local_path, "localPath")?;
    }
    let (a, b) = (&d.local_path, &d.permanent_local_path);
    if paths::relative_to(a, b).is_some() || paths::relative_to(b, a).is_some() {
        return Err(ApiError::invalid(
            "'localPath' and 'permanentLocalPath' must not be inside one another.",
        ));
    }
    Ok(())
}

/// The credentials of the drive's cloud account, for one provider call.
pub fn target(store: &impl Store, secrets: &SecretBox, d: &CloudDrive) -> ApiResult<CloudTarget> {
    crate::cloud::account::in_account(store, &d.owner_account_id, &d.account.id)?.target(secrets)
}

/// A Mirror drive keeps every object of its bucket (or prefix) in its cache: refused when
/// `maximumCacheSize` (bytes, 0 for no limit) cannot hold them. The walk stops as soon as the
/// objects seen exceed the limit.
pub async fn check_mirror_fits(
    storage: &impl ObjectStorage,
    target: &CloudTarget,
    d: &CloudDrive,
) -> ApiResult<()> {
    if d.sync_type != MIRROR || d.maximum_cache_size == 0 {
        return Ok(());
    }
    let mut folders = alloc::vec![normalize_prefix(&d.prefix)];
    let mut total = 0u64;
    while let Some(folder) = folders.pop() {
        let mut continuation: Option<String> = None;
        loop {
            let page = storage
                .list_objects(
                    target,
                    &d.storage_name,
                    &folder,
                    continuation.as_deref(),
                    1000,
                )
                .await
                .map_err(|e| crate::cloud::storage_error(target.cloud_type, e))?;
            for o in page.objects {
                if o.is_folder {
                    folders.push(o.key);
                } else {
                    total += o.size;
                }
            }
            if total > d.maximum_cache_size {
                return Err(ApiError::invalid(format!(
                    "A Mirror drive keeps every file in its cache, and '{}' holds more than \
                     maximumCacheSize ({} bytes): raise it (0 for no limit) or use Stream (1).",
                    d.storage_name, d.maximum_cache_size
                )));
            }
            continuation = page.continuation;
            if continuation.is_none() {
                break;
            }
        }
    }
    Ok(())
}

/// Where configurations of one kind live: cloud drives, or cloud backups (stored as drives
/// whose folder goes one way: see `CloudBackupModel` in `backup.rs`).
pub struct Configs {
    rows: Table,
    by_name: Table,
    by_letter: Table,
    /// What one is called in messages ("cloud drive").
    pub noun: &'static str,
    /// The message of a write that lost to another on a name (or letter).
    pub taken: &'static str,
    /// The message of a delete that found the row gone.
    pub gone: &'static str,
}

/// The cloud drives of this agent.
pub const DRIVES: Configs = Configs {
    rows: DRIVE_CONFIGS,
    by_name: DRIVE_CONFIGS_BY_NAME,
    by_letter: DRIVE_CONFIGS_BY_LETTER,
    noun: "cloud drive",
    taken: "Another cloud drive already has this name or drive letter.",
    gone: "The cloud drive was deleted meanwhile.",
};

/// The cloud backups of this agent (no drive letters: their index stays empty).
pub const BACKUPS: Configs = Configs {
    rows: BACKUP_CONFIGS,
    by_name: BACKUP_CONFIGS_BY_NAME,
    by_letter: DRIVE_CONFIGS_BY_LETTER,
    noun: "cloud backup",
    taken: "Another cloud backup already has this name.",
    gone: "The cloud backup was deleted meanwhile.",
};

impl Configs {
    /// Every one of the agent, in id order.
    pub fn all(&self, store: &impl Store) -> ApiResult<Vec<CloudDrive>> {
        let mut out = Vec::new();
        scan_all(store, self.rows.prefix(), false, |_, row| {
            if let Ok(d) = serde_json::from_slice::<CloudDrive>(row) {
                out.push(d);
            }
            Ok(true)
        })?;
        Ok(out)
    }

    /// Those of an account, oldest first.
    pub fn of_account(&self, store: &impl Store, account_id: &str) -> ApiResult<Vec<CloudDrive>> {
        let mut drives: Vec<CloudDrive> = self
            .all(store)?
            .into_iter()
            .filter(|d| d.owner_account_id == account_id)
            .collect();
        drives.sort_by_key(|d| d.create_ms);
        Ok(drives)
    }

    /// The one with id `id`, if it exists.
    pub fn get(&self, store: &impl Store, id: &str) -> ApiResult<Option<CloudDrive>> {
        self.rows.get(store, id.trim())
    }

    /// Writes `drive` in `batch`, keeping its name (per account) and letter (per agent)
    /// unique; `before` is the stored version on update. The batch fails with a conflict on
    /// a taken name or letter.
    pub fn put(&self, batch: &mut Batch, drive: &CloudDrive, before: Option<&CloudDrive>) {
        match before {
            Some(old) => batch.require_value(self.rows.key(&old.id), serde_json::to_vec(old).ok()),
            None => batch.require_absent(self.rows.key(&drive.id)),
        };
        if before.map(CloudDrive::name_key) != Some(drive.name_key()) {
            if let Some(old) = before {
                self.by_name.delete(batch, &old.name_key());
            }
            batch.require_absent(self.by_name.key(&drive.name_key()));
            self.by_name.put_str(batch, &drive.name_key(), &drive.id);
        }
        if before.and_then(CloudDrive::letter_key) != drive.letter_key() {
            if let Some(old) = before.and_then(CloudDrive::letter_key) {
                self.by_letter.delete(batch, &old);
            }
            if let Some(letter) = drive.letter_key() {
                batch.require_absent(self.by_letter.key(&letter));
                self.by_letter.put_str(batch, &letter, &drive.id);
            }
        }
        self.rows.put(batch, &drive.id, drive);
    }

    /// Removes `drive` in `batch`.
    pub fn remove(&self, batch: &mut Batch, drive: &CloudDrive) {
        batch.require_present(self.rows.key(&drive.id));
        self.rows.delete(batch, &drive.id);
        self.by_name.delete(batch, &drive.name_key());
        if let Some(letter) = drive.letter_key() {
            self.by_letter.delete(batch, &letter);
        }
        crate::fleet::forget(batch, crate::fleet::Local::Drive, &drive.id);
    }
}

/// Every drive and backup of the agent: what holds folders and cloud accounts.
pub fn drives_and_backups(store: &impl Store) -> ApiResult<Vec<CloudDrive>> {
    let mut all = DRIVES.all(store)?;
    all.extend(BACKUPS.all(store)?);
    Ok(all)
}

/// The name of a drive or backup of the agent backed by cloud account `cloud_account_id`,
/// if any.
pub fn using_cloud_account(
    store: &impl Store,
    cloud_account_id: &str,
) -> ApiResult<Option<String>> {
    Ok(drives_and_backups(store)?
        .into_iter()
        .find(|d| d.account.id == cloud_account_id)
        .map(|d| d.name))
}

/// Whether a new or renamed drive's paths clash with another drive's: two drives cannot share
/// a mount point, a synced folder or a cache.
pub fn check_paths_free(others: &[CloudDrive], drive: &CloudDrive) -> ApiResult<()> {
    let overlap =
        |a: &str, b: &str| paths::relative_to(a, b).is_some() || paths::relative_to(b, a).is_some();
    for other in others.iter().filter(|o| o.id != drive.id) {
        for mine in [&drive.local_path, &drive.permanent_local_path] {
            for theirs in [&other.local_path, &other.permanent_local_path] {
                if overlap(mine, theirs) {
                    return Err(ApiError::new(
                        ErrorCode::Duplicate,
                        format!(
                            "The drive '{}' already uses the folder {theirs}.",
                            other.name
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The drive (among `drives`) owning local `path`, with the path relative to it.
pub fn owning<'a>(
    drives: &'a [CloudDrive],
    path: &str,
) -> ApiResult<Option<(&'a CloudDrive, String)>> {
    for d in drives {
        if let Some(rel) = d.relative(path)? {
            return Ok(Some((d, rel)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CoreConfig {
        CoreConfig {
            drive_mount_root: "/home/me/Drives".into(),
            drive_cache_root: "/var/click/cache".into(),
            file_roots: alloc::vec!["/home/me".into()],
            ..CoreConfig::default()
        }
    }

    fn input(json: &str) -> DriveInput {
        crate::json::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn the_documented_insert_gets_agent_chosen_folders_and_the_forced_profile() {
        let mut d = new_drive("d1".into(), "acc", "u1", 5);
        let body = r#"{"name":"Team Drive","storageName":"my-bucket","prefix":"","driveName":"G",
            "driveType":1,"syncType":1,"permissionType":2,"localCacheEncrypted":false,
            "cloudObjectsEncrypted":false,"allowDelete":true,"maximumCacheSize":0,
            "permanentLocalPath":"$$$","account":{"id":"00000000-0000-0000-0000-000000000000"}}"#;
        input(body).apply(&mut d, Scope::All, &config()).unwrap();
        assert_eq!(d.local_path, "/home/me/Drives/Team Drive");
        assert_eq!(d.permanent_local_path, "/var/click/cache/d1");
        assert!(d.keep_file_after_upload && d.allow_delete);
        assert_eq!(d.transfer_options.chunk_size, 5_242_880);
        assert_eq!(
            (d.sync_interval_seconds, d.objects_per_folder),
            (60, 10_000)
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let cases = [
            (r#"{"storageName":"b"}"#, "'name'"),
            (r#"{"name":"a/b","storageName":"b"}"#, "'name'"),
            (r#"{"name":"n"}"#, "'storageName'"),
            (
                r#"{"name":"n","storageName":"b","driveName":"B"}"#,
                "'driveName'",
            ),
            (
                r#"{"name":"n","storageName":"b","driveType":3}"#,
                "'driveType'",
            ),
            (
                r#"{"name":"n","storageName":"b","driveType":2}"#,
                "'localPath'",
            ),
            (
                r#"{"name":"n","storageName":"b","localPath":"/etc/x"}"#,
                "'localPath'",
            ),
            (
                r#"{"name":"n","storageName":"b","syncIntervalSeconds":1}"#,
                "'syncIntervalSeconds'",
            ),
        ];
        for (body, field) in cases {
            let mut d = new_drive("d".into(), "a", "u", 0);
            let e = input(body)
                .apply(&mut d, Scope::All, &config())
                .unwrap_err();
            let r = e.into_response();
            let text = core::str::from_utf8(&r.body).unwrap();
            assert_eq!(r.status, 499, "{body}");
            assert!(text.contains(field), "{body}: {text}");
        }
    }

    #[test]
    fn paths_inside_a_drive_are_found_and_traversal_is_refused() {
        let mut d = new_drive("d1".into(), "acc", "u1", 5);
        input(r#"{"name":"T","storageName":"b"}"#)
            .apply(&mut d, Scope::All, &config())
            .unwrap();
        let drives = [d];
        let (found, rel) = owning(&drives, "/home/me/Drives/T/a/b.txt")
            .unwrap()
            .unwrap();
        assert_eq!((found.id.as_str(), rel.as_str()), ("d1", "a/b.txt"));
        let (_, rel) = owning(&drives, "/var/click/cache/d1/x").unwrap().unwrap();
        assert_eq!(rel, "x");
        assert!(owning(&drives, "/home/me/other").unwrap().is_none());
        let e = owning(&drives, "/home/me/Drives/T/../../x").unwrap_err();
        assert_eq!(e.into_response().status, 499);
    }
}
