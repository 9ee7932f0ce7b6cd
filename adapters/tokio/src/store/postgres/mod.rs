//! The fleet's `Store`: the core's rows in one PostgreSQL table (`click_kv`, bytea keys in
//! byte order), shared by every agent that names the database in `[store] url`.
//!
//! - A batch is one SERIALIZABLE transaction: its checks read the rows, its writes follow, so
//!   two agents racing for one name cannot both pass `Check::Absent`. A transaction the
//!   database aborts as a serialization failure is run again from its checks.
//! - Point reads go through a per-thread cache that each commit (this agent's at once,
//!   others' through `LISTEN/NOTIFY`, [`listen`]) drops.
//! - The core's port is synchronous: calls wait on the runtime the store was opened in, the
//!   worker thread stepping aside meanwhile (as other blocking ports do).

mod listen;
mod migrations;
mod pool;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use click_core::ports::RngExt;
use click_core::store::{
    Batch, CommitError, Entry, Op, Store, StoreError, first_failed_check, net_writes, prefix_end,
};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, IsolationLevel, Row};

use self::listen::ReadCache;
use self::pool::Pool;

/// The longest one store call may take before the request that made it fails, so an
/// unreachable database makes errors, not hung requests.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a batch is run again after serialization failures before it gives up.
const RETRIES: u32 = 200;

pub struct PgStore {
    shared: Arc<Shared>,
    listener: tokio::task::JoinHandle<()>,
}

struct Shared {
    pool: Pool,
    cache: Arc<ReadCache>,
    /// This agent's notice payload: its own commits need no second invalidation.
    id: String,
    runtime: Handle,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

fn fail(what: &str, e: impl std::fmt::Display) -> StoreError {
    tracing::error!("store: {what}: {e}");
    StoreError
}

impl PgStore {
    /// Connects to the database `url` names, runs its migrations and starts listening to
    /// other agents' commits. Must run inside a multi-thread tokio runtime.
    pub fn connect(url: &str, pool_size: usize, cache_entries: usize) -> Result<PgStore, String> {
        let config: Config = url
            .parse()
            .map_err(|e| format!("[store] url is not a PostgreSQL connection string: {e}"))?;
        let runtime = Handle::try_current().map_err(|_| "the store needs the tokio runtime")?;
        let pool = Pool::new(config, pool_size);
        crate::ports::wait_for(async {
            let mut client = (pool::connect(pool.config()).await)
                .map_err(|e| format!("cannot reach PostgreSQL at {}: {e}", where_(&pool)))?;
            migrations::run(&mut client).await
        })?;
        let cache = Arc::new(ReadCache::new(cache_entries));
        let id = crate::ports::OsRng.uuid();
        let listener = runtime.spawn(listen::run(
            pool.config().clone(),
            cache.clone(),
            id.clone(),
        ));
        Ok(PgStore {
            shared: Arc::new(Shared {
                pool,
                cache,
                id,
                runtime,
            }),
            listener,
        })
    }

