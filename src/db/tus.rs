//! `tus_uploads`: resumable uploads of the web UI (tus 1.0). An unfinished one holds its whole
//! length in the owner's `reserved_bytes`; a finished one (file_id set) holds nothing and only
//! answers HEAD until it expires.

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone)]
pub struct TusUpload {
    pub id: String,
    pub user_id: String,
    pub volume: String,
    pub length: i64,
    pub offset: i64,
    pub folder_id: Option<String>,
    pub filename: String,
    pub on_conflict: String,
    pub metadata: String,
    pub file_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

impl TusUpload {
    pub fn is_finished(&self) -> bool {
        self.file_id.is_some()
    }
}

const COLUMNS: &str = "id, user_id, volume, length, upload_offset, folder_id, filename, on_conflict, metadata, \
                       file_id, created_at, updated_at, expires_at";

fn from_row(r: &Row) -> rusqlite::Result<TusUpload> {
    Ok(TusUpload {
        id: r.get(0)?,
        user_id: r.get(1)?,
        volume: r.get(2)?,
        length: r.get(3)?,
        offset: r.get(4)?,
        folder_id: r.get(5)?,
        filename: r.get(6)?,
        on_conflict: r.get(7)?,
        metadata: r.get(8)?,
        file_id: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        expires_at: r.get(12)?,
    })
}

pub fn insert_tus_upload(conn: &Connection, u: &TusUpload) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO tus_uploads (id, user_id, volume, length, upload_offset, folder_id, filename, on_conflict, metadata,
                                  file_id, created_at, updated_at, expires_at)
         VALUES (:id, :u, :v, :len, 0, :folder, :name, :oc, :meta, NULL, :now, :now, :exp)",
    )?
    .execute(named_params! {
        ":id": u.id, ":u": u.user_id, ":v": u.volume, ":len": u.length, ":folder": u.folder_id,
        ":name": u.filename, ":oc": u.on_conflict, ":meta": u.metadata, ":now": u.created_at, ":exp": u.expires_at,
    })?;
    Ok(())
}

/// The upload `id` if it belongs to `user_id` (another user's looks like a missing one).
pub fn find_tus_upload(conn: &Connection, user_id: &str, id: &str) -> AppResult<Option<TusUpload>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tus_uploads WHERE id = :id AND user_id = :u"
        ))?
        .query_row(named_params! {":id": id, ":u": user_id}, from_row)
        .optional()?)
}

/// The user's unfinished uploads, newest first.
pub fn list_unfinished_tus_uploads(conn: &Connection, user_id: &str) -> AppResult<Vec<TusUpload>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM tus_uploads WHERE user_id = :u AND file_id IS NULL ORDER BY created_at DESC"
    ))?;
    let rows = stmt
        .query_map(named_params! {":u": user_id}, from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Records bytes made durable; only moves forward from the offset the caller started at.
pub fn advance_tus_offset(
    conn: &Connection,
    id: &str,
    from: i64,
    to: i64,
    now: i64,
    expires_at: i64,
) -> AppResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE tus_uploads SET upload_offset = :to, updated_at = :now, expires_at = :exp
             WHERE id = :id AND upload_offset = :from AND file_id IS NULL",
        )?
        .execute(
            named_params! {":to": to, ":now": now, ":exp": expires_at, ":id": id, ":from": from},
        )?;
    Ok(n == 1)
}

/// Marks an upload finished (inside the commit that made its file).
/// The length an unfinished resumable upload holds reserved; None when it is gone or finished.
pub fn find_unfinished_tus_length(conn: &Connection, id: &str) -> AppResult<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT length FROM tus_uploads WHERE id = :id AND file_id IS NULL")?
        .query_row(named_params! {":id": id}, |r| r.get(0))
        .optional()?)
}

pub fn finish_tus_upload(conn: &Connection, id: &str, file_id: &str, now: i64) -> AppResult<()> {
    conn.prepare_cached("UPDATE tus_uploads SET file_id = :f, updated_at = :now WHERE id = :id")?
        .execute(named_params! {":f": file_id, ":now": now, ":id": id})?;
    Ok(())
}

pub fn delete_tus_upload(conn: &Connection, id: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM tus_uploads WHERE id = :id")?
        .execute(named_params! {":id": id})?
        == 1)
}

/// Uploads whose expiry has passed (finished or not).
pub fn list_expired_tus_uploads(conn: &Connection, now: i64) -> AppResult<Vec<TusUpload>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM tus_uploads WHERE expires_at <= :now"
    ))?;
    let rows = stmt
        .query_map(named_params! {":now": now}, from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Ids of every unfinished upload (to sweep files no row owns).
pub fn list_unfinished_tus_ids(conn: &Connection) -> AppResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM tus_uploads WHERE file_id IS NULL")?;
    let rows = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Bytes held by unfinished uploads, all users together (fsck compares reservations with it).
pub fn sum_reserved_by_tus(conn: &Connection) -> AppResult<i64> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(length), 0) FROM tus_uploads WHERE file_id IS NULL",
        [],
        |r| r.get(0),
    )?)
}
