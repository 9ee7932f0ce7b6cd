//! The stored cloud account, and the `cloudAccount` object requests name it with.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cloud_type;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::null_as_default;
use crate::model::User;
use crate::ports::{CloudTarget, SecretBox, Store, hex};
use crate::store::Batch;
use crate::store::keys::{CLOUD_ACCOUNT_DRIVE_WRITES, CLOUD_ACCOUNTS, CLOUD_ACCOUNTS_BY_ACCOUNT};
use crate::store::table::indexed_rows;
use crate::time::iso8601;

/// A stored cloud account. The secret key and `credentialsData` are sealed with the host's
/// [`SecretBox`]; the access key is an identifier, kept in clear and shown obfuscated.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CloudAccount {
    /// Its id, as requests' `cloudAccount.id` name it.
    pub id: String,
    /// The account it belongs to.
    pub account_id: String,
    /// Who added it; only they see it unless it is shared.
    pub user_id: String,
    /// One [`cloud_type`] flag: which provider.
    pub cloud_type: u32,
    /// Its display name.
    pub name: String,
    /// The provider's region, if it has regions.
    pub region: String,
    /// The provider's base URL, when it is not the provider's default.
    pub endpoint: String,
    /// The request's `serviceUrl`: the endpoint when `endpoint` is empty.
    pub service_url: String,
    /// The access key id (Azure: the storage account name), in clear.
    pub access_key: String,
    /// The secret key, sealed.
    pub sealed_secret_key: String,
    /// Provider-specific credentials (a GCS service account key), sealed.
    pub sealed_credentials_data: String,
    /// Whether every user of the account sees it, not just its owner.
    pub shared: bool,
    /// An OAuth account whose authorization the provider no longer accepts (revoked by the
    /// user, expired): shown as `active: false` until a refresh works again.
    #[serde(default)]
    pub authorization_revoked: bool,
    /// When it was added (Unix ms).
    pub create_ms: u64,
}

impl CloudAccount {
    pub(crate) fn visible_to(&self, caller: &Caller) -> bool {
        self.usable_by(&caller.account_id, &caller.user_id)
    }

    /// Whether user `user_id` of account `account_id` sees it: theirs, or shared.
    pub(crate) fn usable_by(&self, account_id: &str, user_id: &str) -> bool {
        self.account_id == account_id && (self.shared || self.user_id == user_id)
    }

    /// Its owner, and the account's admins for shared ones.
    pub(crate) fn manageable_by(&self, user: &User) -> bool {
        self.account_id == user.account_id
            && (self.user_id == user.id || (self.shared && user.is_admin()))
    }

    pub(crate) fn index_key(&self) -> String {
        alloc::format!("{}/{}", self.account_id, self.id)
    }

    /// The credentials in clear, for one provider call.
    pub fn target(&self, secrets: &SecretBox) -> ApiResult<CloudTarget> {
        // A secret that does not open means the key file was replaced: say so, not 500.
        let open = |sealed: &str| {
            secrets.open(sealed).ok_or_else(|| {
                ApiError::invalid(
                    "This cloud account's stored secret cannot be decrypted (was the agent's \
                     secrets key replaced?); delete the cloud account and add it again.",
                )
            })
        };
        Ok(CloudTarget {
            cache_key: alloc::format!("stored:{}", self.id),
            cloud_type: self.cloud_type,
            region: self.region.clone(),
            endpoint: self.endpoint().into(),
            access_key: self.access_key.clone(),
            secret_key: open(&self.sealed_secret_key)?,
            credentials_data: open(&self.sealed_credentials_data)?,
        })
    }

    /// `endpoint`, or `serviceUrl` when only that was given.
    pub(crate) fn endpoint(&self) -> &str {
        if self.endpoint.is_empty() {
            &self.service_url
        } else {
            &self.endpoint
        }
    }
}

/// The cloud accounts of `account_id` that `caller` may see, oldest first.
pub(crate) fn visible(store: &impl Store, caller: &Caller) -> ApiResult<Vec<CloudAccount>> {
    let prefix = CLOUD_ACCOUNTS_BY_ACCOUNT.key(&alloc::format!("{}/", caller.account_id));
    let mut rows: Vec<CloudAccount> = indexed_rows(store, &prefix, CLOUD_ACCOUNTS)?;
    rows.retain(|a| a.visible_to(caller));
    rows.sort_by_key(|a| a.create_ms);
    Ok(rows)
}

