//! The `blob_trash` table: bodies that must go unless a node or a version still names them.
//! (Not the users' trash, `user_trash.rs`: this is the list of bodies to unlink.)
//! A body is listed before it is renamed into place (removed by the commit that adds its row)
//! and when its row is deleted (removed once the body is unlinked), so a crash at any moment
//! leaves either a row with its body or a trash entry to finish.

use rusqlite::{Connection, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone)]
pub struct TrashEntry {
    pub volume: String,
    pub user_id: String,
    pub blob_id: String,
    pub ext: String,
}

pub fn insert_trash(conn: &Connection, e: &TrashEntry, now: i64) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO blob_trash (volume, user_id, blob_id, ext, created_at) VALUES (:v, :u, :b, :e, :now)",
    )?
    .execute(named_params! {":v": e.volume, ":u": e.user_id, ":b": e.blob_id, ":e": e.ext, ":now": now})?;
    Ok(())
}

pub fn remove_trash(conn: &Connection, volume: &str, blob_id: &str) -> AppResult<()> {
    conn.prepare_cached("DELETE FROM blob_trash WHERE volume = :v AND blob_id = :b")?
        .execute(named_params! {":v": volume, ":b": blob_id})?;
    Ok(())
}

/// Trash entries whose blob no node references (those are safe to unlink).
pub fn list_unreferenced_trash(conn: &Connection) -> AppResult<Vec<TrashEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.volume, t.user_id, t.blob_id, t.ext FROM blob_trash t
         WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.blob_id = t.blob_id)
           AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.blob_id = t.blob_id)",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(TrashEntry {
                volume: r.get(0)?,
                user_id: r.get(1)?,
                blob_id: r.get(2)?,
                ext: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Whether a row, a version or a trash entry names this body. Between its rename into place and its
/// commit a body always has one of the two, so a body with neither is an orphan.
pub fn is_blob_known(conn: &Connection, blob_id: &str) -> AppResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM blob_trash WHERE blob_id = ?1) OR EXISTS (SELECT 1 FROM nodes WHERE blob_id = ?1)
             OR EXISTS (SELECT 1 FROM versions WHERE blob_id = ?1)",
        [blob_id],
        |r| r.get(0),
    )?)
}

/// Entries for blobs that a node still references (a stale pending marker): just forget them.
pub fn drop_referenced_trash(conn: &Connection) -> AppResult<usize> {
    Ok(conn.execute(
        "DELETE FROM blob_trash WHERE EXISTS (SELECT 1 FROM nodes n WHERE n.blob_id = blob_trash.blob_id)
             OR EXISTS (SELECT 1 FROM versions v WHERE v.blob_id = blob_trash.blob_id)",
        [],
    )?)
}
