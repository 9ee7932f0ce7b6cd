//! The database's schema, versioned: each agent brings it up to date when it starts, one at a
//! time (the version row is locked while migrating), and refuses a database that a newer
//! agent migrated past what it knows.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

/// The migrations in order; the schema's version is how many have run. Append only: a
/// released step is never edited, since databases that ran it keep what it did.
const MIGRATIONS: &[&str] = &[
    // 1. The core's rows, in the byte order of their keys (bytea compares as memcmp, the
    //    order the core's scans rely on).
    "CREATE TABLE click_kv (k BYTEA PRIMARY KEY, v BYTEA NOT NULL)",
];

/// The schema version this agent writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Brings the schema to [`VERSION`].
pub async fn run(client: &mut Client) -> Result<(), String> {
    create_version_table(client).await?;
    let tx = client.transaction().await.map_err(describe)?;
    let row = (tx.query_one(
        "SELECT version FROM click_schema WHERE id = 1 FOR UPDATE",
        &[],
    ))
    .await
    .map_err(describe)?;
    let found: i32 = row.get(0);
    if found > VERSION {
        return Err(format!(
            "the database's schema is version {found}, written by a newer click-agent; this one \
             knows up to {VERSION}: upgrade this agent"
        ));
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tx.batch_execute(step)
            .await
            .map_err(|e| format!("schema migration {} failed: {}", i + 1, describe(e)))?;
    }
    tx.execute(
        "UPDATE click_schema SET version = $1 WHERE id = 1",
        &[&VERSION],
    )
    .await
    .map_err(describe)?;
    tx.commit().await.map_err(describe)?;
    if found < VERSION {
        tracing::info!("store: schema migrated from version {found} to {VERSION}");
    }
    Ok(())
}

/// Creates the version row if missing. Agents starting together may race to create it: the
/// loser of that race tries again and finds it.
async fn create_version_table(client: &Client) -> Result<(), String> {
    let mut attempts = 0;
    loop {
        let created = client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS click_schema \
                     (id INT PRIMARY KEY, version INT NOT NULL); \
                 INSERT INTO click_schema (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING",
            )
            .await;
        match created {
            Ok(()) => return Ok(()),
            Err(e) if attempts < 3 && raced(&e) => attempts += 1,
            Err(e) => return Err(describe(e)),
        }
    }
}

fn raced(e: &tokio_postgres::Error) -> bool {
    [SqlState::UNIQUE_VIOLATION, SqlState::DUPLICATE_TABLE]
        .iter()
        .any(|s| e.code() == Some(s))
}

/// The server's own message where there is one (it says what was refused).
pub fn describe(e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}
