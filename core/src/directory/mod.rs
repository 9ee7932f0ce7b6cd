//! The account's directory: users, user groups, projects and the relations between them, with
//! the indexes and counters that keep listings to one page of reads.

pub mod entities;
pub mod relations;
pub mod users;

use alloc::vec::Vec;

use crate::error::ApiResult;
use crate::ports::Store;

const SCAN_PAGE: usize = 512;

/// Visits the entries below `prefix` in order (reversed when `descending`) until `f` returns
/// false, reading one page of keys at a time.
pub fn scan_all(
    store: &impl Store,
    prefix: &[u8],
    descending: bool,
    mut f: impl FnMut(&[u8], &[u8]) -> ApiResult<bool>,
) -> ApiResult<()> {
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let page = if descending {
            store.scan_rev(prefix, cursor.as_deref(), SCAN_PAGE)?
        } else {
            store.scan(prefix, cursor.as_deref(), SCAN_PAGE)?
        };
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        cursor = Some(last.clone());
        for (key, value) in &page {
            if !f(key, value)? {
                return Ok(());
            }
        }
    }
}

/// Entries `skip .. skip + take` below `prefix`: an index page without loading what it skips.
pub fn index_page(
    store: &impl Store,
    prefix: &[u8],
    descending: bool,
    skip: usize,
    take: usize,
) -> ApiResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::with_capacity(take);
    let mut seen = 0usize;
    scan_all(store, prefix, descending, |key, value| {
        if seen >= skip {
            out.push((key.to_vec(), value.to_vec()));
        }
        seen += 1;
        Ok(out.len() < take)
    })?;
    Ok(out)
}
