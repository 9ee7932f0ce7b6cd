//! The desktop's `Store`: the embedded redb file by default ([`RedbStore`]), or a PostgreSQL
//! database that a fleet of agents shares ([`PgStore`], `[store] url`). Both keep the core's
//! key-value rows with the same atomic, checked batches; the rest of the adapter sees one
//! [`AgentStore`] and never which it is.

mod postgres;
mod redb;

use std::path::Path;
use std::sync::Arc;

use click_core::store::{Batch, CommitError, Entry, Store, StoreError};

pub use self::postgres::PgStore;
pub use self::redb::RedbStore;

/// The store an agent runs on.
pub enum AgentStore {
    Redb(RedbStore),
    Postgres(PgStore),
}

impl AgentStore {
    /// Opens the store `settings` name: PostgreSQL when a URL is given (its migrations run
    /// first), else the redb file `database` in the data directory. Must run inside the tokio
    /// runtime (multi-thread, for PostgreSQL).
    pub fn open(
        settings: &crate::config::StoreSettings,
        database: &Path,
        cache_entries: usize,
    ) -> Result<AgentStore, String> {
        if settings.url.is_empty() {
            return Ok(AgentStore::Redb(RedbStore::open(database, cache_entries)?));
        }
        let store = PgStore::connect(&settings.url, settings.pool_size, cache_entries)?;
        Ok(AgentStore::Postgres(store))
    }

    /// Which store this is, for the log.
    pub fn describe(&self) -> &'static str {
        match self {
            AgentStore::Redb(_) => "redb file",
            AgentStore::Postgres(_) => "PostgreSQL",
        }
    }
}

impl Store for AgentStore {
    type Value = Arc<[u8]>;

    fn get(&self, key: &[u8]) -> Result<Option<Arc<[u8]>>, StoreError> {
        match self {
            AgentStore::Redb(s) => s.get(key),
            AgentStore::Postgres(s) => s.get(key),
        }
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        match self {
            AgentStore::Redb(s) => s.scan(prefix, after, limit),
            AgentStore::Postgres(s) => s.scan(prefix, after, limit),
        }
    }

    fn scan_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        match self {
            AgentStore::Redb(s) => s.scan_rev(prefix, before, limit),
            AgentStore::Postgres(s) => s.scan_rev(prefix, before, limit),
        }
    }

    fn commit(&self, batch: &Batch) -> Result<(), CommitError> {
        match self {
            AgentStore::Redb(s) => s.commit(batch),
            AgentStore::Postgres(s) => s.commit(batch),
        }
    }

    async fn commit_soon(&self, batch: Batch) -> Result<(), CommitError> {
        match self {
            AgentStore::Redb(s) => s.commit_soon(batch).await,
            AgentStore::Postgres(s) => s.commit_soon(batch).await,
        }
    }
}