/// Makes a drive's commit (`batch`) require cloud account `id` as it is now, and mark the
/// write; NOT_FOUND if it is gone.
pub(crate) fn pin_for_drive(store: &impl Store, id: &str, batch: &mut Batch) -> ApiResult<()> {
    let key = CLOUD_ACCOUNTS.key(id.trim());
    let Some(row) = store.get(&key)? else {
        return Err(ApiError::not_found("The cloud account"));
    };
    batch.require_value(key, Some(row.as_ref().to_vec()));
    batch.add(CLOUD_ACCOUNT_DRIVE_WRITES.key(id.trim()), 1);
    Ok(())
}

/// Makes the delete of cloud account `id` (`batch`) fail if a drive using it is written
/// after this call: read before looking for the drives that use it.
pub(crate) fn expect_no_drive_writes(
    store: &impl Store,
    id: &str,
    batch: &mut Batch,
) -> ApiResult<()> {
    let key = CLOUD_ACCOUNT_DRIVE_WRITES.key(id);
    let seen = store.get(&key)?.map(|v| v.as_ref().to_vec());
    batch.require_value(key.clone(), seen);
    batch.delete(key);
    Ok(())
}

/// One cloud account the caller may see; anything else is NOT_FOUND, so ids of other
/// accounts' cloud accounts cannot be probed.
pub(crate) fn find(store: &impl Store, caller: &Caller, id: &str) -> ApiResult<CloudAccount> {
    CLOUD_ACCOUNTS
        .get::<CloudAccount>(store, id.trim())?
        .filter(|a| a.visible_to(caller))
        .ok_or_else(|| ApiError::not_found("The cloud account"))
}

/// Cloud account `id` of account `account_id`, whoever added it: a drive shared by an admin
/// uses the admin's cloud account for every user it is assigned to.
pub(crate) fn in_account(
    store: &impl Store,
    account_id: &str,
    id: &str,
) -> ApiResult<CloudAccount> {
    CLOUD_ACCOUNTS
        .get::<CloudAccount>(store, id.trim())?
        .filter(|a| a.account_id == account_id)
        .ok_or_else(|| ApiError::not_found("The cloud account"))
}

/// Deletes cloud account `row` with what only it gave meaning to (its FastrSettings, the
/// storage keys issued through it); refused while a drive uses it.
#[cfg(feature = "cloud")]
pub(crate) fn remove(store: &impl Store, row: &CloudAccount) -> ApiResult<()> {
    let deleted_meanwhile = (
        crate::error::ErrorCode::NotFound,
        "The cloud account was deleted meanwhile.",
    );
    crate::store::table::commit_with_retry(store, deleted_meanwhile, |batch| {
        // A drive without its cloud account would be an orphan: the drive goes first. A drive
        // written after this look fails the commit, which then looks again.
        expect_no_drive_writes(store, &row.id, batch)?;
        let shared =
            crate::directory::drives::using_cloud_account(store, &row.account_id, &row.id)?;
        if let Some(drive) = shared {
            return Err(ApiError::invalid(alloc::format!(
                "The shared cloud drive '{drive}' uses this cloud account; delete the drive first."
            )));
        }
        if let Some(drive) = crate::drives::drive::using_cloud_account(store, &row.id)? {
            return Err(ApiError::invalid(alloc::format!(
                "The cloud drive '{drive}' uses this cloud account; delete the drive first."
            )));
        }
        // Settings for a cloud account that no longer exists would govern nothing.
        crate::transfers::settings::forget_cloud_account(store, &row.id, batch)?;
        // Keys of the built-in storage issued through it stop working with it.
        crate::storage::keys::forget_cloud_account(store, &row.account_id, &row.id, batch)?;
        batch.require_present(CLOUD_ACCOUNTS.key(&row.id));
        CLOUD_ACCOUNTS.delete(batch, &row.id);
        crate::store::keys::CLOUD_ACCOUNTS_BY_ACCOUNT.delete(batch, &row.index_key());
        Ok(())
    })
}

