//! Single-use records that expire (pending sign-ins, OAuth authorizations): each row has an
//! entry in an expiry index, is taken (read and deleted in one commit) at most once, and is
//! purged once stale, oldest first, so abandoned ones never pile up.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::table::{Table, commit, save};
use super::{Batch, scan_all};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ports::Store;

/// A table of single-use rows and its expiry index (`<expires ms, 16 hex>/<id>`).
#[derive(Clone, Copy, Debug)]
pub struct Expiring {
    rows: Table,
    by_expiry: Table,
}

impl Expiring {
    /// Rows in `rows`, their expiries in `by_expiry`.
    pub const fn new(rows: Table, by_expiry: Table) -> Expiring {
        Expiring { rows, by_expiry }
    }

    fn expiry_key(expires_ms: u64, id: &str) -> String {
        format!("{expires_ms:016x}/{id}")
    }

    /// Puts `row` under `id` until `expires_ms`, in `batch`.
    pub fn put<T: Serialize>(&self, batch: &mut Batch, id: &str, expires_ms: u64, row: &T) {
        self.rows.put(batch, id, row);
        self.by_expiry
            .put_str(batch, &Self::expiry_key(expires_ms, id), "");
    }

    /// Deletes `id` and its expiry entry, in `batch`.
    pub fn delete(&self, batch: &mut Batch, id: &str, expires_ms: u64) {
        self.rows.delete(batch, id);
        self.by_expiry
            .delete(batch, &Self::expiry_key(expires_ms, id));
    }

    /// The row `id`, deleted in the same commit that checks it is still there (with what
    /// `also` adds), so two callers racing for it cannot both have it; `None` when there is no
    /// such row or it was taken meanwhile. `expires` reads a row's expiry: an expired row is
    /// deleted and refused alike (`unknown` is the error then).
    pub fn take<T: DeserializeOwned>(
        &self,
        store: &impl Store,
        id: &str,
        now_ms: u64,
        expires: impl Fn(&T) -> u64,
        also: impl FnOnce(&T, &mut Batch) -> ApiResult<()>,
        unknown: (ErrorCode, &'static str),
    ) -> ApiResult<T> {
        let refused = || ApiError::new(unknown.0, unknown.1);
        let row: T = self.rows.get(store, id.trim())?.ok_or_else(refused)?;
        let mut batch = Batch::new();
        batch.require_present(self.rows.key(id.trim()));
        self.delete(&mut batch, id.trim(), expires(&row));
        also(&row, &mut batch)?;
        commit(store, &batch, unknown)?;
        if expires(&row) <= now_ms {
            return Err(refused());
        }
        Ok(row)
    }

    /// Deletes up to `max` rows that expired by `now_ms`, oldest first; `also` adds what each
    /// row's deletion implies (given the row's bytes when it is still there).
    pub fn purge(
        &self,
        store: &impl Store,
        now_ms: u64,
        max: usize,
        mut also: impl FnMut(&[u8], &mut Batch) -> ApiResult<()>,
    ) -> ApiResult<()> {
        let mut batch = Batch::new();
        let mut gone = 0;
        let now = format!("{now_ms:016x}");
        let prefix = self.by_expiry.prefix();
        scan_all(store, prefix, false, |key, _| {
            let rest = core::str::from_utf8(&key[prefix.len()..]).unwrap_or("");
            let Some((expires, id)) = rest.split_once('/') else {
                return Ok(true);
            };
            if expires > now.as_str() || gone == max {
                return Ok(false);
            }
            gone += 1;
            if let Some(bytes) = store.get(&self.rows.key(id))? {
                also(bytes.as_ref(), &mut batch)?;
            }
            self.rows.delete(&mut batch, id);
            batch.delete(key.to_vec());
            Ok(true)
        })?;
        // A row taken meanwhile makes these deletes no-ops; nothing is checked.
        save(store, &batch)
    }

    /// Whether `id` is there (for a replay cache: ids whose rows hold nothing).
    pub fn key(&self, id: &str) -> Vec<u8> {
        self.rows.key(id)
    }
}
