//! Every key prefix of the store, in one place (the layout is described in ARCHITECTURE.md,
//! "The store's keys"). A table is a prefix ending in `/`; its rows are JSON under
//! `<prefix><id>`. Index tables map a composite key to an id (or to nothing: the key is the
//! fact); counter tables hold little-endian integers that batches add to.
//!
//! A new table is added here and nowhere else, so that no two modules can pick prefixes that
//! overlap (a test below checks that none is a prefix of another).

use super::table::Table;

// ---------------------------------------------------------------- accounts and users

/// Account id -> `model::Account`.
pub const ACCOUNTS: Table = Table::new("account/");
/// User id -> `model::User`.
pub const USERS: Table = Table::new("user/");
/// User id -> `model::Credentials` (password hash, MFA secret).
pub const CREDENTIALS: Table = Table::new("credentials/");
/// Lower-cased username -> user id. Usernames are unique across the agent.
pub const USERNAMES: Table = Table::new("idx/username/");
/// Google `sub` -> user id.
pub const GOOGLE_IDS: Table = Table::new("idx/google/");
/// `<account>/<created ms, 16 hex>/<user id>` -> user id: users in `CreateDate` order.
pub const USERS_BY_CREATED: Table = Table::new("idx/account-user-created/");
/// `<account>/<lower-case username>` -> user id: users in `Username` order.
pub const USERS_BY_NAME: Table = Table::new("idx/account-user-name/");
/// `<account>` and `<account>/type/<UserType>` -> how many users (of that type).
pub const USER_COUNTS: Table = Table::new("count/account-users/");

// ---------------------------------------------------------------- sign-in

/// Session id -> `auth::session::Session`; a token is good while its row exists.
pub const SESSIONS: Table = Table::new("session/");
/// `<user id>/<session id>` -> nothing: a user's sessions, for revoking them all.
pub const USER_SESSIONS: Table = Table::new("idx/user-session/");
/// Lower-cased email -> a pending sign-up's confirmation code.
pub const SIGNUP_CODES: Table = Table::new("signup/");
/// MFA session -> the challenge a login is waiting on.
pub const MFA_CHALLENGES: Table = Table::new("mfa/");
/// SHA-256 of an emailed reset or activation token -> what it resets.
pub const RESET_TOKENS: Table = Table::new("reset/");
/// User id -> failed logins and when the next attempt may come.
pub const LOGIN_FAILURES: Table = Table::new("login-failures/");
/// Token id -> `auth::api_token::ApiToken`.
pub const API_TOKENS: Table = Table::new("apitoken/");
/// SHA-256 of an API token -> its id.
pub const API_TOKENS_BY_HASH: Table = Table::new("idx/apitoken-hash/");
/// `<user id>/<token id>` -> nothing: a user's API tokens.
pub const API_TOKENS_BY_USER: Table = Table::new("idx/user-apitoken/");

// ---------------------------------------------------------------- OAuth connections

/// `state` -> `cloud::oauth::Authorization`: a cloud account connection waiting for the
/// provider's redirect, single-use.
pub const OAUTH_STATES: Table = Table::new("oauthstate/");
/// `<expires ms, 16 hex>/<state>` -> nothing: what to purge first.
pub const OAUTH_STATES_BY_EXPIRY: Table = Table::new("idx/oauthstate-expiry/");

// ---------------------------------------------------------------- single sign-on

/// `<account>/<kind>` (`okta`, `entraid`, `saml`) -> `sso::config::SsoConfig`: one of each
/// kind per account.
pub const SSO_CONFIGS: Table = Table::new("ssoconfig/");
/// Pending sign-in id (the OAuth `state`) -> `sso::login::PendingLogin`, single-use.
pub const SSO_LOGINS: Table = Table::new("ssologin/");
/// `<expires ms, 16 hex>/<pending sign-in id>` -> nothing: what to purge first.
pub const SSO_LOGINS_BY_EXPIRY: Table = Table::new("idx/ssologin-expiry/");
/// `<admin user id>/<SHA-256 of the callback URL>` -> pending sign-in id: an import finds its
/// sign-in without an identifier (`get_user_usergroups` names only code and callback).
pub const SSO_IMPORTS: Table = Table::new("idx/sso-import/");
/// `<configuration id>/<subject>` -> user id: who an identity provider's user is here. An id
/// whose user was deleted is stale and harmless: the next sign-in decides again.
pub const SSO_SUBJECTS: Table = Table::new("idx/sso-subject/");
/// SAML assertion id -> nothing, while a replay of it must be refused.
pub const SSO_SEEN: Table = Table::new("ssoseen/");
/// `<expires ms, 16 hex>/<assertion id>` -> nothing: what to purge first.
pub const SSO_SEEN_BY_EXPIRY: Table = Table::new("idx/ssoseen-expiry/");

