//! The `app_passwords` table: named, revocable secrets for WebDAV clients.

use rusqlite::{Connection, OptionalExtension, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone, serde::Serialize)]
pub struct AppPassword {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<AppPassword> {
    Ok(AppPassword {
        id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        created_at: r.get(3)?,
        last_used_at: r.get(4)?,
    })
}

pub fn insert_app_password(conn: &Connection, p: &AppPassword, secret_hash: &str) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO app_passwords (id, user_id, name, secret_hash, created_at) VALUES (:id, :u, :name, :h, :now)",
    )?
    .execute(named_params! {":id": p.id, ":u": p.user_id, ":name": p.name, ":h": secret_hash, ":now": p.created_at})?;
    Ok(())
}

pub fn find_by_secret_hash(conn: &Connection, secret_hash: &str) -> AppResult<Option<AppPassword>> {
    Ok(conn
        .prepare_cached("SELECT id, user_id, name, created_at, last_used_at FROM app_passwords WHERE secret_hash = :h")?
        .query_row(named_params! {":h": secret_hash}, from_row)
        .optional()?)
}

pub fn list_app_passwords(conn: &Connection, user_id: &str) -> AppResult<Vec<AppPassword>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, user_id, name, created_at, last_used_at FROM app_passwords WHERE user_id = :u ORDER BY created_at",
    )?;
    let rows = stmt
        .query_map(named_params! {":u": user_id}, from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn delete_app_password(conn: &Connection, user_id: &str, id: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM app_passwords WHERE id = :id AND user_id = :u")?
        .execute(named_params! {":id": id, ":u": user_id})?
        == 1)
}

/// Records use at most once a minute per password, so a PROPFIND storm does not write.
pub fn touch_app_password(conn: &Connection, id: &str, now: i64) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE app_passwords SET last_used_at = :now WHERE id = :id AND (last_used_at IS NULL OR last_used_at < :now - 60000)",
    )?
    .execute(named_params! {":now": now, ":id": id})?;
    Ok(())
}
