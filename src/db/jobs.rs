//! The `jobs` table: durable background work, one row per (kind, node).

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::error::AppResult;

/// Job kinds, as stored in `jobs.kind`.
pub const KIND_MEDIA: &str = "media";
pub const KIND_CLIP: &str = "clip";

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub node_id: String,
    pub user_id: String,
    pub attempts: i64,
}

fn from_row(r: &Row) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get("id")?,
        kind: r.get("kind")?,
        node_id: r.get("node_id")?,
        user_id: r.get("user_id")?,
        attempts: r.get("attempts")?,
    })
}

/// Queues `kind` for a node, or queues it again from scratch (a new body: earlier results are
/// stale). A job that is running when this happens is queued again, and its completion will
/// not mark it done (see `finish_job`).
pub fn enqueue_job(
    conn: &Connection,
    kind: &str,
    node_id: &str,
    user_id: &str,
    now: i64,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO jobs (kind, node_id, user_id, state, attempts, next_run_at, created_at, updated_at)
         VALUES (:kind, :node, :user, 'queued', 0, :now, :now, :now)
         ON CONFLICT (kind, node_id) DO UPDATE SET
             state = 'queued', attempts = 0, next_run_at = :now, last_error = NULL, updated_at = :now",
    )?
    .execute(named_params! {":kind": kind, ":node": node_id, ":user": user_id, ":now": now})?;
    Ok(())
}

/// Takes the next due job of one of `kinds` and marks it running (atomically: the claim is one
/// UPDATE, so two workers never take the same row).
pub fn claim_next_job(conn: &Connection, kinds: &[&str], now: i64) -> AppResult<Option<Job>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let list = kinds
        .iter()
        .map(|k| format!("'{}'", k.replace('\'', "")))
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = :now
         WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND next_run_at <= :now AND kind IN ({list})
                     ORDER BY next_run_at, id LIMIT 1)
         RETURNING id, kind, node_id, user_id, attempts"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(named_params! {":now": now}, from_row)
        .optional()?)
}

/// Up to `limit` due jobs of one kind at once (for batched inference).
pub fn claim_jobs(
    conn: &mut Connection,
    kind: &str,
    limit: usize,
    now: i64,
) -> AppResult<Vec<Job>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let jobs = tx
        .prepare_cached(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = :now
             WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND next_run_at <= :now AND kind = :kind
                          ORDER BY next_run_at, id LIMIT :limit)
             RETURNING id, kind, node_id, user_id, attempts",
        )?
        .query_map(named_params! {":now": now, ":kind": kind, ":limit": limit as i64}, from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit()?;
    Ok(jobs)
}

/// Marks a claimed job done. False when the row changed meanwhile (queued again for a new
/// body, or deleted with its file): the result just computed is stale.
pub fn finish_job(conn: &Connection, id: i64, now: i64) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("UPDATE jobs SET state = 'done', last_error = NULL, updated_at = :now WHERE id = :id AND state = 'running'")?
        .execute(named_params! {":id": id, ":now": now})?
        == 1)
}

/// A failed attempt: queued again at `retry_at`, or `failed` for good when `retry_at` is None.
pub fn fail_job(
    conn: &Connection,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> AppResult<()> {
    let (state, next) = match retry_at {
        Some(t) => ("queued", t),
        None => ("failed", now),
    };
    conn.prepare_cached(
        "UPDATE jobs SET state = :state, next_run_at = :next, last_error = :err, updated_at = :now
         WHERE id = :id AND state = 'running'",
    )?
    .execute(
        named_params! {":id": id, ":state": state, ":next": next, ":err": error, ":now": now},
    )?;
    Ok(())
}

/// A job that cannot run yet (the model is missing): parked, attempt not counted.
pub fn park_job(conn: &Connection, id: i64, reason: &str, now: i64) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE jobs SET state = 'waiting', attempts = max(attempts - 1, 0), last_error = :err, updated_at = :now
         WHERE id = :id AND state = 'running'",
    )?
    .execute(named_params! {":id": id, ":err": reason, ":now": now})?;
    Ok(())
}