// ---------------------------------------------------------------- the directory

/// Id -> a user group (`directory::entities::Entity`).
pub const USER_GROUPS: Table = Table::new("usergroup/");
/// `<account>/<lower-case name>` -> user group id.
pub const USER_GROUPS_BY_NAME: Table = Table::new("idx/account-usergroup-name/");
/// Account id -> how many user groups.
pub const USER_GROUP_COUNTS: Table = Table::new("count/account-usergroups/");
/// Id -> a project.
pub const PROJECTS: Table = Table::new("project/");
/// `<account>/<lower-case name>` -> project id.
pub const PROJECTS_BY_NAME: Table = Table::new("idx/account-project-name/");
/// Account id -> how many projects.
pub const PROJECT_COUNTS: Table = Table::new("count/account-projects/");
/// Id -> a shared cloud drive.
pub const DRIVES: Table = Table::new("sharedclouddrive/");
/// `<account>/<lower-case name>` -> shared cloud drive id.
pub const DRIVES_BY_NAME: Table = Table::new("idx/account-sharedclouddrive-name/");
/// Account id -> how many shared cloud drives.
pub const DRIVE_COUNTS: Table = Table::new("count/account-sharedclouddrives/");

/// Relation tables: id -> `directory::relations::Relation`; `L/<left>/<right>` and
/// `R/<right>/<left>` -> relation id.
pub const USER_GROUP_MEMBERS: Table = Table::new("rel/user-usergroup/");
/// Users on projects (with a permission).
pub const USER_PROJECTS: Table = Table::new("rel/user-project/");
/// User groups on projects (with a permission).
pub const GROUP_PROJECTS: Table = Table::new("rel/usergroup-project/");
/// Users on shared cloud drives (with a permission).
pub const USER_DRIVES: Table = Table::new("rel/user-sharedclouddrive/");
/// User groups on shared cloud drives (with a permission).
pub const GROUP_DRIVES: Table = Table::new("rel/usergroup-sharedclouddrive/");
/// Shared cloud drives assigned to projects.
pub const PROJECT_DRIVES: Table = Table::new("rel/project-sharedclouddrive/");
/// Record id -> how many relations were ever added to it: a delete checks that none was
/// added while it ran.
pub const RELATION_VERSIONS: Table = Table::new("relversion/");

// ---------------------------------------------------------------- cloud

