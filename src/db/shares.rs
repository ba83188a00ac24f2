//! The `shares` table: public links to one file, folder or album of their owner.

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRow {
    pub id: String,
    pub owner_id: String,
    pub token: String,
    /// 'file', 'folder' or 'album'.
    pub kind: String,
    pub target_id: String,
    pub password_hash: Option<String>,
    pub allow_download: bool,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "id, owner_id, token, kind, target_id, password_hash, allow_download, expires_at, \
                       created_at, revoked_at, last_used_at";

fn from_row(r: &Row) -> rusqlite::Result<ShareRow> {
    Ok(ShareRow {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        token: r.get(2)?,
        kind: r.get(3)?,
        target_id: r.get(4)?,
        password_hash: r.get(5)?,
        allow_download: r.get(6)?,
        expires_at: r.get(7)?,
        created_at: r.get(8)?,
        revoked_at: r.get(9)?,
        last_used_at: r.get(10)?,
    })
}

pub fn insert_share(conn: &Connection, s: &ShareRow, token_hash: &str) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO shares (id, owner_id, token, token_hash, kind, target_id, password_hash,
                             allow_download, expires_at, created_at)
         VALUES (:id, :o, :token, :hash, :kind, :target, :pw, :dl, :exp, :now)",
    )?
    .execute(named_params! {
        ":id": s.id, ":o": s.owner_id, ":token": s.token, ":hash": token_hash, ":kind": s.kind,
        ":target": s.target_id, ":pw": s.password_hash, ":dl": s.allow_download,
        ":exp": s.expires_at, ":now": s.created_at,
    })?;
    Ok(())
}

/// The owner's links that are not revoked, newest first (expired ones too: the owner sees them).
pub fn list_shares(conn: &Connection, owner: &str) -> AppResult<Vec<ShareRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM shares WHERE owner_id = ?1 AND revoked_at IS NULL ORDER BY created_at DESC, id"
    ))?;
    let rows = st.query_map([owner], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn find_share(conn: &Connection, owner: &str, id: &str) -> AppResult<Option<ShareRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM shares WHERE id = ?1 AND owner_id = ?2 AND revoked_at IS NULL"
        ))?
        .query_row([id, owner], from_row)
        .optional()?)
}

/// A link by the hash of its token, whatever its state (the caller checks revocation and expiry).
pub fn find_share_by_token_hash(conn: &Connection, hash: &str) -> AppResult<Option<ShareRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM shares WHERE token_hash = ?1"
        ))?
        .query_row([hash], from_row)
        .optional()?)
}

pub fn revoke_share(conn: &Connection, id: &str, now: i64) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE shares SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
    )?
    .execute(named_params! {":id": id, ":now": now})?;
    Ok(())
}

pub fn touch_share(conn: &Connection, id: &str, now: i64) -> AppResult<()> {
    conn.prepare_cached("UPDATE shares SET last_used_at = :now WHERE id = :id")?
        .execute(named_params! {":id": id, ":now": now})?;
    Ok(())
}

/// Whether `node` lies under folder `folder` (any depth, nothing on the way in the trash).
pub fn is_under(conn: &Connection, folder: &str, node: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached(
            "WITH RECURSIVE up(id, parent, trashed) AS (
                 SELECT id, parent_id, trashed_at FROM nodes WHERE id = :node
                 UNION ALL
                 SELECT n.id, n.parent_id, n.trashed_at FROM nodes n JOIN up ON n.id = up.parent
                  WHERE up.id <> :folder)
             SELECT 1 FROM up WHERE id = :folder AND NOT EXISTS (SELECT 1 FROM up WHERE trashed IS NOT NULL)",
        )?
        .exists(named_params! {":folder": folder, ":node": node})?)
}
