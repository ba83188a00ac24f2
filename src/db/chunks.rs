//! `chunk_uploads` and `chunk_parts`: Nextcloud-style chunked uploads in progress. Their bytes
//! stay reserved against the owner's quota until they are assembled, deleted or expire.

use rusqlite::{Connection, OptionalExtension, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone)]
pub struct ChunkUpload {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub volume: String,
    pub bytes: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct ChunkPart {
    pub name: String,
    pub size: i64,
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<ChunkUpload> {
    Ok(ChunkUpload {
        id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        volume: r.get(3)?,
        bytes: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

const COLUMNS: &str = "id, user_id, name, volume, bytes, created_at, updated_at";

pub fn insert_chunk_upload(conn: &Connection, u: &ChunkUpload) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO chunk_uploads (id, user_id, name, volume, bytes, created_at, updated_at)
         VALUES (:id, :u, :n, :v, 0, :now, :now)",
    )?
    .execute(named_params! {":id": u.id, ":u": u.user_id, ":n": u.name, ":v": u.volume, ":now": u.created_at})?;
    Ok(())
}

pub fn find_chunk_upload(
    conn: &Connection,
    user_id: &str,
    name: &str,
) -> AppResult<Option<ChunkUpload>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chunk_uploads WHERE user_id = :u AND name = :n"
        ))?
        .query_row(named_params! {":u": user_id, ":n": name}, from_row)
        .optional()?)
}

pub fn list_user_chunk_uploads(conn: &Connection, user_id: &str) -> AppResult<Vec<ChunkUpload>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM chunk_uploads WHERE user_id = :u ORDER BY name"
    ))?;
    let rows = stmt
        .query_map(named_params! {":u": user_id}, from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn list_parts(conn: &Connection, upload_id: &str) -> AppResult<Vec<ChunkPart>> {
    let mut stmt =
        conn.prepare_cached("SELECT name, size FROM chunk_parts WHERE upload_id = :id")?;
    let rows = stmt
        .query_map(named_params! {":id": upload_id}, |r| {
            Ok(ChunkPart {
                name: r.get(0)?,
                size: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Records a part (replacing a re-sent one); returns the size it replaced.
pub fn put_part(
    conn: &Connection,
    upload_id: &str,
    name: &str,
    size: i64,
    now: i64,
) -> AppResult<i64> {
    let old: i64 = conn
        .prepare_cached("SELECT size FROM chunk_parts WHERE upload_id = :id AND name = :n")?
        .query_row(named_params! {":id": upload_id, ":n": name}, |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO chunk_parts (upload_id, name, size) VALUES (:id, :n, :s)",
    )?
    .execute(named_params! {":id": upload_id, ":n": name, ":s": size})?;
    conn.prepare_cached(
        "UPDATE chunk_uploads SET bytes = bytes + :d, updated_at = :now WHERE id = :id",
    )?
    .execute(named_params! {":d": size - old, ":now": now, ":id": upload_id})?;
    Ok(old)
}

/// The bytes a chunked upload holds reserved; None when it is gone (deleted or expired).
pub fn find_chunk_upload_bytes(conn: &Connection, upload_id: &str) -> AppResult<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT bytes FROM chunk_uploads WHERE id = :id")?
        .query_row(named_params! {":id": upload_id}, |r| r.get(0))
        .optional()?)
}

pub fn delete_chunk_upload(conn: &Connection, upload_id: &str) -> AppResult<()> {
    conn.prepare_cached("DELETE FROM chunk_uploads WHERE id = :id")?
        .execute(named_params! {":id": upload_id})?;
    Ok(())
}

/// Uploads untouched since `before` (abandoned).
pub fn list_stale_chunk_uploads(conn: &Connection, before: i64) -> AppResult<Vec<ChunkUpload>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM chunk_uploads WHERE updated_at < :t"
    ))?;
    let rows = stmt
        .query_map(named_params! {":t": before}, from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn list_all_chunk_uploads(conn: &Connection) -> AppResult<Vec<ChunkUpload>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM chunk_uploads"))?;
    let rows = stmt.query_map([], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}