/// Parked jobs of a kind go back to the queue (the model appeared).
pub fn wake_waiting_jobs(conn: &Connection, kind: &str, now: i64) -> AppResult<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE jobs SET state = 'queued', next_run_at = :now, last_error = NULL, updated_at = :now
             WHERE state = 'waiting' AND kind = :kind",
        )?
        .execute(named_params! {":kind": kind, ":now": now})?)
}

/// Start-up: jobs that were running when the process died run again.
pub fn requeue_running_jobs(conn: &Connection, now: i64) -> AppResult<usize> {
    Ok(conn.execute(
        "UPDATE jobs SET state = 'queued', next_run_at = ?1, updated_at = ?1 WHERE state = 'running'",
        [now],
    )?)
}

/// The earliest time a queued job becomes due (workers sleep until then).
pub fn next_due_at(conn: &Connection) -> AppResult<Option<i64>> {
    Ok(conn.query_row(
        "SELECT min(next_run_at) FROM jobs WHERE state = 'queued'",
        [],
        |r| r.get(0),
    )?)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct JobCount {
    pub kind: String,
    pub state: String,
    pub count: i64,
}

pub fn count_jobs(conn: &Connection) -> AppResult<Vec<JobCount>> {
    let mut st = conn.prepare_cached(
        "SELECT kind, state, count(*) FROM jobs GROUP BY kind, state ORDER BY kind, state",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(JobCount {
                kind: r.get(0)?,
                state: r.get(1)?,
                count: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

#[derive(Debug, Clone)]
pub struct JobFailure {
    pub id: i64,
    pub kind: String,
    pub node_id: String,
    pub file_name: String,
    pub username: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

pub fn list_failed_jobs(conn: &Connection, limit: i64) -> AppResult<Vec<JobFailure>> {
    let mut st = conn.prepare_cached(
        "SELECT j.id, j.kind, j.node_id, n.name, u.username, j.attempts, j.last_error, j.updated_at
         FROM jobs j JOIN nodes n ON n.id = j.node_id JOIN users u ON u.id = j.user_id
         WHERE j.state = 'failed' ORDER BY j.updated_at DESC LIMIT ?1",
    )?;
    let rows = st
        .query_map([limit], |r| {
            Ok(JobFailure {
                id: r.get(0)?,
                kind: r.get(1)?,
                node_id: r.get(2)?,
                file_name: r.get(3)?,
                username: r.get(4)?,
                attempts: r.get(5)?,
                last_error: r.get(6)?,
                updated_at: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The state of a node's job of `kind`, if it has one.
pub fn find_job_state(conn: &Connection, kind: &str, node_id: &str) -> AppResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT state FROM jobs WHERE kind = ?1 AND node_id = ?2")?
        .query_row([kind, node_id], |r| r.get(0))
        .optional()?)
}

/// A file got a new body: what was computed from the old one goes (embedding, auto-tags,
/// CLIP job).
pub fn forget_computed(tx: &Connection, node_id: &str) -> AppResult<()> {
    crate::db::embeddings::delete_embedding(tx, node_id)?;
    crate::db::tags::clear_auto_tags(tx, node_id)?;
    tx.prepare_cached("DELETE FROM jobs WHERE node_id = ?1 AND kind = 'clip'")?
        .execute([node_id])?;
    Ok(())
}

/// A file's new body is not media: its media facts and remaining jobs go.
pub fn forget_media(tx: &Connection, node_id: &str) -> AppResult<()> {
    tx.prepare_cached("DELETE FROM media WHERE node_id = ?1")?
        .execute([node_id])?;
    tx.prepare_cached("DELETE FROM jobs WHERE node_id = ?1")?
        .execute([node_id])?;
    Ok(())
}
