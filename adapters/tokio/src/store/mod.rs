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
            AgentStore::Postgres(_) => "PostgreSQL database",
        }
    }
}

/// Copies every row of the agent's redb file into the empty PostgreSQL database `[store]
/// url` names, a page at a time; how many. The agent must be stopped (its file is locked
/// while it runs). Must run inside a multi-thread tokio runtime.
pub fn copy_to_postgres(settings: &crate::config::Settings) -> Result<u64, String> {
    let url = &settings.store.url;
    if url.is_empty() {
        return Err("[store] url names no PostgreSQL database to copy into".into());
    }
    let from = RedbStore::open(&settings.data_dir.join(crate::data_dir::DATABASE_FILE), 0)
        .map_err(|e| format!("{e} (is the agent still running?)"))?;
    let to = PgStore::connect(url, settings.store.pool_size, 0)?;
    let failed = |e: StoreError| format!("the copy failed: {e:?}");
    if !to.scan(b"", None, 1).map_err(failed)?.is_empty() {
        return Err(
            "the PostgreSQL database already holds an agent's rows: copy into an empty one".into(),
        );
    }
    let mut after: Option<Vec<u8>> = None;
    let mut rows = 0u64;
    loop {
        let page = from.scan(b"", after.as_deref(), 1000).map_err(failed)?;
        let Some((last, _)) = page.last() else {
            return Ok(rows);
        };
        after = Some(last.clone());
        let mut batch = Batch::new();
        for (k, v) in page {
            batch.require_absent(k.clone()).put(k, v);
            rows += 1;
        }
        (to.commit(&batch))
            .map_err(|e| format!("the copy failed: {e:?} (another agent writing?)"))?;
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
