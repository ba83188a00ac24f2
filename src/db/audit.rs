//! The `audit_log` table: sign-ins, registrations and admin actions, newest last.

use rusqlite::{Connection, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone, Default)]
pub struct NewAuditEntry {
    pub action: &'static str,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub address: Option<String>,
    /// A JSON object (as text).
    pub detail: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub action: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub address: Option<String>,
    pub detail: Option<String>,
}

pub fn insert_audit_entry(conn: &Connection, e: &NewAuditEntry, at: i64) -> AppResult<i64> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, action, actor_id, actor_name, target_id, target_name, address, detail)
         VALUES (:at, :action, :actor_id, :actor_name, :target_id, :target_name, :address, :detail)",
    )?
    .execute(named_params! {
        ":at": at, ":action": e.action, ":actor_id": e.actor_id, ":actor_name": e.actor_name,
        ":target_id": e.target_id, ":target_name": e.target_name, ":address": e.address,
        ":detail": e.detail,
    })?;
    Ok(conn.last_insert_rowid())
}

/// What to list: entries older than `before` (an id), of one action, naming one user (as actor
/// or target), newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub before: Option<i64>,
    pub action: Option<String>,
    pub username: Option<String>,
    pub limit: i64,
}

pub fn list_audit_entries(conn: &Connection, f: &AuditFilter) -> AppResult<Vec<AuditEntry>> {
    let mut st = conn.prepare_cached(
        "SELECT id, at, action, actor_id, actor_name, target_id, target_name, address, detail
         FROM audit_log
         WHERE (:before IS NULL OR id < :before)
           AND (:action IS NULL OR action = :action)
           AND (:user IS NULL OR actor_name = :user COLLATE NOCASE OR target_name = :user COLLATE NOCASE)
         ORDER BY id DESC LIMIT :limit",
    )?;
    let rows = st
        .query_map(
            named_params! {
                ":before": f.before, ":action": f.action, ":user": f.username, ":limit": f.limit,
            },
            |r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    action: r.get(2)?,
                    actor_id: r.get(3)?,
                    actor_name: r.get(4)?,
                    target_id: r.get(5)?,
                    target_name: r.get(6)?,
                    address: r.get(7)?,
                    detail: r.get(8)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Deletes entries older than `cutoff` (ms); returns how many.
pub fn delete_audit_entries_before(conn: &Connection, cutoff: i64) -> AppResult<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM audit_log WHERE at < :cutoff")?
        .execute(named_params! {":cutoff": cutoff})?)
}
