//! The `access_requests` table: people asking the admin for an invite.

use rusqlite::{Connection, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone, serde::Serialize)]
pub struct AccessRequest {
    pub id: String,
    pub name: String,
    pub contact: String,
    pub message: String,
    pub created_at: i64,
}

pub fn insert_request(conn: &Connection, r: &AccessRequest, remote: Option<&str>) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO access_requests (id, name, contact, message, remote_addr, created_at)
         VALUES (:id, :name, :contact, :msg, :addr, :now)",
    )?
    .execute(named_params! {
        ":id": r.id, ":name": r.name, ":contact": r.contact, ":msg": r.message, ":addr": remote, ":now": r.created_at,
    })?;
    Ok(())
}

pub fn list_requests(conn: &Connection) -> AppResult<Vec<AccessRequest>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, contact, message, created_at FROM access_requests ORDER BY created_at DESC LIMIT 500",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(AccessRequest {
                id: r.get(0)?,
                name: r.get(1)?,
                contact: r.get(2)?,
                message: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn find_request(conn: &Connection, id: &str) -> AppResult<Option<AccessRequest>> {
    use rusqlite::OptionalExtension;
    let row = conn
        .prepare_cached(
            "SELECT id, name, contact, message, created_at FROM access_requests WHERE id = :id",
        )?
        .query_row(named_params! { ":id": id }, |r| {
            Ok(AccessRequest {
                id: r.get(0)?,
                name: r.get(1)?,
                contact: r.get(2)?,
                message: r.get(3)?,
                created_at: r.get(4)?,
            })
        })
        .optional()?;
    Ok(row)
}

pub fn delete_request(conn: &Connection, id: &str) -> AppResult<bool> {
    Ok(conn.execute("DELETE FROM access_requests WHERE id = ?1", [id])? == 1)
}
