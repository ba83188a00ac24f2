//! SQLite: the pool, the PRAGMAs every connection gets, the schema, and one module per table.

pub mod albums;
pub mod app_passwords;
pub mod audit;
pub mod chunks;
pub mod embeddings;
pub mod invites;
pub mod jobs;
pub mod mark;
pub mod media;
pub mod nodes;
pub mod photos;
pub mod props;
pub mod requests;
pub mod search;
pub mod shares;
pub mod tags;
pub mod tokens;
pub mod trash;
pub mod tus;
pub mod user_trash;
pub mod users;
pub mod versions;
pub mod volumes;

use std::path::Path;

use anyhow::Context;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use crate::error::{AppError, AppResult};

pub const SCHEMA: &str = include_str!("../../schema.sql");
/// Bumped with every numbered migration.
pub const SCHEMA_VERSION: i64 = 6;

/// `(version it produces, SQL)`: applied in order to a database older than `SCHEMA_VERSION`.
/// schema.sql always equals version 1 plus every migration (tested).
pub const MIGRATIONS: &[(i64, &str)] = &[
    (2, include_str!("../../migrations/0002_jobs_media_tags.sql")),
    (3, include_str!("../../migrations/0003_tus_uploads.sql")),
    (4, include_str!("../../migrations/0004_audit.sql")),
    (
        5,
        include_str!("../../migrations/0005_exact_names_trash_versions.sql"),
    ),
    (6, include_str!("../../migrations/0006_photos.sql")),
];

pub type Pool = r2d2::Pool<Manager>;
/// Connections in the pool (one of them is kept by the group commit, `store/group.rs`).
pub const POOL_SIZE: u32 = 16;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// A cheap handle: clone it into closures that run on blocking threads.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    shedding: std::sync::Arc<std::sync::atomic::AtomicBool>,
    marks: std::sync::Arc<mark::ChangeMarks>,
}

