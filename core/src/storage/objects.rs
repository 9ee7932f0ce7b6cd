//! Objects of the built-in storage: what each key holds (its bytes' file, size, ETag, time)
//! in the agent's store, by `<bucket>/<key>`, so that keys are any string S3 allows (folder
//! keys, `..`, empty segments) without ever naming a path on disk; the bytes are files named
//! by a random id. Listings read the store in key order, with S3's prefix, delimiter and
//! continuation.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::buckets::Bucket;
use crate::error::ApiResult;
use crate::ports::Store;
use crate::store::keys::{STORAGE_DAYS, STORAGE_OBJECTS, STORAGE_USAGE};
use crate::store::table::{CounterDeltas, counter};
use crate::store::{Batch, CommitError};

/// What a key holds (the `storageobject/` table).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// The file holding its bytes (a random id, below the storage's `objects/`).
    pub blob: String,
    /// Bytes.
    pub size: u64,
    /// Without its quotes: the MD5 (hex) of a single PUT, or a multipart upload's.
    pub etag: String,
    /// When it was written (Unix ms).
    pub modified_ms: u64,
    /// `Content-Type`, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// A multipart upload's parts, kept as they arrived (file id and size, in order); then
    /// `blob` is empty. Completing an upload moves its parts in, copying nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<(String, u64)>,
}

impl ObjectMeta {
    /// The files holding its bytes, in order, with their sizes.
    pub fn pieces(&self) -> Vec<(String, u64)> {
        match self.parts.is_empty() {
            true => alloc::vec![(self.blob.clone(), self.size)],
            false => self.parts.clone(),
        }
    }

    /// The pieces of bytes `start..end`: each file with the offset and length to read.
    pub fn segments(&self, start: u64, end: u64) -> Vec<(String, u64, u64)> {
        let mut out = Vec::new();
        let mut at = 0u64;
        for (file, size) in self.pieces() {
            let (from, to) = (start.max(at), end.min(at + size));
            if from < to {
                out.push((file, from - at, to - from));
            }
            at += size;
        }
        out
    }
}

fn id(bucket: &str, key: &str) -> String {
    alloc::format!("{bucket}/{key}")
}

/// What `key` of `bucket` holds, if anything.
pub fn get(store: &impl Store, bucket: &str, key: &str) -> ApiResult<Option<ObjectMeta>> {
    STORAGE_OBJECTS.get(store, &id(bucket, key))
}

/// What a bucket holds: objects and bytes, counted as they are written and deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Objects.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

fn usage_key(bucket: &str, what: &str) -> Vec<u8> {
    STORAGE_USAGE.key(&alloc::format!("{bucket}/{what}"))
}

fn day_key(account_id: &str, day_ms: u64, tier: u32) -> Vec<u8> {
    let date = crate::time::iso8601(day_ms);
    let day = date.get(..10).unwrap_or(&date);
    STORAGE_DAYS.key(&alloc::format!("{account_id}/{day}/{tier}"))
}

/// Bytes written to the buckets of `account_id` of storage tier `tier` (0: every tier) on
/// the UTC day of `day_ms`.
pub fn written_on(store: &impl Store, account_id: &str, day_ms: u64, tier: u32) -> ApiResult<u64> {
    if tier != 0 {
        return counter(store, &day_key(account_id, day_ms, tier));
    }
    let date = crate::time::iso8601(day_ms);
    let day = date.get(..10).unwrap_or(&date);
    let prefix = STORAGE_DAYS.key(&alloc::format!("{account_id}/{day}/"));
    let mut total = 0;
    crate::store::scan_all(store, &prefix, false, |_, v| {
        total += crate::store::counter_value(Some(v));
        Ok(true)
    })?;
    Ok(total)
}

/// What `bucket` holds.
pub fn usage(store: &impl Store, bucket: &str) -> ApiResult<Usage> {
    Ok(Usage {
        objects: counter(store, &usage_key(bucket, "objects"))?,
        bytes: counter(store, &usage_key(bucket, "bytes"))?,
    })
}

