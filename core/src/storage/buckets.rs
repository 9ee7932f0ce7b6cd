//! Buckets of the built-in storage (`storage.md`): names as S3 allows them, unique on this
//! agent, each owned by an account (and the built-in storage's cloud account it was made
//! through), with the documented status flags.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ports::Store;
use crate::store::keys::{STORAGE_BUCKETS, STORAGE_OBJECTS};
use crate::store::table::commit;
use crate::store::{Batch, scan_all};

/// A bucket (the `storagebucket/` table, by name).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// Its name.
    pub name: String,
    /// The account that owns it.
    pub account_id: String,
    /// The built-in storage's cloud account it was made through.
    pub cloud_account_id: String,
    /// When it was made (Unix ms).
    pub create_ms: u64,
    /// `isPublic`: unsigned requests may read it.
    pub is_public: bool,
    /// `isEncrypted`.
    pub is_encrypted: bool,
    /// `versioningEnabled`.
    pub versioning_enabled: bool,
    /// `objectLockEnabled` (set at creation only).
    pub object_lock_enabled: bool,
    /// The region (storage location) it is kept in; empty: the storage's own folder.
    #[serde(default)]
    pub region: String,
    /// The `storageTier` it was made in (IDrive section); 0: none given.
    #[serde(default)]
    pub tier: u32,
    /// Its CORS rules (S3's PutBucketCors); none: browsers of other origins are refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cors: Vec<CorsRule>,
}

/// One CORS rule of a bucket, as S3 keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    /// Origins it allows: exact, `*`, or with one `*` wildcard (`https://*.example.com`).
    pub allowed_origins: Vec<String>,
    /// Methods it allows (`GET`, `PUT`, `POST`, `DELETE`, `HEAD`).
    pub allowed_methods: Vec<String>,
    /// Request headers a preflight may ask for (same wildcards; case-insensitive).
    pub allowed_headers: Vec<String>,
    /// Response headers the browser may show the page.
    pub expose_headers: Vec<String>,
    /// How long a browser may keep a preflight's answer.
    pub max_age_seconds: Option<i32>,
}

/// Whether `value` matches `pattern`, which may hold one `*`.
fn wildcard(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((head, tail)) => {
            value.len() >= head.len() + tail.len()
                && value.starts_with(head)
                && value.ends_with(tail)
        }
    }
}

impl CorsRule {
    /// Whether it allows a request from `origin` with `method` sending `headers`.
    pub fn allows(&self, origin: &str, method: &str, headers: &[&str]) -> bool {
        let origin_ok = self.allowed_origins.iter().any(|o| wildcard(o, origin));
        let method_ok = self
            .allowed_methods
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method));
        let headers_ok = headers.iter().all(|h| {
            let h = h.trim().to_ascii_lowercase();
            (self.allowed_headers.iter()).any(|a| wildcard(&a.to_ascii_lowercase(), &h))
        });
        origin_ok && method_ok && headers_ok
    }
}

impl Bucket {
    /// The first of its CORS rules that allows the request, as S3 picks it.
    pub fn cors_rule(&self, origin: &str, method: &str, headers: &[&str]) -> Option<&CorsRule> {
        self.cors.iter().find(|r| r.allows(origin, method, headers))
    }
}

/// Checks `name` against S3's rules: 3 to 63 lower-case letters, digits, dots and hyphens,
/// starting and ending with a letter or digit, no two dots in a row, not an IP address.
pub fn check_name(name: &str) -> ApiResult<()> {
    let bad = |why: &str| {
        Err(ApiError::invalid(alloc::format!(
            "'bucketName' {why} (S3's bucket naming rules)."
        )))
    };
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters");
    }
    let allowed = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-';
    if !name.bytes().all(allowed) {
        return bad("may hold only lower-case letters, digits, dots and hyphens");
    }
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = name.as_bytes();
    if !edge(bytes[0]) || !edge(bytes[bytes.len() - 1]) {
        return bad("must start and end with a letter or digit");
    }
    if name.contains("..") {
        return bad("must not hold two dots in a row");
    }
    let looks_like_ip = name.split('.').count() == 4
        && name
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    if looks_like_ip {
        return bad("must not be an IP address");
    }
    Ok(())
}

/// Stores new bucket `b`; 499 `DUPLICATE` when the name is taken on this agent.
pub fn create(store: &impl Store, b: &Bucket) -> ApiResult<()> {
    check_name(&b.name)?;
    let mut batch = Batch::new();
    batch.require_absent(STORAGE_BUCKETS.key(&b.name));
    STORAGE_BUCKETS.put(&mut batch, &b.name, b);
    let taken = (
        ErrorCode::Duplicate,
        "A bucket with this name exists already.",
    );
    commit(store, &batch, taken)
}

