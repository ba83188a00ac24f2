//! The `volumes` table: which volumes this store has used, and the marker each carries.

use rusqlite::{Connection, OptionalExtension, named_params};

use crate::error::AppResult;

pub fn find_volume_marker(conn: &Connection, name: &str) -> AppResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT marker_id FROM volumes WHERE name = :n")?
        .query_row(named_params! {":n": name}, |r| r.get(0))
        .optional()?)
}

pub fn insert_volume(
    conn: &Connection,
    name: &str,
    marker_id: &str,
    path: &str,
    now: i64,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO volumes (name, marker_id, path, first_seen) VALUES (:n, :m, :p, :now)",
    )?
    .execute(named_params! {":n": name, ":m": marker_id, ":p": path, ":now": now})?;
    Ok(())
}