/// A `cloudAccount` as requests carry it: the id of a stored account, or (to try credentials
/// before saving them) the provider and credentials themselves.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AccountRef {
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<u32>"))]
    pub cloud_type: u32,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    pub region: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    pub endpoint: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    pub service_url: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    pub access_key: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    pub secret_key: String,
    #[serde(deserialize_with = "null_as_default")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    pub credentials_data: String,
}

const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

impl AccountRef {
    pub fn stored_id(&self) -> Option<&str> {
        let id = self.id.trim();
        (!id.is_empty() && id != NIL_UUID).then_some(id)
    }

    /// The target a storage call goes to: the stored account when an id is given (the keys a
    /// client echoes back are obfuscated and ignored), otherwise the credentials inline.
    pub fn resolve(
        &self,
        store: &impl Store,
        secrets: &SecretBox,
        caller: &Caller,
    ) -> ApiResult<CloudTarget> {
        if let Some(id) = self.stored_id() {
            return find(store, caller, id)?.target(secrets);
        }
        self.inline_target()
    }

    /// Credentials given in the request itself, checked for shape.
    pub fn inline_target(&self) -> ApiResult<CloudTarget> {
        if !cloud_type::is_documented(self.cloud_type) {
            return Err(ApiError::invalid(alloc::format!(
                "Give the 'id' of a stored cloud account, or a 'cloudType' ({}) and its \
                 credentials.",
                cloud_type::SUPPORTED_NAMES
            )));
        }
        if super::oauth::PROVIDERS.contains(&self.cloud_type) {
            let name = cloud_type::name(self.cloud_type);
            return Err(ApiError::invalid(alloc::format!(
                "cloudType {} ({name}) is connected over OAuth, not with keys: use \
                 /cloud/generate_{}_authorization_url and its callback.",
                self.cloud_type,
                name.to_ascii_lowercase()
            )));
        }
        let endpoint = if self.endpoint.trim().is_empty() {
            self.service_url.trim()
        } else {
            self.endpoint.trim()
        };
        let mut target = CloudTarget {
            cache_key: String::new(),
            cloud_type: self.cloud_type,
            region: self.region.trim().into(),
            endpoint: endpoint.into(),
            access_key: self.access_key.trim().into(),
            secret_key: self.secret_key.trim().into(),
            credentials_data: self.credentials_data.trim().into(),
        };
        check_credentials(&target)?;
        target.cache_key = inline_cache_key(&target);
        Ok(target)
    }
}

/// What each provider needs, so that a missing key is named before any network call.
pub(crate) fn check_credentials(target: &CloudTarget) -> ApiResult<()> {
    let needs = |field: &str, value: &str| {
        if value.is_empty() {
            return Err(ApiError::invalid(alloc::format!(
                "'{field}' is required for cloudType {} ({}).",
                target.cloud_type,
                cloud_type::name(target.cloud_type)
            )));
        }
        Ok(())
    };
    match target.cloud_type {
        t if cloud_type::is_s3(t) || t == cloud_type::AZURE => {
            needs("accessKey", &target.access_key)?;
            needs("secretKey", &target.secret_key)?;
        }
        _ => {}
    }
    if cloud_type::needs_endpoint(target.cloud_type) {
        needs("endpoint", &target.endpoint)?;
    }
    let e = &target.endpoint;
    if !(e.is_empty() || e.starts_with("https://") || e.starts_with("http://")) {
        return Err(ApiError::invalid(
            "'endpoint' must be an http:// or https:// URL.",
        ));
    }
    Ok(())
}

/// Adds a new cloud account to `batch`.
pub(crate) fn insert(batch: &mut Batch, row: &CloudAccount) {
    CLOUD_ACCOUNTS.put(batch, &row.id, row);
    CLOUD_ACCOUNTS_BY_ACCOUNT.put_str(batch, &row.index_key(), "");
}

/// Hosts cache clients by key; inline credentials key by a hash, never by the secret itself.
fn inline_cache_key(t: &CloudTarget) -> String {
    let mut h = Sha256::new();
    for part in [
        &t.region,
        &t.endpoint,
        &t.access_key,
        &t.secret_key,
        &t.credentials_data,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update(t.cloud_type.to_le_bytes());
    alloc::format!("inline:{}", hex(&h.finalize()))
}

/// The documented `CloudAccount` (web-api `cloudaccount.md`), keys obfuscated.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct CloudAccountDto<'a> {
    id: &'a str,
    account_id: &'a str,
    user_id: &'a str,
    cloud_type: u32,
    name: &'a str,
    region: &'a str,
    endpoint: &'a str,
    service_url: &'a str,
    access_key: String,
    secret_key: &'static str,
    credentials_data: &'static str,
    active: bool,
    shared: bool,
    internal_storage: bool,
    storage_tier: u32,
    deleted: bool,
    create_date: String,
}