    /// Whether other agents' commits are being heard (the read cache is in use).
    pub fn hears_others(&self) -> bool {
        self.shared.cache.live()
    }
}

impl Shared {
    /// Runs `work` to its end from synchronous code, within [`CALL_TIMEOUT`].
    fn wait<T>(
        &self,
        what: &str,
        work: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, StoreError> {
        // Made where it is polled: a timer needs the runtime, which a caller's thread (a
        // FUSE thread) may not be in.
        let bounded = async { tokio::time::timeout(CALL_TIMEOUT, work).await };
        let outcome = match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.runtime.block_on(bounded))
            }
            // A thread of the runtime that cannot step aside would wait for itself.
            Ok(_) => return Err(fail(what, "called on a single-thread runtime")),
            Err(_) => self.runtime.block_on(bounded),
        };
        match outcome {
            Ok(r) => r.map_err(|e| fail(what, migrations::describe(e))),
            Err(_) => Err(fail(what, "the database did not answer in time")),
        }
    }

    fn read(&self, key: &[u8]) -> Result<Option<Arc<[u8]>>, StoreError> {
        self.wait("read", async {
            let conn = self.pool.get().await?;
            let row = conn.client.query_opt(&conn.st.get, &[&key]).await?;
            Ok(row.map(|r| Arc::from(r.get::<_, &[u8]>(0))))
        })
    }

    fn scan_in(
        &self,
        prefix: &[u8],
        cursor: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Entry>, StoreError> {
        let limit = limit as i64;
        let end = prefix_end(prefix);
        self.wait("scan", async {
            let conn = self.pool.get().await?;
            let (c, st) = (&conn.client, &conn.st);
            let rows = if reverse {
                // Before the cursor and before the prefix's end, whichever comes first.
                let upper = match (cursor, end.as_deref()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                match upper {
                    Some(u) => c.query(&st.scan_rev_to, &[&prefix, &u, &limit]).await?,
                    None => c.query(&st.scan_rev, &[&prefix, &limit]).await?,
                }
            } else {
                // Keys are never empty, so "after nothing" is "after the empty key".
                let after = cursor.unwrap_or(&[]);
                match end.as_deref() {
                    Some(e) => c.query(&st.scan_to, &[&prefix, &after, &e, &limit]).await?,
                    None => c.query(&st.scan, &[&prefix, &after, &limit]).await?,
                }
            };
            Ok(rows.iter().map(entry).collect())
        })
    }

    /// Runs `batch` until it lands, fails a check, or the database fails.
    async fn commit_async(&self, batch: &Batch) -> Result<(), CommitError> {
        if batch.checks.is_empty() && batch.ops.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let mut attempt = 0;
        let outcome = loop {
            match tokio::time::timeout(CALL_TIMEOUT, self.try_commit(batch)).await {
                Err(_) => break Err(CommitError::Store(fail("commit", "timed out"))),
                Ok(Ok(outcome)) => break outcome,
                Ok(Err(e)) if attempt < RETRIES && retryable(&e) => {
                    attempt += 1;
                    // Spread racing agents apart a little more each time.
                    let jitter = u64::from(crate::ports::OsRng.bytes::<1>()[0]);
                    let pause = Duration::from_micros(jitter * 4 * u64::from(attempt.min(20)));
                    tokio::time::sleep(pause).await;
                }
                Ok(Err(e)) => {
                    break Err(CommitError::Store(fail("commit", migrations::describe(e))));
                }
            }
        };
        crate::metrics::metrics().store_commit(started.elapsed());
        // After a conflict too: a check may have failed on a value this agent cached before
        // another agent's commit was heard of, and the caller's retry must read afresh.
        self.cache.invalidate();
        outcome
    }

    /// One attempt at `batch`: `Ok(Err(Conflict))` when a check fails, `Err` when the
    /// database refused the transaction (and it may be run again).
    async fn try_commit(
        &self,
        batch: &Batch,
    ) -> Result<Result<(), CommitError>, tokio_postgres::Error> {
        let mut conn = self.pool.get().await?;
        let conn = &mut *conn;
        let tx = (conn.client.build_transaction())
            .isolation_level(IsolationLevel::Serializable)
            .start()
            .await?;
        if batch.lazy {
            // Work-started markers: losing one in a crash only loses that the work started.
            tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
                .await?;
        }
        let read: Vec<&[u8]> = read_keys(batch);
        let current: HashMap<Vec<u8>, Vec<u8>> = match read.is_empty() {
            true => HashMap::new(),
            false => (tx.query(&conn.st.read_many, &[&read]).await?.iter())
                .map(entry)
                .collect(),
        };
        if let Some(i) =
            first_failed_check(batch, |k| Ok(current.get(k))).expect("reads from memory never fail")
        {
            tx.rollback().await?;
            return Ok(Err(CommitError::Conflict(i)));
        }
        let writes =
            net_writes(batch, |k| Ok(current.get(k))).expect("reads from memory never fail");
        let (puts, deletes): (Vec<_>, Vec<_>) = writes.iter().partition(|(_, v)| v.is_some());
        let put_keys: Vec<&[u8]> = puts.iter().map(|(k, _)| k.as_slice()).collect();
        let put_values: Vec<&[u8]> = puts.iter().filter_map(|(_, v)| v.as_deref()).collect();
        let delete_keys: Vec<&[u8]> = deletes.iter().map(|(k, _)| k.as_slice()).collect();
        // Sent together: the connection pipelines them.
        let upsert = async {
            if !put_keys.is_empty() {
                tx.execute(&conn.st.upsert, &[&put_keys, &put_values])
                    .await?;
            }
            Ok::<_, tokio_postgres::Error>(())
        };
        let delete = async {
            if !delete_keys.is_empty() {
                tx.execute(&conn.st.delete, &[&delete_keys]).await?;
            }
            Ok(())
        };
        let notice = [&listen::CHANNEL as &(dyn ToSql + Sync), &self.id];
        let notify = tx.query_one(&conn.st.notify, &notice);
        // Pipelined: when one statement fails (a serialization failure), those sent after it
        // fail with "transaction is aborted" (25P02), which `try_join!` could return first
        // and which is not retryable. The cause is the first failure in statement order.
        let (upserted, deleted, notified) = futures_util::join!(upsert, delete, notify);
        upserted?;
        deleted?;
        notified?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}

/// The keys a batch reads: its checks' and its counters'.
fn read_keys(batch: &Batch) -> Vec<&[u8]> {
    use click_core::store::Check;
    let checks = batch.checks.iter().map(|c| match c {
        Check::Absent(k) | Check::Present(k) | Check::Equals(k, _) | Check::Below(k, _) => {
            k.as_slice()
        }
    });
    let counters = batch.ops.iter().filter_map(|op| match op {
        Op::Add(k, _) => Some(k.as_slice()),
        _ => None,
    });
    let mut keys: Vec<&[u8]> = checks.chain(counters).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn entry(row: &Row) -> Entry {
    (
        row.get::<_, &[u8]>(0).to_vec(),
        row.get::<_, &[u8]>(1).to_vec(),
    )
}

/// Whether the database aborted the transaction for racing another (it may be run again).
fn retryable(e: &tokio_postgres::Error) -> bool {
    [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::UNIQUE_VIOLATION,
    ]
    .iter()
    .any(|s| e.code() == Some(s))
}

/// Where the pool connects, for messages (never the password).
fn where_(pool: &Pool) -> String {
    let c = pool.config();
    let hosts: Vec<String> = (c.get_hosts().iter())
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}:{port}/{}",
        hosts.join(","),
        c.get_dbname().unwrap_or("(default database)")
    )
}

impl Store for PgStore {
    type Value = Arc<[u8]>;

    fn get(&self, key: &[u8]) -> Result<Option<Arc<[u8]>>, StoreError> {
        let shared = &self.shared;
        shared.cache.get(key, || shared.read(key))
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.shared.scan_in(prefix, after, limit, false)
    }

    fn scan_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.shared.scan_in(prefix, before, limit, true)
    }

    fn commit(&self, batch: &Batch) -> Result<(), CommitError> {
        let shared = &self.shared;
        let outcome = shared.wait("commit", async { Ok(shared.commit_async(batch).await) });
        outcome.map_err(CommitError::Store)?
    }

    /// The transaction runs in a task of its own: the caller's task may block in a
    /// synchronous store call before it polls this again, and a transaction left holding its
    /// connection and row locks meanwhile could keep that very call waiting.
    async fn commit_soon(&self, batch: Batch) -> Result<(), CommitError> {
        let shared = self.shared.clone();
        let commit = async move { shared.commit_async(&batch).await };
        match self.shared.runtime.spawn(commit).await {
            Ok(outcome) => outcome,
            Err(e) => Err(CommitError::Store(fail("commit", e))),
        }
    }
}
