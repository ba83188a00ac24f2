//! The `trash` table: what users deleted, one row per deleted item (a file, or a folder with
//! everything in it). The item's rows stay in `nodes`, marked `trashed_at`.

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone)]
pub struct TrashRow {
    pub node_id: String,
    pub owner_id: String,
    pub original_parent: Option<String>,
    pub original_path: String,
    pub deleted_at: i64,
    pub bytes: i64,
    pub files: i64,
}

const COLUMNS: &str = "node_id, owner_id, original_parent, original_path, deleted_at, bytes, files";

fn from_row(r: &Row) -> rusqlite::Result<TrashRow> {
    Ok(TrashRow {
        node_id: r.get(0)?,
        owner_id: r.get(1)?,
        original_parent: r.get(2)?,
        original_path: r.get(3)?,
        deleted_at: r.get(4)?,
        bytes: r.get(5)?,
        files: r.get(6)?,
    })
}

pub fn insert_trash_row(conn: &Connection, t: &TrashRow) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO trash (node_id, owner_id, original_parent, original_path, deleted_at, bytes, files)
         VALUES (:id, :o, :p, :path, :at, :b, :f)",
    )?
    .execute(named_params! {
        ":id": t.node_id, ":o": t.owner_id, ":p": t.original_parent, ":path": t.original_path,
        ":at": t.deleted_at, ":b": t.bytes, ":f": t.files,
    })?;
    Ok(())
}

pub fn find_trash_row(conn: &Connection, owner: &str, id: &str) -> AppResult<Option<TrashRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM trash WHERE node_id = :id AND owner_id = :o"
        ))?
        .query_row(named_params! {":id": id, ":o": owner}, from_row)
        .optional()?)
}

pub fn delete_trash_row(conn: &Connection, id: &str) -> AppResult<()> {
    conn.prepare_cached("DELETE FROM trash WHERE node_id = :id")?
        .execute(named_params! {":id": id})?;
    Ok(())
}

/// A user's trash, most recently deleted first.
pub fn list_trash_rows(
    conn: &Connection,
    owner: &str,
    limit: i64,
    offset: i64,
) -> AppResult<Vec<TrashRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM trash WHERE owner_id = :o
         ORDER BY deleted_at DESC, node_id LIMIT :l OFFSET :off"
    ))?;
    let rows = st
        .query_map(
            named_params! {":o": owner, ":l": limit, ":off": offset},
            from_row,
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// (items, bytes) in a user's trash.
pub fn count_trash(conn: &Connection, owner: &str) -> AppResult<(i64, i64)> {
    Ok(conn
        .prepare_cached("SELECT count(*), coalesce(sum(bytes), 0) FROM trash WHERE owner_id = :o")?
        .query_row(named_params! {":o": owner}, |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// The user's item deleted longest ago.
pub fn oldest_trash_row(conn: &Connection, owner: &str) -> AppResult<Option<TrashRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM trash WHERE owner_id = :o ORDER BY deleted_at, node_id LIMIT 1"
        ))?
        .query_row(named_params! {":o": owner}, from_row)
        .optional()?)
}

/// Items of every user deleted before `before`, at most `limit` of them, oldest first.
pub fn list_expired_trash(conn: &Connection, before: i64, limit: i64) -> AppResult<Vec<TrashRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM trash WHERE deleted_at < :b ORDER BY deleted_at LIMIT :l"
    ))?;
    let rows = st
        .query_map(named_params! {":b": before, ":l": limit}, from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Every trash row (for fsck).
pub fn list_all_trash(conn: &Connection) -> AppResult<Vec<TrashRow>> {
    let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM trash"))?;
    let rows = st.query_map([], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}
