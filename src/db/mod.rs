//! SQLite: the pool, the PRAGMAs every connection gets, the schema, and one module per table.

pub mod app_passwords;
pub mod chunks;
pub mod invites;
pub mod nodes;
pub mod props;
pub mod requests;
pub mod tokens;
pub mod trash;
pub mod users;
pub mod volumes;

use std::path::Path;

use anyhow::Context;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use crate::error::{AppError, AppResult};

pub const SCHEMA: &str = include_str!("../../schema.sql");
/// Bumped with every numbered migration.
pub const SCHEMA_VERSION: i64 = 1;

pub type Pool = r2d2::Pool<SqliteConnectionManager>;

/// A cheap handle: clone it into closures that run on blocking threads.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl Db {
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        // WAL is a property of the file: set it once, before a pool opens connections in
        // parallel (concurrent switches to WAL on a new file fail with "database is locked").
        {
            let c = Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
            c.busy_timeout(std::time::Duration::from_secs(15))?;
            c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            // synchronous=FULL: an upload answered 201 survives a power cut, not only a crash.
            c.execute_batch(
                "PRAGMA busy_timeout = 15000;
                 PRAGMA foreign_keys = ON;
                 PRAGMA synchronous = FULL;",
            )
        });
        let pool = r2d2::Pool::builder()
            .max_size(16)
            .min_idle(Some(2))
            .build(manager)
            .with_context(|| format!("opening database {}", path.display()))?;
        let mut conn = pool.get()?;
        migrate(&mut conn)?;
        Ok(Db { pool })
    }

    pub fn conn(&self) -> AppResult<r2d2::PooledConnection<SqliteConnectionManager>> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` with a connection on a blocking thread: SQLite never runs on the async runtime.
    pub async fn run<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(AppError::from)?;
            f(&mut conn)
        })
        .await?
    }
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    match version {
        0 => {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
            // Another process (the CLI) may have created it between our read and the lock.
            let again: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if again == 0 {
                tx.execute_batch(SCHEMA).context("applying schema.sql")?;
                tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
            }
            tx.commit()?;
            Ok(())
        }
        SCHEMA_VERSION => Ok(()),
        v if v > SCHEMA_VERSION => anyhow::bail!(
            "database schema version {v} is newer than this cloudvault ({SCHEMA_VERSION}): upgrade the binary"
        ),
        v => anyhow::bail!("no migration from schema version {v}"),
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_applies_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).unwrap();
        let conn = db.conn().unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        drop(db);
        Db::open(&path).unwrap();
    }
}
