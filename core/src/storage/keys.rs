//! Storage keys (`storage.md`): the access key and secret a client of the built-in S3 server
//! signs with (SigV4). The secret is shown once, when the key is created, and kept sealed
//! under the host's key (the server opens it to check a signature). A key reaches every
//! bucket of its account (`allBuckets`) or the ones it names, with its permission on each.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ports::{Rng, RngExt, Store};
use crate::store::Batch;
use crate::store::keys::{STORAGE_KEYS, STORAGE_KEYS_BY_ACCESS, STORAGE_KEYS_BY_ACCOUNT};
use crate::store::table::{commit, indexed_rows};

/// `permission`: what a key may do to the objects of its buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Permission {
    /// `0`: list and read.
    Read,
    /// `1`: write and delete (not read).
    Write,
    /// `2`: both.
    ReadWrite,
}

impl Permission {
    /// The documented number's permission.
    pub fn from_number(n: u32) -> Option<Permission> {
        match n {
            0 => Some(Permission::Read),
            1 => Some(Permission::Write),
            2 => Some(Permission::ReadWrite),
            _ => None,
        }
    }

    /// Whether it lets a key read (list buckets and objects, get, head).
    pub fn reads(self) -> bool {
        self != Permission::Write
    }

    /// Whether it lets a key write (put, copy into, delete, multipart).
    pub fn writes(self) -> bool {
        self != Permission::Read
    }
}

/// A storage key (the `storagekey/` table).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StorageKey {
    /// Its id (`delete_storage_key?id=`).
    pub id: String,
    /// The account whose buckets it reaches.
    pub account_id: String,
    /// The user who created it.
    pub user_id: String,
    /// The built-in storage's cloud account it was issued for.
    pub cloud_account_id: String,
    /// Its name.
    pub name: String,
    /// The access key (public, unique).
    pub access_key: String,
    /// The secret, sealed.
    pub sealed_secret: String,
    /// What it may do.
    pub permission: Permission,
    /// Every bucket of the account, or only `selected_buckets`.
    pub all_buckets: bool,
    /// The buckets it reaches when not `all_buckets`.
    pub selected_buckets: Vec<String>,
    /// As given at creation (the built-in storage has one region: its host).
    pub region: String,
    /// As given at creation.
    pub storage_dn: String,
    /// When it was created (Unix ms).
    pub create_ms: u64,
}

impl StorageKey {
    /// Whether it reaches bucket `name`.
    pub fn reaches(&self, name: &str) -> bool {
        self.all_buckets || self.selected_buckets.iter().any(|b| b == name)
    }
}

const ACCESS_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A new access key: `CLK` and 17 random characters (85 bits), the shape of AWS's.
pub fn new_access_key(rng: &impl Rng) -> String {
    let bytes: [u8; 17] = rng.bytes();
    let mut out = String::from("CLK");
    out.extend(
        bytes
            .iter()
            .map(|b| ACCESS_ALPHABET[usize::from(b % 32)] as char),
    );
    out
}

/// A new secret: 40 random characters of 64 (240 bits), as AWS's.
pub fn new_secret(rng: &impl Rng) -> String {
    let bytes: [u8; 40] = rng.bytes();
    bytes
        .iter()
        .map(|b| SECRET_ALPHABET[usize::from(b % 64)] as char)
        .collect()
}

fn account_index(k: &StorageKey) -> String {
    format!("{}/{}", k.account_id, k.id)
}

/// Stores a new key; its id and access key must be free.
pub fn insert(store: &impl Store, k: &StorageKey) -> ApiResult<()> {
    let mut batch = Batch::new();
    batch.require_absent(STORAGE_KEYS.key(&k.id));
    batch.require_absent(STORAGE_KEYS_BY_ACCESS.key(&k.access_key));
    STORAGE_KEYS.put(&mut batch, &k.id, k);
    STORAGE_KEYS_BY_ACCESS.put_str(&mut batch, &k.access_key, &k.id);
    STORAGE_KEYS_BY_ACCOUNT.put_str(&mut batch, &account_index(k), "");
    let taken = (
        ErrorCode::Duplicate,
        "A storage key with this id exists already.",
    );
    commit(store, &batch, taken)
}

/// The key with this id, if any.
pub fn get(store: &impl Store, id: &str) -> ApiResult<Option<StorageKey>> {
    STORAGE_KEYS.get(store, id.trim())
}