/// r2d2_sqlite's manager, and a way to close the connections a burst opened: while `shedding`
/// is set, a connection given back to the pool is closed instead of kept (r2d2 keeps an idle
/// connection, with its page and statement caches, for 10 minutes).
#[derive(Debug)]
pub struct Manager {
    inner: SqliteConnectionManager,
    shedding: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        self.inner.connect()
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        self.inner.is_valid(conn)
    }

    fn has_broken(&self, _conn: &mut Connection) -> bool {
        self.shedding.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Db {
    /// Closes the idle connections above the pool's minimum (after a burst: each holds its own
    /// page cache and prepared statements). Blocking, but never waits for a connection.
    pub fn shed_idle_connections(&self) -> usize {
        // Only the surplus is taken: r2d2 opens new connections in the background whenever a
        // `get` leaves fewer idle than its minimum, so taking every idle one (and giving the
        // minimum back) made it open replacements that stayed on top of those kept.
        let keep = self.pool.min_idle().unwrap_or(0);
        let surplus_n = self.pool.state().idle_connections.saturating_sub(keep);
        let mut surplus = Vec::new();
        for _ in 0..surplus_n {
            match self.pool.try_get() {
                Some(c) => surplus.push(c),
                None => break,
            }
        }
        let shed = surplus.len();
        // The surplus is closed on its way back.
        self.shedding
            .store(true, std::sync::atomic::Ordering::Relaxed);
        drop(surplus);
        self.shedding
            .store(false, std::sync::atomic::Ordering::Relaxed);
        shed
    }

    pub fn open(path: &Path) -> anyhow::Result<Db> {
        // WAL is a property of the file: set it once, before a pool opens connections in
        // parallel (concurrent switches to WAL on a new file fail with "database is locked").
        {
            let c = Connection::open(path)
                .with_context(|| format!("opening database {}", path.display()))?;
            c.busy_timeout(std::time::Duration::from_secs(15))?;
            c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            // synchronous=FULL: an upload answered 201 survives a power cut, not only a crash.
            c.execute_batch(
                "PRAGMA foreign_keys = ON;
                 PRAGMA synchronous = FULL;",
            )?;
            // rusqlite keeps 16 prepared statements by default: fewer than one request's path.
            c.set_prepared_statement_cache_capacity(64);
            c.wal_hook(Some(wal_committed));
            c.busy_handler(Some(wait_while_busy))
        });
        let shedding = std::sync::Arc::<std::sync::atomic::AtomicBool>::default();
        let manager = Manager {
            inner: manager,
            shedding: shedding.clone(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(2))
            // r2d2 checks a connection on every checkout by running an empty batch: 4% of a
            // small WebDAV GET's CPU. A local SQLite connection does not go stale like a
            // network one; a broken one still fails its next statement with a clear error.
            .test_on_check_out(false)
            .build(manager)
            .with_context(|| format!("opening database {}", path.display()))?;
        let mut conn = pool.get()?;
        migrate(&mut conn)?;
        let marks = std::sync::Arc::new(mark::ChangeMarks::open(path));
        Ok(Db {
            pool,
            shedding,
            marks,
        })
    }

    /// The database's change mark now (`mark.rs`): cheap, never blocks, callable on the async
    /// runtime. None: no mark to be had (then nothing may be trusted to be current).
    pub fn change_mark(&self) -> Option<mark::Mark> {
        self.marks.read()
    }

    pub fn conn(&self) -> AppResult<PooledConn> {
        Ok(self.pool.get()?)
    }

    /// A connection if one is free right now (never waits for one to be given back).
    pub fn try_conn(&self) -> Option<PooledConn> {
        self.pool.try_get()
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
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if version > SCHEMA_VERSION {
        anyhow::bail!(
            "database schema version {version} is newer than this cloudvault ({SCHEMA_VERSION}): upgrade the binary"
        );
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    // Another process (the CLI) may have migrated it between our read and the lock.
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        tx.execute_batch(SCHEMA).context("applying schema.sql")?;
    } else if version < SCHEMA_VERSION {
        for (to, sql) in MIGRATIONS.iter().filter(|(to, _)| *to > version) {
            tx.execute_batch(sql)
                .with_context(|| format!("migrating the database to version {to}"))?;
            tracing::info!(version = to, "database migrated");
        }
    }
    tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    tx.commit()?;
    Ok(())
}

/// Runs `f` with `synchronous = NORMAL` (then back to FULL, whatever happens): for writes
/// that need not survive a power cut, only a crash. In WAL mode a NORMAL commit skips the
/// fsync but stays atomic, and a process crash loses nothing (the WAL is in the page cache).
/// Used for quota reservations (recomputed at every start) and "pending body" trash entries
/// (losing one to a power cut leaves at worst an orphan body, which `fsck --repair` removes),
/// so that a small upload pays for one durable commit instead of three.
pub fn relaxed<T>(conn: &Connection, f: impl FnOnce(&Connection) -> AppResult<T>) -> AppResult<T> {
    // Cached statements: this runs around every quota reservation (parsing it each time showed
    // in the small-PUT profile).
    struct Restore<'a>(&'a Connection);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let _ = exec_cached(self.0, "PRAGMA synchronous = FULL");
        }
    }
    exec_cached(conn, "PRAGMA synchronous = NORMAL")?;
    let _restore = Restore(conn);
    f(conn)
}

/// Runs `f` inside one read transaction: one WAL snapshot (and one pair of shared-memory
/// locks) for several lookups, where each autocommit query would take its own. BEGIN and
/// COMMIT are cached statements: rusqlite's `transaction()` parses both every time, which
/// showed in the small-GET profile.
pub fn read_tx<T>(conn: &Connection, f: impl FnOnce(&Connection) -> AppResult<T>) -> AppResult<T> {
    struct End<'a>(&'a Connection, bool);
    impl Drop for End<'_> {
        fn drop(&mut self) {
            if !self.1 {
                let _ = exec_cached(self.0, "ROLLBACK");
            }
        }
    }
    exec_cached(conn, "BEGIN")?;
    let mut end = End(conn, false);
    let out = f(conn)?;
    exec_cached(conn, "COMMIT")?;
    end.1 = true;
    Ok(out)
}