/// Replaces what `key` of `bucket` holds with `new` (`None`: deletes it), with the bucket's
/// usage, in one commit; what it held before, if anything (whose bytes the caller deletes).
fn replace(
    store: &impl Store,
    b: &Bucket,
    key: &str,
    new: Option<&ObjectMeta>,
) -> ApiResult<Option<ObjectMeta>> {
    let bucket = b.name.as_str();
    let row = STORAGE_OBJECTS.key(&id(bucket, key));
    for _ in 0..16 {
        let seen = store.get(&row)?.map(|v| v.as_ref().to_vec());
        let old: Option<ObjectMeta> = seen.as_ref().and_then(|o| serde_json::from_slice(o).ok());
        if old.is_none() && new.is_none() {
            return Ok(None);
        }
        let mut batch = Batch::new();
        batch.require_value(row.clone(), seen);
        let mut deltas = CounterDeltas::default();
        let size = |m: &ObjectMeta| i64::try_from(m.size).unwrap_or(i64::MAX);
        if let Some(o) = &old {
            deltas.add(usage_key(bucket, "objects"), -1);
            deltas.add(usage_key(bucket, "bytes"), -size(o));
        }
        match new {
            Some(m) => {
                STORAGE_OBJECTS.put(&mut batch, &id(bucket, key), m);
                deltas.add(usage_key(bucket, "objects"), 1);
                deltas.add(usage_key(bucket, "bytes"), size(m));
                deltas.add(day_key(&b.account_id, m.modified_ms, b.tier), size(m));
            }
            None => STORAGE_OBJECTS.delete(&mut batch, &id(bucket, key)),
        }
        deltas.apply(&mut batch);
        match store.commit(&batch) {
            Ok(()) => return Ok(old),
            Err(CommitError::Conflict(_)) => continue,
            Err(e) => return Err(crate::store::table::failure(e)),
        }
    }
    Err(crate::error::ApiError::Internal)
}

/// Writes `meta` as `key` of `bucket`; the object it replaced, if any (whose bytes the
/// caller deletes).
pub fn put(
    store: &impl Store,
    bucket: &Bucket,
    key: &str,
    meta: &ObjectMeta,
) -> ApiResult<Option<ObjectMeta>> {
    replace(store, bucket, key, Some(meta))
}

/// Removes `key` of `bucket`; what it held, if anything.
pub fn delete(store: &impl Store, bucket: &Bucket, key: &str) -> ApiResult<Option<ObjectMeta>> {
    replace(store, bucket, key, None)
}

/// One page of a listing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Keys under the prefix (and not below a delimiter after it), with what they hold.
    pub objects: Vec<(String, ObjectMeta)>,
    /// `CommonPrefixes`: the prefix up to and with each delimiter found after it, once each.
    pub prefixes: Vec<String>,
    /// Where the next page starts after (a key or a common prefix), when there is one.
    pub next: Option<String>,
}

/// Up to `max` entries (keys and common prefixes) of `bucket` under `prefix`, after `after`
/// (a key or common prefix a previous page ended with), grouped by `delimiter` when given.
pub fn list(
    store: &impl Store,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max: usize,
) -> ApiResult<Listing> {
    let base = STORAGE_OBJECTS.key(&id(bucket, ""));
    let scan_prefix = STORAGE_OBJECTS.key(&id(bucket, prefix));
    let mut cursor: Option<Vec<u8>> = after.map(|a| past(&base, a, delimiter));
    let mut out = Listing::default();
    let delimiter = delimiter.filter(|d| !d.is_empty());
    loop {
        let page = store.scan(&scan_prefix, cursor.as_deref(), 256)?;
        let Some((last, _)) = page.last() else {
            return Ok(out);
        };
        cursor = Some(last.clone());
        for (row, value) in &page {
            let key = core::str::from_utf8(&row[base.len()..]).unwrap_or("");
            if out.objects.len() + out.prefixes.len() == max {
                out.next = last_of(&out);
                return Ok(out);
            }
            let rest = &key[prefix.len()..];
            if let Some(d) = delimiter
                && let Some(at) = rest.find(d)
            {
                let common = String::from(&key[..prefix.len() + at + d.len()]);
                // Skip everything else under it: one entry per common prefix.
                cursor = Some(past(&base, &common, Some(d)));
                out.prefixes.push(common);
                break;
            }
            if let Ok(meta) = serde_json::from_slice::<ObjectMeta>(value) {
                out.objects.push((String::from(key), meta));
            }
        }
    }
}

/// The store key a scan continues after, to skip `entry`: a key, or with the delimiter at
/// its end a common prefix, whose every key is skipped (no key holds byte 0xff).
fn past(base: &[u8], entry: &str, delimiter: Option<&str>) -> Vec<u8> {
    let mut k = base.to_vec();
    k.extend_from_slice(entry.as_bytes());
    if delimiter.is_some_and(|d| !d.is_empty() && entry.ends_with(d)) {
        k.push(0xff);
    }
    k
}

