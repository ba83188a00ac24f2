//! The `users` table: accounts, quota counters and reservations.

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub reserved_bytes: i64,
    pub token_version: i64,
    pub pinned_volume: Option<String>,
    pub root_id: String,
    pub created_at: i64,
}

impl User {
    /// Whether `adding` more bytes fit once `freeing` bytes are given back (an overwrite frees
    /// the old body): the quota rule of `within_quota!` below, on a row read earlier. A first
    /// look only: the commit checks again, in SQL, against the row as it is then.
    pub fn fits(&self, adding: i64, freeing: i64) -> bool {
        self.used_bytes + self.reserved_bytes - freeing + adding <= self.quota_bytes
    }
}

const COLUMNS: &str = "id, username, password_hash, is_admin, disabled, quota_bytes, used_bytes, reserved_bytes, \
                       token_version, pinned_volume, root_id, created_at";

fn from_row(r: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        is_admin: r.get(3)?,
        disabled: r.get(4)?,
        quota_bytes: r.get(5)?,
        used_bytes: r.get(6)?,
        reserved_bytes: r.get(7)?,
        token_version: r.get(8)?,
        pinned_volume: r.get(9)?,
        root_id: r.get(10)?,
        created_at: r.get(11)?,
    })
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub is_admin: bool,
    pub quota_bytes: i64,
    pub root_id: &'a str,
    pub now: i64,
}

/// Inserts the user; the caller inserts the root node in the same transaction.
pub fn insert_user(conn: &Connection, u: &NewUser) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO users (id, username, password_hash, is_admin, quota_bytes, root_id, created_at)
         VALUES (:id, :username, :hash, :admin, :quota, :root, :now)",
    )?
    .execute(named_params! {
        ":id": u.id, ":username": u.username, ":hash": u.password_hash, ":admin": u.is_admin,
        ":quota": u.quota_bytes, ":root": u.root_id, ":now": u.now,
    })?;
    Ok(())
}

pub fn find_user_by_id(conn: &Connection, id: &str) -> AppResult<Option<User>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = :id"))?
        .query_row(named_params! {":id": id}, from_row)
        .optional()?)
}

pub fn find_user_by_name(conn: &Connection, username: &str) -> AppResult<Option<User>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE username = :u"))?
        .query_row(named_params! {":u": username}, from_row)
        .optional()?)
}

pub fn list_users(conn: &Connection) -> AppResult<Vec<User>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users ORDER BY username"))?;
    let rows = stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn count_users(conn: &Connection) -> AppResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

pub fn count_admins(conn: &Connection) -> AppResult<i64> {
    Ok(
        conn.query_row("SELECT count(*) FROM users WHERE is_admin = 1", [], |r| {
            r.get(0)
        })?,
    )
}

pub fn set_quota(conn: &Connection, id: &str, quota: i64) -> AppResult<bool> {
    let n = conn
        .prepare_cached("UPDATE users SET quota_bytes = :q WHERE id = :id")?
        .execute(named_params! {":q": quota, ":id": id})?;
    Ok(n == 1)
}

/// Sets the password and bumps `token_version`, so access tokens issued before stop working.
pub fn set_password(conn: &Connection, id: &str, hash: &str) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE users SET password_hash = :h, token_version = token_version + 1 WHERE id = :id",
    )?
    .execute(named_params! {":h": hash, ":id": id})?;
    Ok(())
}

/// Disabling also ends the account's access tokens (token version); enabling leaves them be, so
/// enabling an account that is enabled already signs nobody out.
pub fn set_disabled(conn: &Connection, id: &str, disabled: bool) -> AppResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE users SET disabled = :d, token_version = token_version + :d WHERE id = :id",
        )?
        .execute(named_params! {":d": disabled, ":id": id})?;
    Ok(n == 1)
}

/// The quota rule, in SQL: `:n` more bytes fit when used, reserved and new bytes stay within the
/// quota. The only place it is written for the database; `User::fits` is the same rule in Rust.
macro_rules! within_quota {
    () => {
        "used_bytes + reserved_bytes + :n <= quota_bytes"
    };
}