/// Id -> `cloud::CloudAccount` (secrets sealed).
pub const CLOUD_ACCOUNTS: Table = Table::new("cloudaccount/");
/// `<account>/<cloud account id>` -> nothing: an account's cloud accounts.
pub const CLOUD_ACCOUNTS_BY_ACCOUNT: Table = Table::new("idx/cloudaccount/");
/// Cloud account id -> a counter every commit of a drive using it bumps, so that deleting
/// the cloud account notices a drive written after it looked.
pub const CLOUD_ACCOUNT_DRIVE_WRITES: Table = Table::new("count/cloudaccount-drive-writes/");
/// Id -> `transfers::settings::FastrSettings`.
pub const FASTR_SETTINGS: Table = Table::new("fastrsettings/");
/// `<account>/<user>/<cloud account>` -> FastrSettings id: one record per user and cloud account.
pub const FASTR_SETTINGS_BY_OWNER: Table = Table::new("idx/fastrsettings-owner/");
/// `<cloud account>/<FastrSettings id>` -> nothing: the records a cloud account's delete removes.
pub const FASTR_SETTINGS_BY_CLOUD: Table = Table::new("idx/fastrsettings-cloud/");
/// Drive id -> `drives::CloudDrive`: the cloud drives of this agent.
pub const DRIVE_CONFIGS: Table = Table::new("clouddrive/");
/// `<account>/<lower-case name>` -> cloud drive id (names are unique per account).
pub const DRIVE_CONFIGS_BY_NAME: Table = Table::new("idx/account-clouddrive-name/");
/// Drive letter -> cloud drive id (letters are unique per agent: they name the machine's drives).
pub const DRIVE_CONFIGS_BY_LETTER: Table = Table::new("idx/clouddrive-letter/");
/// `<drive id>/<counter>` -> a decimal counter: `drives::tally`, a journal's files, folders
/// and bytes by state.
pub const DRIVE_TALLIES: Table = Table::new("count/drive/");
/// `<drive id>/<end ms>/<nonce>` -> `drives::history::Entry`: files a drive moved.
pub const DRIVE_HISTORY: Table = Table::new("drivehistory/");
/// `<drive id>/<YYYY-MM-DD>/<counter>` and `<drive id>/total` -> a decimal counter: a drive's
/// transfers per day.
pub const DRIVE_DAYS: Table = Table::new("count/drive-day/");
/// `<drive id>/<state index>/<relative path>` -> nothing: a journal's files by state
/// (`drives::ranks`).
pub const DRIVE_FILES_BY_STATE: Table = Table::new("idx/drivefile-state/");
/// `<drive id>/<size>/<relative path>` -> nothing: a journal's files by size.
pub const DRIVE_FILES_BY_SIZE: Table = Table::new("idx/drivefile-size/");
/// `<drive id>/<mtime ms>/<relative path>` -> nothing: a journal's files by modification time.
pub const DRIVE_FILES_BY_MTIME: Table = Table::new("idx/drivefile-mtime/");
/// Drive id -> Unix ms: when a synced folder last listed its whole bucket prefix (an
/// upload-only pass trusts its journal for the bucket's side until a listing is due).
pub const DRIVE_LISTED: Table = Table::new("drive-listed/");
/// Backup id -> `drives::CloudDrive`: the cloud backups of this agent.
pub const BACKUP_CONFIGS: Table = Table::new("cloudbackup/");
/// `<account>/<lower-case name>` -> cloud backup id (names are unique per account).
pub const BACKUP_CONFIGS_BY_NAME: Table = Table::new("idx/account-cloudbackup-name/");
/// Share id -> `share_mounts::ShareConfig`: the SMB and NFS shares this agent mounts.
pub const SHARE_MOUNTS: Table = Table::new("sharemount/");
/// `<account>/<smb|nfs>/<lower-case name>` -> share id (names are unique per account).
pub const SHARE_MOUNTS_BY_NAME: Table = Table::new("idx/account-sharemount-name/");
/// `<drive id>/<relative path>` -> `drives::journal::FileRecord`: each tracked file's state.
pub const DRIVE_FILES: Table = Table::new("drivefile/");
/// Transfer id -> `transfers::TransferRecord`.
pub const TRANSFERS: Table = Table::new("transfer/");
/// Transfer id -> `transfers::lease::Lease`: which agent runs its job, until when.
pub const TRANSFER_LEASES: Table = Table::new("transferlease/");
/// `<account>/<created ms>/<transfer id>` -> nothing: an account's transfers, newest last.
pub const TRANSFERS_BY_ACCOUNT: Table = Table::new("idx/transfer/");
/// Transfer id -> nothing: transfers to resume when the agent starts.
pub const ACTIVE_TRANSFERS: Table = Table::new("idx/transfer-active/");
/// Sync id -> `transfers::sync::CloudSync`: one-way cloud-to-cloud syncs.
pub const SYNCS: Table = Table::new("transfersync/");
/// Transfer id -> `transfers::history::Record`: how a transfer ended.
pub const TRANSFER_HISTORY: Table = Table::new("transferhistory/");
/// `<account>/<transfer id>` -> nothing: an account's history records.
pub const TRANSFER_HISTORY_BY_ACCOUNT: Table = Table::new("idx/transferhistory-account/");

// ---------------------------------------------------------------- built-in storage

/// Id -> `storage::keys::StorageKey`.
pub const STORAGE_KEYS: Table = Table::new("storagekey/");
/// Access key -> storage key id.
pub const STORAGE_KEYS_BY_ACCESS: Table = Table::new("idx/storagekey-access/");
/// `<account>/<id>` -> nothing: an account's storage keys.
pub const STORAGE_KEYS_BY_ACCOUNT: Table = Table::new("idx/storagekey-account/");
/// Bucket name -> `storage::buckets::Bucket`.
pub const STORAGE_BUCKETS: Table = Table::new("storagebucket/");
/// `<bucket>/<key>` -> `storage::objects::ObjectMeta`.
pub const STORAGE_OBJECTS: Table = Table::new("storageobject/");
/// `<bucket>/objects` and `<bucket>/bytes` -> a decimal counter: what a bucket holds.
pub const STORAGE_USAGE: Table = Table::new("count/storagebucket/");
/// `<account>/<YYYY-MM-DD>/<tier>` -> a decimal counter: bytes written that day.
pub const STORAGE_DAYS: Table = Table::new("count/storage-day/");
/// `<access key>/<order id>` -> `storage::pushes::Push`: objects sent for other agents.
pub const STORAGE_PUSHES: Table = Table::new("storagepush/");

