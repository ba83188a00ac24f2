//! The `embeddings` table (CLIP image vectors, f32 little-endian BLOBs) and `label_embeddings`.

use rusqlite::{Connection, OptionalExtension, named_params};

use crate::error::AppResult;

pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub fn upsert_embedding(
    conn: &Connection,
    node_id: &str,
    user_id: &str,
    blob_id: &str,
    model: &str,
    v: &[f32],
    now: i64,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO embeddings (node_id, user_id, blob_id, model, vector, created_at)
         VALUES (:node, :user, :blob, :model, :v, :now)",
    )?
    .execute(named_params! {":node": node_id, ":user": user_id, ":blob": blob_id, ":model": model, ":v": vector_to_blob(v), ":now": now})?;
    Ok(())
}

/// The embeddings made with `model` of these nodes: (node id, vector).
pub fn find_embeddings(
    conn: &Connection,
    model: &str,
    nodes: &[String],
) -> AppResult<Vec<(String, Vec<f32>)>> {
    let mut st =
        conn.prepare_cached("SELECT vector FROM embeddings WHERE node_id = ?1 AND model = ?2")?;
    let mut out = Vec::new();
    for n in nodes {
        if let Some(b) = st
            .query_row(rusqlite::params![n, model], |r| r.get::<_, Vec<u8>>(0))
            .optional()?
        {
            out.push((n.clone(), blob_to_vector(&b)));
        }
    }
    Ok(out)
}

pub fn delete_embedding(conn: &Connection, node_id: &str) -> AppResult<()> {
    conn.prepare_cached("DELETE FROM embeddings WHERE node_id = ?1")?
        .execute([node_id])?;
    Ok(())
}

/// Every embedding made with `model` of a file not in the trash, grouped by user:
/// `f(user_id, node_id, vector)`.
pub fn for_each_embedding(
    conn: &Connection,
    model: &str,
    mut f: impl FnMut(String, String, Vec<f32>),
) -> AppResult<()> {
    let mut st = conn.prepare(
        "SELECT e.user_id, e.node_id, e.vector FROM embeddings e JOIN nodes n ON n.id = e.node_id
         WHERE e.model = ?1 AND n.trashed_at IS NULL ORDER BY e.user_id",
    )?;
    let mut rows = st.query([model])?;
    while let Some(r) = rows.next()? {
        let b: Vec<u8> = r.get(2)?;
        f(r.get(0)?, r.get(1)?, blob_to_vector(&b));
    }
    Ok(())
}

/// Images whose embedding is missing or from another model: CLIP jobs to queue for `model`.
pub fn list_images_without_embedding(
    conn: &Connection,
    model: &str,
) -> AppResult<Vec<(String, String)>> {
    let mut st = conn.prepare(
        "SELECT m.node_id, n.owner_id FROM media m JOIN nodes n ON n.id = m.node_id
         WHERE m.thumb_format IS NOT NULL AND m.blob_id = n.blob_id
           AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.node_id = m.node_id AND e.model = ?1 AND e.blob_id = n.blob_id)
           AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.node_id = m.node_id AND j.kind = 'clip' AND j.state IN ('queued','running','failed'))",
    )?;
    let rows = st
        .query_map([model], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn load_label_embeddings(
    conn: &Connection,
    model: &str,
) -> AppResult<Vec<(String, String, Vec<f32>)>> {
    let mut st = conn.prepare(
        "SELECT label, prompts, vector FROM label_embeddings WHERE model = ?1 ORDER BY rowid",
    )?;
    let rows = st
        .query_map([model], |r| {
            let b: Vec<u8> = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?, blob_to_vector(&b)))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn save_label_embeddings(
    conn: &mut Connection,
    model: &str,
    rows: &[(String, String, Vec<f32>)],
) -> AppResult<()> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM label_embeddings WHERE model = ?1", [model])?;
    {
        let mut ins = tx.prepare(
            "INSERT INTO label_embeddings (model, label, prompts, vector) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (label, prompts, v) in rows {
            ins.execute(rusqlite::params![model, label, prompts, vector_to_blob(v)])?;
        }
    }
    tx.commit()?;
    Ok(())
}