fn last_of(l: &Listing) -> Option<String> {
    let key = l.objects.last().map(|(k, _)| k.as_str());
    let prefix = l.prefixes.last().map(String::as_str);
    match (key, prefix) {
        (Some(k), Some(p)) => Some(String::from(k.max(p))),
        (k, p) => k.or(p).map(String::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Ports;
    use crate::testing::TestAgent;

    fn bucket(name: &str) -> Bucket {
        Bucket {
            name: name.into(),
            account_id: "a".into(),
            tier: 2,
            ..Bucket::default()
        }
    }

    fn meta(size: u64) -> ObjectMeta {
        ObjectMeta {
            blob: "b".into(),
            size,
            etag: "\"e\"".into(),
            modified_ms: 1,
            content_type: None,
            parts: Vec::new(),
        }
    }

    /// A range of an object kept as parts reads from the parts it covers.
    #[test]
    fn ranges_map_onto_the_parts_they_cover() {
        let m = ObjectMeta {
            size: 25,
            parts: alloc::vec![("p1".into(), 10), ("p2".into(), 10), ("p3".into(), 5)],
            ..meta(25)
        };
        assert_eq!(m.segments(0, 25).len(), 3);
        assert_eq!(
            m.segments(8, 22),
            [
                ("p1".into(), 8, 2),
                ("p2".into(), 0, 10),
                ("p3".into(), 0, 2)
            ]
        );
        assert_eq!(m.segments(10, 20), [("p2".into(), 0, 10)]);
        assert_eq!(meta(7).segments(2, 5), [("b".into(), 2, 3)]);
    }

    /// Listings as S3 gives them: keys under a prefix in order, common prefixes once each
    /// with a delimiter, pages that continue where the last ended, other buckets apart.
    #[test]
    fn listings_group_by_delimiter_and_continue_across_pages() {
        let t = TestAgent::new();
        let store = t.agent.ports.store();
        let (b1, b10) = (bucket("b1"), bucket("b10"));
        for k in ["a.txt", "dir/x", "dir/y/z", "dir0", "e/", "e/f", "z"] {
            put(store, &b1, k, &meta(k.len() as u64)).unwrap();
        }
        put(store, &b10, "a.txt", &meta(1)).unwrap();
        let all = list(store, "b1", "", None, None, 100).unwrap();
        let keys: Vec<&str> = all.objects.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["a.txt", "dir/x", "dir/y/z", "dir0", "e/", "e/f", "z"]
        );
        let top = list(store, "b1", "", Some("/"), None, 100).unwrap();
        let keys: Vec<&str> = top.objects.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a.txt", "dir0", "z"]);
        assert_eq!(top.prefixes, ["dir/", "e/"]);
        let dir = list(store, "b1", "dir/", Some("/"), None, 100).unwrap();
        assert_eq!(dir.objects[0].0, "dir/x");
        assert_eq!(dir.prefixes, ["dir/y/"]);
        // Pages of two, each continuing after the last entry of the one before.
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = list(store, "b1", "", Some("/"), after.as_deref(), 2).unwrap();
            seen.extend(page.objects.iter().map(|(k, _)| k.clone()));
            seen.extend(page.prefixes.iter().cloned());
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, ["a.txt", "dir/", "dir0", "e/", "z"]);
        let before = usage(store, "b1").unwrap();
        assert_eq!(before.objects, 7);
        assert!(delete(store, &b1, "z").unwrap().is_some());
        assert!(get(store, "b1", "z").unwrap().is_none());
        put(store, &b1, "a.txt", &meta(100)).unwrap();
        let after = usage(store, "b1").unwrap();
        assert_eq!(after.objects, 6, "a replaced object counts once");
        assert_eq!(after.bytes, before.bytes - 1 - 5 + 100);
        // What was written that day, by the bucket's tier and in all.
        let written = 27 + 1 + 100;
        assert_eq!(written_on(store, "a", 1, 2).unwrap(), written);
        assert_eq!(written_on(store, "a", 1, 0).unwrap(), written);
        assert_eq!(written_on(store, "a", 1, 4).unwrap(), 0);
        assert_eq!(
            written_on(store, "a", 86_400_000, 0).unwrap(),
            0,
            "the next day"
        );
    }
}