/// The key whose access key this is, if any (what a signature names).
pub fn by_access_key(store: &impl Store, access_key: &str) -> ApiResult<Option<StorageKey>> {
    let Some(id) = STORAGE_KEYS_BY_ACCESS.get_str(store, access_key)? else {
        return Ok(None);
    };
    get(store, &id)
}

/// The keys of an account.
pub fn of_account(store: &impl Store, account_id: &str) -> ApiResult<Vec<StorageKey>> {
    let prefix = STORAGE_KEYS_BY_ACCOUNT.key(&format!("{account_id}/"));
    indexed_rows(store, &prefix, STORAGE_KEYS)
}

/// Deletes key `k`: a signature made with it fails from now on.
pub fn delete(store: &impl Store, k: &StorageKey) -> ApiResult<()> {
    let mut batch = Batch::new();
    batch.require_present(STORAGE_KEYS.key(&k.id));
    STORAGE_KEYS.delete(&mut batch, &k.id);
    STORAGE_KEYS_BY_ACCESS.delete(&mut batch, &k.access_key);
    STORAGE_KEYS_BY_ACCOUNT.delete(&mut batch, &account_index(k));
    let gone = (
        ErrorCode::NotFound,
        "The storage key was deleted meanwhile.",
    );
    commit(store, &batch, gone)
}

/// Deletes in `batch` the keys issued for cloud account `cloud_account_id` of `account_id`
/// (it is being deleted: its keys must stop working with it).
pub fn forget_cloud_account(
    store: &impl Store,
    account_id: &str,
    cloud_account_id: &str,
    batch: &mut Batch,
) -> ApiResult<()> {
    for k in of_account(store, account_id)? {
        if k.cloud_account_id == cloud_account_id {
            STORAGE_KEYS.delete(batch, &k.id);
            STORAGE_KEYS_BY_ACCESS.delete(batch, &k.access_key);
            STORAGE_KEYS_BY_ACCOUNT.delete(batch, &account_index(&k));
        }
    }
    Ok(())
}

/// The key a request names, refused (`NOT_FOUND`) when it belongs to another account.
pub fn in_account(store: &impl Store, account_id: &str, id: &str) -> ApiResult<StorageKey> {
    get(store, id)?
        .filter(|k| k.account_id == account_id)
        .ok_or_else(|| ApiError::not_found("The storage key"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Ports;
    use crate::testing::TestAgent;

    fn key(id: &str, account: &str, access: &str) -> StorageKey {
        StorageKey {
            id: id.into(),
            account_id: account.into(),
            user_id: "u".into(),
            cloud_account_id: "c".into(),
            name: "ci".into(),
            access_key: access.into(),
            sealed_secret: String::new(),
            permission: Permission::Read,
            all_buckets: false,
            selected_buckets: alloc::vec!["one".into()],
            region: String::new(),
            storage_dn: String::new(),
            create_ms: 1,
        }
    }

    /// Keys are found by access key and by account; an access key is never given twice; a
    /// deleted key is found no more.
    #[test]
    fn keys_are_unique_found_by_access_key_and_deleted_for_good() {
        let t = TestAgent::new();
        let store = t.agent.ports.store();
        let k = key("k1", "a1", "CLKAAAA");
        insert(store, &k).unwrap();
        assert!(insert(store, &key("k2", "a1", "CLKAAAA")).is_err());
        insert(store, &key("k3", "a2", "CLKBBBB")).unwrap();
        assert_eq!(by_access_key(store, "CLKAAAA").unwrap().unwrap().id, "k1");
        assert_eq!(of_account(store, "a1").unwrap().len(), 1);
        assert!(in_account(store, "a2", "k1").is_err());
        assert!(k.reaches("one") && !k.reaches("two"));
        assert!(Permission::Read.reads() && !Permission::Read.writes());
        delete(store, &k).unwrap();
        assert!(by_access_key(store, "CLKAAAA").unwrap().is_none());
        assert!(of_account(store, "a1").unwrap().is_empty());
    }

    #[test]
    fn new_keys_have_the_shape_of_aws_ones() {
        let t = TestAgent::new();
        let rng = t.agent.ports.rng();
        let (a, s) = (new_access_key(rng), new_secret(rng));
        assert_eq!((a.len(), s.len()), (20, 40));
        assert!(a.starts_with("CLK") && a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(new_access_key(rng), a);
    }
}
