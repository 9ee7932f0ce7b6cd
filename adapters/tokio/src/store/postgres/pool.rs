//! The connections a [`super::PgStore`] keeps, each with its statements prepared once (a call
//! is then one round trip, not a parse and an execute).

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::{Client, Config, NoTls, Statement};

/// The key-value table's statements. A scan's upper bound is a statement of its own, so that
/// the planner always has it as an index condition (a scan stops at its prefix's end).
pub(super) struct Statements {
    pub get: Statement,
    pub read_many: Statement,
    pub scan: Statement,
    pub scan_to: Statement,
    pub scan_rev: Statement,
    pub scan_rev_to: Statement,
    pub upsert: Statement,
    pub delete: Statement,
    pub notify: Statement,
}

pub(super) struct Conn {
    pub client: Client,
    pub st: Statements,
}

/// Connections handed out one caller at a time, at most `size` open.
pub(super) struct Pool {
    config: Config,
    idle: Mutex<Vec<Conn>>,
    slots: Semaphore,
}

/// A connection taken from the pool; given back when dropped, unless it broke.
pub(super) struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    _slot: SemaphorePermit<'a>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("held until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take().filter(|c| !c.client.is_closed()) {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
    }
}

impl Pool {
    pub fn new(mut config: Config, size: usize) -> Pool {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("click-agent");
        Pool {
            config,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(size.max(1)),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A connection: an idle one, else a new one.
    pub async fn get(&self) -> Result<Lease<'_>, tokio_postgres::Error> {
        let slot = self.slots.acquire().await.expect("never closed");
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.retain(|c| !c.client.is_closed());
            idle.pop()
        };
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().await?,
        };
        Ok(Lease {
            pool: self,
            conn: Some(conn),
            _slot: slot,
        })
    }

    async fn open(&self) -> Result<Conn, tokio_postgres::Error> {
        let client = connect(&self.config).await?;
        let st = Statements {
            get: client
                .prepare("SELECT v FROM click_kv WHERE k = $1")
                .await?,
            read_many: (client.prepare("SELECT k, v FROM click_kv WHERE k = ANY($1)")).await?,
            scan: (client
                .prepare("SELECT k, v FROM click_kv WHERE k >= $1 AND k > $2 ORDER BY k LIMIT $3"))
            .await?,
            scan_to: (client.prepare(
                "SELECT k, v FROM click_kv WHERE k >= $1 AND k > $2 AND k < $3 \
                 ORDER BY k LIMIT $4",
            ))
            .await?,
            scan_rev: (client
                .prepare("SELECT k, v FROM click_kv WHERE k >= $1 ORDER BY k DESC LIMIT $2"))
            .await?,
            scan_rev_to: (client.prepare(
                "SELECT k, v FROM click_kv WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT $3",
            ))
            .await?,
            upsert: (client.prepare(
                "INSERT INTO click_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                 ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            ))
            .await?,
            delete: (client.prepare("DELETE FROM click_kv WHERE k = ANY($1)")).await?,
            notify: client.prepare("SELECT pg_notify($1, $2)").await?,
        };
        Ok(Conn { client, st })
    }
}

/// A new connection, its messages driven by a task of its own. Notifications are not
/// wanted on these connections; [`super::listen`] has its own.
pub(super) async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("store: a PostgreSQL connection ended: {e}");
        }
    });
    Ok(client)
}
