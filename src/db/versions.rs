//! The `versions` table: earlier bodies of files, kept when they are overwritten.

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone)]
pub struct Version {
    pub id: String,
    pub node_id: String,
    pub owner_id: String,
    pub size: i64,
    pub content_type: Option<String>,
    pub blob_id: String,
    pub volume: String,
    pub ext: String,
    pub content_hash: Option<String>,
    pub modified_at: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, node_id, owner_id, size, content_type, blob_id, volume, ext, content_hash, \
                       modified_at, created_at";

fn from_row(r: &Row) -> rusqlite::Result<Version> {
    Ok(Version {
        id: r.get(0)?,
        node_id: r.get(1)?,
        owner_id: r.get(2)?,
        size: r.get(3)?,
        content_type: r.get(4)?,
        blob_id: r.get(5)?,
        volume: r.get(6)?,
        ext: r.get(7)?,
        content_hash: r.get(8)?,
        modified_at: r.get(9)?,
        created_at: r.get(10)?,
    })
}

pub fn insert_version(conn: &Connection, v: &Version) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO versions (id, node_id, owner_id, size, content_type, blob_id, volume, ext,
                               content_hash, modified_at, created_at)
         VALUES (:id, :n, :o, :s, :ct, :b, :v, :e, :h, :m, :c)",
    )?
    .execute(named_params! {
        ":id": v.id, ":n": v.node_id, ":o": v.owner_id, ":s": v.size, ":ct": v.content_type,
        ":b": v.blob_id, ":v": v.volume, ":e": v.ext, ":h": v.content_hash, ":m": v.modified_at,
        ":c": v.created_at,
    })?;
    Ok(())
}

/// A file's versions, the most recently made first.
pub fn list_versions_by_age(conn: &Connection, node: &str) -> AppResult<Vec<Version>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM versions WHERE node_id = :n ORDER BY created_at DESC, id"
    ))?;
    let rows = st
        .query_map(named_params! {":n": node}, from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn find_version(conn: &Connection, node: &str, id: &str) -> AppResult<Option<Version>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM versions WHERE id = :id AND node_id = :n"
        ))?
        .query_row(named_params! {":id": id, ":n": node}, from_row)
        .optional()?)
}

pub fn delete_version(conn: &Connection, id: &str) -> AppResult<()> {
    conn.prepare_cached("DELETE FROM versions WHERE id = :id")?
        .execute(named_params! {":id": id})?;
    Ok(())
}

/// The versions of every file below (and including) `id`.
pub fn list_subtree_versions(conn: &Connection, id: &str) -> AppResult<Vec<Version>> {
    let mut st = conn.prepare_cached(&format!(
        "WITH RECURSIVE sub(id) AS (
             SELECT :id UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id)
         SELECT {COLUMNS} FROM versions WHERE node_id IN sub"
    ))?;
    let rows = st
        .query_map(named_params! {":id": id}, from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The user's oldest version of a file that is not in the trash (the trash is freed as a whole).
pub fn oldest_live_version(conn: &Connection, owner: &str) -> AppResult<Option<Version>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM versions v WHERE owner_id = :o
               AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = v.node_id AND n.trashed_at IS NOT NULL)
             ORDER BY created_at, id LIMIT 1"
        ))?
        .query_row(named_params! {":o": owner}, from_row)
        .optional()?)
}

/// Bytes of the user's versions of files not in the trash.
pub fn live_version_bytes(conn: &Connection, owner: &str) -> AppResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(sum(size), 0) FROM versions v WHERE owner_id = :o
               AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = v.node_id AND n.trashed_at IS NOT NULL)",
        )?
        .query_row(named_params! {":o": owner}, |r| r.get(0))?)
}

/// Files (not in the trash) with versions, for the thinning sweep: ids after `after`, in order.
pub fn list_nodes_with_versions(
    conn: &Connection,
    after: &str,
    limit: i64,
) -> AppResult<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT node_id FROM versions WHERE node_id > :a ORDER BY node_id LIMIT :l",
    )?;
    let rows = st
        .query_map(named_params! {":a": after, ":l": limit}, |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Every version row (for fsck and backup).
pub fn list_all_versions(conn: &Connection) -> AppResult<Vec<Version>> {
    let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM versions"))?;
    let rows = st.query_map([], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}