/// Holds `n` more bytes for an upload in flight, only if the quota allows it. The condition and
/// the increment are one statement, so parallel uploads can never overshoot the quota.
pub fn try_reserve(conn: &Connection, id: &str, n: i64) -> AppResult<bool> {
    let changed = conn
        .prepare_cached(concat!(
            "UPDATE users SET reserved_bytes = reserved_bytes + :n WHERE id = :id AND ",
            within_quota!()
        ))?
        .execute(named_params! {":n": n, ":id": id})?;
    Ok(changed == 1)
}

/// What the user may still store: quota minus used and reserved bytes.
pub fn available_bytes(conn: &Connection, id: &str) -> AppResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT quota_bytes - used_bytes - reserved_bytes FROM users WHERE id = :id",
        )?
        .query_row(named_params! {":id": id}, |r| r.get(0))?)
}

pub fn release_reservation(conn: &Connection, id: &str, n: i64) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE users SET reserved_bytes = max(0, reserved_bytes - :n) WHERE id = :id",
    )?
    .execute(named_params! {":n": n, ":id": id})?;
    Ok(())
}

/// Moves a committed upload's bytes from reserved to used; called inside the commit transaction.
pub fn apply_usage(conn: &Connection, id: &str, used_delta: i64, released: i64) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE users SET used_bytes = used_bytes + :d, reserved_bytes = max(0, reserved_bytes - :r) WHERE id = :id",
    )?
    .execute(named_params! {":d": used_delta, ":r": released, ":id": id})?;
    Ok(())
}

/// At server start no streaming upload is in flight: what stays reserved is exactly the bytes
/// of chunked uploads waiting for assembly and the lengths of unfinished resumable (tus) uploads.
pub fn reset_reservations(conn: &Connection) -> AppResult<usize> {
    Ok(conn.execute(
        "UPDATE users SET reserved_bytes = r.expected FROM (
             SELECT u.id AS uid,
                    (SELECT coalesce(sum(bytes), 0) FROM chunk_uploads c WHERE c.user_id = u.id)
                  + (SELECT coalesce(sum(length), 0) FROM tus_uploads t WHERE t.user_id = u.id AND t.file_id IS NULL) AS expected
             FROM users u) AS r
         WHERE users.id = r.uid AND users.reserved_bytes <> r.expected",
        [],
    )?)
}

/// What `used_bytes` of the user `u` must be: their files' sizes (those in the trash too), their
/// versions' and their dead properties' bytes.
fn actual_usage_sql() -> String {
    format!(
        "((SELECT coalesce(sum(size), 0) FROM nodes n WHERE n.owner_id = u.id AND n.kind = 'file')
          + (SELECT coalesce(sum(size), 0) FROM versions v WHERE v.owner_id = u.id) + {})",
        crate::db::props::owner_prop_bytes_sql("u.id")
    )
}

/// (user id, username, used_bytes, files + properties) for every user whose counter is off.
pub fn find_usage_mismatches(conn: &Connection) -> AppResult<Vec<(String, String, i64, i64)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT u.id, u.username, u.used_bytes, {} AS actual
         FROM users u WHERE u.used_bytes <> actual",
        actual_usage_sql()
    ))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Sets `used_bytes` to what the user's files and properties add up to, in one statement.
pub fn recompute_used_bytes(conn: &Connection, id: &str) -> AppResult<()> {
    conn.execute(
        &format!(
            "UPDATE users AS u SET used_bytes = {} WHERE u.id = ?1",
            actual_usage_sql()
        ),
        [id],
    )?;
    Ok(())
}

/// Adds `n` bytes to `used_bytes` only if the quota allows it (reservations included): one
/// statement, like [`try_reserve`].
pub fn try_use(conn: &Connection, id: &str, n: i64) -> AppResult<bool> {
    let changed = conn
        .prepare_cached(concat!(
            "UPDATE users SET used_bytes = used_bytes + :n WHERE id = :id AND ",
            within_quota!()
        ))?
        .execute(named_params! {":n": n, ":id": id})?;
    Ok(changed == 1)
}

pub fn set_used_bytes(conn: &Connection, id: &str, used: i64) -> AppResult<()> {
    conn.execute(
        "UPDATE users SET used_bytes = ?1 WHERE id = ?2",
        rusqlite::params![used, id],
    )?;
    Ok(())
}

pub fn set_pinned_volume(conn: &Connection, id: &str, volume: Option<&str>) -> AppResult<()> {
    conn.prepare_cached("UPDATE users SET pinned_volume = :v WHERE id = :id")?
        .execute(named_params! {":v": volume, ":id": id})?;
    Ok(())
}