// ---------------------------------------------------------------- the agent

/// Account id -> its `audit::setting::AccountLogSetting`.
pub const LOG_SETTINGS: Table = Table::new("logsetting/");
/// `drive/<id>` or `share/<id>` -> the agent id that runs it (`fleet`).
pub const LOCAL_OWNERS: Table = Table::new("owner/");
/// Agent-wide singletons (the user loaded by the Start command).
pub const AGENT: Table = Table::new("agent/");

/// Every table, for the overlap check and for tools that walk the store.
pub const ALL: [Table; 79] = [
    ACCOUNTS,
    USERS,
    CREDENTIALS,
    USERNAMES,
    GOOGLE_IDS,
    USERS_BY_CREATED,
    USERS_BY_NAME,
    USER_COUNTS,
    SESSIONS,
    USER_SESSIONS,
    SIGNUP_CODES,
    MFA_CHALLENGES,
    RESET_TOKENS,
    LOGIN_FAILURES,
    API_TOKENS,
    API_TOKENS_BY_HASH,
    API_TOKENS_BY_USER,
    OAUTH_STATES,
    OAUTH_STATES_BY_EXPIRY,
    SSO_CONFIGS,
    SSO_LOGINS,
    SSO_LOGINS_BY_EXPIRY,
    SSO_IMPORTS,
    SSO_SUBJECTS,
    SSO_SEEN,
    SSO_SEEN_BY_EXPIRY,
    USER_GROUPS,
    USER_GROUPS_BY_NAME,
    USER_GROUP_COUNTS,
    PROJECTS,
    PROJECTS_BY_NAME,
    PROJECT_COUNTS,
    DRIVES,
    DRIVES_BY_NAME,
    DRIVE_COUNTS,
    USER_GROUP_MEMBERS,
    USER_PROJECTS,
    GROUP_PROJECTS,
    USER_DRIVES,
    GROUP_DRIVES,
    PROJECT_DRIVES,
    RELATION_VERSIONS,
    CLOUD_ACCOUNTS,
    CLOUD_ACCOUNTS_BY_ACCOUNT,
    FASTR_SETTINGS,
    FASTR_SETTINGS_BY_OWNER,
    FASTR_SETTINGS_BY_CLOUD,
    CLOUD_ACCOUNT_DRIVE_WRITES,
    DRIVE_CONFIGS,
    DRIVE_CONFIGS_BY_NAME,
    DRIVE_CONFIGS_BY_LETTER,
    BACKUP_CONFIGS,
    BACKUP_CONFIGS_BY_NAME,
    DRIVE_TALLIES,
    DRIVE_HISTORY,
    DRIVE_DAYS,
    DRIVE_LISTED,
    DRIVE_FILES_BY_STATE,
    DRIVE_FILES_BY_SIZE,
    DRIVE_FILES_BY_MTIME,
    DRIVE_FILES,
    TRANSFERS,
    TRANSFERS_BY_ACCOUNT,
    ACTIVE_TRANSFERS,
    TRANSFER_LEASES,
    LOCAL_OWNERS,
    SYNCS,
    TRANSFER_HISTORY,
    TRANSFER_HISTORY_BY_ACCOUNT,
    STORAGE_KEYS,
    STORAGE_KEYS_BY_ACCESS,
    STORAGE_KEYS_BY_ACCOUNT,
    STORAGE_BUCKETS,
    STORAGE_OBJECTS,
    STORAGE_USAGE,
    STORAGE_DAYS,
    STORAGE_PUSHES,
    LOG_SETTINGS,
    AGENT,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_prefix_overlaps_another() {
        for (i, a) in ALL.iter().enumerate() {
            assert!(a.prefix().ends_with(b"/"), "{a:?}");
            for b in &ALL[i + 1..] {
                assert!(
                    !a.prefix().starts_with(b.prefix()) && !b.prefix().starts_with(a.prefix()),
                    "{a:?} and {b:?} overlap"
                );
            }
        }
    }
}