/// The bucket named `name`, if any.
pub fn get(store: &impl Store, name: &str) -> ApiResult<Option<Bucket>> {
    STORAGE_BUCKETS.get(store, name.trim())
}

/// Bucket `name` of account `account_id`; another account's is `NOT_FOUND`.
pub fn in_account(store: &impl Store, account_id: &str, name: &str) -> ApiResult<Bucket> {
    get(store, name)?
        .filter(|b| b.account_id == account_id)
        .ok_or_else(|| ApiError::not_found("The bucket"))
}

/// The buckets of an account, by name.
pub fn of_account(store: &impl Store, account_id: &str) -> ApiResult<Vec<Bucket>> {
    let mut out = Vec::new();
    scan_all(store, STORAGE_BUCKETS.prefix(), false, |_, row| {
        if let Ok(b) = serde_json::from_slice::<Bucket>(row)
            && b.account_id == account_id
        {
            out.push(b);
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Writes the changed flags of `b` (as read before: a concurrent change is a conflict).
pub fn update(store: &impl Store, before: &Bucket, b: &Bucket) -> ApiResult<()> {
    let mut batch = Batch::new();
    let seen = serde_json::to_vec(before).map_err(|_| ApiError::Internal)?;
    batch.require_value(STORAGE_BUCKETS.key(&b.name), Some(seen));
    STORAGE_BUCKETS.put(&mut batch, &b.name, b);
    let changed = (
        ErrorCode::NotFound,
        "The bucket changed meanwhile; try again.",
    );
    commit(store, &batch, changed)
}

/// Sets the CORS rules of bucket `name` (none: CORS off).
pub fn set_cors(store: &impl Store, name: &str, rules: Vec<CorsRule>) -> ApiResult<()> {
    STORAGE_BUCKETS
        .update(store, name, |b: &mut Bucket| {
            b.cors = rules.clone();
            Ok(true)
        })
        .map(|_| ())
}

/// Whether bucket `name` holds no object.
pub fn is_empty(store: &impl Store, name: &str) -> ApiResult<bool> {
    let prefix = STORAGE_OBJECTS.key(&alloc::format!("{name}/"));
    Ok(store.scan(&prefix, None, 1)?.is_empty())
}

/// Deletes bucket `b`, which must be empty (as S3 requires).
pub fn delete(store: &impl Store, b: &Bucket) -> ApiResult<()> {
    if !is_empty(store, &b.name)? {
        return Err(ApiError::invalid(
            "The bucket is not empty: delete its objects first.",
        ));
    }
    let mut batch = Batch::new();
    batch.require_present(STORAGE_BUCKETS.key(&b.name));
    STORAGE_BUCKETS.delete(&mut batch, &b.name);
    let gone = (ErrorCode::NotFound, "The bucket was deleted meanwhile.");
    commit(store, &batch, gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_s3_rules() {
        for good in ["abc", "my-bucket.1", "0day", &"a".repeat(63)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "My-Bucket",
            "-abc",
            "abc-",
            "a..b",
            "192.168.1.1",
            "a_b",
            "a/b",
            &"a".repeat(64),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod cors_tests {
    use super::*;

    fn rule() -> CorsRule {
        CorsRule {
            allowed_origins: alloc::vec![
                "https://*.example.com".into(),
                "http://localhost:3000".into()
            ],
            allowed_methods: alloc::vec!["GET".into(), "PUT".into()],
            allowed_headers: alloc::vec!["content-*".into(), "x-amz-date".into()],
            ..CorsRule::default()
        }
    }

    #[test]
    fn a_rule_allows_its_origins_methods_and_headers_only() {
        let r = rule();
        assert!(r.allows("https://app.example.com", "GET", &[]));
        assert!(r.allows(
            "http://localhost:3000",
            "put",
            &["Content-Type", "X-Amz-Date"]
        ));
        assert!(!r.allows("https://example.com.evil.net", "GET", &[]));
        assert!(!r.allows("http://localhost:3001", "GET", &[]));
        assert!(!r.allows("https://app.example.com", "DELETE", &[]));
        assert!(!r.allows("https://app.example.com", "PUT", &["authorization"]));
        let b = Bucket::default();
        assert!(
            b.cors_rule("http://localhost:3000", "GET", &[]).is_none(),
            "off by default"
        );
    }
}
