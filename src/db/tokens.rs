//! The `refresh_tokens` table: hashed opaque tokens grouped in rotation families.

use rusqlite::{Connection, OptionalExtension, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub fn insert_refresh_token(
    conn: &Connection,
    id: &str,
    user_id: &str,
    family_id: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at)
         VALUES (:id, :u, :f, :h, :now, :exp)",
    )?
    .execute(named_params! {":id": id, ":u": user_id, ":f": family_id, ":h": token_hash, ":now": now, ":exp": expires_at})?;
    Ok(())
}

pub fn find_refresh_token(conn: &Connection, token_hash: &str) -> AppResult<Option<RefreshToken>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, user_id, family_id, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = :h",
        )?
        .query_row(named_params! {":h": token_hash}, |r| {
            Ok(RefreshToken {
                id: r.get(0)?,
                user_id: r.get(1)?,
                family_id: r.get(2)?,
                expires_at: r.get(3)?,
                rotated_at: r.get(4)?,
                revoked_at: r.get(5)?,
            })
        })
        .optional()?)
}

/// Marks the token exchanged, only if nobody did so first (two refreshes racing: one wins).
pub fn mark_rotated(conn: &Connection, id: &str, now: i64) -> AppResult<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE refresh_tokens SET rotated_at = :now WHERE id = :id AND rotated_at IS NULL",
        )?
        .execute(named_params! {":now": now, ":id": id})?
        == 1)
}

pub fn revoke_family(conn: &Connection, family_id: &str, now: i64) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE refresh_tokens SET revoked_at = :now WHERE family_id = :f AND revoked_at IS NULL",
    )?
    .execute(named_params! {":now": now, ":f": family_id})?;
    Ok(())
}

pub fn revoke_user_tokens(conn: &Connection, user_id: &str, now: i64) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE refresh_tokens SET revoked_at = :now WHERE user_id = :u AND revoked_at IS NULL",
    )?
    .execute(named_params! {":now": now, ":u": user_id})?;
    Ok(())
}

/// Drops rows long past use, so the table does not grow forever.
pub fn delete_expired_tokens(conn: &Connection, now: i64) -> AppResult<usize> {
    Ok(conn.execute("DELETE FROM refresh_tokens WHERE expires_at < ?1", [now])?)
}

/// The families revoked at or after `since` (unix ms), each with when it was revoked: access
/// tokens issued in them may still be alive.
pub fn list_families_revoked_since(conn: &Connection, since: i64) -> AppResult<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT family_id, MAX(revoked_at) FROM refresh_tokens
         WHERE revoked_at >= :since GROUP BY family_id",
    )?;
    let rows = stmt
        .query_map(named_params! {":since": since}, |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
