//! The `invite_codes` table: single-use, expiring codes that let someone register.

use rusqlite::{Connection, OptionalExtension, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Invite {
    pub code: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert_invite(
    conn: &Connection,
    code: &str,
    created_by: Option<&str>,
    now: i64,
    expires_at: i64,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO invite_codes (code, created_by, created_at, expires_at) VALUES (:c, :by, :now, :exp)",
    )?
    .execute(named_params! {":c": code, ":by": created_by, ":now": now, ":exp": expires_at})?;
    Ok(())
}

/// Unused and unexpired codes, newest first.
pub fn list_active_invites(conn: &Connection, now: i64) -> AppResult<Vec<Invite>> {
    let mut stmt = conn.prepare_cached(
        "SELECT code, created_at, expires_at, used_at FROM invite_codes
         WHERE used_at IS NULL AND expires_at > :now ORDER BY created_at DESC, code",
    )?;
    let rows = stmt
        .query_map(named_params! {":now": now}, |r| {
            Ok(Invite {
                code: r.get(0)?,
                created_at: r.get(1)?,
                expires_at: r.get(2)?,
                used_at: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Marks the code used by `user_id` if it is unused and unexpired; false otherwise.
/// One conditional UPDATE, so two registrations racing for one code cannot both win.
pub fn redeem_invite(conn: &Connection, code: &str, user_id: &str, now: i64) -> AppResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE invite_codes SET used_at = :now, used_by = :u
             WHERE code = :c AND used_at IS NULL AND expires_at > :now",
        )?
        .execute(named_params! {":now": now, ":u": user_id, ":c": code})?;
    Ok(n == 1)
}

pub fn find_invite(conn: &Connection, code: &str) -> AppResult<Option<Invite>> {
    Ok(conn
        .prepare_cached(
            "SELECT code, created_at, expires_at, used_at FROM invite_codes WHERE code = :c",
        )?
        .query_row(named_params! {":c": code}, |r| {
            Ok(Invite {
                code: r.get(0)?,
                created_at: r.get(1)?,
                expires_at: r.get(2)?,
                used_at: r.get(3)?,
            })
        })
        .optional()?)
}