const HIDDEN: &str = "********";

impl<'a> CloudAccountDto<'a> {
    pub fn new(a: &'a CloudAccount) -> CloudAccountDto<'a> {
        let hidden = |sealed: &str| if sealed.is_empty() { "" } else { HIDDEN };
        CloudAccountDto {
            id: &a.id,
            account_id: &a.account_id,
            user_id: &a.user_id,
            cloud_type: a.cloud_type,
            name: &a.name,
            region: &a.region,
            endpoint: &a.endpoint,
            service_url: &a.service_url,
            access_key: obfuscate(&a.access_key),
            secret_key: hidden(&a.sealed_secret_key),
            credentials_data: hidden(&a.sealed_credentials_data),
            active: !a.authorization_revoked,
            shared: a.shared,
            internal_storage: false,
            storage_tier: 0,
            deleted: false,
            create_date: iso8601(a.create_ms),
        }
    }
}

/// The first and last four characters of a long access key (enough to tell keys apart),
/// nothing of a short one.
fn obfuscate(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return String::from(if key.is_empty() { "" } else { HIDDEN });
    }
    let mut out: String = chars[..4].iter().collect();
    out.push_str(HIDDEN);
    out.extend(&chars[chars.len() - 4..]);
    out
}

/// What the host learnt of a stored OAuth account's authorization.
#[cfg(feature = "cloud")]
pub enum Authorization<'a> {
    /// The provider issued a new refresh token (some rotate them at each use).
    Rotated {
        /// The refresh token the refresh used.
        old: &'a str,
        /// The one to use from now on.
        new: &'a str,
    },
    /// The provider refused the refresh token.
    Revoked,
    /// A refresh worked.
    Working,
}

/// Records what the host learnt of the authorization of the stored cloud account that client
/// cache key `cache_key` names (`stored:<id>`): a rotated refresh token sealed in place of
/// the old one (unless the account no longer holds it), or the account marked revoked or
/// working. Whether the account changed.
#[cfg(feature = "cloud")]
pub fn record_authorization(
    store: &impl Store,
    secrets: &SecretBox,
    rng: &impl crate::ports::Rng,
    cache_key: &str,
    what: Authorization<'_>,
) -> ApiResult<bool> {
    let Some(id) = cache_key.strip_prefix("stored:") else {
        return Ok(false);
    };
    let key = CLOUD_ACCOUNTS.key(id);
    let Some(before) = store.get(&key)? else {
        return Ok(false);
    };
    let Ok(mut row) = serde_json::from_slice::<CloudAccount>(before.as_ref()) else {
        return Ok(false);
    };
    let changed = match what {
        Authorization::Rotated { old, new } => {
            let holds_old = secrets.open(&row.sealed_secret_key).as_deref() == Some(old);
            if holds_old {
                row.sealed_secret_key = secrets.seal(new, rng);
                row.authorization_revoked = false;
            }
            holds_old
        }
        Authorization::Revoked => !core::mem::replace(&mut row.authorization_revoked, true),
        Authorization::Working => core::mem::replace(&mut row.authorization_revoked, false),
    };
    if !changed {
        return Ok(false);
    }
    let mut batch = Batch::new();
    batch.require_value(key, Some(before.as_ref().to_vec()));
    CLOUD_ACCOUNTS.put(&mut batch, &row.id, &row);
    crate::store::table::commit(
        store,
        &batch,
        (
            crate::error::ErrorCode::DbUpdate,
            "The cloud account changed while its authorization was recorded.",
        ),
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::obfuscate;

    #[test]
    fn access_keys_show_only_their_ends() {
        assert_eq!(obfuscate("AKIAIOSFODNN7EXAMPLE"), "AKIA********MPLE");
        assert_eq!(obfuscate("short"), "********");
        assert_eq!(obfuscate(""), "");
    }
}