/// One statement without parameters or rows (a pragma, BEGIN, COMMIT), prepared once per
/// connection: `execute_batch` parses its text every time.
fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute([])
}

/// Bumped (and waiters woken) each time a connection of this process ends a write transaction.
static WRITES_ENDED: (std::sync::Mutex<u64>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

/// Pages in the WAL after which a commit checkpoints it (SQLite's default auto-checkpoint,
/// which this hook replaces).
const AUTO_CHECKPOINT_PAGES: i32 = 1000;

/// Runs after every commit of a connection of the pool, once its write lock is released
/// (`sqlite3_wal_hook`): wakes the connections waiting for that lock, then does what SQLite's
/// own hook would have done, a passive checkpoint once the WAL is long.
fn wal_committed(wal: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    {
        let (ended, woken) = &WRITES_ENDED;
        *ended.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        woken.notify_all();
    }
    if pages >= AUTO_CHECKPOINT_PAGES {
        // Like SQLite's auto-checkpoint, a failure here is not the commit's failure.
        let _ = wal.checkpoint();
    }
    Ok(())
}

/// Waits for another connection's write lock, for up to ~15 s. SQLite's own busy_timeout
/// sleeps 1, 2, 5, 10... ms between tries, an eternity next to a write transaction of ~100 µs;
/// sleeping 50 µs between tries instead (the previous handler) cost ~30 wake-ups and lock
/// probes per small WebDAV PUT with four clients. So the wait ends when a connection of this
/// process ends a write (`wal_committed`), and at the latest after 1 ms, which is how often a
/// lock held by another process (the CLI) is probed.
fn wait_while_busy(attempt: i32) -> bool {
    const TRIES: i32 = 15_000;
    if attempt >= TRIES {
        return false;
    }
    let (ended, woken) = &WRITES_ENDED;
    let guard = ended.lock().unwrap_or_else(|e| e.into_inner());
    let seen = *guard;
    let _ = woken
        .wait_timeout_while(guard, std::time::Duration::from_millis(1), |g| *g == seen)
        .unwrap_or_else(|e| e.into_inner());
    true
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The database's schema as (type, name, statement), statements without comments or layout:
/// two databases with equal schemas give equal lists (a fresh one against a migrated one).
pub fn schema_of(conn: &Connection) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut st = conn.prepare(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name",
    )?;
    st.query_map([], |r| {
        let sql: String = r.get(2)?;
        let sql = sql
            .lines()
            .map(|l| l.split("--").next().unwrap_or("").trim())
            .collect::<Vec<_>>()
            .join(" ");
        Ok((
            r.get(0)?,
            r.get(1)?,
            sql.split_whitespace().collect::<Vec<_>>().join(" "),
        ))
    })?
    .collect()
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database in a fresh folder (kept as long as the `TempDir` lives), and its path.
    fn temp_db() -> (tempfile::TempDir, std::path::PathBuf, Db) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).unwrap();
        (dir, path, db)
    }

    #[test]
    fn a_burst_of_connections_is_closed_again_down_to_the_minimum() {
        let (_dir, _path, db) = temp_db();
        let held: Vec<_> = (0..10).map(|_| db.conn().unwrap()).collect();
        drop(held);
        // r2d2 opens connections in the background to keep its minimum idle: let it settle.
        let mut last = db.pool.state().connections;
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let now = db.pool.state().connections;
            if now == last {
                break;
            }
            last = now;
        }
        let before = db.pool.state();
        assert!(before.idle_connections >= 10, "{before:?}");
        assert_eq!(
            db.shed_idle_connections(),
            before.idle_connections as usize - 2
        );
        assert_eq!(db.pool.state().idle_connections, 2);
        // Connections given back later are kept again, and the pool still works.
        let held: Vec<_> = (0..4).map(|_| db.conn().unwrap()).collect();
        drop(held);
        assert!(db.pool.state().idle_connections >= 4);
        let one: i64 = db
            .conn()
            .unwrap()
            .query_row("SELECT 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(one, 1);
    }

    #[test]
    fn schema_applies_and_reopens() {
        let (_dir, path, db) = temp_db();
        let conn = db.conn().unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        drop(db);
        Db::open(&path).unwrap();
    }

    #[test]
    fn read_tx_always_ends_its_transaction() {
        let (_dir, _, db) = temp_db();
        let conn = db.conn().unwrap();
        let n: i64 = read_tx(&conn, |c| {
            assert!(!c.is_autocommit(), "inside a transaction");
            Ok(c.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
        })
        .unwrap();
        assert_eq!(n, 0);
        assert!(conn.is_autocommit());
        let failed: AppResult<()> = read_tx(&conn, |c| {
            c.query_row("SELECT nope FROM users", [], |_| Ok(()))?;
            Ok(())
        });
        assert!(failed.is_err());
        assert!(conn.is_autocommit(), "an error rolls back");
    }

    #[test]
    fn writers_wait_for_each_other_and_for_other_processes() {
        let (_dir, path, db) = temp_db();
        let conn = db.conn().unwrap();
        conn.execute_batch("CREATE TABLE w (n INTEGER)").unwrap();
        // Another connection of the pool holds the write lock for a while, then commits: the
        // waiting writers get it (woken by the commit), none fails with SQLITE_BUSY.
        conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO w VALUES (0)")
            .unwrap();
        let writers: Vec<_> = (1..=4)
            .map(|i| {
                let db = db.clone();
                std::thread::spawn(move || {
                    let c = db.conn().unwrap();
                    c.execute("INSERT INTO w VALUES (?1)", [i]).unwrap();
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(50));
        conn.execute_batch("COMMIT").unwrap();
        for w in writers {
            w.join().unwrap();
        }
        // A connection outside the pool (the CLI, another process) wakes nobody: its lock is
        // probed until it is gone.
        let foreign = Connection::open(&path).unwrap();
        foreign
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO w VALUES (5)")
            .unwrap();
        let waiter = {
            let db = db.clone();
            std::thread::spawn(move || {
                db.conn()
                    .unwrap()
                    .execute("INSERT INTO w VALUES (6)", [])
                    .unwrap();
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(30));
        foreign.execute_batch("COMMIT").unwrap();
        waiter.join().unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM w", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 7);
    }

    #[test]
    fn the_wal_is_checkpointed_as_it_grows() {
        // The commit hook replaces SQLite's auto-checkpoint: without its checkpoint the WAL
        // would hold every page ever written.
        let (dir, path, db) = temp_db();
        let conn = db.conn().unwrap();
        conn.execute_batch("CREATE TABLE big (b BLOB)").unwrap();
        let blob = vec![7u8; 64 * 1024];
        for _ in 0..500 {
            conn.execute("INSERT INTO big VALUES (?1)", [&blob])
                .unwrap(); // ~32 MB in all
        }
        let wal = std::fs::metadata(dir.path().join("t.db-wal"))
            .unwrap()
            .len();
        assert!(wal < 12 << 20, "WAL of {wal} bytes after 32 MB written");
        let db_size = std::fs::metadata(&path).unwrap().len();
        assert!(
            db_size > 16 << 20,
            "pages reached the database file: {db_size}"
        );
    }

    #[test]
    fn fresh_database_equals_migrated_one() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = Db::open(&dir.path().join("fresh.db")).unwrap();

        let old_path = dir.path().join("old.db");
        {
            let c = Connection::open(&old_path).unwrap();
            c.execute_batch(include_str!("../../migrations/0001_initial.sql"))
                .unwrap();
            c.execute_batch("PRAGMA user_version = 1").unwrap();
            c.execute(
                "INSERT INTO users (id, username, password_hash, quota_bytes, root_id, created_at)
                 VALUES ('u', 'old', 'x', 10, 'r', 1)",
                [],
            )
            .unwrap();
        }
        let migrated = Db::open(&old_path).unwrap();
        let m = migrated.conn().unwrap();
        let v: i64 = m
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        assert_eq!(
            schema_of(&fresh.conn().unwrap()).unwrap(),
            schema_of(&m).unwrap()
        );
        let kept: String = m
            .query_row("SELECT username FROM users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, "old", "migration keeps the data");
    }
}
